"""The source registry (finkpi/sources/) is the one list of source systems: the dbt sources, the
staging models, provenance, OpenLineage and column lineage all follow it, and nothing outside it
names a source."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date

import duckdb
import pytest
import yaml

from finkpi import contract, pipeline
from finkpi.audit.provenance import input_file_hashes
from finkpi.lineage.columns import ColumnLineage, LineageError, _column_name, registered_sources
from finkpi.lineage.openlineage import input_datasets
from finkpi.settings import PROJECT_DIR, resolve_as_of_date
from finkpi.sources import REGISTERED, SOURCES, get
from finkpi.sources.registry import tables_from_contract

# A quoted source name, or one that starts a path: `"sap"`, `'erp'`, `"crm/`, `f"sap/{name}"`.
SOURCE_NAME = re.compile(r"[\"'](" + "|".join(SOURCES) + r")[\"'/]")
# The sample company's generator writes the files of the sample's own two sources by name: it is
# the data's producer, not a reader of sources (finkpi/generate/).
NOT_READERS = ("finkpi/sources/", "finkpi/generate/")


def _declared_sources() -> dict[str, dict]:
    declared = {}
    for path in sorted((PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            declared[source["name"]] = {
                table["name"]: (table.get("identifier", table["name"]), [c["name"] for c in table["columns"]])
                for table in source["tables"]
            }
    return declared


def test_every_dbt_source_is_registered_with_its_files_and_columns():
    declared = _declared_sources()
    assert set(declared) == set(SOURCES), "a dbt source without a registry entry, or the reverse"
    for source in REGISTERED:
        registered = {table.name: (table.file_stem, table.column_names) for table in source.tables}
        assert declared[source.name] == registered, f"the dbt source {source.name} differs from its entry"


def test_every_appending_table_says_what_dates_its_records():
    """A record of an appending table is dated by a column of its own, or (lines) by its header's
    date through a key both tables have: what the incremental plan checks a delivery against and
    what the simulated daily delivery (finkpi/generate/daily.py) splits by."""
    appending = 0
    for source in REGISTERED:
        for table in source.tables:
            if not table.appends:
                assert table.dated_by is None, (source.name, table.name)
                continue
            appending += 1
            if isinstance(table.dated_by, str):
                assert table.dated_by in table.column_names, (source.name, table.name)
                continue
            parent, key = table.dated_by
            header = source.table(parent)
            assert header.appends and isinstance(header.dated_by, str), (source.name, table.name)
            assert key in table.column_names and key in header.column_names, (source.name, table.name)
    assert appending == 20
    with pytest.raises(ValueError, match=r"appends name tables that are not in the contract: \['nope'\]"):
        tables_from_contract({"orders": [("id", "varchar", "")]}, {}, appends={"nope": "id"})


def test_every_registered_table_has_a_staging_model():
    for source in REGISTERED:
        staging = [
            path.read_text() for path in (PROJECT_DIR / "models" / "staging" / source.name).glob("stg_*.sql")
        ]
        for table in source.table_names:
            assert any(f"raw_source('{source.name}', '{table}')" in sql for sql in staging), (
                source.name,
                table,
            )


def test_no_module_or_macro_outside_the_registry_names_a_source():
    files = [
        *(PROJECT_DIR / "finkpi").rglob("*.py"),
        *(PROJECT_DIR / "orchestration").rglob("*.py"),
        *(PROJECT_DIR / "macros").rglob("*.sql"),
    ]
    offenders = []
    for path in files:
        relative = path.relative_to(PROJECT_DIR).as_posix()
        if relative.startswith(NOT_READERS):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if SOURCE_NAME.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "source names outside finkpi/sources/:\n" + "\n".join(offenders)


def test_the_check_finds_a_source_name():
    assert SOURCE_NAME.search("""path = settings.data_dir / "sap" / name""")
    assert SOURCE_NAME.search("""{%- set own = {'crm': 1} -%}""")
    assert SOURCE_NAME.search("""hashes[f"erp/{path.name}"]""")
    assert not SOURCE_NAME.search("""ref('int_sap_exchange_rates_resolved')""")


def test_every_registered_file_is_hashed_and_an_openlineage_input(sample_settings):
    hashes = input_file_hashes(sample_settings)
    inputs = {dataset.name for dataset in input_datasets(sample_settings, hashes)}
    for source, _table, path in sample_settings.raw_files():
        assert path.is_file(), path
        assert f"{source.name}/{path.name}" in hashes, f"{path} is not hashed in provenance"
        assert str(path.absolute()) in inputs, f"{path} is not an OpenLineage input"


def test_a_delivery_is_read_hashed_and_listed_beside_its_base_files(sample_settings, tmp_path):
    """A delivery (`<source folder>/deliveries/<batch>/`): its files follow their base file in
    batch order, each hashed under its path in the source's folder and an OpenLineage input, and
    the as-of date is the newest across base and deliveries. Without one, as before."""
    data = tmp_path / "data"
    for source in ("erp", "crm"):
        shutil.copytree(sample_settings.source_folder(source), data / source)
    settings = sample_settings.with_(data_dir=data)
    base = settings.source_path("erp", "sales_orders")
    assert settings.table_files("erp", "sales_orders") == [base]  # no delivery folder: the base file
    assert len(settings.raw_files()) == sum(len(source.tables) for source in REGISTERED)
    before = input_file_hashes(settings)
    assert "erp/sales_orders.csv" in before and not any("deliveries/" in key for key in before)

    header = base.read_text().splitlines()[0]
    batches = {}
    for batch, day in (("2025-11-20", "2025-11-20"), ("2025-11-16", "2025-11-16")):
        path = data / "erp" / "deliveries" / batch / "sales_orders.csv"
        path.parent.mkdir(parents=True)
        row = {"order_id": f"SO-NEW-{batch}", "customer_id": "C000001", "order_date": day}
        path.write_text(header + "\n" + ",".join(row.get(column, "") for column in header.split(",")) + "\n")
        batches[batch] = path
    assert header.split(",") == get("erp").table("sales_orders").column_names
    files = settings.table_files("erp", "sales_orders")
    assert files == [base, batches["2025-11-16"], batches["2025-11-20"]]  # batch order
    assert [
        path
        for source, table, path in settings.raw_files()
        if (source.name, table.name) == ("erp", "sales_orders")
    ] == files

    hashes = input_file_hashes(settings)
    inputs = {dataset.name for dataset in input_datasets(settings, hashes)}
    for batch, path in batches.items():
        assert (
            hashes[f"erp/deliveries/{batch}/sales_orders.csv"]
            == hashlib.sha256(path.read_bytes()).hexdigest()
        )
        assert str(path.absolute()) in inputs
    assert {key: value for key, value in hashes.items() if "deliveries/" not in key} == before
    # the run's date: the newest order date across the base file and the deliveries
    assert resolve_as_of_date(settings) == date(2025, 11, 20)
    assert resolve_as_of_date(settings.with_(data_dir=sample_settings.data_dir)) < date(2025, 11, 20)
    # column lineage attributes a read of the base file and its deliveries to the source's folder
    assert registered_sources(settings)[1] == registered_sources(sample_settings.with_(data_dir=data))[1]


def test_a_source_in_a_folder_of_its_own_is_found_there(sample_settings, tmp_path):
    moved = tmp_path / "sap-extract"
    shutil.copytree(sample_settings.source_folder("sap"), moved)
    settings = sample_settings.with_(source_folders={"sap": moved})
    assert settings.source_path("sap", "sales_orders") == moved / "salesOrder.csv"
    assert settings.dbt_environment()["FINKPI_SAP_DIR"] == str(moved.resolve())
    assert settings.source_vars()["sap"]["folder"] == str(moved.resolve())
    hashes = input_file_hashes(settings)
    assert hashes["sap/salesOrder.csv"] == input_file_hashes(sample_settings)["sap/salesOrder.csv"]


def test_a_project_copy_without_data_still_finds_a_sources_default_folder(sample_settings, tmp_path):
    """The benchmark and Dagster run on a copy of the dbt project that holds no data: SAP's
    vendored folder is the repository's."""
    settings = sample_settings.with_(project_dir=tmp_path)
    assert settings.source_folder("sap") == (PROJECT_DIR / "data" / "reference" / "sap").resolve()
    assert (
        settings.resolved().source_as_of_dates["sap"] == sample_settings.resolved().source_as_of_dates["sap"]
    )


@pytest.mark.build
def test_every_registered_file_appears_in_column_lineage(built, sample_settings):
    """Each raw file reaches lineage: the `_source_file` of its staging model leads to it."""
    walker = ColumnLineage.for_project(sample_settings)
    consumers = {}
    for node in walker.manifest["nodes"].values():
        for upstream in node.get("depends_on", {}).get("nodes", []):
            if upstream.startswith("source.") and node["name"].startswith("stg_"):
                consumers[upstream] = node
    for source in REGISTERED:
        for table in source.tables:
            model = consumers[f"source.finkpi.{source.name}.{table.name}"]
            chain = walker.of_column(model["schema"], model["name"], "_source_file")
            reached = {(leaf.relation, leaf.column) for leaf in _leaves(chain)}
            assert (f"{source.name}.{table.file_stem}", "filename") in reached, (source.name, table.name)


def test_a_column_the_registry_does_not_declare_fails_lineage_naming_source_and_column(tmp_path):
    """A staging model over a registered file, on hand-made SQL: a declared column is traced to
    the file; undeclared, it stops lineage naming the model, the column and the source."""
    folder = tmp_path / "acme"
    folder.mkdir()
    sql = (
        'select raw."Id" as order_id, raw."Amount" as amount from (select * from read_csv('
        f"'{folder}/Order.csv', all_varchar = true) with ordinality) as raw"
    )
    folders = {str(folder.resolve()): "acme"}
    declared = _staging_lineage(tmp_path, sql, {"acme": {"Order": ["Id", "Amount"]}}, folders)
    (leaf,) = declared.of_column("staging", "stg_acme__orders", "amount").upstream
    assert (leaf.relation, leaf.column, leaf.kind) == ("acme.Order", "Amount", "source")
    undeclared = _staging_lineage(tmp_path, sql, {"acme": {"Order": ["Id"]}}, folders)
    with pytest.raises(LineageError, match=r"stg_acme__orders: .*Unknown column: amount.*source acme"):
        undeclared.of_column("staging", "stg_acme__orders", "amount")


def test_a_read_of_a_base_file_and_its_deliveries_is_the_sources_table(tmp_path):
    """The source definitions compile to `read_csv(['<folder>/<file>.csv', '<folder>/deliveries/
    */<file>.csv'], ...)`: lineage attributes it to the source of the folder and the file."""
    folder = tmp_path / "acme"
    folder.mkdir()
    files = f"['{folder}/Order.csv', '{folder}/deliveries/*/Order.csv']"
    sql = (
        'select raw."Amount" as amount from (select * from read_csv('
        f"{files}, all_varchar = true, allow_empty = true, quote = '\"') with ordinality) as raw"
    )
    declared = {"acme": {"Order": ["Amount"]}}
    lineage = _staging_lineage(tmp_path, sql, declared, {str(folder.resolve()): "acme"})
    (leaf,) = lineage.of_column("staging", "stg_acme__orders", "amount").upstream
    assert (leaf.relation, leaf.column, leaf.kind) == ("acme.Order", "Amount", "source")
    elsewhere = _staging_lineage(tmp_path, sql, declared, {"/nowhere": "acme"})
    with pytest.raises(LineageError, match=r"reads .*/acme/Order, which is in no registered"):
        elsewhere.of_column("staging", "stg_acme__orders", "amount")


def test_an_incremental_read_of_delivery_files_alone_is_the_sources_table(tmp_path):
    """An incremental run's staging model reads only its new files, `read_csv(['<folder>/
    deliveries/<batch>/<file>.csv'], ...)`: lineage attributes it to the source whose folder holds
    the deliveries folder; a `deliveries` folder elsewhere is no source's."""
    folder = tmp_path / "acme"
    folder.mkdir()
    sql = (
        'select raw."Amount" as amount from (select * from read_csv('
        f"['{folder}/deliveries/2025-11-15/Order.csv', '{folder}/deliveries/2025-11-16/Order.csv'],"
        " all_varchar = true, allow_empty = true) with ordinality) as raw"
    )
    declared = {"acme": {"Order": ["Amount"]}}
    lineage = _staging_lineage(tmp_path, sql, declared, {str(folder.resolve()): "acme"})
    (leaf,) = lineage.of_column("staging", "stg_acme__orders", "amount").upstream
    assert (leaf.relation, leaf.column, leaf.kind) == ("acme.Order", "Amount", "source")
    elsewhere = _staging_lineage(tmp_path, sql, declared, {str((tmp_path / "other").resolve()): "acme"})
    with pytest.raises(LineageError, match=r"reads .*/acme/deliveries/2025-11-15/Order, which is in no"):
        elsewhere.of_column("staging", "stg_acme__orders", "amount")


def _staging_lineage(tmp_path, sql: str, declared: dict, folders: dict[str, str]) -> ColumnLineage:
    """Column lineage of one hand-made staging model, stg_acme__orders, over an empty warehouse."""
    node = {"resource_type": "model", "schema": "staging", "name": "stg_acme__orders", "database": "finkpi"}
    manifest = {"nodes": {"model.finkpi.stg_acme__orders": {**node, "compiled_code": sql}}}
    database = tmp_path / "empty.duckdb"
    if not database.exists():
        duckdb.connect(str(database)).close()
    return ColumnLineage(manifest, database, declared, folders)


def test_a_dotted_source_column_is_one_column():
    assert _column_name('raw."PARTNER.PARTNERID"') == "PARTNER.PARTNERID"
    assert _column_name("raw.order_id") == "order_id"


@pytest.mark.build
def test_a_file_outside_every_registered_folder_stops_the_publish(built, sample_settings, tmp_path):
    """The build read SAP's files from data/reference/sap; a registry that puts SAP elsewhere
    cannot trace those reads: the publish step (the CLI's and Dagster's) refuses, naming the
    model and the file, and the published version stays as it was."""
    moved = tmp_path / "elsewhere"
    shutil.copytree(sample_settings.source_folder("sap"), moved)
    published = contract.published_path(sample_settings.warehouse_dir).resolve()
    with pytest.raises(
        LineageError, match=r"stg_sap__\w+ reads .*/reference/sap/\w+, which is in no registered"
    ):
        pipeline.publish_step(
            sample_settings.with_(source_folders={"sap": moved}), "20990101T000000Z-lineage"
        )
    assert contract.published_path(sample_settings.warehouse_dir).resolve() == published
    assert not contract.version_dir(sample_settings.warehouse_dir, "20990101T000000Z-lineage").exists()


def _leaves(node):
    if not node.upstream:
        yield node
    for child in node.upstream:
        yield from _leaves(child)


def test_registry_entries_are_checked_when_declared():
    from finkpi.sources import AsOfDate, SourceSystem, SourceTable

    table = SourceTable("orders", ())
    with pytest.raises(ValueError, match="kind must be one of"):
        SourceSystem("x", "wms", "", (table,))
    with pytest.raises(ValueError, match="needs both folder_env and default_folder"):
        SourceSystem("x", "crm", "", (table,), folder_env="FINKPI_X_DIR")
    with pytest.raises(ValueError, match="as_of reads table 'lines'"):
        SourceSystem("x", "crm", "", (table,), as_of=AsOfDate("lines", "date"))


def test_the_run_date_comes_from_exactly_one_source():
    assert [source.name for source in REGISTERED if source.sets_run_date] == ["erp"]


def test_declared_values_reach_dbt_and_its_defaults(sample_settings):
    """The values a source declares for a column (Column.values) reach the models through the var
    `sources`; dbt_project.yml's default of that var (dbt called without finkpi, as sqlfluff does)
    holds the same, and a column outside the contract cannot be given values."""
    defaults = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["sources"]
    passed = sample_settings.source_vars()
    for source in REGISTERED:
        declared = {table.name: table.declared_values for table in source.tables if table.declared_values}
        assert passed[source.name]["values"] == declared
        assert defaults[source.name].get("values", {}) == declared, source.name
    assert passed["crm"]["values"]["Opportunity"]["StageName"][-2:] == ["Closed Won", "Closed Lost"]
    with pytest.raises(ValueError, match="not in Case's contract"):
        tables_from_contract({"Case": [("Status", "varchar", "")]}, {}, values={"Case": {"State": ("New",)}})

"""Incremental runs publish the same numbers as a full rebuild over the same files.

A day's delivery arrives as new files beside the earlier ones: `<source>/deliveries/<batch>/`
(README, "Incremental runs"). The sample's last nine order days (about 1% of its sales order
lines) are the delivery (`write_with_delivery`: the base files hold the history, the delivery
folder the rows after it). In the CI gate, the full run over those files is this module's
`delivered` build; yesterday's warehouse is that build with the incremental facts' rows of the
delivered days taken out and the month-end snapshots of the months ending after them stale (the
cutoff's month dated at the cutoff) or gone (later months) (`yesterday_build`, as the benchmark
makes it). Then `finkpi run --incremental` recomputes only the recent window of the incremental
facts and the snapshots of the window's months, loads only the delivery's files into the staging
tables of the tables that append (yesterday's warehouse holds no row of them) and rebuilds
everything else; every staging and mart row and every exported metric value must equal the full
run's, and the delivered rows name their delivery file and their line in it. A second incremental
run without a new delivery changes nothing.

The metric exports of an incremental run recompute the periods from the fiscal year of the window
on and keep the rest from yesterday's values (finkpi/metrics/export_scope.py). Yesterday's values
of every period that ends after the cutoff are poison in `yesterday_build`, so each one must be
recomputed to equal the full run's. A changed dimension row, changed definitions, moved as-of
dates or no earlier export make them recompute more, or everything.

The long way, a real build of the history and then the delivery folder landing beside its files
(`write_history`, `write_with_delivery`), is the `slow` test below (`make test-slow`): it also
shows that `yesterday_build` leaves the fact rows such a history build holds.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from finkpi import dbt_runner, pipeline
from finkpi.audit.provenance import input_file_hashes
from finkpi.cli import build_parser
from finkpi.cli.options import settings_from
from finkpi.generate.daily import (
    POISON,
    cutoff_for_share,
    delivery_batch,
    rows_after,
    write_history,
    write_with_delivery,
    yesterday_build,
)
from finkpi.incremental import INCREMENTAL_FACTS, INCREMENTAL_SNAPSHOTS, WINDOWED_MODELS, record_build
from finkpi.metrics.export_scope import EXPORT_STATE, ExportState, decide, read_previous
from finkpi.metrics.exports import read_calendar
from finkpi.scorecards import run as scorecards
from finkpi.settings import load_settings
from finkpi.sources import REGISTERED
from tests.conftest import SAMPLE_DIR


def _rows(con, database: str, table: str, data_dir: str) -> list[tuple]:
    """Every row of a table, sorted; a lineage file path relative to its data folder (the two
    builds read the same files from two folders)."""
    columns = [row[0] for row in con.execute(f"describe {database}.{table}").fetchall()]
    exprs = [
        f"replace({c}, '{data_dir}', '<data>') as {c}" if c.endswith("source_file") else c
        for c in columns
        if c not in ("run_id", "value_run_id")  # the run that wrote the row, never equal
    ]
    return con.execute(f"select {', '.join(exprs)} from {database}.{table} order by all").fetchall()


# the metric values and what the scorecard step computes from them
METRIC_TABLES = (
    "metrics.metric_values",
    "metrics.scorecard_lines",
    "metrics.scorecard_summary",
    "metrics.driver_attribution",
    "metrics.driver_associations",
    "metrics.metric_forecast",
)


def _close(actual: list[tuple], expected: list[tuple]) -> bool:
    """Equal rows, float values within 1e-9 relative (every other column exactly)."""
    if len(actual) != len(expected):
        return False
    for left, right in zip(actual, expected, strict=True):
        for a, b in zip(left, right, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not (math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or math.isnan(a) and math.isnan(b)):
                    return False
            elif a != b:
                return False
    return True


def _fact_rows(database) -> dict[str, int]:
    """Rows of each incremental fact and each windowed model (`<schema>.<model>`)."""
    relations = [f"marts.{fact}" for fact in INCREMENTAL_FACTS] + list(WINDOWED_MODELS)
    with duckdb.connect(str(database), read_only=True) as con:
        return {r: con.execute(f"select count(*) from {r}").fetchone()[0] for r in relations}


def _run_incremental(incremental, monkeypatch, delivered: dict[str, int]):
    """`pipeline.run` with `incremental`, which must run incremental and load as new exactly the
    files of the tables `delivered` names with rows (`<source>.<table>` -> rows); (its summary,
    the results of its dbt build)."""
    assert incremental.incremental
    builds = []
    real_build = dbt_runner.build

    def spy(settings, *args, **kwargs):
        builds.append(result := real_build(settings, *args, **kwargs))
        return result

    monkeypatch.setattr(dbt_runner, "build", spy)
    scored_from = []  # the first period the scorecard step computed (None: every period)
    real_compute = scorecards.compute

    def compute_spy(*args, **kwargs):
        scored_from.append(kwargs.get("recompute_from"))
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(scorecards, "compute", compute_spy)
    summary = pipeline.run(incremental, progress=lambda message: None)
    summary.scored_from = scored_from
    assert summary.published_version
    # the run was incremental: yesterday's files unchanged, today's the delivery's files alone
    plan = summary.incremental_plan
    assert plan.incremental, plan.describe()
    assert sorted(
        key.split("/")[0] + "." + key.rsplit("/", 1)[1].split(".")[0] for key in plan.new_files
    ) == sorted(table for table, rows in delivered.items() if rows)
    assert all("/deliveries/" in key for key in plan.new_files)
    # the quality gate checked the invoice lines' row-level expectations on the window's rows only
    scoped = [o for o in summary.gate.outcomes if o.expectation.endswith(f"(rows from {plan.window_start})")]
    assert scoped and {o.suite for o in scoped} == {"fct_invoice_lines"}, summary.gate.describe()
    return summary, builds[0].result.results


def _compare_with_full(incremental, full, data_dir, before: dict[str, int], results) -> None:
    """Every staging and mart row and metric value of the incremental run (its warehouse was
    yesterday's, `before` its incremental facts' row counts) against the full build of `full`;
    `data_dir` is what the incremental run read."""
    # dbt really replaced a window: each incremental fact ran its filter, not a full rebuild
    compiled = {r.node.name: getattr(r.node, "compiled_code", "") for r in results}
    for table, column in INCREMENTAL_FACTS.items():
        assert f"where {column} >= cast(" in compiled[table], compiled[table][-400:]
    # ... and each month-end snapshot built the months from the window's month on only
    (window_start,) = set(
        re.findall(r"where order_date >= cast\('([0-9-]+)' as date\)", compiled["fct_sales_order_lines"])
    )
    window_month = f"cast(date_trunc('month', cast('{window_start}' as date)) as date)"
    for table in INCREMENTAL_SNAPSHOTS:
        assert f"month_start >= {window_month}" in compiled[table], compiled[table][:1500]
    # ... and so did each model that follows the facts' window, by its date (its config's)
    configured = {r.node.name: r.node.config.get("incremental_date_column") for r in results}
    for relation in WINDOWED_MODELS:
        model = relation.split(".")[1]
        assert f"{configured[model]} >= cast(" in compiled[model], compiled[model][-400:]

    with duckdb.connect() as con:
        con.execute(f"attach '{incremental.build_database}' as incremental (read_only)")
        con.execute(f"attach '{full.build_database}' as full_build (read_only)")
        tables = _tables(con, "full_build", ("staging", "marts"))
        layers = [table.split(".")[0] for table in tables]
        assert layers.count("marts") > 20 and layers.count("staging") > 30, tables
        # the windowed intermediates, and the quarantine their flags feed, too
        windowed = [relation for relation in WINDOWED_MODELS if relation not in tables]
        for table in [*tables, *windowed, "quarantine.rule_violations", *METRIC_TABLES]:
            expected = _rows(con, "full_build", table, str(full.data_dir.resolve()))
            actual = _rows(con, "incremental", table, str(data_dir.resolve()))
            if table in METRIC_TABLES:  # values are DOUBLEs from MetricFlow: a sum of
                # doubles depends on the order rows are read in, which an incremental table
                # (a window deleted and appended) does not share with a rebuilt one; the
                # scorecards are computed from them
                assert _close(actual, expected), f"{table}: the incremental run differs from the full rebuild"
                continue
            assert actual == expected, f"{table}: the incremental run differs from the full rebuild"
        # the run added rows to each (yesterday's had none after the cutoff): not vacuous
        for relation, rows_before in before.items():
            (after,) = con.execute(f"select count(*) from incremental.{relation}").fetchone()
            assert after > rows_before, relation


def _poisoned(database) -> int:
    """Yesterday's metric values that yesterday_build poisoned (the periods after its cutoff)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select count(*) from metrics.metric_values where value = ?", [POISON]).fetchone()[
            0
        ]


def _fiscal_year_start(database, day) -> object:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            "select fiscal_year_start from marts.dim_dates where date_day = ?", [day]
        ).fetchone()[0]


def _tables(con, database: str, schemas: tuple[str, ...]) -> list[str]:
    """`<schema>.<table>` of every table of an attached database in those schemas, sorted."""
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?"
            f" and schema_name in ({', '.join('?' for _ in schemas)}) order by 1, 2",
            [database, *schemas],
        ).fetchall()
    ]


def _row_counts(database, schema: str) -> dict[str, int]:
    with duckdb.connect() as con:
        con.execute(f"attach '{database}' as warehouse (read_only)")
        return {
            table: con.execute(f"select count(*) from warehouse.{table}").fetchone()[0]
            for table in _tables(con, "warehouse", (schema,))
        }


def _appending_tables():
    """(source, registry table) of every table whose deliveries bring new records only."""
    return [(source, table) for source in REGISTERED for table in source.tables if table.appends]


def _staging_model(results, source: str, table: str):
    """The staging model node of one dbt source table, among a build's results."""
    (node,) = [
        r.node
        for r in results
        if r.node.resource_type == "model" and f"source.finkpi.{source}.{table}" in r.node.depends_on.nodes
    ]
    return node


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """The sample as history plus one delivery folder, and the whole pipeline's full run over
    those files: (settings of that run, cutoff, rows per delivered table)."""
    cutoff = cutoff_for_share(SAMPLE_DIR, 0.01)
    root = tmp_path_factory.mktemp("delivered")
    counts = write_with_delivery(SAMPLE_DIR, root / "data", cutoff)
    full = load_settings(data_dir=root / "data", warehouse_dir=root / "full")
    assert pipeline.run(full, progress=lambda message: None).published_version
    return full, cutoff, counts


@pytest.fixture(scope="module")
def incremental_day(delivered, tmp_path_factory):
    """Yesterday's warehouse (`yesterday_build`: the full run without the incremental facts' rows
    of the delivered days and without the staging rows of the delivery's files) and `finkpi run
    --incremental` in it: (its settings, incremental facts' and staging row counts before the
    run, (its summary, its dbt results), the metric values yesterday_build poisoned)."""
    full, cutoff, counts = delivered
    warehouse = tmp_path_factory.mktemp("incremental") / "warehouse"
    incremental = full.with_(warehouse_dir=warehouse, incremental=True)
    yesterday_build(full.build_database, incremental.build_database, cutoff)
    before = _fact_rows(incremental.build_database)
    staging_before = _row_counts(incremental.build_database, "staging")
    poisoned = _poisoned(incremental.build_database)
    with pytest.MonkeyPatch.context() as monkeypatch:
        run = _run_incremental(incremental, monkeypatch, counts)
    return incremental, before, staging_before, run, poisoned


def test_incremental_run_publishes_what_a_full_run_over_the_same_files_does(delivered, incremental_day):
    full, cutoff, counts = delivered
    assert 0 < counts["erp.sales_order_lines"] <= 0.011 * 26_705, counts
    assert counts == rows_after(SAMPLE_DIR, cutoff)
    incremental, before, _, (summary, results), poisoned = incremental_day
    assert poisoned > 0
    _compare_with_full(incremental, full, full.data_dir, before, results)

    # the exports kept exactly the rows of the periods before the window's fiscal year (none
    # poisoned, or the comparison above fails) and recomputed the rest
    recomputed_from = _fiscal_year_start(full.build_database, summary.incremental_plan.window_start)
    with duckdb.connect(str(full.build_database), read_only=True) as con:
        earlier, later = con.execute(
            "select count(*) filter (where period_start < ?), count(*) filter (where period_start >= ?)"
            " from metrics.metric_values",
            [recomputed_from, recomputed_from],
        ).fetchone()
    assert summary.metric_full_because is None
    assert (summary.metric_rows_kept, summary.metric_rows_recomputed) == (earlier, later)
    assert earlier > 0 and later >= poisoned
    assert f"{later:,} rows recomputed, {earlier:,} of earlier periods kept" in summary.describe()
    # the scorecards and attributions of those earlier periods were kept too, not computed again
    assert summary.scored_from == [recomputed_from]


def test_an_incremental_run_stages_only_the_delivery_files(delivered, incremental_day):
    """Each appending table's staging model read its delivery file alone, not its base file, and
    added exactly the delivery's rows (as write_with_delivery counted them); a table without a
    delivery file read no row. A table that does not append was rebuilt from its files."""
    full, cutoff, counts = delivered
    incremental, _, staging_before, (_summary, results), _poisoned_values = incremental_day
    staging_after = _row_counts(incremental.build_database, "staging")
    delivered_tables = 0
    for source, table in _appending_tables():
        node = _staging_model(results, source.name, table.name)
        assert node.config.materialized == "incremental", node.name
        base, *deliveries = (str(path.resolve()) for path in full.table_files(source.name, table.name))
        delivered_rows = counts.get(f"{source.name}.{table.file_stem}", 0)
        model = f"staging.{node.name}"
        assert staging_after[model] == staging_before[model] + delivered_rows, model
        if delivered_rows:
            delivered_tables += 1
            (delivery,) = deliveries
            assert f"/deliveries/{delivery_batch(cutoff)}/" in delivery
            assert f"'{delivery}'" in node.compiled_code and f"'{base}'" not in node.compiled_code, model
        else:  # no file of this table in the batch: nothing new to read
            assert not deliveries and "where false" in node.compiled_code, model
    # every delivered table appends (the delivery is the transactions'), and there are many
    assert delivered_tables == sum(1 for rows in counts.values() if rows) >= 10, counts
    # master data stays a table, read whole
    customers = _staging_model(results, "erp", "customers")
    assert customers.config.materialized == "table"
    assert f"'{full.source_path('erp', 'customers').resolve()}'" in customers.compiled_code


def test_a_second_incremental_run_without_a_new_delivery_changes_nothing(
    incremental_day, tmp_path, monkeypatch
):
    """The same files again, no new delivery: every appending staging model reads no row, and no
    staging or mart row changes (in a copy of the incremental run's build warehouse: the fixture's
    stays as it was)."""
    first, *_ = incremental_day
    again = first.with_(warehouse_dir=tmp_path / "warehouse")
    again.warehouse_dir.mkdir()
    shutil.copyfile(first.build_database, again.build_database)
    before = _snapshot(again)
    _summary, results = _run_incremental(again, monkeypatch, delivered={})  # no new file
    for source, table in _appending_tables():
        node = _staging_model(results, source.name, table.name)
        assert "where false" in node.compiled_code and "/deliveries/20" not in node.compiled_code, node.name
    after = _snapshot(again)
    assert after.keys() == before.keys() and len(before) > 50
    changed = [table for table in before if after[table] != before[table]]
    assert not changed, f"a second incremental run without a delivery changed {changed}"


def _snapshot(settings) -> dict[str, list[tuple]]:
    """Every staging and mart row of a build warehouse, per table."""
    with duckdb.connect() as con:
        con.execute(f"attach '{settings.build_database}' as warehouse (read_only)")
        return {
            table: _rows(con, "warehouse", table, str(settings.data_dir.resolve()))
            for table in _tables(con, "warehouse", ("staging", "marts"))
        }


def test_a_changed_dimension_row_makes_the_exports_recompute_every_value(delivered, tmp_path, monkeypatch):
    """Yesterday a customer was in another region: every old period's region slice changes, so
    nothing is kept (and the poisoned values are recomputed as well)."""
    full, cutoff, counts = delivered
    incremental = full.with_(warehouse_dir=tmp_path / "warehouse", incremental=True)
    yesterday_build(full.build_database, incremental.build_database, cutoff)
    with duckdb.connect(str(incremental.build_database)) as con:
        (customer,) = con.execute(
            "select customer_key from marts.dim_customers where region is not null order by 1 limit 1"
        ).fetchone()
        con.execute("update marts.dim_customers set region = 'Atlantis' where customer_key = ?", [customer])
    before = _fact_rows(incremental.build_database)
    summary, results = _run_incremental(incremental, monkeypatch, counts)
    _compare_with_full(incremental, full, full.data_dir, before, results)
    assert summary.incremental_plan.incremental
    assert "marts.dim_customers: 1 row(s) changed or disappeared" in summary.metric_full_because
    assert summary.metric_rows_kept == 0 and summary.metric_rows_recomputed == summary.metric_rows
    assert "every metric value recomputed: dimension rows changed" in summary.describe()


def test_what_the_exports_keep_follows_definitions_as_of_dates_and_the_earlier_export(delivered, tmp_path):
    """`export_scope.decide` on yesterday's real build warehouse: it keeps the periods before the
    window's fiscal year only while the definitions and as-of dates are the ones yesterday's values
    were computed with."""
    full, cutoff, _counts = delivered
    settings = full.with_(warehouse_dir=tmp_path / "warehouse", incremental=True)
    yesterday_build(full.build_database, settings.build_database, cutoff)
    calendar = read_calendar(settings.build_database)
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        (manifest, as_of_dates) = con.execute(
            f"select semantic_manifest_sha256, as_of_dates from {EXPORT_STATE}"
        ).fetchone()
        hashes = dict(
            con.execute("select metric_name, definition_hash from metrics.metric_catalog").fetchall()
        )
        (rows,) = con.execute("select count(*) from metrics.metric_values").fetchone()
    state = ExportState(manifest, json.loads(as_of_dates))
    window = cutoff - timedelta(days=3)
    incremental = settings.with_(incremental_start=window)
    previous = read_previous(settings.build_database)

    kept = decide(incremental, state, hashes, calendar, previous)
    assert kept.full_because is None and kept.start == _fiscal_year_start(full.build_database, window)
    assert 0 < len(kept.kept) < rows and (kept.kept["period_start"] < kept.start).all()

    # a full run recomputes everything, and needs no reason
    assert decide(settings, state, hashes, calendar, previous).start is None
    # other definitions: the semantic manifest, or one metric's definition hash
    other = ExportState("0" * 64, state.as_of_dates)
    assert "semantic manifest changed" in decide(incremental, other, hashes, calendar, previous).full_because
    changed = decide(incremental, state, hashes | {"revenue": "another"}, calendar, previous)
    assert changed.start is None and changed.full_because == "metric definitions changed: revenue"
    # a company's as-of date moved back a year: its periods from then on are recomputed too
    company = next(key for key in state.as_of_dates if key.startswith("company_code="))
    moved = date.fromisoformat(state.as_of_dates[company]) - timedelta(days=365)
    moved_state = ExportState(manifest, state.as_of_dates | {company: moved.isoformat()})
    earlier = decide(incremental, moved_state, hashes, calendar, previous)
    assert earlier.start == _fiscal_year_start(full.build_database, moved) < kept.start
    # no record of what yesterday's values were computed with
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute(f"drop table {EXPORT_STATE}")
    gone = read_previous(settings.build_database)
    assert "no earlier export" in decide(incremental, state, hashes, calendar, gone).full_because


def test_a_delivered_row_names_its_delivery_file_and_line(delivered):
    """Staging and the fact: each delivered order and order line carries its delivery file and
    its line there (the header is line 1), each history row its base file and line, as pandas
    reads the files."""
    full, cutoff, counts = delivered
    with duckdb.connect(str(full.build_database), read_only=True) as con:
        for table, columns, fact in (
            ("sales_orders", ["order_id"], None),
            ("sales_order_lines", ["order_id", "line_number"], "fct_sales_order_lines"),
        ):
            base, delivery = full.table_files("erp", table)
            assert (
                delivery == full.source_folder("erp") / "deliveries" / delivery_batch(cutoff) / f"{table}.csv"
            )
            for path in (base, delivery):
                expected = _keys(path, columns)
                rows = con.execute(
                    f"select {_key_sql(columns)}, _source_row from staging.stg_erp__{table}"
                    " where _source_file = ? order by _source_row",
                    [str(path.resolve())],
                ).fetchall()
                assert rows == [(value, line) for line, value in enumerate(expected, start=2)], path
            assert len(expected) == counts[f"erp.{table}"]
            if fact:  # the fact's delivered lines lead to the delivery file's lines
                lines = con.execute(
                    f"select {_key_sql(columns)}, _source_row from marts.{fact}"
                    " where _source_file = ? order by 2",
                    [str(delivery.resolve())],
                ).fetchall()
                assert lines and set(lines) <= {(value, line) for line, value in enumerate(expected, start=2)}


def _keys(path, columns: list[str]) -> list[str]:
    """The record keys of a raw file (its columns' values joined by /), in file order (pandas)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return ["/".join(values) for values in zip(*(frame[c].str.strip() for c in columns), strict=True)]


def _key_sql(columns: list[str]) -> str:
    return " || '/' || ".join(columns)


def test_an_incremental_run_tests_the_window_row_by_row_and_keys_across_the_whole_table(delivered, tmp_path):
    """In an incremental run a fact's row-by-row checks (not_null, accepted_values, relationships)
    test the recomputed window alone; uniqueness stays global (macros/incremental.sql,
    get_where_subquery). A NULL put into a row inside the window fails the incremental run's
    not_null test; the same NULL before the window passes it and fails a full run's; a key
    repeated from before the window into it fails uniqueness."""
    full, cutoff, _counts = delivered
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copyfile(full.build_database, warehouse / "finkpi.duckdb")
    window_start = cutoff
    incremental = full.with_(warehouse_dir=warehouse, incremental=True, incremental_start=window_start)
    not_null = "not_null_fct_sales_order_lines_company_code"
    unique = "unique_key_fct_sales_order_lines_order_line_key"

    def failed(settings, *tests) -> set[str]:
        result = dbt_runner.invoke(settings, ["--quiet", "test", "--select", *tests])
        return {r.node.name for r in result.result.results if str(r.status) in ("fail", "error")}

    def blank_one_row(before_window: bool) -> None:
        with duckdb.connect(str(incremental.build_database)) as con:
            con.execute(
                "update marts.fct_sales_order_lines set company_code = null where order_line_key = ("
                " select min(order_line_key) from marts.fct_sales_order_lines where order_date "
                + ("<" if before_window else ">=")
                + " ?)",
                [window_start],
            )

    assert failed(incremental, not_null, unique) == set()
    blank_one_row(before_window=True)
    assert failed(incremental, not_null) == set()  # the window is what this run recomputed
    assert failed(incremental.with_(incremental=False, incremental_start=None), not_null) == {not_null}
    blank_one_row(before_window=False)
    assert failed(incremental, not_null) == {not_null}
    with duckdb.connect(str(incremental.build_database)) as con:  # an old key again, in the window
        con.execute(
            "insert into marts.fct_sales_order_lines select * replace (? as order_date)"
            " from marts.fct_sales_order_lines where order_date < ? limit 1",
            [window_start, window_start],
        )
    assert unique in failed(incremental, unique)


@pytest.mark.slow
def test_incremental_run_after_a_built_history_and_a_delivery_folder(delivered, tmp_path, monkeypatch):
    """The long way: a real full build of the history, then the delivery lands as a folder of new
    files beside the base files, which it leaves untouched."""
    full, cutoff, counts = delivered
    data_dir = tmp_path / "data"
    history = load_settings(data_dir=data_dir, warehouse_dir=tmp_path / "warehouse")
    assert write_history(SAMPLE_DIR, data_dir, cutoff) == counts
    dbt_runner.build(history, quiet=True)  # full
    record_build(history, input_file_hashes(history))  # as a run records its build
    before = _fact_rows(history.build_database)
    # yesterday_build leaves the incremental facts as this history build holds them
    shortcut = tmp_path / "shortcut" / "finkpi.duckdb"
    yesterday_build(full.build_database, shortcut, cutoff)
    with duckdb.connect() as con:
        con.execute(f"attach '{history.build_database}' as history (read_only)")
        con.execute(f"attach '{shortcut}' as shortcut (read_only)")
        for table in INCREMENTAL_FACTS:
            assert _rows(con, "shortcut", f"marts.{table}", str(full.data_dir.resolve())) == _rows(
                con, "history", f"marts.{table}", str(data_dir.resolve())
            ), table

    # the delivery lands: only its folder is new, every file loaded before stays as it was
    loaded = {path: path.read_bytes() for path in data_dir.rglob("*") if path.is_file()}
    for source in ("erp", "crm"):
        shutil.copytree(full.data_dir / source / "deliveries", data_dir / source / "deliveries")
    assert {path: path.read_bytes() for path in loaded} == loaded
    arguments = ["--data-dir", str(data_dir), "--warehouse-dir", str(history.warehouse_dir)]
    incremental = settings_from(build_parser().parse_args(["run", "--incremental", *arguments]))
    _summary, results = _run_incremental(incremental, monkeypatch, counts)
    _compare_with_full(incremental, full, data_dir, before, results)


def test_a_run_without_a_delivery_folder_reads_each_base_file_as_before(built, sample_settings):
    """No delivery folder (the bundled sample): every staged row comes from its table's one file,
    numbered by its line there, in file order, as pandas reads the file."""
    assert not list(sample_settings.source_folder("erp").glob("deliveries"))
    path = sample_settings.source_path("erp", "sales_order_lines")
    assert sample_settings.table_files("erp", "sales_order_lines") == [path]
    expected = _keys(path, ["order_id", "line_number"])
    with duckdb.connect(str(sample_settings.build_database), read_only=True) as con:
        rows = con.execute(
            f"select _source_file, {_key_sql(['order_id', 'line_number'])}, _source_row"
            " from staging.stg_erp__sales_order_lines order by _source_row"
        ).fetchall()
    assert rows == [(str(path.resolve()), value, line) for line, value in enumerate(expected, start=2)]


def test_a_run_rebuilds_in_full_unless_incremental(monkeypatch, sample_settings):
    """`finkpi run` passes --full-refresh to dbt (a plain run rebuilds every table); with
    `--incremental` or FINKPI_INCREMENTAL=1 it does not."""
    calls = []
    monkeypatch.setattr(dbt_runner, "invoke", lambda settings, args: calls.append(args) or _Ok())
    dbt_runner.build(sample_settings)
    dbt_runner.build(sample_settings.with_(incremental=True))
    assert "--full-refresh" in calls[0] and "--full-refresh" not in calls[1]

    assert not settings_from(build_parser().parse_args(["run"])).incremental
    assert settings_from(build_parser().parse_args(["run", "--incremental"])).incremental
    monkeypatch.setenv("FINKPI_INCREMENTAL", "1")
    assert settings_from(build_parser().parse_args(["run"])).incremental
    monkeypatch.setenv("FINKPI_INCREMENTAL_LOOKBACK_DAYS", "-1")
    with pytest.raises(ValueError, match="LOOKBACK"):
        load_settings()


class _Ok:
    success = True

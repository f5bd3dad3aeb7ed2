"""The published contract (finkpi.contract): it says what ARCHITECTURE's "Published interface"
says, the modules that write and serve a version take their tables from it, and a version the
pipeline published holds exactly its tables, with at least its columns, in every file."""

from __future__ import annotations

import json

import duckdb
import pytest

from finkpi import contract
from finkpi.api.query import RESOURCES
from finkpi.audit.store import SCHEMA, published_audit_sql
from finkpi.lineage.scorecards import COLUMN_LINEAGE

# ARCHITECTURE.md, "Published interface (the contract BI tools rely on)": table -> columns (at least)
ARCHITECTURE = {
    "metric_catalog": "metric_name, label, description, perspective, metric_type, unit, direction, owner,"
    " department, certified, definition_sql, definition_hash, source_documents, period_date, includes,"
    " excludes, rounding, slice_behavior",
    "metric_definition_history": "metric_name, definition_hash, valid_from, valid_to, certified_by,"
    " certified_at, change_note",
    "metric_values": "metric_name, grain, period_start, period_label, is_complete, dimension,"
    " dimension_value, value, run_id",
    "scorecard_lines": "scorecard, org_unit, grain, period_start, metric_name, perspective, weight, actual,"
    " target, floor, stretch, attainment, score, weighted_score, run_id",
    "scorecard_summary": "scorecard, org_unit, grain, period_start, total_score, result_score, process_score,"
    " coverage, run_id",
    "driver_attribution": "metric_name, driver_metric, grain, period_start, comparison_period_start, change,"
    " contribution, method, run_id",
    "driver_associations": "metric_name, driver_metric, grain, lag_periods, n, estimate, ci_low, ci_high,"
    " method, run_id",
    "metric_forecast": "metric_name, org_unit, grain, period_start, as_of, projected_value, target,"
    " projected_attainment, at_risk, run_id",
    # "copies of the audit store as of this publish": no column list
    "audit_runs": None,
    "audit_validations": None,
    "audit_quarantine": None,
}


def _columns(text: str) -> list[str]:
    return [name.strip() for name in text.split(",")]


def test_the_contract_says_what_architecture_says():
    assert set(contract.INTERFACE_TABLES) == set(ARCHITECTURE)
    for name, columns in ARCHITECTURE.items():
        if columns is not None:
            assert list(contract.TABLES[name].columns) == _columns(columns), name
    assert all(
        contract.TABLES[name].source == contract.AUDIT for name in ARCHITECTURE if name.startswith("audit_")
    )


def test_every_table_has_one_source_and_its_relation():
    for table in contract.TABLES.values():
        assert table.source in (contract.BUILD, contract.CLOSE, contract.SCORECARD, contract.AUDIT), table
        assert table.columns and len(set(table.columns)) == len(table.columns), table.name
        assert table.one_row_per, table.name
        if table.source in (contract.BUILD, contract.SCORECARD):
            assert table.build_relation == f"metrics.{table.name}", table.name
        assert (table.source == contract.AUDIT) == (table.audit_table is not None), table.name
        assert (table.source == contract.AUDIT) == table.name.startswith(contract.AUDIT_PREFIX), table.name
    groups = (contract.BUILD_TABLES, contract.CLOSE_TABLES, contract.SCORECARD_TABLES, contract.AUDIT_TABLES)
    assert sorted(sum(groups, ())) == sorted(contract.TABLES)
    # the export step writes the relations of the catalog, the history and the values
    assert set(contract.EXPORT_TABLES) == {"metric_values", "metric_catalog", "metric_definition_history"}


def test_the_audit_copies_have_the_contract_columns_even_without_a_store():
    assert set(published_audit_sql(None)) == set(contract.AUDIT_TABLES)
    with duckdb.connect() as con:
        for name, sql in published_audit_sql(None, "run").items():
            columns = [row[0] for row in con.execute(f"describe {sql}").fetchall()]
            assert set(contract.TABLES[name].columns) <= set(columns), name
            table = contract.TABLES[name].audit_table
            if name != "audit_runs":  # a copy as it is: the store's own columns
                assert columns == ["seq", "prev_hash", *SCHEMA[table], "record_hash"], name


def test_readers_name_only_contract_tables():
    assert {resource.table for resource in RESOURCES.values()} <= set(contract.TABLES)
    for table in COLUMN_LINEAGE:  # scorecard lineage: a published table of the scorecard step
        assert table in contract.SCORECARD_TABLES, table


def test_the_tables_readers_are_shown_are_described_and_ordered_in_the_contract():
    """Dagster's asset descriptions and the API's row order are the contract's: every table a step
    writes says what it holds, every table the API serves says its row order."""
    for name in (*contract.EXPORT_TABLES, *contract.SCORECARD_TABLES):
        assert contract.TABLES[name].description, f"{name}: no description in finkpi/contract.py"
    for resource in RESOURCES.values():
        assert resource.order_by == contract.TABLES[resource.table].order_by != ()
        # driver_attribution is ordered by its `comparison` too, a column beyond ARCHITECTURE's minimum
        assert set(resource.order_by) <= set(contract.TABLES[resource.table].columns) | {"comparison"}


def test_step_tables_must_be_exactly_the_contracts():
    frames = {name: name for name in contract.EXPORT_TABLES}
    assert list(contract.step_tables(contract.EXPORT_STEP, **frames)) == list(contract.EXPORT_TABLES)
    with pytest.raises(ValueError, match="metric_catalog"):  # a step forgetting a table fails
        contract.step_tables(contract.EXPORT_STEP, metric_values=1)


def test_a_published_version_holds_exactly_the_contract(built, sample_settings):
    """The session's pipeline run published every table of the contract (the sample company's
    fiscal calendar has targets, so the scorecard step wrote all of its tables)."""
    warehouse = sample_settings.warehouse_dir
    version = contract.version_dir(warehouse, built.published_version)
    assert (contract.current_link(warehouse).resolve()) == version.resolve()
    assert contract.published_path(warehouse).resolve() == contract.database_file(version).resolve()
    manifest = json.loads(contract.manifest_file(version).read_text())
    assert set(manifest["tables"]) == set(contract.TABLES)
    assert {p.name for p in version.iterdir()} == contract.version_files(contract.TABLES)
    assert set(manifest["files"]) == contract.version_files(contract.TABLES) - {contract.MANIFEST}
    with duckdb.connect(str(contract.database_file(version)), read_only=True) as con:
        in_database = {
            table: [
                column
                for (column,) in con.execute(f'select column_name from (describe "{table}")').fetchall()
            ]
            for (table,) in con.execute("select table_name from duckdb_tables()").fetchall()
        }
    assert set(in_database) == set(contract.TABLES)
    with duckdb.connect() as con:
        for name, table in contract.TABLES.items():
            parquet = contract.parquet_file(version, name)
            assert manifest["tables"][name]["parquet"] == parquet.name
            in_parquet = [
                column
                for (column,) in con.execute(
                    "select column_name from (describe select * from read_parquet(?))", [str(parquet)]
                ).fetchall()
            ]
            missing = set(table.columns) - set(in_database[name])
            assert not missing, f"{name} lacks {sorted(missing)} in {contract.DATABASE}"
            assert in_parquet == in_database[name], name
            assert set(manifest["tables"][name]["columns"]) == set(in_database[name]), name

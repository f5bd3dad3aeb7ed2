"""The quality gate of an incremental run: an incremental fact's row-level expectations check the
rows of the run's window, its table-level ones the whole table; a full run checks every row
(finkpi/quality/gx_runner.py, `suite_batches`)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import duckdb

from finkpi.quality import gx_runner
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR

WINDOW_START = date(2025, 11, 3)

# a toy fct_invoice_lines (an incremental fact, by revenue_date) with one expectation of each kind
SUITE = {
    "fct_invoice_lines": {
        "name": "fct_invoice_lines",
        "meta": {"finkpi_table": "marts.fct_invoice_lines"},
        "expectations": [
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "invoice_line_key"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "quantity"}},
            {
                "type": "unexpected_rows_expectation",
                "kwargs": {"unexpected_rows_query": "select * from {batch} where quantity < 0"},
                "meta": {"notes": "no negative quantity", "row_level": True},
            },
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 4, "max_value": 4}},
        ],
    }
}


def _gate(settings, rows: list[tuple]) -> dict[str, str]:
    """The toy table with `rows` (key, revenue_date, quantity) in a new warehouse (GX holds the
    file open in its own configuration, which no later connection of this process may differ
    from), validated: label -> status."""
    settings = settings.with_(warehouse_dir=Path(tempfile.mkdtemp(dir=settings.warehouse_dir)))
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.fct_invoice_lines"
            " (invoice_line_key varchar, revenue_date date, quantity decimal(18, 3))"
        )
        con.executemany("insert into marts.fct_invoice_lines values (?, ?, ?)", rows)
    result = gx_runner.validate(settings, suites=SUITE, build_docs=False)
    assert not result.errors, result.describe()
    return {o.expectation: o.status for o in result.outcomes}


def test_an_incremental_gate_checks_rows_in_the_window_and_the_table_as_a_whole(tmp_path):
    full = load_settings(data_dir=SAMPLE_DIR, warehouse_dir=tmp_path)
    incremental = full.with_(incremental=True, incremental_start=WINDOW_START)
    scope = " (rows from 2025-11-03)"
    old_bad_row = [("a", date(2025, 10, 1), None), ("b", date(2025, 11, 2), -1)]
    good = [("c", date(2025, 11, 3), 1), ("d", date(2025, 11, 9), 2)]

    # bad rows before the window: checked by the runs that wrote them, not again; a full run fails
    assert _gate(incremental, old_bad_row + good) == {
        "expect_column_values_to_be_unique [invoice_line_key]": "passed",
        "expect_table_row_count_to_be_between": "passed",
        f"expect_column_values_to_not_be_null [quantity]{scope}": "passed",
        f"unexpected_rows_expectation [no negative quantity]{scope}": "passed",
    }
    assert _gate(full, old_bad_row + good) == {
        "expect_column_values_to_be_unique [invoice_line_key]": "passed",
        "expect_column_values_to_not_be_null [quantity]": "failed",
        "unexpected_rows_expectation [no negative quantity]": "failed",
        "expect_table_row_count_to_be_between": "passed",
    }

    # a bad row inside the window (its first day included) fails the incremental gate
    inside = [("a", date(2025, 10, 1), 1), ("b", date(2025, 11, 2), 1), ("c", date(2025, 11, 3), None)]
    statuses = _gate(incremental, [*inside, ("d", date(2025, 11, 9), -1)])
    assert statuses[f"expect_column_values_to_not_be_null [quantity]{scope}"] == "failed"
    assert statuses[f"unexpected_rows_expectation [no negative quantity]{scope}"] == "failed"

    # a row without a date is in every window (a full run would check it anyway)
    undated = _gate(incremental, [("a", date(2025, 10, 1), 1), ("b", None, None), *good])
    assert undated[f"expect_column_values_to_not_be_null [quantity]{scope}"] == "failed"

    # uniqueness and the row count stay global: a window row repeating an older key fails
    duplicate = _gate(
        incremental,
        [("a", date(2025, 10, 1), 1), ("b", date(2025, 11, 2), 1), *good[:1], ("a", date(2025, 11, 9), 1)],
    )
    assert duplicate["expect_column_values_to_be_unique [invoice_line_key]"] == "failed"
    assert _gate(incremental, good)["expect_table_row_count_to_be_between"] == "failed"


def test_the_invoice_lines_suite_windows_its_row_level_expectations_only():
    """In the real suite: the column value checks and referential integrity are row-level; the
    uniqueness of the key, the row count, the newest date, the column set and the schema query
    read the whole table."""
    spec = gx_runner.load_suites()["fct_invoice_lines"]
    batches = gx_runner.suite_batches("fct_invoice_lines", spec, WINDOW_START)
    assert [(name, query) for name, query, _, _ in batches] == [
        ("fct_invoice_lines", "select * from marts.fct_invoice_lines"),
        (
            "fct_invoice_lines__window",
            "select * from marts.fct_invoice_lines"
            " where revenue_date >= date '2025-11-03' or revenue_date is null",
        ),
    ]
    whole, window = ({e["type"] for e in entries} for _, _, entries, _ in batches)
    assert whole == {
        "expect_table_columns_to_match_set",
        "unexpected_rows_expectation",  # the schema query (information_schema), not {batch}
        "expect_column_values_to_be_unique",
        "expect_column_max_to_be_between",
        "expect_table_row_count_to_be_between",
    }
    assert window == {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "unexpected_rows_expectation",
    }
    assert sorted(
        e["kwargs"]["description"]
        for _, _, entries, _ in batches[1:]
        for e in entries
        if "description" in e["kwargs"]
    ) == [
        "referential integrity: customer_id -> dim_customers",
        "referential integrity: product_id -> dim_products",
    ]
    assert sum(len(entries) for _, _, entries, _ in batches) == len(spec["expectations"])
    # a full run, or a suite of a table that is not an incremental fact: one batch of everything
    assert gx_runner.suite_batches("fct_invoice_lines", spec, None) == [
        ("fct_invoice_lines", "select * from marts.fct_invoice_lines", spec["expectations"], "")
    ]
    snapshots = gx_runner.load_suites()["fct_ar_snapshots"]
    assert len(gx_runner.suite_batches("fct_ar_snapshots", snapshots, WINDOW_START)) == 1

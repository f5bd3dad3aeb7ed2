"""Great Expectations on DuckDB: without finkpi's patch every expectation comes back as an error
(not a pass, not a data failure); with it they run. See finkpi/quality/gx_duckdb.py."""

from __future__ import annotations

import duckdb

from finkpi.quality import gx_duckdb, gx_runner
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR

SUITE = {
    "toy": {
        "name": "toy",
        "meta": {"finkpi_table": "marts.toy"},
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": 0}},
            {
                "type": "unexpected_rows_expectation",
                "kwargs": {"unexpected_rows_query": "select * from {batch} where a > 2"},
            },
        ],
    }
}


def test_patch_is_needed_and_works(tmp_path):
    settings = load_settings(data_dir=SAMPLE_DIR, warehouse_dir=tmp_path)
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute("create schema marts; create table marts.toy as select * from range(3) as t(a)")

    gx_duckdb.remove()
    try:
        unpatched = gx_runner.validate(settings, suites=SUITE, build_docs=False, patch=False)
    finally:
        gx_duckdb.apply()
    assert len(unpatched.outcomes) == 3
    assert len(unpatched.errors) == 3, unpatched.describe()  # errors, never passes or data failures
    assert not unpatched.success and not unpatched.failures
    assert "ERROR toy" in unpatched.describe()

    patched = gx_runner.validate(settings, suites=SUITE, build_docs=True)
    assert patched.success, patched.describe()
    assert patched.data_docs and patched.data_docs.exists()
    records = patched.to_records()
    assert {r["status"] for r in records} == {"passed"} and {r["suite"] for r in records} == {"toy"}
    # where the time went (the benchmark reports it): each suite run, and GX's set-up before it
    assert set(patched.suite_seconds) == {"toy"} and patched.suite_seconds["toy"] > 0
    assert patched.setup_seconds > 0

"""dbt's environment is set for one call and restored after it: a call's warehouse and data folder
never leak into the next `load_settings()` of the process or into its subprocesses."""

from __future__ import annotations

import json
import os
from datetime import date

import dbt.cli.main
import pytest

from finkpi import dbt_runner
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR


def test_the_variables_are_set_during_a_call_and_restored_after_it(tmp_path, monkeypatch):
    monkeypatch.delenv("FINKPI_WAREHOUSE_DIR", raising=False)
    monkeypatch.setenv("FINKPI_DATA_DIR", "/somewhere/else")
    settings = load_settings(warehouse_dir=tmp_path / "warehouse", data_dir=SAMPLE_DIR)
    seen = {}

    class FakeRunner:  # records what dbt would have read, instead of running it
        def invoke(self, args):
            seen.update({name: os.environ.get(name) for name in settings.dbt_environment()})
            raise RuntimeError("dbt failed")

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", FakeRunner)
    with pytest.raises(RuntimeError, match="dbt failed"):  # restored on failure too
        dbt_runner.invoke(settings, ["parse"])
    assert seen == settings.dbt_environment()
    assert "FINKPI_WAREHOUSE_DIR" not in os.environ
    assert os.environ["FINKPI_DATA_DIR"] == "/somewhere/else"
    assert load_settings().warehouse_dir != settings.warehouse_dir


def test_the_vars_stay_the_same_when_the_dates_move(tmp_path, monkeypatch):
    """What dbt sees of two days' runs: the same --vars, the dates in the environment."""
    calls = []

    class RecordingRunner:  # records the call instead of running dbt
        def invoke(self, args):
            run_dates = {
                name: os.environ.get(name)
                for name in (
                    "FINKPI_RUN_AS_OF_DATE",
                    "FINKPI_RUN_SOURCE_AS_OF_DATES",
                    "FINKPI_RUN_INCREMENTAL_START",
                )
            }
            calls.append((json.loads(args[args.index("--vars") + 1]), run_dates))

    monkeypatch.setattr("dbt.cli.main.dbtRunner", RecordingRunner)
    base = load_settings(warehouse_dir=tmp_path / "warehouse", data_dir=SAMPLE_DIR)
    dbt_runner.invoke(
        base.with_(as_of_date=date(2025, 11, 12), source_as_of_dates={"crm": date(2025, 11, 10)}), ["parse"]
    )
    dbt_runner.invoke(
        base.with_(as_of_date=date(2025, 11, 13), incremental_start=date(2025, 11, 9)), ["parse"]
    )

    (first_vars, first_dates), (second_vars, second_dates) = calls
    assert first_vars == second_vars
    assert "as_of_date" not in first_vars and "incremental_start" not in first_vars
    assert all("as_of_date" not in source for source in first_vars["sources"].values())
    assert first_dates["FINKPI_RUN_AS_OF_DATE"] == "2025-11-12"
    assert json.loads(first_dates["FINKPI_RUN_SOURCE_AS_OF_DATES"])["crm"] == "2025-11-10"
    assert first_dates["FINKPI_RUN_INCREMENTAL_START"] == ""
    assert second_dates["FINKPI_RUN_AS_OF_DATE"] == "2025-11-13"
    crm = base.with_(as_of_date=date(2025, 11, 13)).source_as_of_date("crm").isoformat()
    assert json.loads(second_dates["FINKPI_RUN_SOURCE_AS_OF_DATES"])["crm"] == crm
    assert second_dates["FINKPI_RUN_INCREMENTAL_START"] == "2025-11-09"

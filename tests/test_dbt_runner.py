"""dbt's environment is set for one call and restored after it: a call's warehouse and data folder
never leak into the next `load_settings()` of the process or into its subprocesses."""

from __future__ import annotations

import os

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

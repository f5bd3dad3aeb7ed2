"""The run's dates reach dbt as environment variables, not vars (Settings.dbt_call): a run whose
definitions did not change parses partially although its dates moved, and the compiled SQL still
carries the new dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from finkpi import dbt_runner
from finkpi.settings import PROJECT_DIR, load_settings
from tests.conftest import NOT_IN_A_PROJECT_COPY, SAMPLE_DIR

pytestmark = pytest.mark.build

FULL_REPARSE = "Unable to do partial parsing"
# no file parsed again either (the macros read the dates only when executing)
NOTHING_REPARSED = "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed."


def _project_copy(folder: Path) -> Path:
    """A project of symlinks with its own target/ and logs/ (dbt's log is read below)."""
    folder.mkdir()
    for entry in PROJECT_DIR.iterdir():
        if entry.name not in NOT_IN_A_PROJECT_COPY:
            (folder / entry.name).symlink_to(entry)
    return folder


def _invoke(settings, args: list[str]) -> str:
    """One dbt call; what it wrote to dbt's log."""
    log = settings.project_dir / "logs" / "dbt.log"
    before = log.stat().st_size if log.exists() else 0
    result = dbt_runner.invoke(settings, args)
    assert result.success, f"dbt {' '.join(args)} failed: {result.exception}"
    with log.open() as text:
        text.seek(before)
        return text.read()


def test_moved_dates_parse_partially_and_compile_with_the_new_dates(tmp_path):
    base = load_settings(
        project_dir=_project_copy(tmp_path / "project"),
        warehouse_dir=tmp_path / "warehouse",
        data_dir=SAMPLE_DIR,
    )
    yesterday = base.with_(
        as_of_date=date(2025, 11, 12),
        source_as_of_dates={"crm": date(2025, 11, 11)},
        incremental_start=date(2025, 11, 9),
    )
    today = base.with_(
        as_of_date=date(2025, 11, 13),
        source_as_of_dates={"crm": date(2025, 11, 12)},
        incremental_start=date(2025, 11, 10),
    )
    _invoke(yesterday, ["parse"])
    log = _invoke(today, ["compile", "--select", "dim_dates", "dim_companies"])

    assert NOTHING_REPARSED in log and FULL_REPARSE not in log, log[-3000:]
    compiled = tmp_path / "project" / "target" / "compiled" / "finkpi" / "models" / "marts" / "core"
    dim_dates = (compiled / "dim_dates.sql").read_text()
    assert "cast('2025-11-13' as date)" in dim_dates and "2025-11-12" not in dim_dates
    dim_companies = (compiled / "dim_companies.sql").read_text()
    assert "when 'crm' then cast('2025-11-12' as date)" in dim_companies
    # the other sources keep the dates the settings resolve for them, as before
    erp = today.resolved().source_as_of_date("erp").isoformat()
    assert f"when 'erp' then cast('{erp}' as date)" in dim_companies

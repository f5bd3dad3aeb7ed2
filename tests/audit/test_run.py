"""The `Run` object (finkpi/run.py), the one run lifecycle of the CLI, Dagster and Spark: its id,
its as-of dates resolved once, its start and end records, its OpenLineage events and report, and
that lineage and the report never fail a run. No build: a temporary warehouse over the sample data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from finkpi import run as run_module
from finkpi import settings as settings_module
from finkpi.audit.store import AuditStore
from finkpi.lineage import openlineage
from finkpi.run import Run, new_run_id
from finkpi.settings import PROJECT_DIR, load_settings
from finkpi.sources import get

SAMPLE_DIR = PROJECT_DIR / "data" / "sample"


@pytest.fixture
def settings(tmp_path):
    # OpenLineage to the warehouse's files, whatever the environment says
    settings = load_settings(data_dir=SAMPLE_DIR, warehouse_dir=tmp_path / "warehouse")
    return settings.with_(openlineage_url=None, openlineage_disabled=False)


@pytest.fixture
def messages():
    return []


def _records(settings, run_id):
    return AuditStore(settings.warehouse_dir).run_records(run_id)


def test_run_ids_have_one_sortable_format():
    run_id = new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", run_id)
    assert new_run_id() != run_id  # a random suffix: two runs in one second differ
    earlier = new_run_id(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC))
    later = new_run_id(datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC))
    assert sorted([later, earlier]) == [earlier, later]
    # Dagster's: its run's creation time (in UTC, whatever the zone) and its id's first characters
    created = datetime(2026, 3, 2, 1, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert new_run_id(created, "5f3e2a1b") == "20260302T000000Z-5f3e2a1b"


def test_as_of_dates_are_resolved_once_per_run(settings, monkeypatch, messages):
    calls = {"erp": 0, "sap": 0}
    resolve = settings_module.resolve_source_as_of_date

    def counted(s, source, override_env=None):
        calls[source.name] += 1
        return resolve(s, source, override_env)

    monkeypatch.setattr(settings_module, "resolve_source_as_of_date", counted)
    run = Run(settings, progress=messages.append)
    run.start()
    for _ in range(3):  # what each stage, dbt call and child process asks
        assert run.settings.dbt_vars()["as_of_date"] == run.as_of_date
    run.end("success")
    assert calls == {"erp": 1, "sap": 1}  # the CRM reports on the run's date: nothing to resolve
    assert (
        run.as_of_date == settings_module.resolve_as_of_date(settings).isoformat() == run.summary.as_of_date
    )
    assert run.settings.source_as_of_date("sap") == resolve(settings, get("sap"))


def test_pinned_dates_carry_a_run_to_another_process_without_reading_files(settings, monkeypatch):
    """What a Dagster run's first step pins (its tag `finkpi/as_of_dates`) and a later step reads
    back: the same dates, and reading them back resolves nothing from the raw files."""
    pinned = settings.pinned_dates()
    assert pinned["as_of_date"] == settings_module.resolve_as_of_date(settings).isoformat()
    assert pinned["sap"] == settings_module.resolve_source_as_of_date(settings, get("sap")).isoformat()
    calls = []
    monkeypatch.setattr(settings_module, "resolve_source_as_of_date", lambda *a, **k: calls.append(a))
    later = Run(settings.with_pinned_dates(pinned))
    assert later.settings.pinned_dates() == pinned
    assert later.as_of_date == pinned["as_of_date"]
    assert calls == []


def test_a_given_as_of_date_is_kept(settings, messages):
    run = Run(settings.with_(as_of_date=datetime(2025, 6, 30).date()), progress=messages.append)
    assert run.as_of_date == "2025-06-30" == run.settings.dbt_vars()["as_of_date"]


def test_start_and_end_write_the_records_events_and_report(settings, messages):
    run = Run(settings, progress=messages.append)
    run.start()
    start = _records(settings, run.id)["start"]
    assert (start["status"], start["code_version"]) == ("running", run.code_version)
    assert '"erp/sales_orders.csv"' in start["input_files"]
    assert not run.ended

    run.summary.definitions_hash = "d" * 64
    assert run.end("success") is True
    end = _records(settings, run.id)["end"]
    assert (end["status"], end["definitions_hash"], end["message"]) == ("success", "d" * 64, None)
    assert end["started_at"] == start["started_at"] == run.started_at
    assert run.ended and AuditStore(settings.warehouse_dir).verify().ok

    events = openlineage.read_events(settings, run.id)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]  # nothing published: not COMPLETE
    assert events[0]["run"]["facets"]["finkpi_run"]["asOfDate"] == run.as_of_date
    assert (settings.warehouse_dir / "reports" / run.id / "index.html").exists()


def test_a_failing_end_records_failed_with_the_error(settings, messages):
    run = Run(settings, progress=messages.append)
    run.start()
    run.end("failed", ValueError("the ledger does not balance"))
    end = _records(settings, run.id)["end"]
    assert (end["status"], end["message"]) == ("failed", "ValueError: the ledger does not balance")
    fail = openlineage.read_events(settings, run.id)[-1]
    assert fail["eventType"] == "FAIL"
    assert fail["run"]["facets"]["errorMessage"]["message"] == "ValueError: the ledger does not balance"


def test_a_run_ends_once(settings, messages):
    run = Run(settings, progress=messages.append)
    run.start()
    assert run.end("failed", message="quality gate failed") is True
    assert run.end("success") is False  # a later step of the same Dagster run
    end = _records(settings, run.id)["end"]
    assert (end["status"], end["message"]) == ("failed", "quality gate failed")
    with AuditStore(settings.warehouse_dir).reading() as con:
        assert con.execute("select count(*) from runs").fetchone()[0] == 2


def test_a_later_step_joins_the_started_run(settings, messages):
    first = Run(settings, "20260101T000000Z-0000abcd", progress=messages.append)
    first.join()  # the first step starts it
    later = Run(settings, first.id, progress=messages.append)  # another step, another process
    later.join()
    assert (later.started_at, later.code_version, later.input_files) == (
        first.started_at,
        first.code_version,
        first.input_files,
    )
    later.end("success")
    with AuditStore(settings.warehouse_dir).reading() as con:
        events = con.execute("select event from runs order by seq").fetchall()
    assert events == [("start",), ("end",)]
    # the end event names the inputs with the hashes of the start
    end_inputs = openlineage.read_events(settings, first.id)[-1]["inputs"]
    versioned = [i for i in end_inputs if "version" in i["facets"]]
    assert len(versioned) == len(end_inputs)


def test_ending_before_starting_is_a_mistake(settings, messages):
    with pytest.raises(RuntimeError, match="before it started"):
        Run(settings, progress=messages.append).end("success")
    run = Run(settings, progress=messages.append)
    run.start()
    with pytest.raises(ValueError, match="status"):
        run.end("done")


def test_lineage_and_report_failures_never_fail_the_run(settings, monkeypatch, messages):
    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(openlineage, "emit_start", broken)
    monkeypatch.setattr(openlineage, "emit_end", broken)
    monkeypatch.setattr(run_module, "write_run_report", broken)
    run = Run(settings, progress=messages.append)
    run.start()
    assert run.end("failed", RuntimeError("stage failed")) is True
    assert _records(settings, run.id)["end"]["status"] == "failed"
    assert [m for m in messages if "warning" in m] == [
        "  warning: OpenLineage START not written: OSError: disk full",
        "  warning: OpenLineage end event not written: OSError: disk full",
        "  warning: audit report not written: OSError: disk full",
    ]


def test_an_event_that_cannot_be_built_costs_a_warning(settings, monkeypatch, messages):
    """Deeper down: openlineage's own guard (the transport or the event) says so the same way."""

    def broken(*_args, **_kwargs):
        raise ValueError("no such column")

    monkeypatch.setattr(openlineage, "input_datasets", broken)
    run = Run(settings, progress=messages.append)
    run.start()
    run.end("success")
    assert _records(settings, run.id)["end"]["status"] == "success"
    assert sum("OpenLineage event not written" in m for m in messages) == 2

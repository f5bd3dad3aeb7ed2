"""Schedules and the landing sensor, evaluated the way the Dagster daemon evaluates them, and the
business-day rule of the monthly close against numpy's business-day calendar."""

import json
import os
import time
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.defs.automation import sensors
from orchestration.defs.automation.business_days import close_due, nth_business_day, previous_month
from orchestration.defs.automation.schedules import daily_refresh, monthly_close_schedule


# --- the business-day rule -------------------------------------------------------------------------
def test_nth_business_day_skips_weekends():
    assert nth_business_day(2025, 3, 1) == date(2025, 3, 3)  # 1 March 2025 is a Saturday
    assert nth_business_day(2025, 3, 3) == date(2025, 3, 5)
    assert nth_business_day(2025, 6, 1) == date(2025, 6, 2)  # 1 June 2025 is a Sunday
    assert nth_business_day(2025, 6, 5) == date(2025, 6, 6)  # Mon 2 .. Fri 6
    assert nth_business_day(2025, 6, 6) == date(2025, 6, 9)  # the weekend in between skipped
    with pytest.raises(ValueError, match="fewer than 23 business days"):
        nth_business_day(2025, 2, 23)
    with pytest.raises(ValueError, match="1 or more"):
        nth_business_day(2025, 2, 0)


@given(year=st.integers(1990, 2100), month=st.integers(1, 12), n=st.integers(1, 20))
def test_nth_business_day_agrees_with_numpy(year, month, n):
    day = nth_business_day(year, month, n)
    first = np.datetime64(date(year, month, 1))
    assert np.is_busday(np.datetime64(day))
    assert np.busday_count(first, np.datetime64(day)) == n - 1


def test_the_close_names_the_month_just_ended():
    assert previous_month(date(2025, 1, 3)) == "2024-12"
    assert previous_month(date(2025, 7, 3)) == "2025-06"
    assert close_due(date(2025, 3, 5), 3) == "2025-02"
    assert close_due(date(2025, 3, 4), 3) is None
    assert close_due(date(2025, 3, 6), 3) is None


# --- schedules ---------------------------------------------------------------------------------------
def _at(day: date, hour: int = 7) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_monthly_close_runs_on_business_day_n_for_the_previous_month(monkeypatch):
    monkeypatch.setenv("FINKPI_CLOSE_BUSINESS_DAY", "3")
    with dg.build_schedule_context(scheduled_execution_time=_at(date(2025, 3, 5))) as context:
        request = monthly_close_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_config == {"ops": {"close_period_op": {"config": {"period": "2025-02"}}}}
    assert request.run_key == "close-2025-02"

    with dg.build_schedule_context(scheduled_execution_time=_at(date(2025, 3, 4))) as context:
        skipped = monthly_close_schedule(context)
    assert isinstance(skipped, dg.SkipReason)
    assert "not business day 3" in skipped.skip_message

    monkeypatch.setenv("FINKPI_CLOSE_BUSINESS_DAY", "1")
    with dg.build_schedule_context(scheduled_execution_time=_at(date(2025, 6, 2))) as context:
        assert monthly_close_schedule(context).run_key == "close-2025-05"


def test_every_month_of_a_year_gets_exactly_one_close():
    closes = []
    day = date(2025, 1, 1)
    while day.year == 2025:
        if day.weekday() < 5:  # the cron fires on weekdays
            with dg.build_schedule_context(scheduled_execution_time=_at(day)) as context:
                result = monthly_close_schedule(context)
            if isinstance(result, dg.RunRequest):
                closes.append((day, result.run_config["ops"]["close_period_op"]["config"]["period"]))
        day += timedelta(days=1)
    assert [period for _, period in closes] == ["2024-12"] + [f"2025-{m:02d}" for m in range(1, 12)]
    assert all(np.busday_count(np.datetime64(d.replace(day=1)), np.datetime64(d)) == 2 for d, _ in closes)


def test_daily_refresh_targets_the_whole_pipeline():
    assert daily_refresh.cron_schedule == "0 5 * * *"
    assert daily_refresh.job_name == "refresh"
    with dg.build_schedule_context(scheduled_execution_time=_at(date(2025, 3, 5), 5)) as context:
        result = daily_refresh.evaluate_tick(context)
    assert len(result.run_requests) == 1


# --- the landing sensor ------------------------------------------------------------------------------
def _batch(root, name: str, suffix: str = "csv", age: float = 600.0):
    for source, table in (("erp", "invoices"), ("crm", "Account")):
        path = root / name / source / f"{table}.{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("id\n1\n")
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return root / name


def test_landing_sensor_baseline_then_one_run_per_arrival(tmp_path, monkeypatch):
    monkeypatch.setattr(sensors, "LANDING_DIR", tmp_path)
    _batch(tmp_path, "scale10", "parquet")  # generated before the sensor was switched on
    (tmp_path / "notes").mkdir()  # not a batch: no erp/ and crm/

    context = dg.build_sensor_context(cursor=None)
    first = sensors.landing_arrivals(context)
    assert isinstance(first, dg.SkipReason)  # the first evaluation only records a baseline
    assert set(json.loads(context.cursor)) == {"scale10"}

    batch = _batch(tmp_path, "2025-07-extract")
    context = dg.build_sensor_context(cursor=context.cursor)
    [request] = sensors.landing_arrivals(context)
    config = request.run_config["resources"]["finkpi"]["config"]
    assert config == {"data_dir": str(batch.resolve()), "raw_format": "csv"}
    assert request.tags["finkpi/landing_batch"] == "2025-07-extract"

    # nothing new: no run; the same batch re-delivered (changed files): one more run
    context = dg.build_sensor_context(cursor=context.cursor)
    assert isinstance(sensors.landing_arrivals(context), dg.SkipReason)
    (batch / "erp" / "invoices.csv").write_text("id\n1\n2\n")
    os.utime(batch / "erp" / "invoices.csv", (time.time() - 600, time.time() - 600))
    context = dg.build_sensor_context(cursor=context.cursor)
    [again] = sensors.landing_arrivals(context)
    assert again.run_key != request.run_key


def test_landing_sensor_waits_until_a_batch_is_still(tmp_path):
    _, cursor = sensors.evaluate(tmp_path, None, time.time())
    _batch(tmp_path, "copying", age=5)  # written 5 s ago: maybe still being copied
    requests, cursor = sensors.evaluate(tmp_path, cursor, time.time())
    assert requests == []
    requests, cursor = sensors.evaluate(tmp_path, cursor, time.time() + sensors.SETTLE_SECONDS)
    assert [r.tags["finkpi/landing_batch"] for r in requests] == ["copying"]


def test_a_batch_without_both_sources_is_not_an_arrival(tmp_path):
    _, cursor = sensors.evaluate(tmp_path, None, time.time())
    (tmp_path / "half" / "erp").mkdir(parents=True)
    (tmp_path / "half" / "erp" / "invoices.csv").write_text("id\n")
    requests, _ = sensors.evaluate(tmp_path, cursor, time.time() + 3600)
    assert requests == []

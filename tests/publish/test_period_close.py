"""Period close: a closed month's published values stay as reported; late rows become restatement
candidates; reopen publishes the recomputed month with the as-reported values beside it."""

from __future__ import annotations

import duckdb
import pytest
from tests_publish_helpers import published_state

from finkpi.audit import AuditStore
from finkpi.publish import PublishError, publish_run
from finkpi.publish.close import close_period, reopen_period

JUNE = "2025-06"
TOTAL_REVENUE = (
    "metric_name = 'revenue' and grain = 'month' and period_start = date '2025-06-01' and dimension = 'total'"
)


def _value(path, where: str, table: str = "metric_values"):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select value from {table} where {where}").fetchone()[0]


def _late_rows(settings, amount: float) -> None:
    """What a late invoice for June does to the build: June's (and its quarter's) revenue moves."""
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute(
            f"update metrics.metric_values set value = value + {amount} where metric_name = 'revenue'"
            " and dimension = 'total' and period_start in (date '2025-06-01', date '2025-04-01')"
            " and grain in ('month', 'quarter')"
        )


def test_close_freeze_restate_reopen(fresh_warehouse):
    settings = fresh_warehouse
    published = settings.warehouse_dir / "published.duckdb"
    publish_run(settings, "20250701T000000Z-eeee0001")
    reported = _value(published, TOTAL_REVENUE)

    close = close_period(settings, JUNE, actor="controller")
    assert close.rows > 0 and settings.closed_periods == [JUNE]
    assert settings.dbt_vars()["closed_periods"] == [JUNE]
    with pytest.raises(ValueError, match="closed already"):
        close_period(settings, JUNE)

    _late_rows(settings, 1000.0)
    publish_run(settings, "20250702T000000Z-eeee0002")
    assert _value(published, TOTAL_REVENUE) == reported  # frozen
    quarter = TOTAL_REVENUE.replace("'month'", "'quarter'").replace("2025-06-01", "2025-04-01")
    assert _value(published, quarter) is not None  # quarters are recomputed
    with duckdb.connect(str(published), read_only=True) as con:
        closed_rows, runs = con.execute(
            "select count(*), count(distinct run_id) from metric_values where is_closed"
        ).fetchone()
        candidates = con.execute(
            "select metric_name, dimension, as_reported_value, recomputed_value, difference"
            " from metric_restatement_candidates"
        ).fetchall()
    assert closed_rows == close.rows and runs == 1
    assert candidates == [("revenue", "total", reported, reported + 1000.0, pytest.approx(1000.0))]
    restated = AuditStore(settings.warehouse_dir).events(["restatement_candidates"])
    assert len(restated) == 1 and restated[0]["period"] == JUNE

    reopen_period(settings, JUNE, reason="late invoice IN009999", actor="controller")
    assert settings.closed_periods == []
    publish_run(settings, "20250703T000000Z-eeee0003")
    assert _value(published, TOTAL_REVENUE) == reported + 1000.0  # recomputed
    assert _value(published, TOTAL_REVENUE, "metric_values_as_reported") == reported  # kept beside it
    with duckdb.connect(str(published), read_only=True) as con:
        status, reason = con.execute("select status, reopen_reason from closed_periods").fetchone()
        assert con.execute("select count(*) from metric_values where is_closed").fetchone()[0] == 0
    assert (status, reason) == ("reopened", "late invoice IN009999")
    kinds = [e["kind"] for e in AuditStore(settings.warehouse_dir).events()]
    assert kinds == ["publish", "close", "restatement_candidates", "publish", "reopen", "publish"]
    assert AuditStore(settings.warehouse_dir).verify().ok


def test_close_refuses_incomplete_or_unknown_months(fresh_warehouse):
    settings = fresh_warehouse
    with pytest.raises(ValueError, match="nothing is published"):
        close_period(settings, JUNE)
    publish_run(settings, "20250701T000000Z-ffff0001")
    with duckdb.connect(str(settings.warehouse_dir / "published.duckdb"), read_only=True) as con:
        (incomplete,) = con.execute(
            "select strftime(max(period_start), '%Y-%m') from metric_values where grain = 'month'"
            " and not is_complete"
        ).fetchone()
    with pytest.raises(ValueError, match="not complete"):
        close_period(settings, incomplete)
    with pytest.raises(ValueError, match="no month values"):
        close_period(settings, "1999-01")
    with pytest.raises(ValueError, match="YYYY-MM"):
        close_period(settings, "2025-6")
    with pytest.raises(ValueError, match="not closed"):
        reopen_period(settings, JUNE, reason="x")


def test_tampered_frozen_values_fail_the_publish(fresh_warehouse):
    settings = fresh_warehouse
    publish_run(settings, "20250701T000000Z-gggg0001")
    close = close_period(settings, JUNE)
    before = published_state(settings)
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace (value + 1 as value) from read_parquet('{close.file}'))"
            f" to '{close.file}.new' (format parquet)"
        )
    close.file.with_name(close.file.name + ".new").replace(close.file)
    with pytest.raises(PublishError, match="do not match the hash"):
        publish_run(settings, "20250702T000000Z-gggg0002")
    assert published_state(settings) == before

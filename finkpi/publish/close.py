"""Period close: freeze a month's published values; reopen it with the as-reported values kept.

What is frozen: the `metric_values` rows of grain `month` whose period is the closed month (every
metric, dimension and slice), as they are in the current published version. Quarter and year rows
are not frozen: they are recomputed every run, also when some of their months are closed (a
quarter's balance ratios cannot be rebuilt from frozen months, and a quarter that is still open
must move). Later runs publish the frozen month rows (`is_closed = true`, `value_run_id` = the run
that computed them) instead of the recomputed ones; where the recomputation differs (late rows, a
changed definition), the differences are published in `metric_restatement_candidates` and recorded
in the audit store.

Where it lives: the frozen rows are `closed/<period>/metric_values-<close id>.parquet`, whose
SHA-256 is recorded in the audit store's close event (a publish checks it before use); the audit
store's close and reopen events are the record of which months are closed, and
`closed/periods.json` is their projection for dbt (`var('closed_periods')`) and the rules.
After `reopen`, the next publish publishes the recomputed month again, and the frozen rows stay
queryable in `metric_values_as_reported` with when they were closed and why they were reopened.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from finkpi import contract
from finkpi.audit.store import AuditStore
from finkpi.files import file_sha256
from finkpi.publish.versions import (
    PublishError,
    _sql_literal,
    _user,
    current_version,
    state_lock,
    versions_dir,
)
from finkpi.settings import Settings

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
KEYS = ["metric_name", "grain", "period_start", "dimension", "dimension_value"]


@dataclass
class Close:
    period: str
    file: Path
    sha256: str
    rows: int
    version: str
    closed_at: object
    closed_by: str | None
    reopened_at: object = None
    reopen_reason: str | None = None
    reopened_by: str | None = None


def period_start(period: str) -> date:
    match = PERIOD.match(period or "")
    if not match:
        raise ValueError(f"a period is a month written YYYY-MM, not {period!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def closed_dir(settings: Settings) -> Path:
    return settings.warehouse_dir / "closed"


def history(audit: AuditStore) -> list[Close]:
    """Every close, in order, with its reopen if there was one (from the audit store)."""
    closes: list[Close] = []
    open_by_period: dict[str, Close] = {}
    for event in audit.events(["close", "reopen"]):
        details = json.loads(event["details"] or "{}")
        if event["kind"] == "close":
            close = Close(
                period=event["period"],
                file=Path(details["file"]),
                sha256=details["sha256"],
                rows=details["rows"],
                version=event["version"],
                closed_at=event["recorded_at"],
                closed_by=event["actor"],
            )
            closes.append(close)
            open_by_period[close.period] = close
        else:
            close = open_by_period.pop(event["period"])
            close.reopened_at = event["recorded_at"]
            close.reopen_reason = event["reason"]
            close.reopened_by = event["actor"]
    return closes


def closed_now(audit: AuditStore) -> dict[str, Close]:
    return {c.period: c for c in history(audit) if c.reopened_at is None}


def _write_projection(settings: Settings, audit: AuditStore) -> None:
    path = closed_dir(settings) / "periods.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"periods.json.tmp-{uuid.uuid4().hex[:8]}")
    temporary.write_text(json.dumps({"closed_periods": sorted(closed_now(audit))}, indent=2) + "\n")
    os.replace(temporary, path)


def close_period(settings: Settings, period: str, actor: str | None = None) -> Close:
    """Freeze the month's rows of the current published version."""
    start = period_start(period)
    audit = AuditStore(settings.warehouse_dir)
    with state_lock(settings):
        if period in closed_now(audit):
            raise ValueError(f"{period} is closed already")
        version = current_version(settings)
        if version is None:
            raise ValueError("nothing is published yet: publish a run before closing a period")
        source = contract.database_file(versions_dir(settings) / version)
        with duckdb.connect(str(source), read_only=True) as con:
            where = "grain = 'month' and period_start = ?"
            total, incomplete = con.execute(
                f"select count(*), count(*) filter (where not is_complete) from metric_values where {where}",
                [start],
            ).fetchone()
            if total == 0:
                raise ValueError(f"version {version} has no month values for {period}")
            if incomplete:
                raise ValueError(f"{period} is not complete at the published as_of_date: it cannot be closed")
            folder = closed_dir(settings) / period
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"metric_values-{version}-{uuid.uuid4().hex[:6]}.parquet"
            columns = [
                row[0] for row in con.execute("select column_name from (describe metric_values)").fetchall()
            ]
            value_run = "value_run_id" if "value_run_id" in columns else "run_id"
            con.execute(
                f"copy (select metric_name, grain, period_start, period_label, is_complete, dimension,"
                f" dimension_value, value, {value_run} as value_run_id from metric_values where {where}"
                f" order by all) to {_sql_literal(target)} (format parquet)",
                [start],
            )
        digest = file_sha256(target)
        audit.record_event(
            "close",
            version=version,
            period=period,
            actor=actor or _user(),
            details={"file": str(target), "sha256": digest, "rows": total},
        )
        _write_projection(settings, audit)
    return closed_now(audit)[period]


def reopen_period(settings: Settings, period: str, reason: str, actor: str | None = None) -> Close:
    period_start(period)
    if not (reason or "").strip():
        raise ValueError("reopening a closed period needs a --reason")
    audit = AuditStore(settings.warehouse_dir)
    with state_lock(settings):
        close = closed_now(audit).get(period)
        if close is None:
            raise ValueError(f"{period} is not closed")
        audit.record_event(
            "reopen",
            version=current_version(settings),
            period=period,
            reason=reason,
            actor=actor or _user(),
            details={"file": str(close.file), "sha256": close.sha256},
        )
        _write_projection(settings, audit)
    return next(c for c in reversed(history(audit)) if c.period == period)


# -- what a publish does with closed periods ---------------------------------------------------
def _checked(close: Close) -> str:
    if not close.file.exists():
        raise PublishError(f"the frozen values of closed period {close.period} are missing: {close.file}")
    if file_sha256(close.file) != close.sha256:
        raise PublishError(
            f"the frozen values of closed period {close.period} ({close.file}) do not match the hash"
            " recorded in the audit store when it was closed"
        )
    return _sql_literal(close.file)


def published_metric_tables(settings: Settings, run_id: str, audit: AuditStore) -> tuple[dict, pd.DataFrame]:
    """The metric tables of a version, closed months frozen, and the restatement candidates.

    Returns ({table name: source}, restatement candidates)."""
    closes = history(audit)
    closed = {c.period: c for c in closes if c.reopened_at is None}
    run = _sql_literal(run_id)
    frozen = [
        f"select *, {_sql_literal(c.period)} as closed_period from read_parquet({_checked(c)})"
        for c in closed.values()
    ]
    frozen_sql = " union all ".join(frozen) if frozen else None
    periods = ", ".join(_sql_literal(p) for p in closed)
    recomputed = (
        "select metric_name, grain, period_start, period_label, is_complete, dimension, dimension_value,"
        f" value, run_id as value_run_id from build.{contract.TABLES['metric_values'].build_relation}"
    )
    is_closed_month = (
        f"(grain = 'month' and strftime(period_start, '%Y-%m') in ({periods}))" if closed else "false"
    )
    values_sql = (
        f"select * exclude (value_run_id), {run} as run_id, value_run_id, false as is_closed"
        f" from ({recomputed}) where not {is_closed_month}"
    )
    if frozen_sql:
        values_sql += (
            f" union all select * exclude (value_run_id, closed_period), {run} as run_id, value_run_id,"
            f" true as is_closed from ({frozen_sql})"
        )
    reopened = [c for c in closes if c.reopened_at is not None]
    as_reported = " union all ".join(
        f"select * exclude (closed_period), {_sql_literal(c.version)} as closed_from_version,"
        f" cast({_sql_literal(c.closed_at)} as timestamp) as closed_at,"
        f" cast({_sql_literal(c.reopened_at)} as timestamp) as reopened_at,"
        f" {_sql_literal(c.reopen_reason)} as reopen_reason, {run} as run_id"
        f" from (select *, null as closed_period from read_parquet({_checked(c)}))"
        for c in reopened
    )
    if not as_reported:
        as_reported = (
            "select metric_name, grain, period_start, period_label, is_complete, dimension,"
            " dimension_value, value, value_run_id, cast(null as varchar) as closed_from_version,"
            " cast(null as timestamp) as closed_at, cast(null as timestamp) as reopened_at,"
            f" cast(null as varchar) as reopen_reason, {run} as run_id"
            f" from ({recomputed}) where false"
        )
    closed_table = pd.DataFrame(
        [
            {
                "period": c.period,
                "status": "closed" if c.reopened_at is None else "reopened",
                "closed_at": c.closed_at,
                "closed_by": c.closed_by,
                "closed_from_version": c.version,
                "frozen_rows": c.rows,
                "reopened_at": c.reopened_at,
                "reopened_by": c.reopened_by,
                "reopen_reason": c.reopen_reason,
                "run_id": run_id,
            }
            for c in closes
        ],
        columns=list(contract.TABLES["closed_periods"].columns),
    ).astype({"closed_at": "datetime64[us]", "reopened_at": "datetime64[us]", "frozen_rows": "int64"})
    candidates = restatement_candidates(settings, closed, recomputed, run_id)
    tables = contract.exactly(
        contract.CLOSE_TABLES,
        {
            "metric_values": values_sql,
            "metric_values_as_reported": as_reported,
            "metric_restatement_candidates": candidates,
            "closed_periods": closed_table,
        },
    )
    return tables, candidates


def restatement_candidates(
    settings: Settings, closed: dict[str, Close], recomputed_sql: str, run_id: str
) -> pd.DataFrame:
    """Recomputed month rows of closed periods that differ from the frozen ones (value changed,
    or a row only on one side)."""
    columns = list(contract.TABLES["metric_restatement_candidates"].columns)
    if not closed:
        return pd.DataFrame(columns=columns).astype(
            {"as_reported_value": "float64", "recomputed_value": "float64", "difference": "float64"}
        )
    frozen = " union all ".join(
        f"select *, {_sql_literal(c.period)} as closed_period from read_parquet({_checked(c)})"
        for c in closed.values()
    )
    periods = ", ".join(_sql_literal(p) for p in closed)
    with duckdb.connect() as con:
        con.execute(f"attach {_sql_literal(settings.build_database)} as build (read_only)")
        frame = con.execute(
            f"""
            with new as (
                select * from ({recomputed_sql})
                where grain = 'month' and strftime(period_start, '%Y-%m') in ({periods})
            ), old as ({frozen})
            select coalesce(old.closed_period, strftime(new.period_start, '%Y-%m')) as period,
                   {", ".join(f"coalesce(old.{k}, new.{k}) as {k}" for k in KEYS)},
                   old.value as as_reported_value, new.value as recomputed_value,
                   new.value - old.value as difference, {_sql_literal(run_id)} as run_id
            from old full outer join new on {" and ".join(f"old.{k} = new.{k}" for k in KEYS)}
            where old.metric_name is null or new.metric_name is null
               or (old.value is distinct from new.value
                   and not coalesce(abs(old.value - new.value) <= 1e-9 * greatest(1, abs(old.value)), false))
            order by all
            """
        ).df()
    return frame[columns]

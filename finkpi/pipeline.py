"""One run of finkpi: build the canonical model (dbt), then the later steps as they arrive
(metric exports, scorecards, validation, publish). The CLI, Dagster and the tests all call this."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from finkpi import dbt_runner
from finkpi.settings import Settings


def new_run_id() -> str:
    """Sortable and unique: UTC start time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


@dataclass
class RunSummary:
    run_id: str
    warehouse: Path
    as_of_date: str
    seconds: dict[str, float] = field(default_factory=dict)
    mart_rows: dict[str, int] = field(default_factory=dict)
    metric_rows: int = 0
    metric_queries: int = 0
    rule_outcomes: list = field(default_factory=list)
    gate: object = None  # finkpi.quality.gx_runner.GateResult

    def describe(self) -> str:
        lines = [f"run {self.run_id}: as_of_date {self.as_of_date}; build warehouse {self.warehouse}"]
        lines += [f"  {step}: {seconds:.1f} s" for step, seconds in self.seconds.items()]
        lines.append("marts (rows):")
        lines += [f"  {name:<32} {rows:>9,}" for name, rows in self.mart_rows.items()]
        lines.append(
            f"metrics.metric_values: {self.metric_rows:,} rows from {self.metric_queries} MetricFlow queries"
        )
        lines += [f"rule {outcome.describe()}" for outcome in self.rule_outcomes]
        if self.gate is not None:
            lines.append(self.gate.describe())
        return "\n".join(lines)


class QualityGateError(RuntimeError):
    """The validate step failed; the message names each failed rule or expectation."""

    def __init__(self, message: str, gate=None):
        super().__init__(message)
        self.gate = gate


def run(settings: Settings, progress=print, previous_counts: dict[str, int] | None = None) -> RunSummary:
    from finkpi.metrics.exports import export_metrics
    from finkpi.quality import preflight

    as_of = settings.dbt_vars()["as_of_date"]
    summary = RunSummary(run_id=new_run_id(), warehouse=settings.build_database, as_of_date=as_of)
    progress(f"[1/3] pre-flight of the raw files, dbt build (as_of_date {as_of}, data {settings.data_dir})")
    started = time.perf_counter()
    preflight.check(settings)
    dbt_runner.build(settings)
    summary.seconds["dbt build"] = time.perf_counter() - started
    summary.mart_rows = mart_row_counts(settings)

    progress("[2/3] metric exports (MetricFlow, in-process)")
    started = time.perf_counter()
    exported = export_metrics(settings, summary.run_id, progress)
    summary.seconds["metric exports"] = time.perf_counter() - started
    summary.metric_rows = len(exported.values)
    summary.metric_queries = exported.stats.queries

    progress("[3/3] validate (quality rules, Great Expectations suites)")
    started = time.perf_counter()
    validate(settings, summary, previous_counts)
    summary.seconds["validate"] = time.perf_counter() - started
    return summary


def validate(settings: Settings, summary: RunSummary, previous_counts: dict[str, int] | None = None) -> None:
    """The quality gate after the exports: rule outcomes (quarantined and warned rows; thresholds
    and fail rules already stopped the build) and the Great Expectations suites. Raises
    QualityGateError naming each failed or errored expectation."""
    from finkpi.quality import gx_runner
    from finkpi.quality.rules import rule_outcomes

    summary.rule_outcomes = rule_outcomes(settings.build_database)
    gate = gx_runner.validate_in_subprocess(settings, previous_counts=previous_counts)
    summary.gate = gate
    if not gate.success:
        raise QualityGateError(f"quality gate failed (run {summary.run_id})\n{gate.describe()}", gate)


def mart_row_counts(settings: Settings) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {name: con.execute(f'select count(*) from marts."{name}"').fetchone()[0] for name in tables}

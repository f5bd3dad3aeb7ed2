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

    def describe(self) -> str:
        lines = [f"run {self.run_id}: as_of_date {self.as_of_date}; build warehouse {self.warehouse}"]
        lines += [f"  {step}: {seconds:.1f} s" for step, seconds in self.seconds.items()]
        lines.append("marts (rows):")
        lines += [f"  {name:<32} {rows:>9,}" for name, rows in self.mart_rows.items()]
        lines.append(
            f"metrics.metric_values: {self.metric_rows:,} rows from {self.metric_queries} MetricFlow queries"
        )
        return "\n".join(lines)


def run(settings: Settings, progress=print) -> RunSummary:
    from finkpi.metrics.exports import export_metrics
    from finkpi.scorecards.run import run as score

    as_of = settings.dbt_vars()["as_of_date"]
    summary = RunSummary(run_id=new_run_id(), warehouse=settings.build_database, as_of_date=as_of)
    progress(f"[1/3] dbt build (as_of_date {as_of}, data {settings.data_dir})")
    started = time.perf_counter()
    dbt_runner.build(settings)
    summary.seconds["dbt build"] = time.perf_counter() - started
    summary.mart_rows = mart_row_counts(settings)

    progress("[2/3] metric exports (MetricFlow, in-process)")
    started = time.perf_counter()
    exported = export_metrics(settings, summary.run_id, progress)
    summary.seconds["metric exports"] = time.perf_counter() - started
    summary.metric_rows = len(exported.values)
    summary.metric_queries = exported.stats.queries

    progress("[3/3] scorecards, driver attribution, associations, forecasts")
    started = time.perf_counter()
    score(settings, summary.run_id, progress)
    summary.seconds["scorecards"] = time.perf_counter() - started
    return summary


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

"""A run of finkpi as one object: its id, its business dates, its start and end records in the audit
store, its OpenLineage events and its audit report.

The CLI pipeline (`finkpi.pipeline.run`), each step of a Dagster run (`orchestration/run_audit.py`)
and the Spark stages go through `Run`, so a run is recorded the same way whoever runs it:

- `Run(settings)` takes a new id (or the id given: Dagster derives it from its own run) and
  resolves the as-of dates from the raw files once. `run.settings` carries them pinned, so every
  stage, dbt call and child process of the run sees the same dates without reading the files again.
- `start()` writes the start record (code version, input-file hashes) and the OpenLineage START.
  `join()` does so only if nobody did yet, else takes them from the start record: a Dagster run's
  steps each build their own `Run` in their own process, and the first one starts it.
- `end(status, error)` writes the end record, the OpenLineage COMPLETE or FAIL and the audit report,
  once per run. Lineage and the report are reports: they never fail a run, they print a warning.

A run killed outright has a start and no end (shown as `interrupted`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from finkpi import contract
from finkpi.audit.provenance import code_version, input_file_hashes
from finkpi.audit.report import write_run_report
from finkpi.audit.store import AuditStore, now
from finkpi.lineage import openlineage
from finkpi.settings import Settings

STATUSES = ("success", "failed")


def new_run_id(at: datetime | None = None, suffix: str | None = None) -> str:
    """Sortable and unique: UTC start time plus a suffix (random; Dagster gives the start of its own
    run id, so every step of one Dagster run has the same id)."""
    at = at or datetime.now(UTC)
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y%m%dT%H%M%SZ") + "-" + (suffix or uuid.uuid4().hex[:8])


@dataclass
class RunSummary:
    """What a run did, as far as it got: what the CLI prints and the OpenLineage events carry."""

    run_id: str
    warehouse: Path
    as_of_date: str
    # each registered source's own business date (its company's freshness and periods)
    source_as_of_dates: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    mart_rows: dict[str, int] = field(default_factory=dict)
    metric_rows: int = 0
    metric_queries: int = 0  # requests the metric exports ran
    metric_plans: tuple[int, int] = (0, 0)  # their SQL: planned by MetricFlow, from the plan cache
    # each MetricFlow request of the exports (metrics @ grain by slice) -> seconds
    export_request_seconds: dict[str, float] = field(default_factory=dict)
    # an incremental run's exports: rows recomputed, rows kept from the last build, why all were
    # recomputed (finkpi.metrics.export_scope)
    metric_rows_recomputed: int = 0
    metric_rows_kept: int = 0
    metric_full_because: str | None = None
    rule_outcomes: list = field(default_factory=list)
    gate: object = None  # finkpi.quality.gx_runner.GateResult
    published_version: str | None = None
    definitions_hash: str | None = None
    incremental_plan: object = None  # finkpi.incremental.IncrementalPlan of a run that built

    def record_exports(self, exported) -> None:
        """What the metric exports did (a finkpi.metrics.exports.ExportResult, DuckDB or Spark)."""
        self.metric_rows = len(exported.values)
        self.metric_queries = exported.stats.queries
        self.metric_plans = (exported.stats.plans_compiled, exported.stats.plans_cached)
        self.export_request_seconds = exported.stats.request_seconds
        self.metric_rows_recomputed = exported.stats.rows_recomputed
        self.metric_rows_kept = exported.stats.rows_kept
        self.metric_full_because = exported.stats.full_because

    def describe(self) -> str:
        lines = [f"run {self.run_id}: as_of_date {self.as_of_date}; build warehouse {self.warehouse}"]
        own = {source: day for source, day in self.source_as_of_dates.items() if day != self.as_of_date}
        if own:
            lines.append(
                "  sources with a business date of their own: "
                + ", ".join(f"{s} {d}" for s, d in own.items())
            )
        if self.incremental_plan is not None:
            lines.append(f"  {self.incremental_plan.describe()}")
        lines += [f"  {step}: {seconds:.1f} s" for step, seconds in self.seconds.items()]
        if self.mart_rows:
            lines.append("marts (rows):")
            lines += [f"  {name:<32} {rows:>9,}" for name, rows in self.mart_rows.items()]
        if self.metric_queries:
            lines.append(
                f"metrics.metric_values: {self.metric_rows:,} rows"
                f" from {self.metric_queries} metric requests"
                f" (SQL planned by MetricFlow: {self.metric_plans[0]},"
                f" from the plan cache: {self.metric_plans[1]})"
            )
            if self.metric_rows_kept:
                lines.append(
                    f"  {self.metric_rows_recomputed:,} rows recomputed,"
                    f" {self.metric_rows_kept:,} of earlier periods kept from the last build"
                )
            if self.metric_full_because:
                lines.append(f"  every metric value recomputed: {self.metric_full_because}")
        if self.published_version:
            lines.append(
                f"published version {self.published_version}:"
                f" {contract.published_path(self.warehouse.parent)}"
            )
        lines += [f"rule {outcome.describe()}" for outcome in self.rule_outcomes]
        if self.gate is not None:
            lines.append(self.gate.describe())
        return "\n".join(lines)


class Run:
    """One run, whoever runs it (see the module's docstring); `summary` is what it did so far."""

    def __init__(self, settings: Settings, run_id: str | None = None, progress=print):
        self.id = run_id or new_run_id()
        # resolved here, once: the raw files are not read again for them during the run
        self.settings = settings.resolved()
        self.as_of_date: str = self.settings.dbt_vars()["as_of_date"]
        self.progress = progress
        self.audit = AuditStore(self.settings.warehouse_dir)
        self.summary = RunSummary(
            run_id=self.id,
            warehouse=self.settings.build_database,
            as_of_date=self.as_of_date,
            source_as_of_dates={
                source: day.isoformat() for source, day in self.settings.source_as_of_dates.items()
            },
        )
        self.started_at: datetime | None = None
        self.code_version: str | None = None
        self.input_files: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Run({self.id!r}, as_of_date={self.as_of_date!r})"

    def start(self) -> None:
        """The start record (code version, input-file hashes) and the OpenLineage START."""
        self.started_at = now()
        self.code_version = code_version(self.settings.project_dir)
        self.input_files = input_file_hashes(self.settings)
        self.audit.record_run_start(self.id, self.started_at, self.code_version, self.input_files)
        self._report(
            "OpenLineage START",
            openlineage.emit_start,
            self.settings,
            self.summary,
            self.input_files,
            self.progress,
        )

    def join(self) -> None:
        """Start the run unless its start is recorded already (by an earlier step in another
        process); then take its start time, code version and input hashes from that record, so the
        end record and events say the same as the start."""
        start = self.audit.run_records(self.id).get("start")
        if start is None:
            self.start()
            return
        self.started_at = start["started_at"]
        self.code_version = start["code_version"]
        self.input_files = json.loads(start["input_files"] or "{}")

    @property
    def ended(self) -> bool:
        return "end" in self.audit.run_records(self.id)

    def end(self, status: str, error: BaseException | None = None, message: str | None = None) -> bool:
        """The end record (status, the summary's definitions hash, the error), the OpenLineage
        COMPLETE (published) or FAIL, and the audit report. A run ends once: False (and nothing
        written) when its end is recorded already. `message` defaults to the error's."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        if self.started_at is None:
            raise RuntimeError(f"run {self.id} ends before it started (call start or join)")
        if self.ended:
            return False
        if message is None and error is not None:
            message = f"{type(error).__name__}: {error}"
        self.audit.record_run_end(
            self.id,
            self.started_at,
            status,
            self.code_version,
            self.summary.definitions_hash,
            message[:4000] if message else None,
        )
        self._report(
            "OpenLineage end event",
            openlineage.emit_end,
            self.settings,
            self.summary,
            status,
            error,
            self.input_files,
            self.progress,
        )
        self._report("audit report", write_run_report, self.settings, self.id, self.progress)
        return True

    def _report(self, what: str, write, *args) -> None:
        """Lineage and the report describe a run; writing them never fails it (both also catch
        their own errors: this is the last guard)."""
        try:
            write(*args)
        except Exception as exc:
            self.progress(f"  warning: {what} not written: {type(exc).__name__}: {exc}")

"""One run of finkpi: pre-flight and dbt build, metric exports, scorecards, the quality gate and
publish (write-audit-publish). The CLI and the tests call `run`; Dagster's assets (orchestration/)
call the same step functions.

Every run is a `finkpi.run.Run`, recorded in the audit store, failed ones too: a start record before
anything runs and an end record (status, definitions hash, error) however it ends. A run killed
outright has a start and no end. `from_stage` skips the first stages and reuses the build warehouse as it is
(`export`: re-export the metrics of the existing build; `publish`: publish its exports as they are).
"""

from __future__ import annotations

import time

import duckdb

from finkpi import contract, dbt_runner, faults, incremental, publish
from finkpi.audit.provenance import definitions_hash
from finkpi.audit.report import reports_dir
from finkpi.audit.store import AuditStore
from finkpi.errors import FinkpiError
from finkpi.lineage.columns import LineageUnavailable
from finkpi.lineage.published import published_lineage
from finkpi.metrics.exports import export_metrics
from finkpi.quality import gx_runner, preflight
from finkpi.quality.rules import rule_outcomes
from finkpi.run import Run, RunSummary
from finkpi.scorecards.run import run as score
from finkpi.settings import Settings
from finkpi.spark.run import spark_stages

STAGES = ("build", "export", "publish")


class QualityGateError(FinkpiError):
    """The validate step failed; the message names each failed rule or expectation."""

    def __init__(self, message: str, gate=None):
        super().__init__(message)
        self.gate = gate


def run(settings: Settings, progress=print, from_stage: str = "build") -> RunSummary:
    """One recorded run (`finkpi.run.Run`: start and end records, OpenLineage, report) of the
    stages from `from_stage` on; a failed run is recorded as failed and its error raised."""
    if from_stage not in STAGES:
        raise ValueError(f"from_stage must be one of {STAGES}, not {from_stage!r}")
    this = Run(settings, progress=progress)
    this.start()
    try:
        _stages(this, STAGES.index(from_stage))
    except BaseException as exc:
        this.end("failed", exc)
        raise
    this.end("success")
    return this.summary


def _stages(this: Run, first: int) -> None:
    settings, summary, progress = this.settings, this.summary, this.progress
    if settings.dbt_target == "spark":  # the scale-out target: build and exports only
        return spark_stages(this, first)
    if first <= 0:
        faults.pause_point("build")
        progress(
            f"[1/5] pre-flight of the raw files, dbt build (as_of_date {summary.as_of_date},"
            f" data {settings.data_dir})"
        )
        started = time.perf_counter()
        preflight.check(settings)
        # incremental or full, decided once: every later stage reads the run's settings
        plan = incremental.plan(settings, this.input_files)
        if settings.incremental:
            progress(f"  {plan.describe()}")
        this.settings = settings = plan.apply(settings)
        dimensions = incremental.dimension_rows(settings)  # as the last build left them
        dbt_runner.build(settings)
        summary.incremental_plan = plan.after_build(settings, dimensions)
        incremental.record_build(settings, this.input_files)
        summary.seconds["dbt build"] = time.perf_counter() - started
        summary.mart_rows = mart_row_counts(settings)

    # the gate's child process starts now: it imports Great Expectations while the exports and
    # scorecards run (gx_runner.GateProcess), and is ended if the run fails before its gate
    with gx_runner.GateProcess() as gate_process:
        _export_and_validate(this, first, gate_process)

    progress("[5/5] publish")
    started = time.perf_counter()
    result = publish_step(settings, summary.run_id, progress)
    summary.seconds["publish"] = time.perf_counter() - started
    summary.published_version = result.run_id


def _export_and_validate(this: Run, first: int, gate_process: gx_runner.GateProcess) -> None:
    settings, summary, progress = this.settings, this.summary, this.progress
    if first <= 1:
        progress("[2/5] metric exports (MetricFlow, in-process)")
        started = time.perf_counter()
        plan = summary.incremental_plan
        exported = export_metrics(
            settings, summary.run_id, progress, dimensions_changed=plan and plan.dimensions_changed
        )
        summary.seconds["metric exports"] = time.perf_counter() - started
        summary.record_exports(exported)

        progress("[3/5] scorecards, driver attribution, associations, forecasts")
        started = time.perf_counter()
        # an incremental run keeps the earlier periods' scorecards where the exports kept their values
        score(settings, summary.run_id, progress, keep_before=exported.stats.recomputed_from)
        summary.seconds["scorecards"] = time.perf_counter() - started
    summary.definitions_hash = definitions_hash(settings.build_database)

    # the quality gate: nothing is published unless it passes
    faults.pause_point("validate")
    progress("[4/5] validate (quality rules, Great Expectations suites)")
    started = time.perf_counter()
    validate(settings, summary, gate_process)
    summary.seconds["validate"] = time.perf_counter() - started


def publish_step(settings: Settings, run_id: str, progress=print):
    """Publish the build's metric layer with the scorecard tables (the last stage; Dagster's
    publish asset calls it too). What is published must trace down to registered sources' columns
    (finkpi/sources/): a chain that does not raises LineageError naming the source and column
    before anything is published, since an auditor could not trace that number. The lineage is
    cached for the run's audit report and OpenLineage events. Where there is nothing to trace in
    (the Spark target; a model the last dbt command did not compile) it says so and publishes."""
    try:
        published_lineage(settings)
    except LineageUnavailable as unavailable:
        progress(f"  warning: column lineage not checked before the publish: {unavailable}")
    return publish.publish_run(
        settings, run_id, extra_tables=scorecard_tables(settings, run_id), progress=progress
    )


def validate(
    settings: Settings, summary: RunSummary, gate_process: gx_runner.GateProcess | None = None
) -> None:
    """The quality gate after the exports: rule outcomes (quarantined and warned rows; thresholds
    and fail rules already stopped the build) and the Great Expectations suites, whose volume
    check compares with the row counts of the version published now. Every result goes to the
    audit store, pass or fail; a failure raises QualityGateError naming each failed or errored
    expectation."""
    summary.rule_outcomes, summary.gate = quality_gate(settings, summary.run_id, process=gate_process)
    if not summary.gate.success:
        raise QualityGateError(
            f"quality gate failed (run {summary.run_id})\n{summary.gate.describe()}", summary.gate
        )


def quality_gate(settings: Settings, run_id: str, suite_names=None, rules: bool = True, process=None):
    """Run the Great Expectations suites (all, or `suite_names`) in a child process and record
    every result in the audit store; with `rules`, the rule outcomes too. Returns (rule outcomes,
    GateResult); raising on a failure is the caller's choice (the CLI raises, Dagster reports an
    asset check)."""
    outcomes = rule_outcomes(settings.build_database) if rules else []
    gate = gx_runner.validate_in_subprocess(
        settings,
        previous_counts=published_counts(publish.published_path(settings)),
        run_id=run_id,
        docs_dir=reports_dir(settings) / run_id / "gx",  # this run's Data Docs, for its report
        suite_names=suite_names,
        process=process,  # a gx_runner.GateProcess started earlier, or None: a new child
    )
    audit = AuditStore(settings.warehouse_dir)
    audit.record_validations(
        run_id,
        [
            {
                "check_id": f"{record['suite']}: {record['expectation']}",
                "check_type": "expectation",
                "target": record["table"],
                "status": record["status"],
                "observed": record["observed_value"],
                "message": record["error"],
            }
            for record in gate.to_records()
        ],
    )
    if rules:
        audit.record_quarantine(
            run_id,
            [
                {
                    "source": outcome.source_model,
                    "model": outcome.model,
                    "rule_id": outcome.rule_id,
                    "rows_quarantined": outcome.rows,
                    "rows_total": outcome.model_rows,
                    "severity": outcome.severity,
                    "examples": outcome.examples,
                }
                for outcome in outcomes
            ],
        )
    return outcomes, gate


def published_counts(published) -> dict[str, int] | None:
    """Row counts of the currently published tables that the suites also validate (for their
    volume check: a new run may change a table's size by at most +/-50%)."""
    if not published.exists():
        return None
    with duckdb.connect(str(published), read_only=True) as con:
        present = {
            name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
        return {
            suite: con.execute(f'select count(*) from "{table}"').fetchone()[0]
            for suite, spec in gx_runner.load_suites().items()
            if (table := spec["meta"]["finkpi_table"].split(".")[-1]) in present
        }


def scorecard_tables(settings: Settings, run_id: str) -> dict[str, str]:
    """The scorecard step's tables to publish: those it wrote (it skips scoring for a fiscal
    calendar its targets were not set for), stamped with the publishing run."""
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        present = {
            relation
            for (relation,) in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
    relations = {name: contract.TABLES[name].build_relation for name in contract.SCORECARD_TABLES}
    return {
        name: f"select * replace ('{run_id}' as run_id) from build.{relation}"
        for name, relation in relations.items()
        if relation in present
    }


def mart_row_counts(settings: Settings) -> dict[str, int]:
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {name: con.execute(f'select count(*) from marts."{name}"').fetchone()[0] for name in tables}

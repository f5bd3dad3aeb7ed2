"""The Great Expectations suites (expectations/suites/) as blocking asset checks, one per suite on
the asset of the table it validates.

Three gates, because a check runs after the assets it validates: the mart suites right after the
dbt build (a bad mart stops the metric exports), the exported metric tables inside the export
step (a bad export stops the scorecards), the scorecard tables after the scorecards (a bad one
stops the publish). Each gate runs its suites in one child process
(finkpi.pipeline.quality_gate: GX keeps the DuckDB file open with its own configuration until
the process ends) and records every expectation in the audit store, as `finkpi run` does. A
failed expectation fails its check with the expectation named; the check is blocking, so nothing
downstream of it (finally the publish) runs, and the run's end is recorded as failed.
"""

import dagster as dg

from finkpi import contract, pipeline
from finkpi.quality.gx_runner import load_suites
from finkpi.run import Run
from orchestration.resources import FinkpiSettings
from orchestration.run_audit import audited_step

CHECK_NAME = "great_expectations"
EXPORT_TABLES = contract.EXPORT_TABLES  # written by the export step
SUITES = load_suites()


def _suites(schema: str) -> dict[str, dg.AssetKey]:
    """suite name -> the asset of its table (schema/table), for the suites on one schema."""
    return {
        name: dg.AssetKey(spec["meta"]["finkpi_table"].split("."))
        for name, spec in SUITES.items()
        if spec["meta"]["finkpi_table"].split(".")[0] == schema
    }


def check_specs(suites: dict[str, dg.AssetKey]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=table,
            blocking=True,
            description=f"Great Expectations suite expectations/suites/{suite}.json"
            f" ({len(SUITES[suite]['expectations'])} expectations)",
        )
        for suite, table in suites.items()
    ]


def _run_gate(context, finkpi: FinkpiSettings, suites: dict[str, dg.AssetKey], rules: bool):
    with audited_step(context, finkpi.settings(), keys=set(suites.values())) as run:
        results = list(gate_results(context, run, suites, rules))
    yield from results


def gate_results(context, run: Run, suites: dict[str, dg.AssetKey], rules: bool):
    """Run the suites (one child process), record them in the audit store, and yield one check
    result per suite. A failed gate also ends the run as failed: the checks are blocking, so
    nothing after them runs."""
    run_id = run.id
    _, gate = pipeline.quality_gate(run.settings, run_id, suite_names=sorted(suites), rules=rules)
    context.log.info(gate.describe())
    if not gate.success:
        run.end("failed", message=f"quality gate failed (run {run_id})\n{gate.describe()}")
    for suite, key in suites.items():
        outcomes = [o for o in gate.outcomes if o.suite == suite]
        if not outcomes:  # the validation process itself failed: its error, on every suite
            outcomes = [o for o in gate.errors if o.suite == "(gate)"]
        bad = [o for o in outcomes if o.status != "passed"]
        skipped = suite in gate.skipped
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=not bad and (bool(outcomes) or skipped),
            description="; ".join(f"{o.status.upper()} {o.expectation}" for o in bad) or None,
            metadata={
                "run_id": run_id,
                "expectations": len(outcomes),
                "failed": [
                    f"{o.expectation} (observed: {o.observed_value})" for o in bad if o.status == "failed"
                ],
                "errors": [f"{o.expectation}: {o.error}" for o in bad if o.status == "error"],
                "skipped": skipped,
                "data_docs": str(gate.data_docs or ""),
            },
        )


# The suites by where they run: the marts after the dbt build; the exported metric tables inside
# the export step (a separate check on them would sit between the exports and the scorecards,
# which the scorecard suites need: a cycle); the scorecard tables before the publish.
MART_SUITES = _suites("marts")
EXPORT_SUITES = {name: key for name, key in _suites("metrics").items() if key.path[-1] in EXPORT_TABLES}
SCORECARD_SUITES = {name: key for name, key in _suites("metrics").items() if name not in EXPORT_SUITES}


@dg.multi_asset_check(specs=check_specs(MART_SUITES), name="gx_marts")
def gx_marts(context: dg.AssetCheckExecutionContext, finkpi: FinkpiSettings):
    """The mart suites and the rule outcomes (quarantine counts) of the build."""
    yield from _run_gate(context, finkpi, MART_SUITES, rules=True)


@dg.multi_asset_check(specs=check_specs(SCORECARD_SUITES), name="gx_scorecards")
def gx_scorecards(context: dg.AssetCheckExecutionContext, finkpi: FinkpiSettings):
    """The scorecard, attribution, association and forecast suites: the rest of the publish candidate."""
    yield from _run_gate(context, finkpi, SCORECARD_SUITES, rules=False)

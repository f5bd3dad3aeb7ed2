"""Every dbt model and seed as a Dagster asset, dbt tests as asset checks.

dbt runs in this process through finkpi.dbt_runner (the same call as `finkpi run`, including the
pre-flight of the raw files), not as a dbt CLI subprocess: one dbt start-up per run, and one
DuckDB writer. Each model's materialization and each test's result are reported from dbt's run
results; a failed rule fails the step with finkpi's explanation (rule, model, offending rows with
file and line), and nothing downstream runs.
"""

import dagster as dg
from dagster_dbt import dbt_assets
from dagster_dbt.asset_utils import get_asset_check_key_for_test, get_subset_selection_for_context

from finkpi import dbt_runner
from finkpi.quality import preflight
from orchestration.defs.dbt.project import TRANSLATOR, manifest
from orchestration.resources import FinkpiSettings
from orchestration.run_audit import audited_step

MATERIALIZED = ("model", "seed", "snapshot")


@dbt_assets(manifest=manifest(), dagster_dbt_translator=TRANSLATOR, name="dbt_build", op_tags={"kind": "dbt"})
def dbt_build(context: dg.AssetExecutionContext, finkpi: FinkpiSettings):
    """Pre-flight of the raw files, then `dbt build` of the selected models with their tests."""
    with audited_step(context, finkpi.settings()) as run:
        settings = run.settings
        preflight.check(settings)
        selection, indirect = get_subset_selection_for_context(
            context, manifest(), select="fqn:*", exclude=None, selector=None,
            dagster_dbt_translator=TRANSLATOR, current_dbt_indirect_selection_env=None,
        )  # fmt: skip
        assets_def = context.assets_def
        if indirect is None and assets_def.keys_by_output_name != assets_def.node_keys_by_output_name:
            # a subset: only the tests whose parents are built or upstream of the selection (dbt's
            # default, eager, would also run a relationship test of an unbuilt model on a seed)
            indirect = "buildable"
        failure = None
        try:
            result = dbt_runner.build(settings, selection_args=selection, indirect_selection=indirect)
        except dbt_runner.DbtBuildError as exc:
            result, failure = exc.result, exc
        explained = {f.node_name: f.describe() for f in failure.failures} if failure else {}
        yield from dbt_events(context, result, explained)
        if failure is not None:
            raise dg.Failure(description=str(failure), metadata={"problems": len(failure.failures)})


def dbt_events(context: dg.AssetExecutionContext, result, explained: dict[str, str]):
    """A materialization per built model or seed, an asset check result per dbt test (a failed
    one with finkpi's explanation: the rule, the model and the offending rows' file and line)."""
    run_results = getattr(getattr(result, "result", None), "results", None) or []
    selected_assets = context.selected_asset_keys
    selected_checks = context.selected_asset_check_keys
    for run_result in run_results:
        node = run_result.node
        status = str(getattr(run_result.status, "value", run_result.status))
        resource_type = str(getattr(node.resource_type, "value", node.resource_type))
        metadata = {
            "unique_id": node.unique_id,
            "dbt_status": status,
            "execution_seconds": round(float(run_result.execution_time or 0.0), 3),
        }
        if resource_type in MATERIALIZED:
            key = TRANSLATOR.get_asset_spec(manifest(), node.unique_id, None).key
            if status == "success" and key in selected_assets:
                yield dg.MaterializeResult(asset_key=key, metadata=metadata)
        elif resource_type == "test":
            check_key = get_asset_check_key_for_test(manifest(), TRANSLATOR, node.unique_id, None)
            if check_key is None or check_key not in selected_checks or status == "skipped":
                continue
            explanation = explained.get(node.name)
            yield dg.AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=status in ("pass", "warn"),
                severity=dg.AssetCheckSeverity.WARN if status == "warn" else dg.AssetCheckSeverity.ERROR,
                description=explanation.splitlines()[0] if explanation else None,
                metadata={
                    **metadata,
                    "failures": int(run_result.failures or 0),
                    "message": run_result.message or "",
                    "explanation": dg.MetadataValue.md(f"```\n{explanation}\n```") if explanation else "",
                },
            )

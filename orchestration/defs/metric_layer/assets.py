"""The metric layer downstream of dbt: metric exports, scorecards with attribution, associations
and forecasts, and the publish step. Each asset calls the same finkpi function as `finkpi run`
(finkpi.metrics.exports.export_metrics, finkpi.scorecards.run.run, finkpi.pipeline.publish_step).

Descriptions and owners come from the metric metadata (metrics/*.yml): the metric tables are
owned by the departments accountable for the published metrics (`meta.department`).
"""

import dagster as dg

from finkpi import contract, pipeline
from finkpi.audit.provenance import definitions_hash
from finkpi.metrics.catalog import load_catalog
from finkpi.metrics.exports import export_metrics
from finkpi.scorecards.run import run as score
from finkpi.settings import load_settings
from orchestration.defs.dbt.project import TRANSLATOR, manifest
from orchestration.defs.quality.checks import EXPORT_SUITES, EXPORT_TABLES, check_specs, gate_results
from orchestration.resources import FinkpiSettings
from orchestration.run_audit import audited_step

GROUP = "metric_layer"
# asset keys are schema/table in the build warehouse, like the dbt models' (marts/fct_...)
SCHEMA = "metrics"
SCORECARD_TABLES = contract.SCORECARD_TABLES


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey([SCHEMA, table])


PUBLISH_KEY = dg.AssetKey("published_version")


def _team(name: str) -> str:
    return "team:" + name.lower().replace(" ", "_")


def _metric_metadata() -> tuple[str, list[str]]:
    """A description listing the published metrics, and the owning departments as teams."""
    manifest()  # dbt parses the project first when target/ has no manifest (a fresh clone)
    catalog = load_catalog(load_settings().project_dir)
    published = sorted(catalog.published, key=lambda m: m.name)
    lines = [f"- `{m.name}` ({m.label}): owner {m.owner}, {m.department}; {m.unit}" for m in published]
    owners = sorted({_team(m.department) for m in published if m.department})
    return "\n".join(lines), owners


def _semantic_model_deps() -> list[dg.AssetKey]:
    """The dbt models the exports read: the semantic models' parents (and the time spine), and the
    ledger reconciliations, which the metric_values suite holds the published values to (so their
    own blocking check stands before the exports and the publish)."""
    nodes = manifest()
    parents = {
        parent
        for semantic_model in nodes.get("semantic_models", {}).values()
        for parent in semantic_model["depends_on"]["nodes"]
    }
    parents |= {uid for uid in nodes["nodes"] if uid.endswith(".metricflow_time_spine")}
    parents |= {uid for uid in nodes["nodes"] if uid.endswith(".metric_certifications")}
    parents |= {uid for uid in nodes["nodes"] if uid.endswith(".fct_ledger_reconciliations")}
    return sorted(
        (TRANSLATOR.get_asset_spec(nodes, uid, None).key for uid in parents if uid in nodes["nodes"]),
        key=lambda key: key.to_user_string(),
    )


def _seed_keys(*names: str) -> list[dg.AssetKey]:
    nodes = manifest()["nodes"]
    return [
        TRANSLATOR.get_asset_spec(manifest(), uid, None).key
        for uid, node in nodes.items()
        if node["resource_type"] == "seed" and node["name"] in names
    ]


METRIC_LIST, METRIC_OWNERS = _metric_metadata()
SCORECARD_SEEDS = _seed_keys("scorecard_targets", "scorecard_weights")
# the published contract's descriptions (finkpi/contract.py); metric_values lists the metrics too
DESCRIPTIONS = {name: contract.TABLES[name].description for name in (*EXPORT_TABLES, *SCORECARD_TABLES)}
DESCRIPTIONS["metric_values"] += "\n\n" + METRIC_LIST


@dg.multi_asset(
    name="metric_exports",
    specs=[
        dg.AssetSpec(
            _key(name),
            group_name=GROUP,
            description=DESCRIPTIONS[name],
            owners=METRIC_OWNERS,
            deps=_semantic_model_deps(),
            kinds={"duckdb", "metricflow"},
        )
        for name in EXPORT_TABLES
    ],
    check_specs=check_specs(EXPORT_SUITES),
)
def metric_exports(context: dg.AssetExecutionContext, finkpi: FinkpiSettings):
    """`metrics check`, then every published metric exported through MetricFlow in-process; then
    the Great Expectations suites of the three tables (blocking checks)."""
    with audited_step(context, finkpi.settings()) as run:
        run_id = run.id
        exported = export_metrics(run.settings, run_id, context.log.info)
        checks = list(gate_results(context, run, EXPORT_SUITES, rules=False))
    for name in EXPORT_TABLES:
        metadata = {"run_id": run_id}
        if name == "metric_values":
            metadata |= {
                "rows": len(exported.values),
                "metricflow_queries": exported.stats.queries,
                "plans_compiled": exported.stats.plans_compiled,
                "plans_cached": exported.stats.plans_cached,
            }
        yield dg.MaterializeResult(asset_key=_key(name), metadata=metadata)
    yield from checks


@dg.multi_asset(
    name="scorecards",
    specs=[
        dg.AssetSpec(
            _key(name),
            group_name=GROUP,
            description=DESCRIPTIONS[name],
            owners=METRIC_OWNERS,
            deps=[_key("metric_values"), _key("metric_catalog"), *SCORECARD_SEEDS],
            kinds={"duckdb"},
            skippable=True,
        )
        for name in SCORECARD_TABLES
    ],
)
def scorecards(context: dg.AssetExecutionContext, finkpi: FinkpiSettings):
    """Scorecards, driver attribution, associations and forecasts (finkpi/scorecards/)."""
    with audited_step(context, finkpi.settings()) as run:
        run_id = run.id
        score(run.settings, run_id, context.log.info)
    # scoring is skipped for another fiscal calendar
    written = pipeline.scorecard_tables(run.settings, run_id)
    for name in SCORECARD_TABLES:
        if name in written:
            yield dg.MaterializeResult(asset_key=_key(name), metadata={"run_id": run_id})


@dg.asset(
    key=PUBLISH_KEY,
    group_name="publish",
    deps=[_key(name) for name in (*EXPORT_TABLES, *SCORECARD_TABLES)],
    owners=METRIC_OWNERS,
    kinds={"duckdb", "parquet"},
    description="Write-audit-publish: a complete new version under warehouse/versions/<run_id>/ (DuckDB "
    "file and Parquet), then the atomic switch of warehouse/current. Runs only after every blocking "
    "Great Expectations check passed; the published version stays as it was otherwise.",
)
def published_version(context: dg.AssetExecutionContext, finkpi: FinkpiSettings) -> dg.MaterializeResult:
    with audited_step(context, finkpi.settings()) as run:
        settings = run.settings
        result = pipeline.publish_step(settings, run.id, context.log.info)
        # what the end record and the OpenLineage COMPLETE say, as after `finkpi run`
        run.summary.published_version = result.run_id
        run.summary.definitions_hash = definitions_hash(settings.build_database)
    return dg.MaterializeResult(
        metadata={
            "version": result.run_id,
            "previous_version": result.previous_version or "",
            "table_rows": result.table_rows,
            "published": dg.MetadataValue.path(str(contract.published_path(settings.warehouse_dir))),
        }
    )

"""The Dagster code location loads, as CI would load it, and its shape is what we mean it to be.

The asset and check keys are compared with a committed snapshot (snapshots/asset_keys.json): a new
or removed model, metric table or suite changes it on purpose. After such a change, rewrite it
with `FINKPI_UPDATE_SNAPSHOTS=1 python -m pytest tests/orchestration/test_definitions.py` and
review the diff.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from finkpi import contract
from finkpi.quality.gx_runner import load_suites
from finkpi.settings import PROJECT_DIR, load_settings

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_keys.json"
DAGSTER = str(Path(sys.executable).parent / "dagster")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


@pytest.fixture(scope="module")
def dbt_manifest() -> dict:
    from orchestration.defs.dbt.project import manifest

    return manifest()


def _shape(defs, graph) -> dict:
    return {
        "assets": sorted(key.to_user_string() for key in graph.materializable_asset_keys),
        "external": sorted(key.to_user_string() for key in graph.external_asset_keys),
        "checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "jobs": sorted({job.name for job in defs.jobs or []}),
        "schedules": sorted({schedule.name for schedule in defs.schedules or []}),
        "sensors": sorted({sensor.name for sensor in defs.sensors or []}),
    }


def test_asset_and_check_keys_match_the_snapshot(defs, graph):
    shape = _shape(defs, graph)
    if os.environ.get("FINKPI_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(shape, indent=1) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    for part in expected:
        added, removed = set(shape[part]) - set(expected[part]), set(expected[part]) - set(shape[part])
        assert not added and not removed, (
            f"{part} changed: added {sorted(added)}, removed {sorted(removed)}"
            " (FINKPI_UPDATE_SNAPSHOTS=1 rewrites the snapshot; review the diff)"
        )


def test_every_dbt_model_and_seed_is_an_asset_and_every_test_a_check(graph, dbt_manifest):
    nodes = dbt_manifest["nodes"].values()
    models = {
        (n["schema"].split("_")[-1], n["name"]) for n in nodes if n["resource_type"] in ("model", "seed")
    }
    keys = {tuple(key.path[-2:]) for key in graph.materializable_asset_keys}
    missing = {name for _, name in models} - {path[-1] for path in keys}
    assert not missing, f"dbt models without an asset: {sorted(missing)}"
    tests = [n for n in nodes if n["resource_type"] == "test" and n.get("attached_node")]
    check_names = {key.name for key in graph.asset_check_keys}
    assert {t["name"] for t in tests} <= check_names


def test_groups_follow_the_layers_and_owners_and_descriptions_come_from_metadata(graph, dbt_manifest):
    def node(*path):
        return graph.get(dg.AssetKey(list(path)))

    assert node("staging", "stg_erp__invoices").group_name == "staging"
    assert node("marts", "fct_invoice_lines").group_name == "marts"
    assert node("reference", "scorecard_targets").group_name == "reference"
    assert node("metrics", "metric_values").group_name == "metric_layer"
    assert node("published_version").group_name == "publish"

    # dbt: the description of the model's YAML, the owner of its meta (dbt_project.yml)
    fct = next(n for n in dbt_manifest["nodes"].values() if n["name"] == "fct_invoice_lines")
    assert node("marts", "fct_invoice_lines").description.startswith(fct["description"])  # + its SQL
    assert fct["config"]["meta"]["owner"] == "data-engineering"
    assert node("marts", "fct_invoice_lines").owners == ["team:data-engineering"]

    # metric layer: the departments accountable for the published metrics, and the metric list
    from finkpi.metrics.catalog import load_catalog

    published = load_catalog(load_settings().project_dir).published  # the worker's project copy
    departments = {m.department.lower().replace(" ", "_") for m in published}
    assert set(node("metrics", "metric_values").owners) == {f"team:{d}" for d in departments}
    description = node("metrics", "metric_values").description
    assert all(f"`{m.name}`" in description for m in published)


def test_every_expectation_suite_is_a_blocking_check_upstream_of_the_publish(graph):
    suites = load_suites()
    checks = {key: graph.get_check_spec(key) for key in graph.asset_check_keys}
    gx = {key.asset_key: spec for key, spec in checks.items() if key.name == "great_expectations"}
    assert {tuple(spec["meta"]["finkpi_table"].split(".")) for spec in suites.values()} == {
        tuple(key.path) for key in gx
    }
    assert all(spec.blocking for spec in gx.values())
    # every table a suite validates lies upstream of the publish (so a failure blocks it)
    upstream = graph.upstream_key_iterator(dg.AssetKey("published_version"))
    ancestors = set()
    todo = [dg.AssetKey("published_version")]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                todo.append(parent)
    assert set(gx) <= ancestors, upstream


def test_publish_reads_every_metric_layer_table(graph):
    parents = {key.to_user_string() for key in graph.get(dg.AssetKey("published_version")).parent_keys}
    assert parents == {
        "metrics/metric_values", "metrics/metric_catalog", "metrics/metric_definition_history",
        "metrics/scorecard_lines", "metrics/scorecard_summary", "metrics/driver_attribution",
        "metrics/driver_associations", "metrics/metric_forecast",
    }  # fmt: skip
    # which are the build relations the published contract names (finkpi/contract.py)
    relations = {t.build_relation for t in contract.TABLES.values() if t.build_relation}
    assert parents == {relation.replace(".", "/") for relation in relations}
    exports = graph.get(dg.AssetKey(["metrics", "metric_values"])).parent_keys
    assert dg.AssetKey(["marts", "fct_invoice_lines"]) in exports  # from the semantic models


def test_dagster_cli_validates_the_definitions(tmp_path):
    """What CI runs: the real `dagster definitions validate` on the workspace (`make dev` loads it)."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DO_NOT_TRACK": "1"}
    (tmp_path / "dagster.yaml").write_text((PROJECT_DIR / "orchestration" / "dagster.yaml").read_text())
    completed = subprocess.run(
        [DAGSTER, "definitions", "validate", "-w", "orchestration/workspace.yaml"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "Validation successful for code location finkpi" in completed.stdout + completed.stderr


def _dg(args: list[str], dagster_home: Path) -> subprocess.CompletedProcess:
    """Dagster's own command line, from the repository root (dg.toml is there)."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DO_NOT_TRACK": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    (dagster_home / "dagster.yaml").write_text((PROJECT_DIR / "orchestration" / "dagster.yaml").read_text())
    command = [str(Path(sys.executable).parent / "dg"), *args]
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)


def test_dg_check_defs_passes_from_the_repository_root(tmp_path):
    """What CI runs (here): `dg check defs` loads every definition of the code location."""
    checked = _dg(["check", "defs"], tmp_path)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr


@pytest.mark.slow  # ~11 s more of the same loading (`dg check defs` above is the gate's check)
def test_dg_lists_the_definitions_from_the_repository_root(tmp_path):
    listed = _dg(["list", "defs", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    listing = json.loads(listed.stdout)
    assets = {asset["asset_key"] for asset in listing["assets"]}
    assert {"published_version", "metrics/metric_values", "marts/fct_invoice_lines"} <= assets
    assert "refresh" in {job["name"] for job in listing["jobs"]}


def test_instance_template_queues_one_run_at_a_time_without_telemetry(tmp_path, monkeypatch):
    (tmp_path / "dagster.yaml").write_text((PROJECT_DIR / "orchestration" / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert instance.telemetry_enabled is False
        assert Path(instance.root_directory) == tmp_path  # storage inside DAGSTER_HOME
    finally:
        instance.dispose()


def test_executor_runs_steps_in_process(defs):
    job = defs.resolve_job_def("refresh")
    assert job.executor_def.name == "in_process"

"""The dbt project as Dagster sees it: the manifest (parsed in-process when missing) and the
translator that names groups and owners from the dbt metadata."""

import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from finkpi import dbt_runner
from finkpi.settings import load_settings

# dbt folder (the second part of a node's fqn) -> Dagster asset group: one group per layer
LAYER_GROUPS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "quarantine": "quarantine",
    "marts": "marts",
    "scorecards": "marts",
    "metrics": "metric_layer",  # the time spine MetricFlow reads
}


def manifest_path() -> Path:
    """target/manifest.json, produced by an in-process `dbt parse` when it is missing, and again
    under `dagster dev` (where the project is being edited) so the assets follow the models."""
    settings = load_settings()
    path = settings.project_dir / "target" / "manifest.json"
    if not path.exists() or os.environ.get("DAGSTER_IS_DEV_CLI"):
        result = dbt_runner.invoke(settings, ["--quiet", "parse"])
        if not result.success:
            raise RuntimeError(f"dbt parse failed, so the dbt assets cannot be defined: {result.exception}")
    return path


@cache
def manifest() -> dict:
    return json.loads(manifest_path().read_text())


class FinkpiDbtTranslator(DagsterDbtTranslator):
    """Asset keys are dbt's names (the default); groups follow the layers; owners come from the
    `owner` in each node's dbt `meta` (set per folder in dbt_project.yml) as a Dagster team."""

    def __init__(self):
        # dbt tests become asset checks (on the model or seed they are attached to)
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "seed":
            return "reference"
        if resource_type == "source":
            return "raw_extracts"
        fqn = dbt_resource_props.get("fqn") or []
        return LAYER_GROUPS.get(fqn[1] if len(fqn) > 2 else "", "dbt_other")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        meta = (dbt_resource_props.get("config") or {}).get("meta") or dbt_resource_props.get("meta") or {}
        owner = meta.get("owner")
        if not owner:
            return super().get_owners(dbt_resource_props)
        return [owner if owner.startswith("team:") or "@" in owner else f"team:{owner}"]


TRANSLATOR = FinkpiDbtTranslator()

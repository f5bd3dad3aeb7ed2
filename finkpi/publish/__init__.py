"""Write–audit–publish: versions, the atomic switch, rollback, period close and reopen."""

from __future__ import annotations

import json
from collections.abc import Callable

from finkpi import contract
from finkpi.audit.store import AuditStore
from finkpi.publish.close import published_metric_tables
from finkpi.publish.versions import (
    PublishError,
    PublishResult,
    Source,
    current_version,
    list_versions,
    publish,
    published_path,
    rollback,
    state_lock,
)
from finkpi.settings import Settings

__all__ = [
    "PublishError",
    "PublishResult",
    "current_version",
    "list_versions",
    "publish",
    "publish_run",
    "published_path",
    "rollback",
]

MAX_CANDIDATES_IN_AUDIT = 200


def publish_run(
    settings: Settings,
    run_id: str,
    extra_tables: dict[str, Source] | None = None,
    audit: AuditStore | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> PublishResult:
    """Publish the build warehouse's metric layer (closed months frozen) plus `extra_tables`
    (later steps: scorecards, validation results ...). Every table's `run_id` is the publishing
    run; `metric_values.value_run_id` names the run that computed each value."""
    audit = audit or AuditStore(settings.warehouse_dir)
    with state_lock(settings):  # no close or reopen between reading the closes and publishing
        return _publish_run(settings, run_id, extra_tables, audit, progress)


def _publish_run(settings, run_id, extra_tables, audit, progress) -> PublishResult:
    tables, candidates = published_metric_tables(settings, run_id, audit)
    # tables of the build warehouse published as they are, with run_id set to the publishing run
    for name in contract.BUILD_TABLES:
        relation = contract.TABLES[name].build_relation
        tables[name] = f"select * replace ('{run_id}' as run_id) from build.{relation}"
    tables.update(extra_tables or {})
    if len(candidates):
        for period, rows in candidates.groupby("period"):
            shown = rows.head(MAX_CANDIDATES_IN_AUDIT).drop(columns=["run_id"])
            audit.record_event(
                "restatement_candidates",
                run_id=run_id,
                period=period,
                details={
                    "rows": len(rows),
                    "shown": json.loads(shown.to_json(orient="records", date_format="iso")),
                },
            )
        progress(
            f"  {len(candidates)} restatement candidate(s) in closed period(s):"
            " frozen values published, differences recorded"
        )
    return publish(settings, run_id, tables, audit=audit, progress=progress)

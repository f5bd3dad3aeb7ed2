"""One Dagster run = one finkpi run in the audit store, as `finkpi run` records it.

Every finkpi step (the dbt build, the exports, the scorecards, the quality checks, the publish)
runs inside `audited_step`: the first step of a Dagster run writes the run's start record (code
version, input-file hashes); a step that fails writes its end record `failed` with the error; the
last finkpi step of the run (no selected asset downstream of it) writes `success`. A Dagster run
killed outright has a start and no end, shown as `interrupted`, like a killed CLI run. With the
start and end records go the run's OpenLineage START and COMPLETE/FAIL events and its audit report,
as with `finkpi run` (neither ever fails a run).

The finkpi run id is derived from the Dagster run (its creation time and the first 8 characters of
its id), so every step of one run publishes and records under the same sortable id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

from finkpi.audit.provenance import code_version, input_file_hashes
from finkpi.audit.store import AuditStore, now
from finkpi.settings import Settings


def finkpi_run_id(context: dg.OpExecutionContext) -> str:
    """Sortable like `pipeline.new_run_id`, and the same for every step of one Dagster run."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record else now()
    return created.strftime("%Y%m%dT%H%M%SZ") + "-" + context.run.run_id[:8]


def _run_records(audit: AuditStore, run_id: str) -> dict[str, dict]:
    """The run's start and end records, by event."""
    with audit.reading() as con:
        if con is None:
            return {}
        present = {
            name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "runs" not in present:
            return {}
        cursor = con.execute("select * from runs where run_id = ? order by seq", [run_id])
        names = [column[0] for column in cursor.description]
        return {row[names.index("event")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _summary(settings: Settings, run_id: str, digest: str | None = None):
    """What the OpenLineage events and the report read of a run (the CLI's RunSummary)."""
    from finkpi.pipeline import RunSummary
    from finkpi.publish.versions import current_version

    summary = RunSummary(
        run_id=run_id, warehouse=settings.build_database, as_of_date=settings.dbt_vars()["as_of_date"]
    )
    summary.definitions_hash = digest
    summary.published_version = run_id if current_version(settings) == run_id else None
    return summary


def _record_start(audit: AuditStore, settings: Settings, run_id: str, started_at, code) -> None:
    from finkpi.lineage import openlineage

    inputs = input_file_hashes(settings)
    audit.record_run_start(run_id, started_at, code, inputs)
    openlineage.emit_start(settings, _summary(settings, run_id), inputs, progress=print)


def _record_end(audit, settings, run_id, started_at, status, code, digest, message, error=None) -> None:
    from finkpi.audit.report import write_run_report
    from finkpi.lineage import openlineage

    audit.record_run_end(run_id, started_at, status, code, digest, message)
    openlineage.emit_end(settings, _summary(settings, run_id, digest), status, error, progress=print)
    write_run_report(settings, run_id, progress=print)


def _is_last_step(context, keys) -> bool:
    """No asset this run materializes lies downstream of `keys` (this step's assets, or the
    assets a check step validates)."""
    graph = context.job_def.asset_layer.asset_graph
    executable = set(graph.executable_asset_keys)
    mine = set(keys)
    seen, todo = set(), list(mine)
    while todo:
        for child in graph.get(todo.pop()).child_keys:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return not (seen - mine) & executable


@contextlib.contextmanager
def audited_step(context, settings: Settings, keys=None, definitions_hash=None) -> Iterator[str]:
    """Wrap one finkpi step of a Dagster run; yields the finkpi run id. `keys`: the assets the
    step materializes or checks (default: the step's selected assets). `definitions_hash` is a
    callable giving the hash recorded with a successful end."""
    keys = keys if keys is not None else context.selected_asset_keys
    context = getattr(context, "op_execution_context", context)  # asset / check contexts wrap it
    run_id = finkpi_run_id(context)
    audit = AuditStore(settings.warehouse_dir)
    records = _run_records(audit, run_id)
    started_at = records["start"]["started_at"] if "start" in records else now()
    code = code_version(settings.project_dir)
    if "start" not in records:
        _record_start(audit, settings, run_id, started_at, code)
    try:
        yield run_id
    except BaseException as exc:
        if "end" not in _run_records(audit, run_id):
            message = f"{type(exc).__name__} in {context.op.name}: {exc}"[:4000]
            _record_end(audit, settings, run_id, started_at, "failed", code, None, message, exc)
        raise
    if _is_last_step(context, keys) and "end" not in _run_records(audit, run_id):
        digest = definitions_hash() if definitions_hash else None
        _record_end(audit, settings, run_id, started_at, "success", code, digest, None)


def record_failed_end(context: dg.OpExecutionContext, settings: Settings, message: str) -> None:
    """A failed blocking check ends the run (nothing downstream runs): record it as failed."""
    context = getattr(context, "op_execution_context", context)
    run_id = finkpi_run_id(context)
    audit = AuditStore(settings.warehouse_dir)
    records = _run_records(audit, run_id)
    if "end" in records:
        return
    started_at = records["start"]["started_at"] if "start" in records else now()
    code = code_version(settings.project_dir)
    _record_end(audit, settings, run_id, started_at, "failed", code, None, message[:4000])

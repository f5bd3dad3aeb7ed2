"""One Dagster run = one finkpi run (`finkpi.run.Run`), recorded as `finkpi run` records it.

Every finkpi step (the dbt build, the exports, the scorecards, the quality checks, the publish)
runs inside `audited_step`, each with its own `Run` of the same id: the first step of a Dagster run
starts it (start record with code version and input-file hashes, OpenLineage START); a step that
fails ends it `failed` with the error; the last finkpi step of the run (no selected asset downstream
of it) ends it `success`. A Dagster run killed outright has a start and no end, shown as
`interrupted`, like a killed CLI run. Ending writes the OpenLineage COMPLETE/FAIL event and the
audit report, as with `finkpi run` (neither ever fails a run).

The as-of dates are resolved once per Dagster run, by its first step, and pinned as a run tag
(`finkpi/as_of_dates`) that every later step reads (`finkpi_run`).

The finkpi run id is derived from the Dagster run (its creation time and the first 8 characters of
its id, through `finkpi.run.new_run_id`), so every step of one run publishes and records under the
same sortable id.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import dagster as dg

from finkpi.run import Run, new_run_id
from finkpi.settings import Settings

AS_OF_DATES_TAG = "finkpi/as_of_dates"  # the run's pinned as-of dates (JSON: as_of_date, one per source)


def finkpi_run(context: dg.OpExecutionContext, settings: Settings) -> Run:
    """This Dagster run's finkpi run, not yet started or joined (the same id in every step).

    Its as-of dates are resolved once per Dagster run: the first step resolves them (from the raw
    files, unless set) and pins them as the run tag `finkpi/as_of_dates`; every later step, in
    whatever process, takes them from the tag and reads no file for them."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record else None
    # the stored run, not `context.run`: that is the run as this process loaded it, before the
    # first step tagged it
    pinned = record.dagster_run.tags.get(AS_OF_DATES_TAG) if record else None
    if pinned:
        settings = settings.with_pinned_dates(json.loads(pinned))
    run = Run(settings, new_run_id(created, context.run.run_id[:8]), progress=print)
    if not pinned:
        dates = json.dumps(run.settings.pinned_dates(), sort_keys=True)
        context.instance.add_run_tags(context.run.run_id, {AS_OF_DATES_TAG: dates})
    return run


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
def audited_step(context, settings: Settings, keys=None) -> Iterator[Run]:
    """Wrap one finkpi step of a Dagster run; yields its `Run` (the step works with `run.settings`,
    whose as-of dates are resolved, and `run.id`; the publish step sets what the summary says it
    published). `keys`: the assets the step materializes or checks (default: the step's selected
    assets)."""
    keys = keys if keys is not None else context.selected_asset_keys
    context = getattr(context, "op_execution_context", context)  # asset / check contexts wrap it
    run = finkpi_run(context, settings)
    run.join()
    try:
        yield run
    except BaseException as exc:
        run.end("failed", exc, message=f"{type(exc).__name__} in {context.op.name}: {exc}")
        raise
    if _is_last_step(context, keys):
        run.end("success")

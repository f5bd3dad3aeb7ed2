"""finkpi's Dagster code location (`dagster dev -m orchestration.definitions`, `make dev`).

Assets, checks, jobs, schedules and the sensor are discovered in orchestration/defs/ (dg.toml
names the module). Every step runs in the run's own process (in_process_executor): dbt,
MetricFlow and the publish share one DuckDB writer, as in `finkpi run`; the Great Expectations
suites still run in a child process. Runs queue one at a time (orchestration/dagster.yaml).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.resources import FinkpiSettings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources={"finkpi": FinkpiSettings()}, executor=dg.in_process_executor),
    )

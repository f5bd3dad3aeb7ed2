"""A sensor on data/landing/: a run of the pipeline when a new extract batch arrives.

What counts as an arrival: a batch is a direct subfolder of the landing folder that holds a folder
for every registered source that lives under the data folder (`erp/` and `crm/`: the layout
`finkpi run --data-dir` reads, e.g. generator output
`data/landing/scale50/`). A batch arrives when its file list (names, sizes, modification times)
is new or changed and none of its files changed in the last SETTLE_SECONDS (a copy still being
written is left for a later tick). The cursor keeps each batch's fingerprint, so a batch starts
one run per change. On the very first evaluation (no cursor) the sensor only records what is
already there: folders generated before the sensor was switched on do not start runs.

A landing batch is a complete extract and its run reads it as a new data folder (a full run).
A day's delivery is something else: new files in `<source folder>/deliveries/<batch>/` beside
the files already loaded (README, "Incremental runs"); inside a landing batch they are part of
its file list, so they change its fingerprint like any other file.
"""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from finkpi.settings import PROJECT_DIR
from finkpi.sources import REGISTERED
from orchestration.defs.automation.jobs import refresh_job

LANDING_DIR = PROJECT_DIR / "data" / "landing"
# the sources whose extracts arrive under the data folder (not in a folder of their own)
BATCH_SOURCES = [source.name for source in REGISTERED if source.in_data_dir]
SETTLE_SECONDS = 60


def landed_batches(landing_dir: Path) -> dict[str, dict]:
    """batch folder -> {fingerprint, newest modification time, raw format} for complete batches."""
    batches = {}
    if not landing_dir.is_dir():
        return batches
    for folder in sorted(p for p in landing_dir.iterdir() if p.is_dir()):
        if not all((folder / source).is_dir() for source in BATCH_SOURCES):
            continue
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        if not files:
            continue
        stats = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        suffixes = {p.suffix for p in files}
        batches[folder.name] = {
            "fingerprint": hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16],
            "newest": max(mtime for _, _, mtime in stats) / 1e9,
            "raw_format": "parquet" if ".parquet" in suffixes else "csv",
            "path": str(folder.resolve()),
        }
    return batches


def evaluate(landing_dir: Path, cursor: str | None, now: float, settle_seconds: float = SETTLE_SECONDS):
    """The sensor's logic, pure apart from reading the folder: (run requests, new cursor)."""
    batches = landed_batches(landing_dir)
    seen = json.loads(cursor) if cursor else None
    if seen is None:  # first evaluation: a baseline, no runs
        return [], json.dumps({name: b["fingerprint"] for name, b in batches.items()}, sort_keys=True)
    requests = []
    for name, batch in batches.items():
        if seen.get(name) == batch["fingerprint"] or now - batch["newest"] < settle_seconds:
            continue
        seen[name] = batch["fingerprint"]
        requests.append(
            dg.RunRequest(
                run_key=f"landing-{name}-{batch['fingerprint']}",
                run_config={
                    "resources": {
                        "finkpi": {"config": {"data_dir": batch["path"], "raw_format": batch["raw_format"]}}
                    }
                },
                tags={"finkpi/landing_batch": name},
            )
        )
    return requests, json.dumps(seen, sort_keys=True)


@dg.sensor(
    name="landing_arrivals",
    job=refresh_job,
    minimum_interval_seconds=60,
    description="Starts the pipeline on a batch folder that arrives (or changes) under data/landing/ "
    "with erp/ and crm/ inside, once its files have been still for a minute.",
)
def landing_arrivals(context: dg.SensorEvaluationContext):
    requests, cursor = evaluate(LANDING_DIR, context.cursor, time.time())
    context.update_cursor(cursor)
    if not requests:
        return dg.SkipReason("no new or changed batch in data/landing/")
    return requests

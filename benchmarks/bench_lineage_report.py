"""What lineage, OpenLineage events and the audit report add to a run, on a built warehouse.

    python benchmarks/bench_lineage_report.py --warehouse-dir warehouse [--out benchmarks/lineage_report.json]

The warehouse must hold a published run (`finkpi run`). Measured, each the median of a few repeats:

1. the column lineage of every published metric walked with sqlglot (no cache), and read back
   from the cache a run uses when definitions and models did not change;
2. building the COMPLETE event (published tables with schema and column-lineage facets) and its
   JSON size, without sending it;
3. writing the latest run's audit report and the index (lineage cached).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from finkpi.settings import load_settings  # noqa: E402


def _median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse-dir", required=True)
    parser.add_argument("--out", default=str(Path(__file__).with_name("lineage_report.json")))
    args = parser.parse_args(argv)

    from openlineage.client.event_v2 import RunState
    from openlineage.client.serde import Serde

    from finkpi.audit.report import audit_records, runs_of, write_report
    from finkpi.audit.store import AuditStore
    from finkpi.lineage import openlineage
    from finkpi.lineage.published import published_lineage

    settings = load_settings(warehouse_dir=Path(args.warehouse_dir).resolve())
    runs = runs_of(audit_records(AuditStore(settings.warehouse_dir)))
    runs = [r for r in runs if r.get("published_version")]
    if not runs:
        raise SystemExit(f"no published run in {settings.warehouse_dir}: run `finkpi run` first")
    run = runs[-1]

    def uncached():
        cache = published_lineage(settings).cache_file
        if cache is not None:
            cache.unlink(missing_ok=True)
        assert not published_lineage(settings).from_cache

    walk = _median_seconds(uncached, 3)
    cached = _median_seconds(lambda: published_lineage(settings), 10)

    class Summary:  # what the pipeline passes: the run's id, dates and published version
        run_id = run["run_id"]
        as_of_date = settings.dbt_vars()["as_of_date"]
        definitions_hash = run.get("definitions_hash")
        published_version = run["published_version"]

    def complete_event():
        outputs = openlineage.output_datasets(settings, run["published_version"])
        inputs = openlineage.input_datasets(settings)
        return Serde.to_json(
            openlineage.run_event(settings, Summary, RunState.COMPLETE, "success", inputs, outputs)
        )

    event_seconds = _median_seconds(complete_event, 5)
    event_bytes = len(complete_event().encode())
    report_seconds = _median_seconds(lambda: write_report(settings, run["run_id"]), 5)
    results = {
        "metrics": len(published_lineage(settings).metrics),
        "lineage_walk_seconds": round(walk, 3),
        "lineage_cached_seconds": round(cached, 3),
        "complete_event_seconds": round(event_seconds, 3),
        "complete_event_bytes": event_bytes,
        "report_seconds": round(report_seconds, 3),
        "report_bytes": (settings.warehouse_dir / "reports" / run["run_id"] / "index.html").stat().st_size,
    }
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        print(f"{key:<28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

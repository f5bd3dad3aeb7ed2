"""A BI reader for the concurrency tests: opens `published.duckdb` read-only in a loop and checks
each time that every table comes from one run. Prints a JSON summary.

python reader_loop.py <published.duckdb> <stop file> <max iterations> <max seconds>
"""

import json
import os
import sys
import time

import duckdb

TABLES = ("metric_values", "metric_catalog", "metric_definition_history", "closed_periods")


def main(path: str, stop: str, max_iterations: int, max_seconds: float) -> None:
    summary = {"iterations": 0, "errors": [], "mixed": [], "versions": [], "row_counts": []}
    started = time.monotonic()
    while (
        summary["iterations"] < max_iterations
        and time.monotonic() - started < max_seconds
        and not os.path.exists(stop)
    ):
        summary["iterations"] += 1
        try:
            with duckdb.connect(path, read_only=True) as con:
                ids = {
                    t: sorted(r[0] for r in con.execute(f"select distinct run_id from {t}").fetchall())
                    for t in TABLES[:3]
                }
                rows = con.execute("select count(*) from metric_values").fetchone()[0]
        except Exception as exc:  # noqa: BLE001 - every error is a finding
            summary["errors"].append(repr(exc))
            continue
        seen = {run_id for values in ids.values() for run_id in values}
        if len(seen) != 1 or any(len(values) != 1 for values in ids.values()):
            summary["mixed"].append(ids)
            continue
        (version,) = seen
        if version not in summary["versions"]:
            summary["versions"].append(version)
        if rows not in summary["row_counts"]:
            summary["row_counts"].append(rows)
    summary["seconds"] = time.monotonic() - started
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))

"""Readers query `published.duckdb` in a loop across several publishes (with pruning) and never
get an error or rows from two different runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests_publish_helpers import cli_env

from finkpi.publish import list_versions, publish_run

READER = Path(__file__).with_name("reader_loop.py")


def _readers_across_publishes(settings, tmp_path, readers: int, publishes: int, max_seconds: float):
    settings = settings.with_(keep_versions=2)  # old versions are pruned while readers read them
    publish_run(settings, "20250101T000000Z-r0000000")
    stop = tmp_path / "stop"
    processes = [
        subprocess.Popen(
            [sys.executable, str(READER), str(settings.warehouse_dir / "published.duckdb"), str(stop),
             "1000000", str(max_seconds)],
            stdout=subprocess.PIPE,
            env=cli_env(settings),
            text=True,
        )
        for _ in range(readers)
    ]  # fmt: skip
    time.sleep(1.0)  # the readers are reading
    published = []
    for i in range(1, publishes + 1):
        published.append(publish_run(settings, f"20250101T000000Z-r{i:07d}").seconds)
        time.sleep(0.2)
    stop.touch()
    summaries = [json.loads(p.communicate(timeout=max_seconds + 60)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    for summary in summaries:
        assert summary["errors"] == [], summary["errors"][:3]
        assert summary["mixed"] == [], summary["mixed"][:3]
        assert summary["iterations"] > 0
        assert len(summary["row_counts"]) == 1  # every version is complete
    assert len({v for s in summaries for v in s["versions"]}) >= 2  # they read across publishes
    assert len(list_versions(settings)) == 2
    return summaries, published


def test_readers_never_see_an_error_or_a_mix(fresh_warehouse, tmp_path):
    summaries, publish_seconds = _readers_across_publishes(
        fresh_warehouse, tmp_path, readers=2, publishes=5, max_seconds=60
    )
    print(
        "reader iterations:", [s["iterations"] for s in summaries],
        "versions seen:", [len(s["versions"]) for s in summaries],
        "publish seconds:", [round(s, 2) for s in publish_seconds],
    )  # fmt: skip


@pytest.mark.slow
def test_soak_readers_across_many_publishes(fresh_warehouse, tmp_path):
    summaries, _ = _readers_across_publishes(
        fresh_warehouse, tmp_path, readers=3, publishes=40, max_seconds=600
    )
    assert sum(len(s["versions"]) for s in summaries) >= 20

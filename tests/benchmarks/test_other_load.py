"""The benchmarks' "other processes' CPU" counts this process's own work as its own (#25): the
pipeline and the raw-DuckDB baseline run inside the measuring process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.bench_metric_layer import OtherLoad


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_in_process_work_is_own_cpu_not_other():
    with OtherLoad() as load:
        _burn(0.6)
    assert load.own_cpu_s >= 0.55
    # the other processes' CPU cannot include ours: at most what the cores had left beside it
    assert load.cpu_s <= (os.cpu_count() or 1) * load.wall_s - load.own_cpu_s + 0.1


def test_a_child_process_work_is_own_cpu_too():
    with OtherLoad() as load:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass",
            ],
            check=True,
            timeout=60,
        )
    assert load.own_cpu_s >= 0.55

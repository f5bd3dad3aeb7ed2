"""Test hook for fault-injection tests (not for production use).

`FINKPI_TEST_PAUSE_AT=<point>` makes the process print `FINKPI_PAUSED_AT <point> <pid>` on stderr
and sleep (`FINKPI_TEST_PAUSE_SECONDS`, default 600) when it reaches that point, so a test can
`kill -9` it at a known stage. Points: `build` (before dbt build), `validate` (after the metric
exports, where the quality gate runs), `publish-write` (inside publish: tables written to the new
version's temporary folder, before the manifest), `publish` (the version folder complete, before
the rename and the switch of `current`). Unset, it does nothing.
"""

from __future__ import annotations

import os
import sys
import time


def pause_point(name: str) -> None:
    if os.environ.get("FINKPI_TEST_PAUSE_AT") == name:
        print(f"FINKPI_PAUSED_AT {name} {os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("FINKPI_TEST_PAUSE_SECONDS", "600")))

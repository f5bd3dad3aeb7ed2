"""The failure a command reports in its own words.

A failed build, quality gate, publish or scorecard step raises a subclass of `FinkpiError`
(defined beside the step that raises it); the command line prints its message and exits 1 without
a traceback. It lives on the ground floor so the command line can catch every such failure
without importing the steps (and dbt, MetricFlow or pandas behind them) just to name them.
"""

from __future__ import annotations


class FinkpiError(RuntimeError):
    """A step failed for a reason its message states (exit status 1 on the command line)."""

"""Compiled metric SQL kept across runs, so that a run whose definitions did not change plans
nothing (and never builds MetricFlow's engine, which takes seconds).

What MetricFlow compiles depends on the semantic manifest (target/semantic_manifest.json, which
dbt parse writes: every definition, relation name and time spine), the request, MetricFlow's
version and the SQL dialect it plans in. Those make the key. dbt variables are not part of it:
no variable reaches the compiled SQL (the run's as_of_date filters the exports in pandas, and
the models' columns such as dim_dates.is_through_as_of carry it), and a variable rendered while
parsing changes the manifest, so its hash (tests/metrics/test_export_batching.py checks the
compiled SQL holds no variable's value).

One file per key, `<warehouse_dir>/plan_cache/<key>.json`, holding three kinds of entry: a
request's SQL (a metric's definition SQL, metric_catalog.definition_sql, is its request at month
grain), a metric's reachable dimensions (name -> qualified name; MetricFlow's discovery), and a
`finkpi query`'s SQL keyed by the question as typed (so a repeated question needs neither name
resolution nor MetricFlow, and answers in a fraction of a second from a fresh process). It
is written whole to a temporary file and renamed, so a crash leaves the old file or the new one;
a file that cannot be read, or whose recorded key is not the one asked for, is ignored with a
warning and rewritten. The directory keeps the KEEP_FILES most recently written files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from finkpi.metrics.engine import PLANNING_DIALECT, MetricRequest, metricflow_versions

FORMAT = 3  # bump when the file's layout changes
KEEP_FILES = 8  # the most recently written; older ones are for manifests long replaced
KINDS = ("plans", "dimensions", "queries")


class PlanCacheWarning(UserWarning):
    """A plan cache file was unreadable or someone else's: it is ignored (and replanned)."""


def manifest_hash(project_dir: Path) -> str:
    path = project_dir / "target" / "semantic_manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `finkpi build` (or `finkpi dbt parse`) first")
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PlanCache:
    """Planned SQL and discovery for one semantic manifest, MetricFlow version and dialect."""

    def __init__(self, directory: Path, manifest_sha256: str, dialect: str = PLANNING_DIALECT):
        self.directory = directory
        self.key = {
            "format": FORMAT,
            "semantic_manifest_sha256": manifest_sha256,
            "metricflow": metricflow_versions(),
            "dialect": dialect,
        }
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:24]
        self.path = directory / f"{digest}.json"
        self.hits = 0
        self.misses = 0
        self._entries = self._load()
        self._changed = False

    @classmethod
    def for_settings(cls, settings, dialect: str = PLANNING_DIALECT) -> PlanCache:
        """The cache of the build warehouse of `settings`, for its current semantic manifest."""
        return cls(settings.warehouse_dir / "plan_cache", manifest_hash(settings.project_dir), dialect)

    # -- entries ---------------------------------------------------------------------------------
    def plan(self, request: MetricRequest, compile_sql: Callable[[MetricRequest], str]) -> str:
        """The request's SQL, compiled with `compile_sql` only when not cached."""
        return self._get("plans", request.canonical(), lambda: compile_sql(request))

    def query(self, asked: MetricRequest, plan: Callable[[MetricRequest], str]) -> str:
        """The SQL of a `finkpi query` as the user typed it (short names, a plain-SQL filter):
        what name resolution and MetricFlow made of it, planned with `plan` only when not cached.
        Apart from `plans`, whose requests are MetricFlow's own names."""
        return self._get("queries", asked.canonical(), lambda: plan(asked))

    def dimensions(self, metric: str, discover: Callable[[], dict[str, str]]) -> dict[str, str]:
        """A metric's reachable dimensions (short name -> qualified name)."""
        return dict(self._get("dimensions", metric, discover))

    def _get(self, kind: str, name: str, compute: Callable):
        entries = self._entries[kind]
        if name in entries:
            self.hits += 1
            return entries[name]
        self.misses += 1
        value = compute()
        entries[name] = value
        self._changed = True
        return value

    # -- the file --------------------------------------------------------------------------------
    def _load(self) -> dict[str, dict]:
        empty = {kind: {} for kind in KINDS}
        if not self.path.exists():
            return empty
        try:
            stored = json.loads(self.path.read_text())
            if stored.get("key") != self.key:
                raise ValueError("it was written for another manifest, MetricFlow version or dialect")
            entries = {kind: stored[kind] for kind in KINDS}
            texts = [*entries["plans"].values(), *entries["queries"].values()]
            names = [n for found in entries["dimensions"].values() for n in [*found, *found.values()]]
            if not all(isinstance(text, str) for text in texts + names):
                raise ValueError("an entry is not text")
            return entries
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            warnings.warn(
                f"ignoring the metric plan cache {self.path} ({error}): every plan is compiled again",
                PlanCacheWarning,
                stacklevel=3,
            )
            return empty

    def save(self) -> None:
        """Write the entries (if any were added) atomically: a temporary file, then a rename."""
        if not self._changed:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".plan-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as file:
                json.dump({"key": self.key, **self._entries}, file)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._changed = False
        files = sorted(self.directory.glob("*.json"), key=lambda path: path.stat().st_mtime, reverse=True)
        for stale in files[KEEP_FILES:]:
            stale.unlink(missing_ok=True)

"""Column lineage of a published metric, for the API, cached per definitions hash.

Building the lineage walker reads dbt's manifest and the build warehouse's column lists (~5 s);
its answer depends only on the metric definitions, so it is built once per definitions hash (the
SHA-256 of the published catalog's definition hashes) and each metric's tree is kept.

The walker reads `target/manifest.json` and the build warehouse: while a pipeline run holds the
build warehouse for writing, a lineage not yet cached answers 503 (retry after the run).
"""

from __future__ import annotations

import hashlib
import threading

import duckdb

from finkpi.api.published import Version
from finkpi.lineage.columns import ColumnLineage
from finkpi.metrics.catalog import load_catalog
from finkpi.settings import Settings


class LineageUnavailable(RuntimeError):
    """The build warehouse or dbt's manifest cannot be read right now (HTTP 503)."""


def definitions_hash(version: Version) -> str:
    key = ("definitions_hash",)
    if key not in version.cache:
        with version.connection.cursor() as cur:
            rows = cur.execute(
                "select metric_name, definition_hash from metric_catalog order by metric_name"
            ).fetchall()
        version.cache[key] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return version.cache[key]


class LineageService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._walkers: dict[str, object] = {}
        self._trees: dict[tuple[str, str], dict] = {}

    def of_metric(self, version: Version, metric: str) -> dict:
        digest = definitions_hash(version)
        if (digest, metric) in self._trees:
            return self._trees[(digest, metric)]
        with version.connection.cursor() as cur:
            row = cur.execute(
                "select definition_sql from metric_catalog where metric_name = ?", [metric]
            ).fetchone()
        sql = row[0]
        lineage_of, note = metric, None

        definition = load_catalog(self.settings.project_dir).metrics.get(metric)
        if definition is not None and definition.is_computed:
            # computed from another exported metric (e.g. growth): its sources are that metric's
            lineage_of = definition.base_metric
            note = f"{metric} is computed from exported {lineage_of}; the lineage is {lineage_of}'s"
            with version.connection.cursor() as cur:
                sql = cur.execute(
                    "select definition_sql from metric_catalog where metric_name = ?", [lineage_of]
                ).fetchone()[0]
        with self._lock:  # one walker build at a time; the walker's own caches are not thread-safe
            walker = self._walker(digest)
            tree = walker.of_metric(lineage_of, sql)
        result = {
            "metric": metric,
            "definitions_hash": digest,
            "note": note,
            "sources": sorted(f"{relation}.{column}" for relation, column in tree.sources()),
            "tree": tree.to_dict(),
        }
        self._trees[(digest, metric)] = result
        return result

    def _walker(self, digest: str):
        if digest not in self._walkers:
            try:
                self._walkers[digest] = ColumnLineage.for_project(self.settings)
            except (duckdb.IOException, duckdb.ConnectionException, FileNotFoundError) as exc:
                raise LineageUnavailable(
                    f"lineage needs dbt's manifest and the build warehouse, unreadable now ({exc});"
                    " retry when the running pipeline has finished"
                ) from None
        return self._walkers[digest]

"""Lineage of what a run publishes: every published metric and every scorecard column, down to
the raw source columns (and the seeds people keep by hand).

Metrics: sqlglot over each metric's compiled MetricFlow SQL (`metric_catalog.definition_sql`) and
then over the compiled dbt models (columns.py). A metric finkpi computes from exported totals
(year-on-year growth) leads to `metric_values.value` of the metric it is computed from.

Scorecard tables are written by Python, not dbt: their column lineage is declared in
`finkpi.lineage.scorecards.COLUMN_LINEAGE` and leads to `metric_values.value` of the
metrics each table actually holds, then on through those metrics' chains.

Walking every metric's chain costs 2-3 s (sqlglot qualifies each model's SQL), so the result
is cached in `target/finkpi-lineage/` (beside dbt's artifacts) under a key over everything it
depends on: the metric definitions, the dbt project's definitions
(`finkpi.incremental.build_definitions_hash`: models, macros, seeds, the dbt variables but the run's
dates), the dbt target, whether the run is incremental and the source columns. Not the compiled
SQL itself: it holds the run's dates and an incremental run's window and new files, which move
every day without moving a column. A run whose definitions did not change reads the cache
(~0.15 s), whatever day and warehouse.

`metric_feeding` gives each metric's feeding columns, the source columns its certification covers
(full lineage: ColumnLineage.feeding_of_metric), cached the same way and under the same key. The
metric exports call it (the catalog's certification), and its walk includes the projection chains,
so it writes the published lineage's cache as well: a run walks the lineage once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from finkpi import contract
from finkpi.incremental import build_definitions_hash
from finkpi.lineage.columns import (
    ColumnLineage,
    LineageNode,
    LineageUnavailable,
    registered_sources,
)
from finkpi.lineage.scorecards import COLUMN_LINEAGE
from finkpi.metrics.catalog import load_catalog
from finkpi.settings import Settings
from finkpi.sources import SOURCES

VALUES = "metric_values"  # the published table every metric's values are in
METRIC_VALUES = contract.TABLES[VALUES].build_relation  # and the build relation it is made from


@dataclass
class PublishedLineage:
    """Chains of every published metric; scorecard columns are built from them on demand."""

    metrics: dict[str, LineageNode]
    metrics_in: dict[tuple[str, str], list[str]]  # (table, metric_name | driver_metric) -> metrics
    cache_file: Path | None = None
    from_cache: bool = False

    def of_metric(self, name: str) -> LineageNode:
        if name not in self.metrics:
            raise ValueError(f"unknown published metric {name!r}")
        return self.metrics[name]

    def of_column(self, table: str, column: str) -> LineageNode:
        """A column of a published table: a scorecard column (declared lineage) or
        `metric_values.value` (every published metric)."""
        if table == VALUES and column == "value":
            return LineageNode(METRIC_VALUES, "value", "model", list(self.metrics.values()))
        if table not in COLUMN_LINEAGE:
            known = ", ".join([VALUES, *COLUMN_LINEAGE])
            raise ValueError(f"no column lineage for table {table!r} (tables with lineage: {known})")
        declared = COLUMN_LINEAGE[table]
        if column not in declared:
            raise ValueError(f"{table} has no column {column!r} (columns: {', '.join(declared)})")
        node = LineageNode(table, column, "table")
        for upstream in declared[column]:
            if upstream.relation == METRIC_VALUES and upstream.column == "value":
                metrics = self.metrics_in.get((table, upstream.of), [])
                chains = [self.metrics[m] for m in metrics if m in self.metrics]
                node.upstream.append(LineageNode(METRIC_VALUES, "value", "model", chains))
            elif upstream.relation.startswith("seeds."):
                node.upstream.append(LineageNode(upstream.relation, upstream.column, "seed"))
            elif upstream.relation == METRIC_VALUES:  # grain, periods: the export's calendar
                node.upstream.append(LineageNode(upstream.relation, upstream.column, "model"))
            else:  # metric_catalog columns: from the metric definitions in metrics/*.yml
                node.upstream.append(LineageNode(upstream.relation, upstream.column, "definition"))
        return node

    def tables(self) -> dict[str, list[str]]:
        """Published tables with column lineage -> their columns."""
        present = {table for table, _of in self.metrics_in}
        return {VALUES: ["value"]} | {
            table: list(columns) for table, columns in COLUMN_LINEAGE.items() if table in present
        }


def published_lineage(settings: Settings) -> PublishedLineage:
    """The lineage of the build warehouse of `settings` (cached per definitions and models)."""
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        catalog = con.execute(
            "select metric_name, metric_type, definition_sql from metrics.metric_catalog order by 1"
        ).fetchall()
        metrics_in = _metrics_in_scorecard_tables(con)
    cache = _cache_file(settings, "metrics", catalog)
    if cache.exists():
        data = json.loads(cache.read_text())
        trees = {name: LineageNode.from_dict(tree) for name, tree in data.items()}
        return PublishedLineage(trees, metrics_in, cache, from_cache=True)

    manifest = _manifest(settings)
    walker = ColumnLineage(manifest, settings.build_database, *registered_sources(settings))
    definitions = load_catalog(settings.project_dir)
    trees = _metric_trees(walker, catalog, {name: definitions[name].base_metric for name, *_ in catalog})
    cache = _write_cache(cache, {name: tree.to_dict() for name, tree in trees.items()})
    return PublishedLineage(trees, metrics_in, cache, from_cache=False)


def _metric_trees(
    walker: ColumnLineage, catalog: list[tuple[str, str, str]], base_of: dict[str, str | None]
) -> dict[str, LineageNode]:
    trees: dict[str, LineageNode] = {}
    computed = []
    for name, metric_type, sql in catalog:
        if metric_type == "computed":
            computed.append(name)
        else:
            trees[name] = walker.of_metric(name, sql)
    for name in computed:  # e.g. revenue_yoy_growth: from exported revenue totals
        base = base_of[name]
        value = LineageNode(METRIC_VALUES, "value", "model", [trees[base]] if base in trees else [])
        trees[name] = LineageNode(name, name, "metric", [value])
    return trees


def metric_feeding(
    settings: Settings, metrics: list[tuple[str, str, str, str | None]]
) -> dict[str, list[str]]:
    """The feeding columns (`<source>.<file>.<column>`, sorted) of each metric, from its full
    lineage in the built project of `settings`. `metrics`: (name, metric_type, definition_sql,
    base_metric); a computed metric is fed by what feeds the metric it is computed from."""
    manifest = _manifest(settings)
    compiled = any(
        node.get("compiled_code") for node in manifest["nodes"].values() if node["resource_type"] == "model"
    )
    if not compiled or not settings.build_database.exists():
        raise LineageUnavailable(
            f"no built DuckDB project to trace lineage in ({settings.build_database}"
            f"{'' if compiled else ', and target/manifest.json has no compiled SQL'}): run `finkpi build`"
        )
    # as metric_catalog will hold them: the key is then the published lineage's too
    catalog = sorted((name, metric_type, sql.strip()) for name, metric_type, sql, _base in metrics)
    cache = _cache_file(settings, "feeding", catalog)
    if cache.exists():
        return json.loads(cache.read_text())
    walker = ColumnLineage(manifest, settings.build_database, *registered_sources(settings))
    fed = {
        name: sorted(f"{relation}.{column}" for relation, column in walker.feeding_of_metric(name, sql))
        for name, metric_type, sql in catalog
        if metric_type != "computed"
    }
    base_of = {name: base for name, _type, _sql, base in metrics}
    for name, metric_type, _sql in catalog:
        if metric_type == "computed":
            fed[name] = fed.get(base_of[name], [])
    _write_cache(cache, fed)
    # the projection chains are walked by now (the feeding walk includes them): write the
    # published lineage's cache too, which the lineage step after the exports then reads
    published = _cache_file(settings, "metrics", catalog)
    if not published.exists():
        trees = _metric_trees(walker, catalog, base_of)
        _write_cache(published, {name: tree.to_dict() for name, tree in trees.items()})
    return fed


def _manifest(settings: Settings) -> dict:
    path = settings.project_dir / "target" / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: lineage needs a built project (`finkpi build`)")
    return json.loads(path.read_text())


def _cache_file(settings: Settings, kind: str, catalog: list[tuple]) -> Path:
    kind_of_run = "incremental" if settings.incremental else "full"
    build = f"{build_definitions_hash(settings)} {settings.dbt_target} {kind_of_run}"
    key = _cache_key(catalog, build, registered_sources(settings))
    return settings.project_dir / "target" / "finkpi-lineage" / f"{kind}-{key[:16]}.json"


def _write_cache(cache: Path, data: dict) -> Path | None:
    try:  # a cache: a project folder that cannot be written only costs the next run the walk again
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_suffix(f".tmp-{os.getpid()}")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, cache)
    except OSError:
        return None
    return cache


def _cache_key(catalog: list[tuple], build: str, sources: tuple) -> str:
    """`build`: the definitions' hash, the dbt target and the kind of run (an incremental run
    compiles its incremental models another way: an entry of its own)."""
    digest = hashlib.sha256()
    for name, metric_type, sql in catalog:
        digest.update(f"{name}\0{metric_type}\0{sql}\0".encode())
    digest.update(f"{build}\0".encode())
    digest.update(json.dumps(sources, sort_keys=True).encode())
    return digest.hexdigest()


def _metrics_in_scorecard_tables(con) -> dict[tuple[str, str], list[str]]:
    """(table, metric_name | driver_metric) -> the metrics whose values the table holds."""
    present = {
        relation
        for (relation,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    }
    found = {}
    for table, columns in COLUMN_LINEAGE.items():
        if contract.TABLES[table].build_relation not in present:
            continue
        # a summary has no metric column: its scores come from the lines it sums
        holder = "scorecard_lines" if table == "scorecard_summary" else table
        for key in {up.of for ups in columns.values() for up in ups}:
            found[(table, key)] = [
                name
                for (name,) in con.execute(
                    f"select distinct {key} from {contract.TABLES[holder].build_relation}"
                    f" where {key} is not null order by 1"
                ).fetchall()
            ]
    return found


def raw_file(settings: Settings, relation: str) -> Path:
    """The file behind a source relation (`erp.invoices`) or a seed (`seeds.scorecard_targets`,
    `reference.org_units`)."""
    schema, _, file = relation.partition(".")
    if schema in SOURCES:  # lineage names a source's table by its file (SAP: `sap.salesOrder`)
        source = SOURCES[schema]
        table = next((t.name for t in source.tables if t.file_stem == file), file)
        return settings.source_path(schema, table)
    matches = sorted(settings.seeds_dir.rglob(f"{file}.csv"))
    return matches[0] if matches else settings.seeds_dir / f"{file}.csv"

"""Governance of metric definitions: `finkpi metrics check` and definition hashes.

A definition hash is the SHA-256 of the metric's compiled SQL after normalization with sqlglot:
relation qualifiers (database, schema, file paths) are stripped and the SQL is re-rendered in one
canonical form, so the hash changes when the meaning changes, not with formatting, paths or
targets. The metric's own name is replaced by a placeholder first, so that two metrics with the
same canonical definition under different names get the same hash (which `check` reports).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from finkpi.metrics.catalog import DIRECTIONS, PERSPECTIVES, UNITS, Catalog
from finkpi.metrics.definition import (
    ALL_SLICES,
    DIMENSIONS,
    META_KEYS,
    SLICE_KINDS,
    MetricDefinition,
    slice_behaviors,
)

NAME_PLACEHOLDER = "__metric__"


def canonical_sql(sql: str, metric_name: str) -> str:
    """The compiled SQL of a metric in one canonical form (see the module docstring)."""
    sql = re.sub(rf"\b{re.escape(metric_name)}\b", NAME_PLACEHOLDER, sql)
    tree = sqlglot.parse_one(sql, read="duckdb")
    for table in tree.find_all(exp.Table):
        table.set("db", None)
        table.set("catalog", None)
    return tree.sql(dialect="duckdb", normalize=True, pretty=False, comments=False)


def definition_hash(sql: str, metric_name: str) -> str:
    return hashlib.sha256(canonical_sql(sql, metric_name).encode()).hexdigest()


@dataclass
class CheckResult:
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_catalog(
    catalog: Catalog, hashes: dict[str, str] | None = None, dimensions: dict[str, list[str]] | None = None
) -> CheckResult:
    """Every metric has a description and all governance meta with allowed values; every published
    metric says what it counts (DEFINITION_FIELDS), its slice behavior in the controlled vocabulary
    and, where `dimensions` (metric -> the dimensions it is published by) is given, for exactly
    those dimensions; names are unique; drivers exist and form no cycle; no two metrics share one
    canonical definition."""
    problems: list[str] = []
    for name, metric in sorted(catalog.metrics.items()):
        if not metric.description.strip():
            problems.append(f"{name}: no description")
        if metric.published:
            reached = None if dimensions is None else dimensions.get(name)
            problems += [f"{name}: {problem}" for problem in _definition_field_problems(metric, reached)]
        missing = [key for key in META_KEYS if key not in metric.meta]
        if missing:
            problems.append(f"{name}: meta lacks {', '.join(missing)}")
        if metric.meta.get("perspective") not in PERSPECTIVES:
            problems.append(
                f"{name}: perspective {metric.meta.get('perspective')!r} not in {sorted(PERSPECTIVES)}"
            )
        if metric.meta.get("unit") not in UNITS:
            problems.append(f"{name}: unit {metric.meta.get('unit')!r} not in {sorted(UNITS)}")
        if metric.meta.get("direction") not in DIRECTIONS:
            problems.append(f"{name}: direction {metric.meta.get('direction')!r} not in {sorted(DIRECTIONS)}")
        if not isinstance(metric.meta.get("certified"), bool):
            problems.append(f"{name}: certified must be true or false")
        if not str(metric.meta.get("owner") or "").strip():
            problems.append(f"{name}: no owner")
        for driver in metric.meta.get("drivers") or []:
            if driver not in catalog.metrics:
                problems.append(f"{name}: driver {driver!r} is not a metric")
            elif driver == name:
                problems.append(f"{name}: drives itself")
        formula = metric.meta.get("driver_formula")
        if formula:
            unknown = set(re.findall(r"[a-z_][a-z0-9_]*", formula)) - set(metric.meta.get("drivers") or [])
            if unknown:
                problems.append(
                    f"{name}: driver_formula uses {sorted(unknown)}, which are not among its drivers"
                )
    problems += [f"driver cycle: {' -> '.join(cycle)}" for cycle in _driver_cycles(catalog)]
    lowered: dict[str, str] = {}
    for name in catalog.metrics:
        if name.lower() in lowered:
            problems.append(f"{name}: name not unique (also {lowered[name.lower()]})")
        lowered[name.lower()] = name
    if hashes:
        by_hash: dict[str, list[str]] = {}
        for name, digest in hashes.items():
            by_hash.setdefault(digest, []).append(name)
        for names in by_hash.values():
            if len(names) > 1:
                problems.append(f"one canonical definition under several names: {', '.join(sorted(names))}")
    return CheckResult(problems)


def _definition_field_problems(metric: MetricDefinition, reached: list[str] | None) -> list[str]:
    """What a published metric leaves unsaid: an empty definition field, a slice behavior outside
    the vocabulary, or one that does not match the dimensions it is published by (`reached`)."""
    problems = []
    empty = [key for key, text in metric.definition_fields().items() if not text.strip()]
    if empty:
        problems.append(f"published, but says nothing in {', '.join(empty)} (meta of metrics/*.yml)")
    behaviors = slice_behaviors(metric.meta.get("slice_behavior"))
    if metric.meta.get("slice_behavior") and not behaviors:
        problems.append("slice_behavior must map dimensions to 'kind: explanation'")
    kinds = {}
    for behavior in behaviors:
        if behavior.dimension not in (*DIMENSIONS, ALL_SLICES):
            problems.append(
                f"slice_behavior names {behavior.dimension!r}, not a dimension ({', '.join(DIMENSIONS)})"
                f" or {ALL_SLICES!r}"
            )
        if behavior.kind not in SLICE_KINDS:
            problems.append(
                f"slice_behavior of {behavior.dimension}: kind {behavior.kind!r} not in {sorted(SLICE_KINDS)}"
            )
        elif not behavior.explanation:
            problems.append(f"slice_behavior of {behavior.dimension}: {behavior.kind} without an explanation")
        kinds[behavior.dimension] = behavior.kind
    if reached is None or not behaviors:
        return problems
    for dimension in DIMENSIONS:
        kind = kinds.get(dimension, kinds.get(ALL_SLICES))
        if dimension in reached and kind in (None, "not_sliced"):
            problems.append(
                f"published by {dimension}, but slice_behavior "
                + ("does not say how its slices behave" if kind is None else "says not_sliced")
            )
        elif dimension not in reached and dimension in kinds and kinds[dimension] != "not_sliced":
            problems.append(
                f"slice_behavior describes {dimension} slices, but it is not published by {dimension}"
            )
    return problems


def _driver_cycles(catalog: Catalog) -> list[list[str]]:
    graph = {name: list(metric.meta.get("drivers") or []) for name, metric in catalog.metrics.items()}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in graph.get(node, []):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt])
            elif nxt in graph and nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles

"""Queries over a published version, built as sqlglot syntax trees.

Nothing a client sends is pasted into SQL. Table and column names come from the published
version's own information schema (and a fixed list of resources below); a requested metric, grain,
dimension or org unit must be one the version holds (else a 400 naming the valid ones); every
value a client supplies reaches DuckDB as a bound parameter (`?` placeholders). The scope of a
scoped viewer is a condition added to the same tree (`finkpi.api.access` says what it means).

Personal data (CRM contact names, e-mail addresses, phone numbers) is not in the published tables;
as a second line, any column whose name looks personal is never selected (`PERSONAL_COLUMN`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
from sqlglot import exp

from finkpi import contract
from finkpi.api.access import Principal
from finkpi.api.published import Version

PERSONAL_COLUMN = re.compile(r"e_?mail|phone|first_?name|last_?name|contact|birth|address", re.IGNORECASE)


class BadRequest(ValueError):
    """A parameter names something the published version does not hold (HTTP 400)."""


class Forbidden(PermissionError):
    """The caller's role or scope does not cover what it asked for (HTTP 403)."""


# How a scoped viewer's rows are chosen, per resource (admins and auditors read every row):
#   values       metric_values: the metrics of its departments, and the department rows of its
#                departments for every other metric
#   own_metrics  rows of the metrics of its departments (driver attribution and associations)
#   catalog      catalog rows of every metric it can read some row of (see visible_metrics)
#   org_unit     rows of its departments' org units (scorecards, forecasts)
#   none         nothing: admins and auditors only (the audit copies)
@dataclass(frozen=True)
class Resource:
    """A published table served by the API: its name, row order and viewer scope."""

    table: str
    order_by: tuple[str, ...]
    scope: str

    def __post_init__(self):
        if self.table not in contract.TABLES:  # the API serves published tables only
            raise ValueError(f"{self.table} is not a table of the published contract (finkpi.contract)")
        if not self.order_by:
            raise ValueError(f"{self.table} has no row order (order_by) in the published contract")


# published table -> how a scoped viewer's rows are chosen (above); the tables and their row order
# are the published contract's (finkpi/contract.py)
SCOPES = {
    "metric_values": "values",
    "metric_catalog": "catalog",
    "metric_definition_history": "catalog",
    "scorecard_summary": "org_unit",
    "scorecard_lines": "org_unit",
    "metric_forecast": "org_unit",
    "driver_attribution": "own_metrics",
    "driver_associations": "own_metrics",
    "audit_runs": "none",
    "audit_validations": "none",
}
RESOURCES = {
    table: Resource(table, contract.TABLES[table].order_by, scope) for table, scope in SCOPES.items()
}

MAX_LIMIT = 200_000


@dataclass
class Filters:
    """What a client may ask for; every field is optional. Lists mean "any of"."""

    metrics: list[str] = field(default_factory=list)
    grain: str | None = None
    dimension: str | None = None
    dimension_values: list[str] = field(default_factory=list)
    org_units: list[str] = field(default_factory=list)
    scorecard: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    complete_only: bool = False
    at_risk: bool | None = None
    comparison: str | None = None
    limit: int | None = None
    offset: int = 0


# -- what a version holds (cached per version: versions never change) -------------------------
def columns_of(version: Version, table: str) -> list[str]:
    key = ("columns", table)
    if key not in version.cache:
        with version.connection.cursor() as cur:
            rows = cur.execute(
                "select column_name from information_schema.columns where table_name = ?"
                " order by ordinal_position",
                [table],
            ).fetchall()
        version.cache[key] = [name for (name,) in rows]
    return version.cache[key]


def distinct_values(version: Version, table: str, column: str) -> list[str]:
    key = ("distinct", table, column)
    if key not in version.cache:
        if column not in columns_of(version, table):
            version.cache[key] = []
        else:
            sql = (
                exp.select(exp.column(column, quoted=True))
                .distinct()
                .from_(exp.table_(table, quoted=True))
                .where(exp.column(column, quoted=True).is_(exp.null()).not_())
                .sql("duckdb")
            )
            with version.connection.cursor() as cur:
                version.cache[key] = sorted(str(v) for (v,) in cur.execute(sql).fetchall())
    return version.cache[key]


def metric_departments(version: Version) -> dict[str, str | None]:
    key = ("metric_departments",)
    if key not in version.cache:
        with version.connection.cursor() as cur:
            rows = cur.execute("select metric_name, department from metric_catalog").fetchall()
        version.cache[key] = dict(rows)
    return version.cache[key]


def metrics_with_department_rows(version: Version, departments: frozenset[str]) -> set[str]:
    """Metrics that have `dimension = 'department'` rows for any of `departments`."""
    key = ("department_rows", departments)
    if key not in version.cache:
        where = _in(exp.column("dimension_value"), sorted(departments))
        sql = (
            exp.select(exp.column("metric_name"))
            .distinct()
            .from_("metric_values")
            .where(exp.column("dimension").eq(exp.Placeholder()))
            .where(where)
            .sql("duckdb")
        )
        with version.connection.cursor() as cur:
            found = cur.execute(sql, ["department", *sorted(departments)]).fetchall()
        version.cache[key] = {name for (name,) in found}
    return version.cache[key]


def fully_visible_metrics(version: Version, principal: Principal) -> list[str]:
    return sorted(m for m, d in metric_departments(version).items() if principal.may_see_metric_fully(d))


def visible_metrics(version: Version, principal: Principal) -> list[str]:
    """Metrics with at least one row the principal may read (the catalog it is shown)."""
    if principal.full_access:
        return sorted(metric_departments(version))
    return sorted(
        set(fully_visible_metrics(version, principal))
        | metrics_with_department_rows(version, principal.departments)
    )


# -- building the query ---------------------------------------------------------------------
def _in(column: exp.Expression, values: list) -> exp.Expression:
    if not values:
        return exp.false()
    return column.isin(*[exp.Placeholder() for _ in values])


def check_known(kind: str, requested: list[str], known: list[str]) -> None:
    for value in requested:
        if value not in known:
            close = difflib.get_close_matches(value, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; valid: {', '.join(known[:60])}"
            raise BadRequest(f"unknown {kind} {value!r}{hint}")


@dataclass
class Query:
    sql: str
    parameters: list
    columns: list[str]


def build_query(version: Version, resource_name: str, principal: Principal, filters: Filters) -> Query:
    """The syntax tree for one request, rendered to DuckDB SQL with `?` placeholders."""
    if resource_name not in RESOURCES:
        raise BadRequest(f"unknown resource {resource_name!r}")
    resource = RESOURCES[resource_name]
    if resource.scope == "none" and not principal.full_access:
        raise Forbidden(
            f"{resource.table} is for admins and auditors; {principal.name} is a {principal.role}"
        )
    columns = [c for c in columns_of(version, resource.table) if not PERSONAL_COLUMN.search(c)]
    if not columns:
        raise BadRequest(f"{resource.table} is not in published version {version.run_id}")

    conditions: list[exp.Expression] = []
    parameters: list = []

    def add(condition: exp.Expression, *values) -> None:
        conditions.append(condition)
        parameters.extend(values)

    def column(name: str) -> exp.Column:
        if name not in columns:
            raise BadRequest(f"{resource.table} has no column {name!r} to filter on")
        return exp.column(name, quoted=True)

    def one_of_known(kind: str, name: str, requested: list[str]) -> None:
        """`name` IN (the requested values), each of which must occur in this version."""
        if requested:
            known = (
                sorted(metric_departments(version))
                if name == "metric_name"
                else distinct_values(version, resource.table, name)
            )
            check_known(kind, requested, known)
            add(_in(column(name), requested), *requested)

    # identifiers a client names must exist in this version
    one_of_known("metric", "metric_name", filters.metrics)
    one_of_known("grain", "grain", [filters.grain] if filters.grain is not None else [])
    one_of_known("dimension", "dimension", [filters.dimension] if filters.dimension is not None else [])
    one_of_known("org unit", "org_unit", filters.org_units)
    one_of_known("scorecard", "scorecard", [filters.scorecard] if filters.scorecard is not None else [])
    one_of_known("comparison", "comparison", [filters.comparison] if filters.comparison is not None else [])
    # free values (any text): bound parameters, matching nothing when unknown
    if filters.dimension_values:
        add(_in(column("dimension_value"), filters.dimension_values), *filters.dimension_values)
    if filters.period_from is not None:
        add(column("period_start") >= exp.Placeholder(), filters.period_from)
    if filters.period_to is not None:
        add(column("period_start") <= exp.Placeholder(), filters.period_to)
    if filters.complete_only:
        add(column("is_complete").eq(exp.true()))
    if filters.at_risk is not None:
        add(column("at_risk").eq(exp.Placeholder()), filters.at_risk)

    scope = _scope(version, resource, principal, filters, column)
    if scope is not None:
        add(scope[0], *scope[1])

    tree = exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(
        exp.table_(resource.table, quoted=True)
    )
    for condition in conditions:
        tree = tree.where(condition)
    tree = tree.order_by(*[exp.column(c, quoted=True) for c in resource.order_by if c in columns])
    limit = min(filters.limit or MAX_LIMIT, MAX_LIMIT)
    tree = tree.limit(exp.Literal.number(int(limit)))
    if filters.offset:
        tree = tree.offset(exp.Literal.number(int(filters.offset)))
    return Query(tree.sql(dialect="duckdb"), parameters, columns)


def _scope(version, resource: Resource, principal: Principal, filters: Filters, column):
    """The row condition (and its parameters) of a scoped viewer; None for full access.
    Asking explicitly for something outside the scope is refused (Forbidden) rather than
    answered with an empty result, so a client learns its key is the problem."""
    if principal.full_access:
        return None
    scope = sorted(principal.departments)
    if resource.scope == "org_unit":
        outside = [unit for unit in filters.org_units if unit not in principal.departments]
        if outside:
            raise Forbidden(f"{principal.name} may read the org units {scope}, not {outside}")
        return _in(column("org_unit"), scope), scope
    if resource.scope == "values":
        return _values_scope(version, principal, filters, column)
    if resource.scope == "own_metrics":
        allowed = fully_visible_metrics(version, principal)
    elif resource.scope == "catalog":
        allowed = visible_metrics(version, principal)
    else:
        raise Forbidden(f"{resource.table} is for admins and auditors")
    outside = [m for m in filters.metrics if m not in allowed]
    if outside:
        raise Forbidden(f"{principal.name} (departments {scope}) may not read metric(s) {outside}")
    return _in(column("metric_name"), allowed), allowed


def _values_scope(version, principal: Principal, filters: Filters, column):
    """metric_values: all rows of the metrics of the viewer's departments, or a department row of
    one of its departments."""
    scope = sorted(principal.departments)
    full = fully_visible_metrics(version, principal)
    reachable = set(full) | metrics_with_department_rows(version, principal.departments)
    outside = [m for m in filters.metrics if m not in reachable]
    if outside:
        raise Forbidden(f"{principal.name} (departments {scope}) may not read metric(s) {outside}")
    partial = [m for m in filters.metrics if m not in full]
    if partial and filters.dimension not in (None, "department"):
        raise Forbidden(
            f"{principal.name} may read only the department rows of {partial},"
            f" not dimension {filters.dimension!r}"
        )
    wrong = [v for v in filters.dimension_values if v not in principal.departments]
    if partial and filters.dimension == "department" and wrong:
        raise Forbidden(f"{principal.name} may read the department rows of {scope}, not {wrong}")
    condition = exp.or_(
        _in(column("metric_name"), full),
        exp.and_(column("dimension").eq(exp.Placeholder()), _in(column("dimension_value"), scope)),
    )
    return condition, [*full, "department", *scope]


def run_query(version: Version, query: Query) -> pa.Table:
    with version.connection.cursor() as cur:
        # a relation straight to Arrow (execute().to_arrow_table() would copy the rows once more)
        return cur.sql(query.sql, params=query.parameters).to_arrow_table()

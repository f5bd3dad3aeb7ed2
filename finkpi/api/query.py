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

from finkpi.api.access import Principal
from finkpi.api.published import Version

PERSONAL_COLUMN = re.compile(r"e_?mail|phone|first_?name|last_?name|contact|birth|address", re.IGNORECASE)


class BadRequest(ValueError):
    """A parameter names something the published version does not hold (HTTP 400)."""


class Forbidden(PermissionError):
    """The caller's role or scope does not cover what it asked for (HTTP 403)."""


@dataclass(frozen=True)
class Resource:
    """A published table served by the API and how callers may filter it."""

    table: str
    order_by: tuple[str, ...]
    # `metric_name` of each row decides visibility (viewer: metrics of its departments, plus the
    # department rows of its departments for metric_values)
    metric_scoped: bool = False
    # `org_unit` of each row decides visibility (viewer: its departments)
    org_unit_scoped: bool = False
    full_access_only: bool = False


RESOURCES = {
    "metric_values": Resource(
        "metric_values", ("metric_name", "grain", "dimension", "dimension_value", "period_start"), True
    ),
    "metric_catalog": Resource("metric_catalog", ("metric_name",), True),
    "metric_definition_history": Resource("metric_definition_history", ("metric_name", "valid_from"), True),
    "scorecard_summary": Resource(
        "scorecard_summary", ("scorecard", "org_unit", "grain", "period_start"), org_unit_scoped=True
    ),
    "scorecard_lines": Resource(
        "scorecard_lines",
        ("scorecard", "org_unit", "grain", "period_start", "metric_name"),
        org_unit_scoped=True,
    ),
    "metric_forecast": Resource(
        "metric_forecast", ("org_unit", "metric_name", "grain", "period_start"), org_unit_scoped=True
    ),
    "driver_attribution": Resource(
        "driver_attribution", ("metric_name", "grain", "period_start", "comparison", "driver_metric"), True
    ),
    "driver_associations": Resource(
        "driver_associations", ("metric_name", "driver_metric", "grain", "lag_periods"), True
    ),
    "audit_runs": Resource("audit_runs", ("run_id",), full_access_only=True),
    "audit_validations": Resource("audit_validations", ("run_id",), full_access_only=True),
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


def _distinct(version: Version, table: str, column: str) -> list[str]:
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


def _check_known(kind: str, requested: list[str], known: list[str]) -> None:
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
    if resource.full_access_only and not principal.full_access:
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

    # identifiers a client names must exist in this version
    if filters.metrics:
        _check_known("metric", filters.metrics, sorted(metric_departments(version)))
        add(_in(column("metric_name"), filters.metrics), *filters.metrics)
    if filters.grain is not None:
        _check_known("grain", [filters.grain], _distinct(version, resource.table, "grain"))
        add(column("grain").eq(exp.Placeholder()), filters.grain)
    if filters.dimension is not None:
        _check_known("dimension", [filters.dimension], _distinct(version, resource.table, "dimension"))
        add(column("dimension").eq(exp.Placeholder()), filters.dimension)
    if filters.dimension_values:
        add(_in(column("dimension_value"), filters.dimension_values), *filters.dimension_values)
    if filters.org_units:
        _check_known("org unit", filters.org_units, _distinct(version, resource.table, "org_unit"))
        add(_in(column("org_unit"), filters.org_units), *filters.org_units)
    if filters.scorecard is not None:
        _check_known("scorecard", [filters.scorecard], _distinct(version, resource.table, "scorecard"))
        add(column("scorecard").eq(exp.Placeholder()), filters.scorecard)
    if filters.comparison is not None:
        _check_known("comparison", [filters.comparison], _distinct(version, resource.table, "comparison"))
        add(column("comparison").eq(exp.Placeholder()), filters.comparison)
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
    if resource.org_unit_scoped:
        outside = [unit for unit in filters.org_units if unit not in principal.departments]
        if outside:
            raise Forbidden(f"{principal.name} may read the org units {scope}, not {outside}")
        return _in(column("org_unit"), scope), scope
    if not resource.metric_scoped:
        raise Forbidden(f"{resource.table} is for admins and auditors")
    full = fully_visible_metrics(version, principal)
    department_rows = resource.table == "metric_values"
    if department_rows:
        reachable = set(full) | metrics_with_department_rows(version, principal.departments)
    else:
        reachable = (
            set(full) if resource.table.startswith("driver_") else set(visible_metrics(version, principal))
        )
    outside = [m for m in filters.metrics if m not in reachable]
    if outside:
        raise Forbidden(f"{principal.name} (departments {scope}) may not read metric(s) {outside}")
    if department_rows:
        partial = [m for m in filters.metrics if m not in full]
        if partial and filters.dimension not in (None, "department"):
            raise Forbidden(
                f"{principal.name} may read only the department rows of {partial}, not dimension"
                f" {filters.dimension!r}"
            )
        wrong = [v for v in filters.dimension_values if v not in principal.departments]
        if partial and filters.dimension == "department" and wrong:
            raise Forbidden(f"{principal.name} may read the department rows of {scope}, not {wrong}")
        condition = exp.or_(
            _in(column("metric_name"), full),
            exp.and_(
                column("dimension").eq(exp.Placeholder()),
                _in(column("dimension_value"), scope),
            ),
        )
        return condition, [*full, "department", *scope]
    if resource.table.startswith("driver_"):
        return _in(column("metric_name"), full), full
    shown = visible_metrics(version, principal)
    return _in(column("metric_name"), shown), shown


def run_query(version: Version, query: Query) -> pa.Table:
    with version.connection.cursor() as cur:
        # a relation straight to Arrow (execute().to_arrow_table() would copy the rows once more)
        return cur.sql(query.sql, params=query.parameters).to_arrow_table()

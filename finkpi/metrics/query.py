"""`finkpi query`: ask the metric layer a question by metric and dimension names.

Short names are mapped to MetricFlow's qualified names when unambiguous (`region` ->
`customer__region`, `fiscal_quarter` -> `metric_time__fiscal_quarter`); an unknown or ambiguous
name gets an error that lists the closest valid ones. A `--where` in plain SQL over short names
(`region = 'DACH' and product_category <> 'Pumps'`) is parsed with sqlglot and its column names
are replaced by MetricFlow's dimension references; MetricFlow's own Jinja form passes unchanged.
"""

from __future__ import annotations

import difflib
import json

import pandas as pd
import sqlglot
from sqlglot import exp

from finkpi.metrics.engine import MetricEngine

TIME_GRAINS = ("day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year")


class QueryError(ValueError):
    """A name the metric layer does not know, with suggestions."""


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def resolve_metrics(engine: MetricEngine, names: list[str]) -> list[str]:
    known = engine.metric_names()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise QueryError("; ".join(f"unknown metric {name!r}{_suggest(name, known)}" for name in unknown))
    return names


def available_group_bys(engine: MetricEngine, metrics: list[str]) -> dict[str, list[str]]:
    """short name -> qualified names, for every categorical dimension the metrics share, plus time."""
    by_short: dict[str, list[str]] = {}
    for dimension in engine.dimensions(metrics):
        by_short.setdefault(dimension.name, []).append(dimension.qualified_name)
    for grain in TIME_GRAINS:
        by_short.setdefault(grain, []).append(f"metric_time__{grain}")
    by_short.setdefault("metric_time", []).append("metric_time__day")
    return by_short


def resolve_group_by(engine: MetricEngine, metrics: list[str], names: list[str]) -> list[str]:
    by_short = available_group_bys(engine, metrics)
    qualified = sorted({q for options in by_short.values() for q in options})
    resolved = []
    for name in names:
        if name in qualified:
            resolved.append(name)
            continue
        options = by_short.get(name)
        if not options:
            hint = _suggest(name, sorted(by_short) + qualified)
            raise QueryError(f"unknown group-by {name!r} for {', '.join(metrics)}{hint}")
        shortest = min(option.count("__") for option in options)
        best = [option for option in options if option.count("__") == shortest]
        if len(best) > 1:
            raise QueryError(f"{name!r} is ambiguous for {', '.join(metrics)}: use one of {', '.join(best)}")
        resolved.append(best[0])
    return resolved


def resolve_where(engine: MetricEngine, metrics: list[str], where: str | None) -> list[str] | None:
    if not where:
        return None
    if "{{" in where:  # MetricFlow's own syntax
        return [where]
    try:
        tree = sqlglot.parse_one(where, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"cannot parse --where {where!r}: {exc}") from None
    references = {}
    for column in list(tree.find_all(exp.Column)):
        qualified = resolve_group_by(engine, metrics, [column.sql(dialect="duckdb")])[0]
        placeholder = f"finkpi_ref_{len(references)}"
        if qualified.startswith("metric_time__"):
            references[placeholder] = (
                "{{ TimeDimension('metric_time', '" + qualified.split("__", 1)[1] + "') }}"
            )
        else:
            references[placeholder] = "{{ Dimension('" + qualified + "') }}"
        column.replace(exp.column(placeholder))
    rendered = tree.sql(dialect="duckdb")
    for placeholder, reference in references.items():
        rendered = rendered.replace(placeholder, reference)
    return [rendered]


def run_query(
    engine: MetricEngine,
    metrics: list[str],
    group_by: list[str],
    where: str | None = None,
    order_by: list[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    metrics = resolve_metrics(engine, metrics)
    group_by = resolve_group_by(engine, metrics, group_by)
    frame = engine.query(
        metrics,
        group_by,
        where=resolve_where(engine, metrics, where),
        order_by=order_by or group_by,
        limit=limit,
    )
    return frame


def render(frame: pd.DataFrame, fmt: str) -> str:
    frame = frame.copy()
    for column in frame.columns:  # time group-bys are days at the coarsest: print them as dates
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.date
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records", date_format="iso")), indent=2)
    from tabulate import tabulate

    return tabulate(frame, headers="keys", tablefmt="github", showindex=False, floatfmt=",.4f")

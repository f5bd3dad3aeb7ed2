"""`finkpi query`: ask the metric layer a question by metric and dimension names.

Every dimension a metric reaches has a short name, its own (`region`, `company_code`,
`source_system`, `order_date`), and a qualified one that spells the join path MetricFlow takes
(`customer__region`, `company__company_code`, `customer__company__company_code`); time grains have
short names too (`fiscal_quarter` -> `metric_time__fiscal_quarter`). The list comes from
MetricFlow's own dimensions for the metrics asked, so a new entity or join is picked up without
code. A short name resolves to its shortest join path (MetricFlow's own rule); two equally short
paths make it ambiguous, and the error lists the qualified names that fit. An unknown name gets
the closest valid ones.

A `--where` in plain SQL over short or qualified names (`region = 'DACH' and company_code <>
'MVN1'`) is parsed with sqlglot and each column becomes MetricFlow's filter reference; a dimension
more than one join away becomes `Dimension('company__company_code', entity_path=['customer'])`,
the only form MetricFlow's filter parser takes for it. MetricFlow's own Jinja form passes
unchanged. Whatever MetricFlow (or DuckDB under it) refuses comes back as a one-line `QueryError`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import sqlglot
from sqlglot import exp

from finkpi.metrics.engine import MetricEngine, MetricRequest
from finkpi.metrics.plan_cache import PlanCache

TIME_GRAINS = ("day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year")


class QueryError(ValueError):
    """A question the metric layer cannot answer, said in one line (with suggestions for names)."""


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def resolve_metrics(engine: MetricEngine, names: list[str]) -> list[str]:
    known = engine.metric_names()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise QueryError("; ".join(f"unknown metric {name!r}{_suggest(name, known)}" for name in unknown))
    return names


@dataclass(frozen=True)
class GroupBy:
    """One thing a query can be grouped or filtered by."""

    name: str  # the short name, e.g. company_code
    qualified_name: str  # MetricFlow's group-by name, e.g. customer__company__company_code
    filter_reference: str  # the same in a where filter, e.g. {{ Dimension(...) }}
    hops: int  # entities joined through; metric_time counts 0


def _filter_reference(entity_path: tuple[str, ...], name: str) -> str:
    # MetricFlow's filter parser takes `<entity>__<dimension>` only: the entities before the
    # last one go into entity_path
    *path, entity = entity_path
    arguments = repr(f"{entity}__{name}") + (f", entity_path={list(path)!r}" if path else "")
    return "{{ Dimension(" + arguments + ") }}"


def available_group_bys(engine: MetricEngine, metrics: list[str]) -> list[GroupBy]:
    """Every dimension the metrics share, by every join path, plus metric_time at each grain."""
    found = [
        GroupBy(d.name, d.qualified_name, _filter_reference(d.entity_path, d.name), len(d.entity_path))
        for d in engine.dimensions(metrics, include_time=True)
    ]
    for grain in TIME_GRAINS:
        reference = "{{ TimeDimension('metric_time', '" + grain + "') }}"
        found.append(GroupBy(grain, f"metric_time__{grain}", reference, 0))
    found.append(GroupBy("metric_time", "metric_time__day", "{{ TimeDimension('metric_time', 'day') }}", 0))
    return found


class NameResolver:
    """Short and qualified names -> GroupBy, for one set of metrics (MetricFlow asked once)."""

    def __init__(self, engine: MetricEngine, metrics: list[str]):
        self.metrics = metrics
        self._by_qualified: dict[str, GroupBy] = {}
        self._by_short: dict[str, list[GroupBy]] = {}
        for item in available_group_bys(engine, metrics):
            self._by_qualified.setdefault(item.qualified_name, item)
            self._by_short.setdefault(item.name, []).append(item)

    def knows(self, name: str) -> bool:
        return name in self._by_short or name in self._by_qualified

    def resolve(self, name: str, role: str = "group-by") -> GroupBy:
        if name in self._by_qualified:
            return self._by_qualified[name]
        options = self._by_short.get(name)
        metrics = ", ".join(self.metrics)
        if not options:
            hint = _suggest(name, sorted(self._by_short) + sorted(self._by_qualified))
            raise QueryError(f"unknown {role} {name!r} for {metrics}{hint}")
        shortest = min(option.hops for option in options)
        best = sorted({option.qualified_name for option in options if option.hops == shortest})
        if len(best) > 1:
            raise QueryError(f"{name!r} is ambiguous for {metrics}: use one of {', '.join(best)}")
        return self._by_qualified[best[0]]

    def group_by(self, names: list[str]) -> list[str]:
        return [self.resolve(name).qualified_name for name in names]

    def order_by(self, names: list[str], group_by: list[str]) -> list[str]:
        """Metrics or resolved `group_by` names, `-` first for descending (MetricFlow's form)."""
        resolved = []
        for name in names:
            bare = name.removeprefix("-")
            target = bare if bare in self.metrics else self.resolve(bare, "order-by").qualified_name
            if target not in self.metrics and target not in group_by:
                raise QueryError(
                    f"cannot order by {bare!r}: it is neither a metric asked for nor a group-by"
                    f" ({', '.join(self.metrics + group_by)})"
                )
            resolved.append(name[: len(name) - len(bare)] + target)
        return resolved

    def where(self, where: str | None) -> list[str] | None:
        if not where:
            return None
        if "{{" in where:  # MetricFlow's own syntax
            return [where]
        try:
            tree = sqlglot.parse_one(where, read="duckdb")
        except sqlglot.errors.ParseError as exc:
            reason = exc.errors[0]["description"] if exc.errors else _one_line(str(exc))
            raise QueryError(f"cannot parse --where {where!r}: {reason}") from None
        references = {}
        for column in list(tree.find_all(exp.Column)):
            name = column.sql(dialect="duckdb") if column.table else column.name
            placeholder = f"finkpi_ref_{len(references)}"
            references[placeholder] = self.resolve(name, "dimension in --where").filter_reference
            column.replace(exp.column(placeholder))
        rendered = tree.sql(dialect="duckdb")
        for placeholder, reference in references.items():
            rendered = rendered.replace(placeholder, reference)
        return [rendered]


def resolve_group_by(engine: MetricEngine, metrics: list[str], names: list[str]) -> list[str]:
    return NameResolver(engine, metrics).group_by(names)


def resolve_where(engine: MetricEngine, metrics: list[str], where: str | None) -> list[str] | None:
    return NameResolver(engine, metrics).where(where)


# -- MetricFlow's refusals, in one line ------------------------------------------------------------
# MetricFlow reports a rejected query as a multi-line report ("Error #1: / Message: / Query
# Input: / Issue Location:"), sometimes with a Python traceback inside; DuckDB's errors reach it
# as dbt's "Runtime Error" with a pointer into the generated SQL. Neither means anything at a
# command line, so the message is cut down to what the user can act on.
_EXCEPTION_LINE = re.compile(r"^\s*(?:\w+\.)*\w*(?:Error|Exception): (.+)$", re.MULTILINE)
_HEADERS = {"Runtime Error", "Database Error", "Compilation Error"}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _report_message(block: str) -> str:
    """The first paragraph under `Message:`, with the cause if a traceback follows and the names
    MetricFlow suggests if it does."""
    body = block.split("Message:", 1)[1]
    body = re.split(r"\n\s*(?:Query Input|Issue Location):", body)[0]
    paragraph = _one_line(body.strip().split("\n\n")[0])
    causes = _EXCEPTION_LINE.findall(body) if "Traceback (most recent call last)" in body else []
    if causes:
        return f"{paragraph.rstrip(':')}: {_one_line(causes[-1])}"
    paragraph = re.sub(r"(?<=\.) [^.]*:$", "", paragraph)  # "... Common issues are:" and its list
    if "Suggestions:" in body:
        suggested = re.findall(r"\w+\('([^']+)'\)", body.split("Suggestions:", 1)[1])
        if suggested:
            paragraph += f" MetricFlow suggests {', '.join(suggested)}"
    return paragraph


def metricflow_message(exc: BaseException) -> str:
    """One line saying why MetricFlow (or the database under it) refused a query."""
    text = str(exc).strip() or type(exc).__name__
    if "Message:" in text:
        blocks = re.split(r"\n\s*Error #\d+:", text)[1:] or [text]
        return "; ".join(_report_message(block) for block in blocks if "Message:" in block)
    if "Traceback (most recent call last)" in text and _EXCEPTION_LINE.search(text):
        return _one_line(_EXCEPTION_LINE.findall(text)[-1])
    lines = [line.strip() for line in text.splitlines() if line.strip() and line.strip() not in _HEADERS]
    return _one_line(lines[0]) if lines else type(exc).__name__


@contextmanager
def metricflow_errors() -> Iterator[None]:
    """Turn anything MetricFlow raises into a one-line QueryError (the cause stays chained)."""
    try:
        yield
    except QueryError:
        raise
    except Exception as exc:  # MetricFlow has no single error class: parser, planner, dbt, DuckDB
        raise QueryError(f"MetricFlow could not run the query: {metricflow_message(exc)}") from exc


def run_query(
    engine: MetricEngine,
    metrics: list[str],
    group_by: list[str],
    where: str | None = None,
    order_by: list[str] | None = None,
    limit: int | None = None,
    cache: PlanCache | None = None,
) -> pd.DataFrame:
    """The answer to a question in names as typed. With `cache`, a question asked before (the
    same words, the same definitions) runs its cached SQL: no name resolution, no MetricFlow."""
    asked = MetricRequest.of(metrics, group_by, [where] if where else None, order_by, limit)
    with metricflow_errors():
        if cache is None:
            sql = plan_query(engine, asked)
        else:
            sql = cache.query(asked, lambda request: plan_query(engine, request))
        return engine.run_sql(sql)


def plan_query(engine: MetricEngine, asked: MetricRequest) -> str:
    """MetricFlow's SQL for a question in names as typed: names resolved, the filter translated."""
    metrics = resolve_metrics(engine, list(asked.metrics))
    names = NameResolver(engine, metrics)
    group_by = names.group_by(list(asked.group_by))
    where = asked.where[0] if asked.where else None
    return engine.compile(
        MetricRequest.of(
            metrics,
            group_by,
            where=names.where(where),
            order_by=names.order_by(list(asked.order_by), group_by) if asked.order_by else group_by,
            limit=asked.limit,
        )
    )


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

"""Local exports: every published metric at every grain and dimension into `metric_values`.

What dbt's hosted "exports" do, here on one machine, in this one process. Grains are month,
fiscal quarter and fiscal year; the dimensions are the company total and the slices each metric
can reach (department, region, product_category, customer_segment, company_code, source_system).

Planned once, run few. MetricFlow compiles a request's SQL (`MetricEngine.compile`) and DuckDB
runs it (`run_sql`); the SQL, each metric's reachable dimensions and its definition SQL are kept in
`<warehouse_dir>/plan_cache/` (finkpi.metrics.plan_cache), so a run whose definitions did not
change plans nothing and never builds MetricFlow's engine. 130 requests instead of 507:
- a metric that sums up (Catalog.sums_up: sums and counts of flows, and derived metrics of them)
  is asked once for all grains and slices: its leaves at month grain by every dimension it reaches
  at once, summed in pandas to each slice and fiscal period, then its own expression
  (`MetricExporter._export_summed`);
- a derived metric of distinct counts, averages or balances is evaluated from its leaves' rows
  (`_from_leaves`), which are requests of their own shared with the leaves' own exports;
- the rest: metrics of the same semantic models in one request per grain and slice (MetricFlow
  computes measures of one model in one aggregation).
A metric of a shared request whose series is NULL throughout is asked again on its own
(`MetricExporter._from_batch` says why that makes the batched values equal the per-metric ones);
`MetricExporter(batched=False)` without a cache is the per-metric path, the reference
tests/metrics/test_export_batching.py compares with.

Incremental runs. With settings.incremental_start the export recomputes the periods from the
fiscal year holding it on (`ExportScope.start`; each request's SQL is filtered to them,
`scoped_sql`) and keeps the earlier periods' rows of the last export (`ExportScope.kept`); which
changes make it recompute everything is finkpi.metrics.export_scope's to say.

Balances at fiscal grains. MetricFlow (on these pins) cannot group a semi-additive measure (a
month-end balance) by a custom granularity such as fiscal_quarter. For the few metrics that use a
balance (dso, dpo, dio, cash_conversion_cycle, inventory_turnover, ar_collection_rate,
overdue_ar_ratio), the fiscal periods are rolled up from MetricFlow's month results of their
inputs, the way finance defines them: flows are summed over the period's months, closing balances
are taken at the period's last month end and opening balances at its first, and then the metric's
own expression from the semantic manifest is evaluated. No formula is written twice.

Time per company. Each company has its own as_of_date (marts.dim_companies, from its source's
registered date): its slices (company_code, and the source_system of a source named in
dim_companies) are published up to the period containing it and are complete when they end by it.
A source_system slice is the facts' own source; one that keeps no company's books (the bundled
CRM: its company's books are the ERP's) is judged like every other series (the company total,
department, region, ...), which runs to the global as_of_date and is complete only when the
period ended by then and every company contributing to it covers it (`completeness`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property

import duckdb
import pandas as pd

from finkpi import contract
from finkpi.contract import PERIOD_COLUMNS
from finkpi.errors import FinkpiError
from finkpi.lineage.published import LineageUnavailable, metric_feeding
from finkpi.metrics.catalog import Catalog, MetricDefinition, load_catalog
from finkpi.metrics.certification import (
    certification_status,
    definition_history,
    field_hashes,
    load_certifications,
)
from finkpi.metrics.definition import DEFINITION_FIELDS, DIMENSIONS
from finkpi.metrics.engine import MetricEngine, MetricRequest
from finkpi.metrics.export_scope import ExportScope, ExportState, decide, read_previous
from finkpi.metrics.governance import check_catalog, definition_hash
from finkpi.metrics.plan_cache import PlanCache
from finkpi.metrics.query import NameResolver

# grain name in metric_values -> MetricFlow time granularity of metric_time
GRAINS = {"month": "month", "quarter": "fiscal_quarter", "year": "fiscal_year"}
UNASSIGNED = "(unassigned)"
# what identifies a row of one metric's series at one grain and dimension
ROW_KEYS = ("period_start", "dimension_value")
VALUE_COLUMNS = [
    "metric_name", "grain", "period_start", "period_label", "is_complete",
    "dimension", "dimension_value", "value", "run_id",
]  # fmt: skip


@dataclass
class ExportStats:
    queries: int = 0  # requests executed (SQL statements run on the warehouse)
    plans_compiled: int = 0  # SQL planned by MetricFlow in this run (requests and definitions)
    plans_cached: int = 0  # SQL taken from the plan cache instead
    batched_metrics: int = 0  # (metric, grain, slice) answered by a request shared with others
    fallbacks: int = 0  # of those, asked again alone (a series undefined throughout: see _from_batch)
    rollups: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    # "<metrics joined by +> @ <grain> by <dimension or total>" -> seconds its requests ran
    # (benchmarks/bench_pipeline.py reads it)
    request_seconds: dict[str, float] = field(default_factory=dict)
    # an incremental run (finkpi.metrics.export_scope): periods from `recomputed_from` on are
    # recomputed, the rows of earlier ones kept from the last build; `full_because`: why not
    recomputed_from: date | None = None
    rows_recomputed: int = 0
    rows_kept: int = 0
    full_because: str | None = None


class Planner:
    """What the exports ask MetricFlow (SQL plans, definition SQL, reachable dimensions), through
    the plan cache when there is one (finkpi.metrics.plan_cache), counted."""

    def __init__(self, engine: MetricEngine, cache: PlanCache | None):
        self.engine = engine
        self.cache = cache
        self.compiled = 0
        self.cached = 0

    def plan(self, request: MetricRequest) -> str:
        if self.cache is None:
            return self._compile(request)
        before = self.compiled
        sql = self.cache.plan(request, self._compile)
        self.cached += self.compiled == before  # not compiled now: it came from the cache
        return sql

    def definition(self, metric: MetricDefinition) -> str:
        """What a metric means, as SQL: MetricFlow's compiled query at month grain (DuckDB
        dialect), or for a computed metric the SQL finkpi runs."""
        if metric.is_computed:
            return metric.computed_sql
        return self.plan(MetricRequest.of([metric.name], ["metric_time__month"]))

    def dimensions(self, metric: str) -> dict[str, str]:
        """dimension -> MetricFlow qualified name for one metric (the join path `finkpi query`
        takes for the short name: the shortest)."""
        if self.cache is None:
            return self._discover(metric)
        return self.cache.dimensions(metric, lambda: self._discover(metric))

    def _discover(self, metric: str) -> dict[str, str]:
        names = NameResolver(self.engine, [metric])
        return {name: names.resolve(name).qualified_name for name in DIMENSIONS if names.knows(name)}

    def _compile(self, request: MetricRequest) -> str:
        self.compiled += 1
        return self.engine.compile(request)

    def save(self) -> None:
        if self.cache is not None:
            self.cache.save()


class MetricExporter:
    """`batched`: several metrics of one slice in one request where that is proven to give each
    metric what its own request gives (see `_from_batch`); `batched=False, cache=None` is the
    per-metric, freshly planned path, kept as the reference the batched one is tested against."""

    def __init__(
        self,
        engine: MetricEngine,
        catalog: Catalog,
        calendar: pd.DataFrame,
        as_of: date,
        companies: pd.DataFrame,
        batched: bool = True,
        cache: PlanCache | None = None,
        planner: Planner | None = None,
        scope: ExportScope | None = None,
    ):
        self.engine = engine
        self.catalog = catalog
        self.calendar = calendar  # dim_dates: one row per day with month_start, fiscal starts, labels
        self.as_of = as_of
        # (dimension, value) -> the business date that slice's data reaches (its companies' own)
        self.slice_as_of = slice_as_of_dates(companies, as_of)
        self.stats = ExportStats()
        self.batched = batched
        self.planner = planner or Planner(engine, cache)
        # which periods are recomputed (finkpi.metrics.export_scope): all, or those from its start
        self.scope = scope or ExportScope()
        self.stats.recomputed_from = self.scope.start
        self.stats.full_because = self.scope.full_because
        self._dimension_cache: dict[str, dict[str, str]] = {}
        # (metric, grain, qualified dimension) -> its own request's rows (batched mode: roll-ups
        # read the same month inputs for several metrics and both fiscal grains)
        self._answers: dict[tuple[str, str, str | None], pd.DataFrame] = {}
        self._scratch: duckdb.DuckDBPyConnection | None = None
        # (leaf, grain name, dimension) -> its rows summed up from months (`_summed_group`), where
        # they are its own request's (no series undefined throughout)
        self._summed_leaves: dict[tuple[str, str, str], pd.DataFrame] = {}

    # -- which dimensions a metric reaches ---------------------------------------------------
    def dimension_names(self, metric: str) -> dict[str, str]:
        """dimension -> MetricFlow qualified name for one metric (Planner.dimensions)."""
        if metric not in self._dimension_cache:
            self._dimension_cache[metric] = self.planner.dimensions(metric)
        return self._dimension_cache[metric]

    # -- queries ---------------------------------------------------------------------------
    def _run(self, metrics: list[str], grain: str, qualified_dimensions: tuple[str, ...]) -> pd.DataFrame:
        """One request: `metrics` at one MetricFlow grain, by none, one or several dimensions."""
        group_by = [f"metric_time__{grain}", *qualified_dimensions]
        sql = self.planner.plan(MetricRequest.of(metrics, group_by))
        if self.scope.start is not None:
            sql = scoped_sql(sql, grain, self.scope.start)
        started = time.perf_counter()
        frame = self.engine.run_sql(sql)
        label = f"{'+'.join(metrics)} @ {grain} by {', '.join(qualified_dimensions) or 'total'}"
        # the same request again (a batch's fallback is a request of its own): the time adds up
        self.stats.request_seconds[label] = (
            self.stats.request_seconds.get(label, 0.0) + time.perf_counter() - started
        )
        self.stats.queries += 1
        return frame

    def _query(self, metric: str, grain: str, qualified_dimension: str | None) -> pd.DataFrame:
        """One metric at one MetricFlow grain, optionally by one dimension, in a request of its own.

        Returns period_start, dimension_value, value."""
        key = (metric, grain, qualified_dimension)
        if key in self._answers:
            return self._answers[key].copy()
        frame = self._run([metric], grain, _as_tuple(qualified_dimension))
        out = self._metric_rows(frame, metric, grain, qualified_dimension)
        if self.batched:
            self._answers[key] = out.copy()
        return out

    def _metric_rows(
        self, frame: pd.DataFrame, metric: str, grain: str, qualified_dimension: str | None
    ) -> pd.DataFrame:
        time_column = f"metric_time__{grain}"
        out = pd.DataFrame(
            {
                "period_start": pd.to_datetime(frame[time_column]).dt.date,
                "dimension_value": frame[qualified_dimension] if qualified_dimension else "all",
                "value": frame[metric],
            }
        )
        out["dimension_value"] = out["dimension_value"].fillna(UNASSIGNED).astype(str)
        # nothing after as_of_date is reported (a period starting later has no business yet);
        # a company's slices end at its own as_of_date (in _densified)
        return out[self._in_scope(out["period_start"])]

    def _in_scope(self, period_starts: pd.Series) -> pd.Series:
        """Which periods this export computes: those through as_of_date, from the scope's start."""
        inside = period_starts <= self.as_of
        if self.scope.start is not None:
            inside &= period_starts >= self.scope.start
        return inside

    def _batch(
        self, metrics: list[str], grain: str, dimension: str, qualified_dimension: str | None
    ) -> dict[str, pd.DataFrame]:
        """Several metrics of one slice in one request; each metric's rows as `_query` gives them
        for what the export publishes (see `_from_batch`)."""
        frame = self._run(metrics, grain, _as_tuple(qualified_dimension))
        out = {}
        for metric in metrics:
            self.stats.batched_metrics += 1
            rows = self._from_batch(self._metric_rows(frame, metric, grain, qualified_dimension), dimension)
            if rows is None:
                self.stats.fallbacks += 1
                rows = self._query(metric, grain, qualified_dimension)
            out[metric] = rows
        return out

    def _from_batch(self, rows: pd.DataFrame, dimension: str) -> pd.DataFrame | None:
        """One metric's rows of a multi-metric request, or None where they may publish other
        values than the metric's own request.

        MetricFlow computes each metric of a request on its own and full-outer-joins them on the
        group-by keys: the metric's rows with a value are exactly its own request's, and the
        request adds rows where it is NULL (periods or slice values another metric has). Those
        change nothing `_densified` publishes for a series with a value in its window (it keeps
        the periods from the first value to the series' end, with NULL or 0 where there is none,
        whether a row said NULL or was absent). A series NULL throughout its window is published
        as the rows the metric's own request returned, which the batch cannot tell: then None,
        and the metric is asked alone. Should a NULL dimension value come back twice (an outer
        join does not match NULL keys), the row with the metric's value is kept."""
        rows = rows.sort_values("value", na_position="last", kind="stable")
        rows = rows.drop_duplicates(["period_start", "dimension_value"]).sort_index()
        if self._undefined_in_window(rows.assign(grain="", dimension=dimension)).any():
            return None
        return rows

    def _undefined_in_window(self, rows: pd.DataFrame) -> pd.Series:
        """Per row of `rows` (grain, dimension, dimension_value, period_start, value): True when its
        series (its metric's, at its grain, for its dimension value) has no value up to the
        series' end (`_series_ends`)."""
        ends = pd.Series(self._series_ends(rows), index=rows.index, dtype=object)
        defined = rows["value"].notna() & (rows["period_start"] <= ends)
        keys = [rows["grain"], rows["dimension"], rows["dimension_value"]]
        return ~defined.groupby(keys, sort=False).transform("any").astype(bool)

    def _rolled_up(self, metric: str, grain: str, qualified_dimension: str | None) -> pd.DataFrame:
        """A balance-based metric at a fiscal grain, from month results of its inputs."""
        self.stats.rollups += 1
        period_of_month = self._period_of_month(grain)
        leaves = self.catalog.leaves(metric)
        values: dict[str, pd.DataFrame] = {}
        keys = ["period_start", "dimension_value"]
        for leaf, measure in leaves.items():
            monthly = self._query(leaf, "month", qualified_dimension)
            monthly["month"] = monthly["period_start"]
            monthly["period_start"] = monthly["month"].map(period_of_month)
            # months in order inside each period: the last is the period end, the first its start
            monthly = monthly.sort_values([*keys, "month"], kind="stable")
            grouped = monthly.groupby(keys, as_index=False)["value"]
            if measure.window_choice == "max":
                rolled = grouped.last()
            elif measure.window_choice == "min":
                rolled = grouped.first()
            elif measure.agg in ("sum", "count"):
                rolled = grouped.sum(min_count=1)
            else:
                raise ValueError(f"cannot roll {leaf} ({measure.agg}) up from months for {metric}")
            values[leaf] = rolled.rename(columns={"value": leaf})
        return self._evaluate(metric, values)

    def _evaluate(
        self, metric: str, leaf_values: dict[str, pd.DataFrame], keys: tuple[str, ...] = ROW_KEYS
    ) -> pd.DataFrame:
        """The metric's own expression, evaluated (recursively) on per-period input columns
        (`keys` and the leaf's name). Where an input has no row, it is NULL, or its
        fill_nulls_with value (as MetricFlow fills it when it joins a derived metric's inputs)."""
        definition = self.catalog[metric]
        if definition.metric_type == "simple":
            return leaf_values[metric].rename(columns={metric: "value"})
        inputs = {name: self._evaluate(name, leaf_values, keys) for name, _alias in definition.inputs}
        table = None
        for (_name, alias), frame in zip(definition.inputs, inputs.values(), strict=True):
            frame = frame.rename(columns={"value": alias})
            table = frame if table is None else table.merge(frame, on=list(keys), how="outer")
        for name, alias in definition.inputs:
            fill = self.catalog[name].fill_nulls_with
            if fill is not None:
                table[alias] = table[alias].fillna(fill)
        expression = definition.expr if definition.metric_type == "derived" else None
        if expression is None:
            raise ValueError(f"{metric}: only derived metrics can be rolled up")
        if self._scratch is None:  # one in-memory database for every roll-up (a connect costs ms)
            self._scratch = duckdb.connect()
        self._scratch.register("inputs", table)
        result = self._scratch.execute(
            f"select {', '.join(keys)}, cast({expression} as double) as value from inputs"
        ).df()
        self._scratch.unregister("inputs")
        result["period_start"] = pd.to_datetime(result["period_start"]).dt.date
        return result

    def _period_of_month(self, grain: str) -> dict[date, date]:
        """month start -> the start of its period at MetricFlow grain `grain`."""
        (column, _label) = next(PERIOD_COLUMNS[name] for name, mf in GRAINS.items() if mf == grain)
        months = self.calendar.drop_duplicates("month_start")
        return dict(zip(months["month_start"], months[column], strict=True))

    # -- the export ------------------------------------------------------------------------
    def export(self, run_id: str, progress: Callable[[str], None] = lambda _m: None) -> pd.DataFrame:
        started = time.perf_counter()
        frames = []
        metrics = [m for m in self.catalog.published if not m.is_computed]
        if self.batched:
            summed = [m for m in metrics if self.catalog.sums_up(m.name)]
            frames.extend(self._export_summed(summed))
            progress(
                f"  metric exports summed up from months: {len(summed)} metrics at every grain,"
                f" {self.stats.queries} requests, {self.planner.compiled} planned"
            )
            metrics = [m for m in metrics if m not in summed]
        for grain_name, grain in GRAINS.items():
            before = (self.stats.queries, self.planner.compiled)
            if self.batched:
                frames.extend(self._export_grain_batched(metrics, grain_name, grain))
            else:
                for metric in metrics:
                    frames.extend(self._export_metric(metric, grain_name, grain))
            progress(
                f"  metric exports at grain {grain_name}: {len(metrics)} metrics,"
                f" {self.stats.queries - before[0]} requests, {self.planner.compiled - before[1]} planned"
            )
        self.stats.plans_compiled = self.planner.compiled
        self.stats.plans_cached = self.planner.cached
        self.planner.save()
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None
        rows = pd.concat(frames, ignore_index=True)
        if self.scope.kept is not None:
            # the earlier periods' rows of the last export, as they are, densified with the new
            # ones (a series' first value and its gaps span both, and a series NULL until now loses
            # its leading NULLs once it has a value); year-on-year growth reads them too
            computed_metrics = [m.name for m in self.catalog.published if m.is_computed]
            kept = self.scope.kept[~self.scope.kept["metric_name"].isin(computed_metrics)]
            columns = ["metric_name", "grain", "dimension", "dimension_value", "period_start", "value"]
            rows = pd.concat([rows[columns], kept[columns]], ignore_index=True)
        values = self._label(self._with_computed(self._densified(rows)))
        values["run_id"] = run_id
        if self.scope.start is not None:
            self.stats.rows_kept = int((values["period_start"] < self.scope.start).sum())
        self.stats.rows_recomputed = len(values) - self.stats.rows_kept
        self.stats.seconds = time.perf_counter() - started
        return values[VALUE_COLUMNS].sort_values(
            ["metric_name", "grain", "dimension", "dimension_value", "period_start"], ignore_index=True
        )

    def _export_metric(self, metric: MetricDefinition, grain_name: str, grain: str) -> list[pd.DataFrame]:
        frames = []
        rollup = grain != "month" and self.catalog.depends_on_balances(metric.name)
        slices = {"total": None, **self.dimension_names(metric.name)}
        for dimension, qualified in slices.items():
            if rollup:
                frame = self._rolled_up(metric.name, grain, qualified)
            else:
                frame = self._query(metric.name, grain, qualified)
            # the total's dimension_value is already "all" (set by _query, kept by roll-ups)
            frame = frame.assign(metric_name=metric.name, grain=grain_name, dimension=dimension)
            frames.append(frame)
        return frames

    def _export_grain_batched(
        self, metrics: list[MetricDefinition], grain_name: str, grain: str
    ) -> list[pd.DataFrame]:
        """Every metric at one grain: metrics of the same semantic models and slice share a request
        (their rows coincide, so a batch rarely needs a fallback); balances at fiscal grains are
        rolled up from months (`_rolled_up`), each on its own."""
        frames = []
        groups: dict[tuple, list[str]] = {}
        for metric in metrics:
            rollup = grain != "month" and self.catalog.depends_on_balances(metric.name)
            slices = {"total": None, **self.dimension_names(metric.name)}
            from_leaves = self._evaluated_from_leaves(metric.name)
            for dimension, qualified in slices.items():
                if rollup or from_leaves:
                    frame = (
                        self._rolled_up(metric.name, grain, qualified)
                        if rollup
                        else self._from_leaves(metric.name, grain_name, dimension, qualified)
                    )
                    frame = frame.assign(metric_name=metric.name, grain=grain_name, dimension=dimension)
                    frames.append(frame)
                else:
                    key = (dimension, qualified, self._models(metric.name))
                    groups.setdefault(key, []).append(metric.name)
        for (dimension, qualified, _models), names in groups.items():
            answers = (
                self._batch(names, grain, dimension, qualified)
                if len(names) > 1
                else {names[0]: self._query(names[0], grain, qualified)}
            )
            for name, frame in answers.items():
                frames.append(frame.assign(metric_name=name, grain=grain_name, dimension=dimension))
        return frames

    def _export_summed(self, metrics: list[MetricDefinition]) -> list[pd.DataFrame]:
        """Metrics whose periods and slices sum up from finer ones (Catalog.sums_up) at every
        grain and slice, from one request per group of them: their leaves at month grain by every
        dimension they reach at once, summed in pandas to each slice and fiscal period, then each
        metric's own expression (`_evaluate`). A group shares semantic models, the leaves' dates
        and the dimensions, so each leaf's rows are those of its own request (a leaf has a row
        wherever its models have facts); a series undefined throughout its window is still asked
        alone (the rule of `_from_batch`)."""
        groups: dict[tuple, list[str]] = {}
        for metric in metrics:
            leaves = self.catalog.leaves(metric.name).values()
            dates = tuple(sorted({measure.agg_time_dimension or "" for measure in leaves}))
            dimensions = tuple(self.dimension_names(metric.name).items())
            groups.setdefault((self._models(metric.name), dates, dimensions), []).append(metric.name)
        frames = []
        for (_models, _dates, dimensions), names in groups.items():
            frames.extend(self._summed_group(names, dict(dimensions)))
        return frames

    def _summed_group(self, names: list[str], dimensions: dict[str, str]) -> list[pd.DataFrame]:
        leaves = sorted({leaf for name in names for leaf in self.catalog.leaves(name)})
        qualified = tuple(dimensions.values())
        fine = self._run(leaves, "month", qualified)
        months = pd.to_datetime(fine["metric_time__month"]).dt.date
        slices = {"total": None, **dimensions}
        summed = []
        for grain_name, grain in GRAINS.items():
            # months outside the calendar have no fiscal period (MetricFlow's join gives NULL)
            periods = months if grain == "month" else months.map(self._period_of_month(grain))
            for dimension, column in slices.items():
                values = fine[column].fillna(UNASSIGNED).astype(str) if column else "all"
                rows = fine[leaves].assign(period_start=periods, dimension_value=values)
                rows = rows.groupby(list(ROW_KEYS), as_index=False)[leaves].sum(min_count=1)
                # nothing after as_of_date (a company's slices end earlier: _densified)
                rows = rows[self._in_scope(rows["period_start"])]
                summed.append(rows.assign(grain=grain_name, dimension=dimension))
        table = pd.concat(summed, ignore_index=True)
        keys = ("grain", "dimension", *ROW_KEYS)
        leaf_values = {leaf: table[[*keys, leaf]] for leaf in leaves}
        for leaf, rows in leaf_values.items():
            rows = rows.rename(columns={leaf: "value"})
            undefined = self._undefined_in_window(rows)
            for (grain_name, dimension), series in rows.groupby(["grain", "dimension"], sort=False):
                if not undefined[series.index].any():
                    self._summed_leaves[(leaf, grain_name, dimension)] = series[[*ROW_KEYS, "value"]]
        frames = []
        for name in names:
            values = self._evaluate(name, leaf_values, keys)
            self.stats.batched_metrics += values[["grain", "dimension"]].drop_duplicates().shape[0]
            undefined = values[self._undefined_in_window(values)][["grain", "dimension"]]
            for grain_name, dimension in undefined.drop_duplicates().itertuples(index=False):
                self.stats.fallbacks += 1
                alone = self._query(name, GRAINS[grain_name], slices[dimension])
                values = pd.concat(
                    [
                        values[(values["grain"] != grain_name) | (values["dimension"] != dimension)],
                        alone.assign(grain=grain_name, dimension=dimension),
                    ],
                    ignore_index=True,
                )
            frames.append(values.assign(metric_name=name))
        return frames

    def _evaluated_from_leaves(self, metric: str) -> bool:
        """A derived metric that does not sum up (a leaf is a distinct count, an average or a
        balance): evaluated from its leaves' rows (`_from_leaves`) rather than asked of MetricFlow,
        which would compute its leaves again (average_order_value: orders_booked; dso: the month
        balances its fiscal periods are rolled up from anyway)."""
        definition = self.catalog[metric]
        return (
            definition.metric_type == "derived"
            and not definition.period_dependent
            and not self.catalog.sums_up(metric)
            and all(not self.catalog[leaf].period_dependent for leaf in self.catalog.leaves(metric))
        )

    def _from_leaves(
        self, metric: str, grain_name: str, dimension: str, qualified_dimension: str | None
    ) -> pd.DataFrame:
        """A derived metric at one grain and slice, its own expression on its leaves' rows: summed
        up from months where `_summed_group` has them, else each leaf's own request (shared with
        the leaf's own export). A series undefined throughout is asked alone (`_from_batch`)."""
        grain = GRAINS[grain_name]
        leaf_values = {}
        for leaf in self.catalog.leaves(metric):
            rows = self._summed_leaves.get((leaf, grain_name, dimension))
            if rows is None:
                rows = self._query(leaf, grain, qualified_dimension)
            leaf_values[leaf] = rows.rename(columns={"value": leaf})
        self.stats.batched_metrics += 1
        rows = self._from_batch(self._evaluate(metric, leaf_values), dimension)
        if rows is None:
            self.stats.fallbacks += 1
            rows = self._query(metric, grain, qualified_dimension)
        return rows

    def _models(self, metric: str) -> tuple[str, ...]:
        """The semantic models a metric's measures come from."""
        return tuple(sorted({measure.semantic_model for measure in self.catalog.leaves(metric).values()}))

    def _with_computed(self, values: pd.DataFrame) -> pd.DataFrame:
        """Metrics computed from exported totals (their SQL is their definition)."""
        values = self._with_completeness(values)
        computed = []
        for definition in self.catalog.published:
            if not definition.is_computed:
                continue
            with duckdb.connect() as con:
                con.register("metric_values", values)
                frame = con.execute(definition.computed_sql).df()
            frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
            computed.append(self._densified(frame, trim_leading=False))
        return pd.concat([values, *computed], ignore_index=True)

    def _densified(self, values: pd.DataFrame, trim_leading: bool = True) -> pd.DataFrame:
        """One row per period from a series' first value to the period containing its as_of_date
        (a company's slices: the company's own; every other series: the global one).

        A series is one metric at one grain for one dimension value. Periods before its first
        non-null value are dropped (a calendar-based input alone, such as elapsed days, does not
        make a period exist). Gaps inside are filled: with 0 for a sum or count (nothing happened),
        with NULL for anything else (a ratio or average over nothing is undefined), so a period is
        never silently absent. A series that is NULL throughout keeps the rows MetricFlow returned
        (its inputs exist; the metric is undefined there), except a slice of a metric whose meta says
        `withhold_undefined_slices` (the metric has no meaning there, e.g. inventory turnover of a
        raw-material category, which has no cost of goods sold): that slice value is not published.
        Computed metrics keep their leading NULLs (`trim_leading=False`): growth in the first year
        of data is not computable, and says so.
        """
        keys = ["metric_name", "grain", "dimension", "dimension_value"]
        values = values[[*keys, "period_start", "value"]]
        # periods after the slice's own as_of_date are not published (not even as 0 or NULL)
        values = values[values["period_start"] <= self._series_ends(values)]
        known = values[values["value"].notna()] if trim_leading else values
        firsts = known.groupby(keys, sort=False, dropna=False)["period_start"].min().rename("first")
        series = values[keys].drop_duplicates().merge(firsts.reset_index(), on=keys, how="left")
        # undefined throughout (e.g. a zero denominator): its rows, as NULL, or none where withheld
        undefined = series[series["first"].isna()]
        withheld = undefined["metric_name"].map(self._withholds_undefined_slices).astype(bool) & (
            undefined["dimension"] != "total"
        )
        undefined = values.merge(undefined.loc[~withheld, keys], on=keys)
        grid = series[series["first"].notna()].merge(self._period_table(), on="grain")
        grid = grid[
            (grid["first"] <= grid["period_start"]) & (grid["period_start"] <= self._series_ends(grid))
        ]
        dense = grid[[*keys, "period_start"]].merge(
            values.drop_duplicates([*keys, "period_start"]), on=[*keys, "period_start"], how="left"
        )
        additive = dense["metric_name"].map(self._is_additive_flow).astype(bool)
        dense.loc[additive, "value"] = dense.loc[additive, "value"].fillna(0.0)
        return pd.concat([dense, undefined], ignore_index=True)[[*keys, "period_start", "value"]]

    def _series_ends(self, frame: pd.DataFrame) -> list[date]:
        """The last business date of each row's series: its company's own for a company's slice,
        the global as_of_date for every other."""
        return [
            self.slice_as_of.get(key, self.as_of)
            for key in zip(frame["dimension"].tolist(), frame["dimension_value"].tolist(), strict=True)
        ]

    def _period_table(self) -> pd.DataFrame:
        """grain, period_start: every period through as_of_date."""
        return pd.DataFrame(
            [(grain, start) for grain, starts in self._periods_through_as_of().items() for start in starts],
            columns=["grain", "period_start"],
        )

    def _withholds_undefined_slices(self, metric: str) -> bool:
        definition = self.catalog.metrics.get(metric)
        return definition is not None and definition.withholds_undefined_slices

    def _is_additive_flow(self, metric: str) -> bool:
        definition = self.catalog.metrics.get(metric)
        if definition is None or definition.metric_type != "simple":
            return False
        measure = self.catalog.measures[definition.measure]
        return measure.window_choice is None and measure.agg in ("sum", "count", "count_distinct")

    def _periods_through_as_of(self) -> dict[str, list[date]]:
        upto = self.calendar[self.calendar["date_day"] <= self.as_of]
        return {grain: sorted(upto[start].unique()) for grain, (start, _label) in PERIOD_COLUMNS.items()}

    def _with_completeness(self, values: pd.DataFrame) -> pd.DataFrame:
        values = values.copy()
        values["is_complete"] = completeness(values, self.period_ends, self.as_of, self.slice_as_of)
        return values

    @cached_property
    def period_ends(self) -> dict[tuple[str, date], date]:
        """(grain, period_start) -> the period's last day (computed once, on first use)."""
        ends = {}
        for grain, (start_column, _label) in PERIOD_COLUMNS.items():
            for start, end in self.calendar.groupby(start_column)["date_day"].max().items():
                ends[(grain, start)] = end
        return ends

    def _label(self, values: pd.DataFrame) -> pd.DataFrame:
        labels = {}
        for grain, (start_column, label_column) in PERIOD_COLUMNS.items():
            firsts = self.calendar.drop_duplicates(start_column)
            labels.update(
                {
                    (grain, s): label
                    for s, label in zip(firsts[start_column], firsts[label_column], strict=True)
                }
            )
        # the computed metrics' rows have no completeness yet (`_with_computed` gave the others
        # theirs); a row's completeness reads only its own metric's rows, so theirs is computed alone
        todo = values["is_complete"].isna()
        values = values.copy()
        values.loc[todo, "is_complete"] = completeness(
            values[todo], self.period_ends, self.as_of, self.slice_as_of
        )
        values["is_complete"] = values["is_complete"].astype(bool)
        values["period_label"] = [
            labels[(g, s)]
            for g, s in zip(values["grain"].tolist(), values["period_start"].tolist(), strict=True)
        ]
        values["value"] = [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in values["value"]
        ]
        return values


def scoped_sql(sql: str, grain: str, start: date) -> str:
    """A request's SQL for the periods from `start` on (its rows, exactly: a filter on the
    output's time column, which DuckDB pushes down to the fact scan where it can)."""
    return f"select * from ({sql}) as planned where metric_time__{grain} >= date '{start.isoformat()}'"


def _as_tuple(qualified_dimension: str | None) -> tuple[str, ...]:
    return (qualified_dimension,) if qualified_dimension else ()


def slice_as_of_dates(companies: pd.DataFrame, as_of: date) -> dict[tuple[str, str], date]:
    """(dimension, value) -> the business date the slice's data reaches, for the slices of one
    company: company_code by the company's own as_of_date, source_system by its companies' (the
    source's registered date, the same for each). Never later than the global `as_of`.

    `companies`: marts.dim_companies' company_code, source_system and as_of_date."""
    missing = companies.loc[companies["as_of_date"].isna(), "company_code"].tolist()
    if missing:
        raise ValueError(
            f"marts.dim_companies has no as_of_date for {missing}: register their source systems"
            " in finkpi/sources/ (var 'sources')"
        )
    dates: dict[tuple[str, str], date] = {}
    for code, source, company_as_of in zip(
        companies["company_code"], companies["source_system"], companies["as_of_date"], strict=True
    ):
        reaches = min(company_as_of, as_of)
        dates[("company_code", code)] = reaches
        dates[("source_system", source)] = max(reaches, dates.get(("source_system", source), reaches))
    return dates


def completeness(
    values: pd.DataFrame,
    period_ends: dict[tuple[str, date], date],
    as_of: date,
    slice_as_of: dict[tuple[str, str], date],
) -> list[bool]:
    """is_complete of each row of `values` (metric_name, grain, period_start, dimension,
    dimension_value).

    A slice of one company (a key of `slice_as_of`) is complete when the period ends by that
    company's own as_of_date. Any other row (the company total, a department, "(unassigned)", ...)
    is complete when the period ends by the global `as_of` and every company contributing to it
    covers it: a company contributes to a metric's period when its own data range overlaps it, that
    is, when its company_code series of the metric has that period (a series runs from its first
    value to the company's as_of_date). A metric that cannot be sliced by company names no
    companies: then every company whose data ends inside the period counts as contributing. A
    company whose data ended before a period began does not contribute to it.
    """
    # columns as lists: iterating a pandas (Arrow) string column costs a call per value
    grains, starts = values["grain"].tolist(), values["period_start"].tolist()
    ends = [period_ends[(g, s)] for g, s in zip(grains, starts, strict=True)]
    keys = list(zip(values["dimension"].tolist(), values["dimension_value"].tolist(), strict=True))
    complete = [end <= slice_as_of.get(key, as_of) for end, key in zip(ends, keys, strict=True)]
    periods = list(zip(values["metric_name"].tolist(), grains, starts, strict=True))
    # the rows of known companies' company_code slices say which companies contribute to what
    is_company = [key[0] == "company_code" and key in slice_as_of for key in keys]
    sliced_by_company = {period[0] for period, company in zip(periods, is_company, strict=True) if company}
    not_covered = {
        period
        for period, company, done in zip(periods, is_company, complete, strict=True)
        if company and not done
    }
    company_ends = {d for (dimension, _value), d in slice_as_of.items() if dimension == "company_code"}
    result = []
    for period, key, end, done in zip(periods, keys, ends, complete, strict=True):
        if key in slice_as_of or not done:
            result.append(done)
        elif period[0] in sliced_by_company:
            result.append(period not in not_covered)
        else:  # which companies are behind it is unknown: any whose data ends inside the period
            result.append(not any(period[2] <= d < end for d in company_ends))
    return result


CATALOG_COLUMNS = [
    "metric_name", "label", "description", "perspective", "metric_type", "unit", "direction", "owner",
    "department", "certified", "drivers", "driver_formula", "definition_sql", "definition_hash", "run_id",
    "certified_identity", "feeding_columns", "uncertified_reason", *DEFINITION_FIELDS,
]  # fmt: skip


@dataclass
class ExportResult:
    values: pd.DataFrame
    catalog: pd.DataFrame
    stats: ExportStats
    state: ExportState | None = None  # what the values were computed with (export_scope)


def definition_sql(engine: MetricEngine, metric: MetricDefinition) -> str:
    """What a metric means, as SQL (Planner.definition, planned afresh)."""
    return Planner(engine, None).definition(metric)


def published_dimensions(planner: Planner, catalog: Catalog) -> dict[str, list[str]]:
    """Each published metric -> the dimensions it is published by (a computed metric: its base
    metric's), what `metrics check` holds its slice_behavior against."""
    return {
        metric.name: list(planner.dimensions(metric.base_metric or metric.name))
        for metric in catalog.published
    }


def catalog_frame(
    engine: MetricEngine,
    catalog: Catalog,
    run_id: str,
    certifications: pd.DataFrame,
    planner: Planner | None = None,
) -> pd.DataFrame:
    """metric_catalog: one row per published metric with its compiled SQL, definition hash and
    feeding columns. `certified` is true only while its certified identity (certification.py) has
    a sign-off; `uncertified_reason` says why not. `planner`: where the definition SQL comes
    from (by default, MetricFlow afresh)."""
    planner = planner or Planner(engine, None)
    metrics = sorted(catalog.published, key=lambda m: m.name)
    sqls = {metric.name: planner.definition(metric) for metric in metrics}
    feeding, untraced = feeding_columns(engine.settings, metrics, sqls)
    rows = []
    for metric in metrics:
        sql = sqls[metric.name]
        digest = definition_hash(sql, metric.name)
        fields = metric.definition_fields()
        status = certification_status(
            metric.name,
            digest,
            feeding.get(metric.name, []),
            bool(metric.meta["certified"]),
            certifications,
            field_hashes(fields),
        )
        rows.append(
            {
                "metric_name": metric.name,
                "label": metric.label,
                "description": metric.description,
                "perspective": metric.meta["perspective"],
                "metric_type": metric.metric_type,
                "unit": metric.meta["unit"],
                "direction": metric.meta["direction"],
                "owner": metric.meta["owner"],
                "department": metric.meta["department"],
                "certified": status.certified and not untraced,
                "drivers": list(metric.meta.get("drivers") or []),
                "driver_formula": metric.meta.get("driver_formula"),
                "definition_sql": sql.strip(),
                "definition_hash": digest,
                "run_id": run_id,
                "certified_identity": status.identity,
                "feeding_columns": feeding.get(metric.name, []),
                "uncertified_reason": untraced or status.reason,
                **fields,
            }
        )
    frame = pd.DataFrame(rows, columns=CATALOG_COLUMNS)
    # text even when every metric is certified (all None): else DuckDB types the column NULL
    frame["uncertified_reason"] = frame["uncertified_reason"].astype("string")
    return frame


# what the exports need to know of each company (its source and its own as_of_date)
COMPANIES_SQL = "select company_code, source_system, as_of_date from marts.dim_companies"


def companies_frame(companies: pd.DataFrame) -> pd.DataFrame:
    companies = companies.copy()
    companies["as_of_date"] = pd.to_datetime(companies["as_of_date"]).dt.date
    return companies


def read_companies(database) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return companies_frame(con.execute(COMPANIES_SQL).df())


def feeding_columns(
    settings, metrics: list[MetricDefinition], sqls: dict[str, str]
) -> tuple[dict[str, list[str]], str | None]:
    """Each metric's feeding columns (finkpi.lineage), or why they cannot be traced: then no
    metric can be certified (the Spark target plans on an empty DuckDB file: no lineage)."""
    try:
        return metric_feeding(
            settings, [(m.name, m.metric_type, sqls[m.name], m.base_metric) for m in metrics]
        ), None
    except LineageUnavailable as error:
        return {}, f"the source columns that feed it cannot be traced: {error}"


def read_calendar(database) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        calendar = con.execute(
            "select date_day, month_start, fiscal_quarter_start, fiscal_year_start, month_label,"
            " fiscal_quarter_label, fiscal_year_label from marts.dim_dates"
        ).df()
    for column in ("date_day", "month_start", "fiscal_quarter_start", "fiscal_year_start"):
        calendar[column] = pd.to_datetime(calendar[column]).dt.date
    return calendar


class MetricGovernanceError(FinkpiError):
    """`finkpi metrics check` found problems: nothing is exported."""


def export_metrics(
    settings,
    run_id: str,
    progress: Callable[[str], None] = lambda _m: None,
    batched: bool = True,
    cached: bool = True,
    dimensions_changed: str | None = None,
) -> ExportResult:
    """Check the metric definitions, then export every published metric of the built warehouse
    of `settings` into `metrics.metric_values`, `metric_catalog` and `metric_definition_history`.
    Plans come from `<warehouse_dir>/plan_cache/` where `cached` (finkpi.metrics.plan_cache);
    `batched=False, cached=False` is the per-metric reference path. (The Spark target has its
    own: finkpi.spark.exports.)

    In an incremental run (settings.incremental_start) only the periods its data can change are
    recomputed, the rest kept from the build warehouse's last export, unless something they were
    computed with changed (finkpi.metrics.export_scope; `dimensions_changed`: which dimension rows
    the build changed, finkpi.incremental.changed_dimensions)."""
    calendar = read_calendar(settings.build_database)
    companies = read_companies(settings.build_database)
    # the last export, which an incremental run may keep earlier periods of (export_scope)
    previous = read_previous(settings.build_database) if settings.incremental_start else None
    cache = PlanCache.for_settings(settings) if cached else None
    with MetricEngine(settings) as engine:
        result, history = compute_exports(
            settings,
            engine,
            calendar,
            companies,
            run_id,
            progress,
            batched=batched,
            cache=cache,
            previous=previous,
            dimensions_changed=dimensions_changed,
        )
    write_tables(
        settings.build_database,
        contract.step_tables(
            contract.EXPORT_STEP,
            metric_values=result.values,
            metric_catalog=result.catalog,
            metric_definition_history=history,
        ),
        state=result.state,
    )
    return result


def compute_exports(
    settings,
    engine: MetricEngine,
    calendar: pd.DataFrame,
    companies: pd.DataFrame,
    run_id: str,
    progress: Callable[[str], None],
    batched: bool = True,
    cache: PlanCache | None = None,
    previous=None,
    dimensions_changed: str | None = None,
) -> tuple[ExportResult, pd.DataFrame]:
    """The export itself, on whichever warehouse `engine` runs its queries: the checked catalog,
    every metric value, and the definition history. `calendar` is marts.dim_dates (read_calendar),
    `companies` marts.dim_companies (COMPANIES_SQL); `batched` and `cache` as MetricExporter's.
    An incremental run on DuckDB recomputes the periods `export_scope.decide` says, keeping the
    rest of `previous` (export_scope.read_previous)."""
    as_of = date.fromisoformat(settings.dbt_vars()["as_of_date"])
    catalog = load_catalog(settings.project_dir)
    certifications = load_certifications(settings.project_dir)
    planner = Planner(engine, cache)
    catalog_rows = catalog_frame(engine, catalog, run_id, certifications, planner)
    check = check_catalog(
        catalog,
        dict(zip(catalog_rows["metric_name"], catalog_rows["definition_hash"], strict=True)),
        published_dimensions(planner, catalog),
    )
    if not check.ok:
        raise MetricGovernanceError("metrics check failed:\n  " + "\n  ".join(check.problems))
    for warning in uncertified_warnings(catalog, catalog_rows):
        progress(f"  warning: {warning}")
    state = scope = None
    if settings.dbt_target != "spark":  # the Spark target's exports keep no state to compare
        state = ExportState.of(settings, as_of, slice_as_of_dates(companies, as_of))
    if state is not None and settings.incremental_start is not None:
        hashes = dict(zip(catalog_rows["metric_name"], catalog_rows["definition_hash"], strict=True))
        previous = "the last export was not read" if previous is None else previous
        scope = decide(settings, state, hashes, calendar, previous, dimensions_changed)
        progress(f"  {scope.describe()}")
    exporter = MetricExporter(
        engine, catalog, calendar, as_of, companies, batched=batched, planner=planner, scope=scope
    )
    values = exporter.export(run_id, progress)
    history = definition_history(catalog_rows, certifications, datetime.now(UTC))
    history["run_id"] = run_id
    return ExportResult(values=values, catalog=catalog_rows, stats=exporter.stats, state=state), history


def uncertified_warnings(catalog: Catalog, catalog_rows: pd.DataFrame) -> list[str]:
    """Metrics declared certified whose current identity nobody has signed off, and why."""
    return [
        f"{name} is declared certified, but published as uncertified: {reason} (finkpi metrics certify)"
        for name, reason, certified in zip(
            catalog_rows["metric_name"],
            catalog_rows["uncertified_reason"],
            catalog_rows["certified"],
            strict=True,
        )
        if catalog[name].meta.get("certified") and not certified
    ]


def write_tables(database, tables: dict[str, pd.DataFrame], state: ExportState | None = None) -> None:
    """Replace tables in schema `metrics` of the build warehouse, in one transaction, with the
    record of what they were computed with (`state`, which the next incremental run compares)."""
    with duckdb.connect(str(database)) as con:
        con.execute("begin transaction")
        con.execute("create schema if not exists metrics")
        for name, frame in tables.items():
            con.register("incoming", frame)
            con.execute(f"create or replace table metrics.{name} as select * from incoming")
            con.unregister("incoming")
        if state is not None:
            state.write(con)
        con.execute("commit")

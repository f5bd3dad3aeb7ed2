"""Scorecards and the metric tree for one run: reads `metrics.metric_values` and `metric_catalog`
of the build warehouse and the seeds in `seeds/targets/`, computes the five published tables
(`scorecard_lines`, `scorecard_summary`, `driver_attribution`, `driver_associations`,
`metric_forecast`) and writes them into schema `metrics`. `compute` is the whole logic on frames;
`run` adds the I/O."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from finkpi import contract
from finkpi.errors import FinkpiError
from finkpi.metrics.catalog import load_catalog
from finkpi.metrics.exports import write_tables
from finkpi.scorecards import associations, attribution, forecast, scoring
from finkpi.scorecards.targets import Seeds, TargetsError, load_seeds, validate

SCORED_GRAINS = ("month", "quarter", "year")
MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
COMPARISONS = {"previous_period": None, "same_period_last_year": 12}  # months back (None: one period)

LINE_COLUMNS = [
    "scorecard", "org_unit", "grain", "period_start", "period_label", "metric_name", "perspective",
    "direction", "weight", "effective_weight", "status", "actual", "target", "floor", "stretch",
    "target_version", "attainment", "score", "weighted_score", "run_id",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "scorecard", "org_unit", "grain", "period_start", "period_label", "total_score", "result_score",
    "process_score", "coverage", "lines", "missing_lines", "run_id",
]  # fmt: skip
ATTRIBUTION_COLUMNS = [
    "metric_name", "driver_metric", "grain", "period_start", "period_label", "comparison",
    "comparison_period_start", "metric_value", "comparison_value", "change", "driver_value",
    "driver_comparison_value", "contribution", "method", "driver_formula", "run_id",
]  # fmt: skip
ASSOCIATION_COLUMNS = [
    "metric_name", "driver_metric", "grain", "lag_periods", "n", "estimate", "ci_low", "ci_high",
    "relation", "method", "run_id",
]  # fmt: skip
FORECAST_COLUMNS = [
    "metric_name", "org_unit", "grain", "period_start", "period_label", "as_of", "actual_to_date",
    "projected_value", "target", "floor", "stretch", "projected_attainment", "projected_score", "at_risk",
    "direction", "method", "run_id",
]  # fmt: skip


class ScorecardError(FinkpiError):
    """The scorecard seeds failed validation: nothing is scored."""


@dataclass
class ScorecardResult:
    tables: dict[str, pd.DataFrame]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def period_end(grain: str, start: date) -> date:
    return forecast.add_months(start, MONTHS_PER[grain]) - timedelta(days=1)


def _num(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value)


class MetricValues:
    """Lookups over metric_values (one frame, indexed once)."""

    def __init__(self, values: pd.DataFrame):
        values = values.copy()
        values["period_start"] = pd.to_datetime(values["period_start"]).dt.date
        self.frame = values
        self.value = {
            (m, g, d, v, p): _num(x)
            for m, g, d, v, p, x in values[
                ["metric_name", "grain", "dimension", "dimension_value", "period_start", "value"]
            ].itertuples(index=False)
        }
        # completeness is judged per company (a company's data may end inside a period): a period
        # is complete here when every value of it is
        self.complete = {
            (g, p): bool(c)
            for (g, p), c in values.groupby(["grain", "period_start"])["is_complete"].all().items()
        }
        self.labels = {
            (g, p): lbl
            for g, p, lbl in values[["grain", "period_start", "period_label"]].itertuples(index=False)
        }
        self.by_department = set(values.loc[values["dimension"] == "department", "metric_name"])

    def periods(self, grain: str, complete: bool | None = None) -> list[date]:
        return sorted(
            p for (g, p), c in self.complete.items() if g == grain and (complete is None or c == complete)
        )

    def actual(self, metric: str, org_unit: str, grain: str, period: date) -> float | None:
        """The department's value where the metric has a department dimension, else the company total."""
        if org_unit != "Company" and metric in self.by_department:
            return self.value.get((metric, grain, "department", org_unit, period))
        return self.value.get((metric, grain, "total", "all", period))

    def series(self, metric: str, grain: str, org_unit: str = "Company") -> dict[date, float | None]:
        return {p: self.actual(metric, org_unit, grain, p) for p in self.periods(grain)}


def _catalog_maps(catalog: pd.DataFrame):
    rows = catalog.to_dict("records")
    for row in rows:
        formula = row.get("driver_formula")
        row["driver_formula"] = formula if isinstance(formula, str) and formula.strip() else None
        drivers = row.get("drivers")
        row["drivers"] = [] if drivers is None or isinstance(drivers, float) else list(drivers)
    return {r["metric_name"]: r for r in rows}


def compute(
    values: pd.DataFrame,
    catalog: pd.DataFrame,
    seeds: Seeds,
    as_of: date,
    run_id: str,
    cap: float = scoring.DEFAULT_CAP,
    org_units: set[str] | None = None,
    additive_metrics: set[str] | None = None,
    recompute_from: date | None = None,
) -> dict[str, pd.DataFrame]:
    """All five tables from metric_values, the metric catalog and the seeds. Raises ScorecardError
    (naming the offending seed rows) when the seeds do not validate. With `recompute_from`, the
    scorecards and attributions only of the periods that start on or after it (an incremental
    run keeps the earlier ones, `run`); associations and forecasts are always whole."""
    mv = MetricValues(values)
    meta = _catalog_maps(catalog)
    directions = {name: row["direction"] for name, row in meta.items()}
    complete = {
        g: [(p, period_end(g, p)) for p in mv.periods(g, complete=True) if (g, p) in mv.complete]
        for g in SCORED_GRAINS
    }
    problems = validate(seeds, directions, complete, org_units)
    if problems:
        raise ScorecardError(str(TargetsError(problems)))
    scored = {
        g: [(p, e) for p, e in periods if recompute_from is None or p >= recompute_from]
        for g, periods in complete.items()
    }
    lines, summary = _scorecards(mv, meta, seeds, scored, cap, run_id)
    return {
        "scorecard_lines": lines,
        "scorecard_summary": summary,
        "driver_attribution": _attribution(mv, meta, run_id, recompute_from),
        "driver_associations": _associations(mv, meta, run_id),
        "metric_forecast": _forecast(mv, meta, seeds, as_of, cap, run_id, additive_metrics or set()),
    }


def _scorecards(mv, meta, seeds: Seeds, complete, cap, run_id):
    line_rows, summary_rows = [], []
    for grain, periods in complete.items():
        for start, end in periods:
            for (card, unit), weights in sorted(seeds.weights_on(end).items()):
                rows, lines = [], []
                for w in weights:
                    info = meta[w.metric_name]
                    target = seeds.target_for(w.metric_name, unit, grain, start, end)
                    actual = mv.actual(w.metric_name, unit, grain, start)
                    value = (
                        None
                        if target is None
                        else scoring.score(
                            actual, target.floor, target.target, target.stretch, info["direction"], cap
                        )
                    )
                    lines.append(scoring.Line(w.metric_name, info["perspective"], w.weight_pct / 100, value))
                    rows.append(
                        {
                            "scorecard": card,
                            "org_unit": unit,
                            "grain": grain,
                            "period_start": start,
                            "period_label": mv.labels[(grain, start)],
                            "metric_name": w.metric_name,
                            "perspective": info["perspective"],
                            "direction": info["direction"],
                            "weight": w.weight_pct / 100,
                            "status": "scored" if value is not None else "missing",
                            "actual": actual,
                            "target": target and target.target,
                            "floor": target and target.floor,
                            "stretch": target and target.stretch,
                            "target_version": target and target.version,
                            "attainment": target
                            and scoring.attainment(actual, target.target, info["direction"]),
                            "score": value,
                        }
                    )
                totals = scoring.totals(lines)
                for row, eff, weighted in zip(
                    rows, totals.effective_weights, totals.weighted_scores, strict=True
                ):
                    row.update(effective_weight=eff, weighted_score=weighted, run_id=run_id)
                line_rows += rows
                summary_rows.append(
                    {
                        "scorecard": card,
                        "org_unit": unit,
                        "grain": grain,
                        "period_start": start,
                        "period_label": mv.labels[(grain, start)],
                        "total_score": totals.total_score,
                        "result_score": totals.result_score,
                        "process_score": totals.process_score,
                        "coverage": totals.coverage,
                        "lines": len(lines),
                        "missing_lines": sum(line.score is None for line in lines),
                        "run_id": run_id,
                    }
                )
    return (
        pd.DataFrame(line_rows, columns=LINE_COLUMNS).astype({"target_version": "Int64"}),
        pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS),
    )


def _attribution(mv: MetricValues, meta, run_id, recompute_from: date | None = None) -> pd.DataFrame:
    rows = []
    for name, info in sorted(meta.items()):
        text = info.get("driver_formula")
        if not text:
            continue
        formula = attribution.parse_formula(text)
        for grain in SCORED_GRAINS:
            done = set(mv.periods(grain, complete=True))
            for start in sorted(done):
                if recompute_from is not None and start < recompute_from:
                    continue
                for comparison, months_back in COMPARISONS.items():
                    earlier = forecast.add_months(start, -(months_back or MONTHS_PER[grain]))
                    if earlier not in done:  # incomplete or absent: never compared
                        continue
                    old = {d: mv.actual(d, "Company", grain, earlier) for d in formula.drivers}
                    new = {d: mv.actual(d, "Company", grain, start) for d in formula.drivers}
                    if any(v is None for v in [*old.values(), *new.values()]):
                        continue
                    result = attribution.attribute(formula, old, new)
                    if result is None:
                        continue
                    for driver, contribution in result.contributions.items():
                        rows.append(
                            {
                                "metric_name": name,
                                "driver_metric": driver,
                                "grain": grain,
                                "period_start": start,
                                "period_label": mv.labels[(grain, start)],
                                "comparison": comparison,
                                "comparison_period_start": earlier,
                                "metric_value": mv.actual(name, "Company", grain, start),
                                "comparison_value": mv.actual(name, "Company", grain, earlier),
                                "change": result.change,
                                "driver_value": new[driver],
                                "driver_comparison_value": old[driver],
                                "contribution": contribution,
                                "method": result.method,
                                "driver_formula": text,
                                "run_id": run_id,
                            }
                        )
    return pd.DataFrame(rows, columns=ATTRIBUTION_COLUMNS)


def _associations(mv: MetricValues, meta, run_id) -> pd.DataFrame:
    rows = []
    for name, info in sorted(meta.items()):
        if info.get("driver_formula"):
            continue  # arithmetic: attributed exactly, not associated
        for driver in info["drivers"]:
            if driver not in meta:
                continue
            for grain in ("month", "quarter"):
                periods = mv.periods(grain, complete=True)
                xs = [mv.actual(driver, "Company", grain, p) for p in periods]
                ys = [mv.actual(name, "Company", grain, p) for p in periods]
                first = next(
                    (
                        i
                        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
                        if x is not None and y is not None
                    ),
                    None,
                )
                if first is None:
                    continue
                xs = [math.nan if v is None else v for v in xs[first:]]
                ys = [math.nan if v is None else v for v in ys[first:]]
                for found in associations.lagged_associations(
                    xs, ys, max_lag=3, warm_up_periods=PERIODS_PER_YEAR[grain]
                ):
                    rows.append(
                        {
                            "metric_name": name,
                            "driver_metric": driver,
                            "grain": grain,
                            "lag_periods": found.lag_periods,
                            "n": found.n,
                            "estimate": found.estimate,
                            "ci_low": found.ci_low,
                            "ci_high": found.ci_high,
                            "relation": "association",
                            "method": associations.METHOD,
                            "run_id": run_id,
                        }
                    )
    return pd.DataFrame(rows, columns=ASSOCIATION_COLUMNS)


def _forecast(
    mv: MetricValues, meta, seeds: Seeds, as_of: date, cap, run_id, additive_metrics
) -> pd.DataFrame:
    rows = []
    for grain in SCORED_GRAINS:
        for start in mv.periods(grain, complete=False):
            end = period_end(grain, start)
            if end <= as_of:  # over, incomplete only because a company's data ends inside it
                continue
            seen = set()
            for (_card, unit), weights in sorted(seeds.weights_on(end).items()):
                for w in weights:
                    if (w.metric_name, unit) in seen:
                        continue
                    seen.add((w.metric_name, unit))
                    direction = meta[w.metric_name]["direction"]
                    monthly = mv.series(w.metric_name, "month", unit)
                    additive = w.metric_name in additive_metrics
                    projection = forecast.project(
                        monthly,
                        start,
                        MONTHS_PER[grain],
                        as_of,
                        additive,
                        period_to_date=mv.actual(w.metric_name, unit, grain, start),
                    )
                    target = seeds.target_for(w.metric_name, unit, grain, start, end)
                    projected = projection.projected_value
                    at_risk = None
                    if target is not None and projected is not None:
                        at_risk = (
                            projected > target.target
                            if direction == "lower_is_better"
                            else projected < target.target
                        )
                    rows.append(
                        {
                            "metric_name": w.metric_name,
                            "org_unit": unit,
                            "grain": grain,
                            "period_start": start,
                            "period_label": mv.labels[(grain, start)],
                            "as_of": as_of,
                            "actual_to_date": mv.actual(w.metric_name, unit, grain, start),
                            "projected_value": projected,
                            "target": target and target.target,
                            "floor": target and target.floor,
                            "stretch": target and target.stretch,
                            "projected_attainment": target
                            and scoring.attainment(projected, target.target, direction),
                            "projected_score": target
                            and scoring.score(
                                projected, target.floor, target.target, target.stretch, direction, cap
                            ),
                            "at_risk": at_risk,
                            "direction": direction,
                            "method": forecast.METHOD
                            + (" (additive flow: sum)" if additive else " (day-weighted mean)"),
                            "run_id": run_id,
                        }
                    )
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


# the tables `run` keeps the earlier periods of in an incremental run, and their date columns
KEPT_BY_PERIOD = {
    "scorecard_lines": ("period_start",),
    "scorecard_summary": ("period_start",),
    "driver_attribution": ("period_start", "comparison_period_start"),
}


def _earlier_periods(con, keep_before: date, run_id: str) -> dict[str, pd.DataFrame] | None:
    """The rows of the periods before `keep_before` of each KEPT_BY_PERIOD table, stamped with
    `run_id`; None (compute everything) when one of the tables is not there."""
    kept = {}
    for name, date_columns in KEPT_BY_PERIOD.items():
        relation = contract.TABLES[name].build_relation
        try:
            rows = con.execute(f"select * from {relation} where period_start < ?", [keep_before]).df()
        except duckdb.CatalogException:
            return None
        for column in date_columns:
            rows[column] = pd.to_datetime(rows[column]).dt.date
        kept[name] = rows.assign(run_id=run_id)
    return kept


def additive_flows(project_dir: Path) -> set[str]:
    """Published simple metrics over a sum or count measure (their period value is the sum of its
    months), from the semantic manifest."""
    catalog = load_catalog(project_dir)
    found = set()
    for m in catalog.metrics.values():
        if m.metric_type == "simple" and m.measure in catalog.measures:
            measure = catalog.measures[m.measure]
            if measure.window_choice is None and measure.agg in ("sum", "count", "count_distinct"):
                found.add(m.name)
    return found


TABLES = contract.names(written_by=contract.SCORECARD_STEP)  # the five tables this step writes


def _drop_tables(database) -> None:
    with duckdb.connect(str(database)) as con:
        for name in TABLES:
            con.execute(f"drop table if exists {contract.TABLES[name].build_relation}")


def _org_units(project_dir: Path) -> set[str] | None:
    path = project_dir / "seeds" / "org_units.csv"
    if not path.exists():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["org_unit"] for row in csv.DictReader(handle)}


def run(
    settings,
    run_id: str,
    progress: Callable[[str], None] = lambda _m: None,
    seeds_dir: Path | None = None,
    cap: float = scoring.DEFAULT_CAP,
    keep_before: date | None = None,
) -> ScorecardResult:
    """Score the build warehouse of `settings` and write the five tables into schema `metrics`.

    `keep_before` (an incremental run whose metric exports kept the values of the periods before
    that day, finkpi.metrics.export_scope): the scorecards and attributions of those periods are
    kept from the tables the build warehouse holds (their values, targets and weights did not
    change: a changed seed makes the run a full one, finkpi/incremental.py), stamped with this
    run; the later periods, the associations (they correlate every period) and the forecasts are
    computed."""
    started = time.perf_counter()
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        values = con.execute("select * from metrics.metric_values").df()
        catalog = con.execute("select * from metrics.metric_catalog").df()
        kept = _earlier_periods(con, keep_before, run_id) if keep_before else None
    try:
        seeds = load_seeds(seeds_dir or settings.project_dir / "seeds" / "targets")
    except TargetsError as exc:
        raise ScorecardError(str(exc)) from None
    as_of = date.fromisoformat(settings.dbt_vars()["as_of_date"])
    calendars = {t.fiscal_year_start_month for t in seeds.targets}
    seeds = seeds.for_calendar(settings.fiscal_year_start_month)
    if not seeds.targets:
        # targets are set against one fiscal calendar; scoring another calendar's periods against
        # them would be wrong, so nothing is scored (and no stale scores are left behind)
        _drop_tables(settings.build_database)
        progress(
            f"  warning: scorecards skipped: the targets in seeds/targets are set for fiscal years starting"
            f" in month(s) {sorted(calendars)}, this run's fiscal year starts in month"
            f" {settings.fiscal_year_start_month}"
        )
        return ScorecardResult(tables={}, seconds=time.perf_counter() - started, notes=["skipped"])
    tables = compute(
        values,
        catalog,
        seeds,
        as_of,
        run_id,
        cap=cap,
        org_units=_org_units(settings.project_dir),
        additive_metrics=additive_flows(settings.project_dir),
        recompute_from=keep_before if kept is not None else None,
    )
    for name, rows in (kept or {}).items():
        tables[name] = pd.concat([rows, tables[name]], ignore_index=True) if len(tables[name]) else rows
    write_tables(settings.build_database, tables)
    result = ScorecardResult(tables=tables, seconds=time.perf_counter() - started)
    for name, frame in tables.items():
        progress(f"  metrics.{name}: {len(frame):,} rows")
    return result

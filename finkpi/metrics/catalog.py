"""The metric catalog: every metric's definition and governance metadata, read from the semantic
manifest that `dbt parse` writes (target/semantic_manifest.json), plus the few metrics finkpi
computes from exported period totals (computed.py). One place answers "what is metric X"."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from finkpi.metrics.computed import COMPUTED_METRICS
from finkpi.metrics.definition import MetricDefinition

PERSPECTIVES = {"financial", "customer", "process", "learning"}
UNITS = {"currency", "ratio", "days", "count", "hours", "per_100"}
DIRECTIONS = {"higher_is_better", "lower_is_better"}


@dataclass(frozen=True)
class Measure:
    name: str
    semantic_model: str
    agg: str
    expr: str | None
    window_choice: str | None  # "max"/"min" for balances (semi-additive), None for flows
    agg_time_dimension: str | None = None  # the date it is counted by (the model's default if unset)


@dataclass
class Catalog:
    metrics: dict[str, MetricDefinition]
    measures: dict[str, Measure] = field(default_factory=dict)

    @property
    def published(self) -> list[MetricDefinition]:
        return [m for m in self.metrics.values() if m.published]

    def __getitem__(self, name: str) -> MetricDefinition:
        return self.metrics[name]

    def leaves(self, name: str) -> dict[str, Measure]:
        """The simple metrics (and their measures) a metric is computed from, recursively."""
        metric = self.metrics[name]
        if metric.metric_type == "simple":
            return {name: self.measures[metric.measure]}
        found: dict[str, Measure] = {}
        for input_name, _alias in metric.inputs:
            found.update(self.leaves(input_name))
        return found

    def sums_up(self, name: str) -> bool:
        """True when a metric's value for a period and a slice follows from its leaves' values for
        the months and finer slices within it: every leaf a sum or count of a flow (no month-end
        balance, distinct count or average) and nothing that depends on the period (a filter, an
        offset, a window); its own expression is then evaluated on the summed leaves."""
        metric = self.metrics[name]
        if metric.period_dependent:
            return False
        if metric.metric_type == "simple":
            measure = self.measures[metric.measure]
            return measure.window_choice is None and measure.agg in ("sum", "count")
        if metric.metric_type == "derived":
            return all(self.sums_up(input_name) for input_name, _alias in metric.inputs)
        return False

    def depends_on_balances(self, name: str) -> bool:
        """True when a metric uses a month-end balance (a semi-additive measure)."""
        return any(measure.window_choice for measure in self.leaves(name).values())


def load_catalog(project_dir: Path) -> Catalog:
    path = project_dir / "target" / "semantic_manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `finkpi build` (or `finkpi dbt parse`) first")
    manifest = json.loads(path.read_text())
    measures = {}
    for model in manifest["semantic_models"]:
        default_time = (model.get("defaults") or {}).get("agg_time_dimension")
        for measure in model.get("measures", []):
            non_additive = measure.get("non_additive_dimension")
            measures[measure["name"]] = Measure(
                name=measure["name"],
                semantic_model=model["name"],
                agg=measure["agg"],
                expr=measure.get("expr"),
                window_choice=non_additive["window_choice"] if non_additive else None,
                agg_time_dimension=measure.get("agg_time_dimension") or default_time,
            )
    metrics: dict[str, MetricDefinition] = {}
    for metric in manifest["metrics"]:
        params = metric["type_params"]
        inputs = tuple((m["name"], m.get("alias") or m["name"]) for m in params.get("metrics") or [])
        measure_input = params.get("measure") or {}
        measure = measure_input.get("name")
        period_dependent = bool(
            metric.get("filter")
            or metric.get("time_granularity")
            or measure_input.get("filter")
            or measure_input.get("join_to_timespine")
            or params.get("join_to_timespine")
            or params.get("window")
            or params.get("grain_to_date")
            or metric["type"] not in ("simple", "derived")
            or any(
                m.get("filter") or m.get("offset_window") or m.get("offset_to_grain")
                for m in params.get("metrics") or []
            )
        )
        metrics[metric["name"]] = MetricDefinition(
            name=metric["name"],
            label=metric.get("label") or metric["name"],
            description=metric.get("description") or "",
            metric_type=metric["type"],
            meta=dict((metric.get("config") or {}).get("meta") or {}),
            expr=params.get("expr"),
            inputs=inputs,
            measure=measure,
            fill_nulls_with=measure_input.get("fill_nulls_with"),
            period_dependent=period_dependent,
        )
    for computed in COMPUTED_METRICS:
        metrics[computed.name] = computed
    return Catalog(metrics=metrics, measures=measures)

"""One metric's definition, the shape the catalog (catalog.py) reads from the semantic manifest and
computed.py declares for the metrics finkpi computes itself. Its own module so that both can import
it at the top without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

META_KEYS = (
    "owner",
    "department",
    "perspective",
    "unit",
    "direction",
    "drivers",
    "driver_formula",
    "certified",
)


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    label: str
    description: str
    metric_type: str  # simple | derived | ratio | computed
    meta: dict
    expr: str | None = None  # derived: the expression over its inputs
    inputs: tuple[tuple[str, str], ...] = ()  # derived: (input metric, alias used in expr)
    measure: str | None = None  # simple: the measure
    computed_sql: str | None = None  # computed by finkpi (SQL over metric_values)
    base_metric: str | None = None  # computed: the metric it is computed from
    fill_nulls_with: float | None = None  # simple: its value where the measure has no rows
    # a filter, an offset, a window or a join to the time spine on it or its inputs: what it
    # says about a period depends on the grain, so it is never summed up from finer periods
    period_dependent: bool = False

    @property
    def published(self) -> bool:
        return bool(self.meta.get("published", True))

    @property
    def is_computed(self) -> bool:
        return self.metric_type == "computed"

    def __getattr__(self, key):  # meta fields as attributes: definition.owner, .unit, ...
        if key in META_KEYS:
            return self.meta.get(key)
        raise AttributeError(key)

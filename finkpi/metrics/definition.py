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

# What a published metric counts, beside its prose description (issue #16): the fields an outside
# reader recomputes a value from, each a text in the metric's `config.meta`. They are part of what a
# sign-off certifies (certification.py) and `finkpi metrics check` refuses a published metric that
# leaves one empty (governance.py).
DEFINITION_FIELDS = ("source_documents", "period_date", "includes", "excludes", "rounding", "slice_behavior")

# The slices every metric is published by where its facts reach them (finkpi.metrics.exports)
DIMENSIONS = ("department", "region", "product_category", "customer_segment", "company_code", "source_system")
# slice_behavior is a mapping: a dimension of DIMENSIONS (or ALL_SLICES: every dimension not named)
# -> "<kind>: <how records fall into its values>", the kind one of SLICE_KINDS
ALL_SLICES = "all"
SLICE_KINDS = {
    "additive": "each record falls in exactly one slice value: the slice values sum to the total",
    "distinct_count": "a counted thing counts once in every slice value it touches: the slice values may"
    " sum to more than the total",
    "allocated": "a record's amount is spread over slice values by a stated rule: the slice values sum to"
    " the total",
    "balance": "a balance at the period end per slice value: the slice values sum to the total; periods"
    " do not sum",
    "ratio": "the ratio of the slice value's own numerator and denominator: slice values neither sum nor"
    " average to the total",
    "average": "the mean over the slice value's own records: slice values do not sum to the total",
    "not_sliced": "not published by this dimension",
}


@dataclass(frozen=True)
class SliceBehavior:
    dimension: str  # one of DIMENSIONS, or ALL_SLICES
    kind: str  # one of SLICE_KINDS
    explanation: str

    def __str__(self) -> str:
        return f"{self.dimension}: {self.kind}: {self.explanation}"


def slice_behaviors(value) -> list[SliceBehavior]:
    """The slice_behavior meta as written ({dimension: "kind: explanation"}), in its order; a kind
    not in SLICE_KINDS is kept as written (governance.check_catalog names it)."""
    if not isinstance(value, dict):
        return []
    found = []
    for dimension, text in value.items():
        kind, _, explanation = str(text or "").partition(":")
        found.append(SliceBehavior(str(dimension), kind.strip(), " ".join(explanation.split())))
    return found


def slice_behavior_text(value) -> str:
    """slice_behavior as published (metric_catalog, the report, docs): one line per entry."""
    return "\n".join(str(behavior) for behavior in slice_behaviors(value))


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
    def withholds_undefined_slices(self) -> bool:
        """A slice value where the metric is NULL in every period is not published (it has no
        meaning there, e.g. inventory turnover of a raw-material category: no cost of goods sold)."""
        return bool(self.meta.get("withhold_undefined_slices"))

    @property
    def is_computed(self) -> bool:
        return self.metric_type == "computed"

    def definition_fields(self) -> dict[str, str]:
        """DEFINITION_FIELDS as published: texts with blanks normalized, slice_behavior one line
        per entry (slice_behavior_text); a missing field is an empty text."""
        fields = {}
        for key in DEFINITION_FIELDS:
            value = self.meta.get(key)
            if key == "slice_behavior":
                fields[key] = slice_behavior_text(value)
            else:
                fields[key] = " ".join(str(value).split()) if value is not None else ""
        return fields

    def __getattr__(self, key):  # meta fields as attributes: definition.owner, .unit, ...
        if key in META_KEYS:
            return self.meta.get(key)
        raise AttributeError(key)

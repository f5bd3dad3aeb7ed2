"""Declared column lineage of the tables the scorecard step writes (finkpi/scorecards/run.py).

Those tables are written by Python, not dbt, so sqlglot cannot read their lineage: it is declared
here, on the lineage floor, where the published lineage (published.py) and the OpenLineage events
read it without importing the scorecard step (which itself depends on the metric exports, and those
on the lineage: see tests/test_layering.py). tests/lineage/test_scorecard_lineage.py checks that
every table and column the step writes is declared here.
"""

from __future__ import annotations

from dataclasses import dataclass


# For `finkpi lineage` and the OpenLineage events: each column -> the columns its values come from
# (projection lineage, as for the dbt models; join keys not listed). `metrics.metric_values.value`
# means the value of the row's own metric (`metric_name`), or of its driver (`driver_metric`) where
# `of` says so; the chain then continues through that metric's definition down to the raw files.
# Seeds are the governed files in seeds/targets/. A column with no upstream is stamped by the run.
@dataclass(frozen=True)
class Upstream:
    relation: str  # metrics.metric_values | metrics.metric_catalog | seeds.scorecard_targets | ...
    column: str
    of: str = "metric_name"  # for metric_values.value: which metric's value (metric_name | driver_metric)


_MV, _CATALOG = "metrics.metric_values", "metrics.metric_catalog"
_TARGETS, _WEIGHTS = "seeds.scorecard_targets", "seeds.scorecard_weights"
_VALUE = Upstream(_MV, "value")
_DRIVER_VALUE = Upstream(_MV, "value", of="driver_metric")
_THRESHOLDS = (Upstream(_TARGETS, "floor"), Upstream(_TARGETS, "target"), Upstream(_TARGETS, "stretch"))
_DIRECTION = Upstream(_CATALOG, "direction")
_PERIOD = {
    "grain": (Upstream(_MV, "grain"),),
    "period_start": (Upstream(_MV, "period_start"),),
    "period_label": (Upstream(_MV, "period_label"),),
}
_SCORE = (_VALUE, *_THRESHOLDS, _DIRECTION)

COLUMN_LINEAGE: dict[str, dict[str, tuple[Upstream, ...]]] = {
    "scorecard_lines": {
        "scorecard": (Upstream(_WEIGHTS, "scorecard"),),
        "org_unit": (Upstream(_WEIGHTS, "org_unit"),),
        **_PERIOD,
        "metric_name": (Upstream(_WEIGHTS, "metric_name"),),
        "perspective": (Upstream(_CATALOG, "perspective"),),
        "direction": (_DIRECTION,),
        "weight": (Upstream(_WEIGHTS, "weight_pct"),),
        # renormalized over the lines that could be scored
        "effective_weight": (Upstream(_WEIGHTS, "weight_pct"), _VALUE, Upstream(_TARGETS, "target")),
        "status": (_VALUE, Upstream(_TARGETS, "target")),
        "actual": (_VALUE,),
        "target": (Upstream(_TARGETS, "target"),),
        "floor": (Upstream(_TARGETS, "floor"),),
        "stretch": (Upstream(_TARGETS, "stretch"),),
        "target_version": (Upstream(_TARGETS, "version"),),
        "attainment": (_VALUE, Upstream(_TARGETS, "target"), _DIRECTION),
        "score": _SCORE,
        "weighted_score": (*_SCORE, Upstream(_WEIGHTS, "weight_pct")),
        "run_id": (),
    },
    "scorecard_summary": {
        "scorecard": (Upstream(_WEIGHTS, "scorecard"),),
        "org_unit": (Upstream(_WEIGHTS, "org_unit"),),
        **_PERIOD,
        "total_score": (*_SCORE, Upstream(_WEIGHTS, "weight_pct")),
        "result_score": (*_SCORE, Upstream(_WEIGHTS, "weight_pct"), Upstream(_CATALOG, "perspective")),
        "process_score": (*_SCORE, Upstream(_WEIGHTS, "weight_pct"), Upstream(_CATALOG, "perspective")),
        "coverage": (Upstream(_WEIGHTS, "weight_pct"), _VALUE, Upstream(_TARGETS, "target")),
        "lines": (Upstream(_WEIGHTS, "metric_name"),),
        "missing_lines": (_VALUE, Upstream(_TARGETS, "target")),
        "run_id": (),
    },
    "driver_attribution": {
        "metric_name": (Upstream(_CATALOG, "metric_name"),),
        "driver_metric": (Upstream(_CATALOG, "driver_formula"),),
        **_PERIOD,
        "comparison": (),  # previous_period | same_period_last_year: the two comparisons made
        "comparison_period_start": (Upstream(_MV, "period_start"),),
        "metric_value": (_VALUE,),
        "comparison_value": (_VALUE,),
        "change": (_VALUE,),
        "driver_value": (_DRIVER_VALUE,),
        "driver_comparison_value": (_DRIVER_VALUE,),
        "contribution": (_DRIVER_VALUE, Upstream(_CATALOG, "driver_formula")),
        "method": (_DRIVER_VALUE, Upstream(_CATALOG, "driver_formula")),
        "driver_formula": (Upstream(_CATALOG, "driver_formula"),),
        "run_id": (),
    },
    "driver_associations": {
        "metric_name": (Upstream(_CATALOG, "metric_name"),),
        "driver_metric": (Upstream(_CATALOG, "drivers"),),
        "grain": (Upstream(_MV, "grain"),),
        "lag_periods": (),
        "n": (_VALUE, _DRIVER_VALUE),
        "estimate": (_VALUE, _DRIVER_VALUE),
        "ci_low": (_VALUE, _DRIVER_VALUE),
        "ci_high": (_VALUE, _DRIVER_VALUE),
        "relation": (),
        "method": (),
        "run_id": (),
    },
    "metric_forecast": {
        "metric_name": (Upstream(_WEIGHTS, "metric_name"),),
        "org_unit": (Upstream(_WEIGHTS, "org_unit"),),
        **_PERIOD,
        "as_of": (),  # the run's as_of_date
        "actual_to_date": (_VALUE,),
        "projected_value": (_VALUE,),
        "target": (Upstream(_TARGETS, "target"),),
        "floor": (Upstream(_TARGETS, "floor"),),
        "stretch": (Upstream(_TARGETS, "stretch"),),
        "projected_attainment": (_VALUE, Upstream(_TARGETS, "target"), _DIRECTION),
        "projected_score": _SCORE,
        "at_risk": (_VALUE, Upstream(_TARGETS, "target"), _DIRECTION),
        "direction": (_DIRECTION,),
        "method": (),
        "run_id": (),
    },
}

"""Metrics finkpi computes from exported period totals rather than through MetricFlow.

Year-on-year growth is one: MetricFlow's offset windows on these pins miscount around 29 February
and at fiscal grains (TOOLCHAIN-NOTES), while comparing two exported period totals whose period
starts are one year apart is exact at every grain. The SQL below is the definition itself: the
export runs it over `metric_values`, and its normalized form is what the definition hash covers.
"""

from __future__ import annotations

from finkpi.metrics.definition import MetricDefinition

YOY_GROWTH_SQL = """
select
    'revenue_growth_yoy' as metric_name,
    current_period.grain,
    current_period.period_start,
    current_period.dimension,
    current_period.dimension_value,
    case
        when current_period.is_complete and earlier_period.is_complete
            then current_period.value / nullif(earlier_period.value, 0) - 1
    end as value
from metric_values as current_period
left join metric_values as earlier_period
    on earlier_period.metric_name = current_period.metric_name
    and earlier_period.grain = current_period.grain
    and earlier_period.dimension = current_period.dimension
    and earlier_period.dimension_value = current_period.dimension_value
    and earlier_period.period_start = current_period.period_start - interval 1 year
where current_period.metric_name = 'revenue'
"""

COMPUTED_METRICS = [
    MetricDefinition(
        name="revenue_growth_yoy",
        label="Revenue growth year on year",
        description=(
            "Revenue / revenue of the same period one year earlier - 1, from the exported period totals "
            "(the period starting one year earlier at the same grain; not a day-level offset, so 29 February "
            "and fiscal grains are exact). NULL when either period is incomplete or the earlier revenue "
            "is zero."
        ),
        metric_type="computed",
        meta={
            "owner": "CFO",
            "department": "Sales",
            "perspective": "financial",
            "unit": "ratio",
            "direction": "higher_is_better",
            "drivers": ["revenue"],
            "driver_formula": None,
            "certified": True,
            "published": True,
            "source_documents": (
                "the exported revenue values (metric_values of revenue): ERP invoice headers and lines "
                "(erp invoices.csv, invoice_lines.csv) and ERP credit notes (credit_notes.csv), each "
                "credit note spread over the lines of the invoice it credits "
                "(int_credit_note_lines_allocated); rates from exchange_rates.csv"
            ),
            "period_date": (
                "revenue's dates (invoice date; credit-note date); compares the period with the period of "
                "the same grain starting one year earlier"
            ),
            "includes": (
                "revenue / revenue of the same period one year earlier - 1, for the same slice value"
            ),
            "excludes": (
                "periods where either period is incomplete, or with no revenue one year earlier (NULL)"
            ),
            "rounding": ("both revenues are exact cent sums; the ratio is not rounded"),
            "slice_behavior": {
                "all": (
                    "ratio: the slice value's revenue / its own revenue one year earlier - 1 (revenue's "
                    "slices: credit notes allocated to product categories pro rata)"
                ),
            },
        },
        computed_sql=YOY_GROWTH_SQL,
        base_metric="revenue",
    )
]

"""Draft targets and weights for the bundled sample company (how `seeds/targets/` was made).

A real company keeps these by hand (budget, reforecasts); for the sample we draft a plausible plan
from the history once and commit it as seeds: each target is the period's outcome moved by a
deterministic "planning error" (seed 7, sd 5%, slightly ambitious), floors 10% and stretches 5%
(of the target's size) on the metric's own side; open and future periods are planned from the same
period a year earlier. Run: `python -m finkpi.scorecards.draft <build warehouse> <out dir>`.
"""

from __future__ import annotations

import csv
import math
import sys
from datetime import date
from pathlib import Path

import numpy as np

from finkpi.scorecards.forecast import add_months

# scorecard, org unit -> [(from, to, {metric: weight %})]
OPEN = "9999-12-31"
WEIGHTS = {
    ("department", "Sales"): [
        ("2023-01-01", "2025-01-01", {"revenue": 30, "order_intake": 25, "new_customers": 15,
                                      "repeat_purchase_rate": 15, "win_rate": 15}),
        ("2025-01-01", OPEN, {"revenue": 25, "order_intake": 20, "new_customers": 15,
                              "repeat_purchase_rate": 25, "win_rate": 15}),
    ],
    ("department", "Procurement"): [
        ("2023-01-01", OPEN, {"purchase_price_variance": 35, "supplier_on_time_rate": 40,
                              "operating_expense": 25}),
    ],
    ("department", "Production"): [
        ("2023-01-01", OPEN, {"unit_production_cost": 35, "scrap_rate": 40, "gross_margin_pct": 25}),
    ],
    ("department", "Logistics"): [
        ("2023-01-01", "2025-01-01", {"on_time_delivery_rate": 40, "otif_rate": 20, "dio": 20,
                                      "operating_expense": 20}),
        ("2025-01-01", OPEN, {"on_time_delivery_rate": 45, "otif_rate": 25, "dio": 15,
                              "operating_expense": 15}),
    ],
    ("department", "Customer Service"): [
        ("2023-01-01", OPEN, {"complaint_rate": 40, "avg_first_response_hours": 20,
                              "avg_resolution_hours": 20, "operating_expense": 20}),
    ],
    ("department", "Finance"): [
        ("2023-01-01", OPEN, {"dso": 25, "overdue_ar_ratio": 20, "cost_ratio": 20, "ar_collection_rate": 20,
                              "operating_expense": 15}),
    ],
    ("company", "Company"): [
        ("2023-01-01", "2025-01-01", {"revenue": 20, "gross_margin_pct": 15, "operating_margin_pct": 15,
                                      "net_operating_cash_flow": 10, "on_time_delivery_rate": 15,
                                      "complaint_rate": 10, "repeat_purchase_rate": 15}),
        ("2025-01-01", OPEN, {"revenue": 20, "gross_margin_pct": 15, "operating_margin_pct": 20,
                              "net_operating_cash_flow": 10, "on_time_delivery_rate": 15,
                              "complaint_rate": 10, "repeat_purchase_rate": 10}),
    ],
}  # fmt: skip
MONTHS = {"month": 1, "quarter": 3, "year": 12}
LAST_PLANNED = date(2025, 12, 31)


def _round(value: float, digits: int = 4) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    return round(value, -int(math.floor(math.log10(abs(value)))) + digits - 1)


def draft(database: Path, out: Path) -> None:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        values = con.execute(
            "select metric_name, grain, dimension, dimension_value, period_start, is_complete, value"
            " from metrics.metric_values where dimension in ('total', 'department')"
        ).df()
        catalog = con.execute("select metric_name, direction from metrics.metric_catalog").df()
    direction = dict(zip(catalog["metric_name"], catalog["direction"], strict=True))
    by_department = set(values.loc[values["dimension"] == "department", "metric_name"])
    lookup = {
        (m, g, d, v, p.date() if hasattr(p, "date") else p): (x, c)
        for m, g, d, v, p, c, x in values.itertuples(index=False)
    }
    rng = np.random.Generator(np.random.PCG64(7))
    out.mkdir(parents=True, exist_ok=True)
    with (out / "scorecard_weights.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["scorecard", "org_unit", "metric_name", "weight_pct", "effective_from", "effective_to"]
        )
        for (card, unit), versions in WEIGHTS.items():
            for start, end, weights in versions:
                for metric, weight in weights.items():
                    writer.writerow([card, unit, metric, weight, start, end])
    rows = []
    for (_card, unit), versions in WEIGHTS.items():
        metrics = dict.fromkeys(m for _s, _e, w in versions for m in w)
        for metric in metrics:
            dim, dim_value = (
                ("department", unit) if metric in by_department and unit != "Company" else ("total", "all")
            )
            lower = direction[metric] == "lower_is_better"
            for grain, months in MONTHS.items():
                start = date(2023, 1, 1)
                while start <= LAST_PLANNED:
                    value, complete = lookup.get((metric, grain, dim, dim_value, start), (None, False))
                    if not complete or value is None or math.isnan(value):
                        earlier = lookup.get(
                            (metric, grain, dim, dim_value, add_months(start, -12)), (None, False)
                        )
                        value = earlier[0]
                    if value is None or math.isnan(value):
                        start = add_months(start, months)
                        continue
                    error = rng.normal(0.01, 0.05)
                    size = abs(value)
                    target = value + (-1 if lower else 1) * error * size
                    if direction[metric] == "higher_is_better" and 0 < value <= 1:
                        target = min(target, 0.995)
                    band = max(abs(target), 0.05 * size, 1e-6)
                    sign = -1 if lower else 1
                    floor, stretch = target - sign * 0.10 * band, target + sign * 0.05 * band
                    fy = start.year
                    thresholds = [_round(floor), _round(target), _round(stretch)]
                    budget = [1, f"CFO (budget FY{fy})", f"{fy - 1}-12-10", 1]
                    rows.append([metric, unit, grain, start.isoformat(), *thresholds, *budget])
                    start = add_months(start, months)
    with (out / "scorecard_targets.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["metric_name", "org_unit", "grain", "period_start", "floor", "target", "stretch",
                         "version", "approved_by", "approved_at", "fiscal_year_start_month"])  # fmt: skip
        writer.writerows(rows)
        # a mid-year reforecast (in force for 2025-Q3 and Q4) and a revision approved after its period
        # ended (not in force: FY2024-Q4 stays scored against the budget)
        for row in rows:
            if row[:3] == ["revenue", "Sales", "quarter"] and row[3] in ("2025-07-01", "2025-10-01"):
                scaled = [_round(v * 0.95) for v in row[4:7]]
                writer.writerow(
                    [*row[:4], *scaled, 2, "Management board (mid-year reforecast)", "2025-06-30", 1]
                )
            if row[:3] == ["revenue", "Sales", "quarter"] and row[3] == "2024-10-01":
                scaled = [_round(v * 0.9) for v in row[4:7]]
                writer.writerow(
                    [*row[:4], *scaled, 2, "CFO (late revision, after the quarter closed)", "2025-02-10", 1]
                )


if __name__ == "__main__":
    draft(Path(sys.argv[1]), Path(sys.argv[2]))

"""A readable scorecard for one org unit and period, with the reasons for its score: the largest
favourable and unfavourable driver contributions (exact attribution, where a metric has a
driver formula) and, for the other links, how the associated drivers moved (association only).
Reads the published tables of the build warehouse; computes nothing new."""

from __future__ import annotations

import duckdb
import pandas as pd

COMPARED = {"previous_period": "vs previous period", "same_period_last_year": "vs a year earlier"}


def _fmt(value, unit: str | None = None) -> str:
    if value is None or pd.isna(value):
        return "-"
    value = float(value)
    if unit == "ratio":
        return f"{value:.1%}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _query(con, sql: str, params) -> pd.DataFrame:
    return con.execute(sql, params).df()


def render_scorecard(database, org_unit: str, period_label: str, scorecard: str | None = None) -> str:
    with duckdb.connect(str(database), read_only=True) as con:
        summary = _query(
            con,
            "select * from metrics.scorecard_summary where org_unit = ? and period_label = ?",
            [org_unit, period_label],
        )
        units = {
            u for (u,) in con.execute("select distinct org_unit from metrics.scorecard_summary").fetchall()
        }
        if org_unit not in units:
            raise ValueError(f"no scorecard for org unit {org_unit!r}; known: {sorted(units)}")
        if scorecard:
            summary = summary[summary["scorecard"] == scorecard]
        catalog = _query(con, "select metric_name, unit, direction, label from metrics.metric_catalog", [])
        units_of = dict(zip(catalog["metric_name"], catalog["unit"], strict=True))
        if summary.empty:
            forecast = _query(
                con,
                "select * from metrics.metric_forecast where org_unit = ? and period_label = ?",
                [org_unit, period_label],
            )
            if forecast.empty:
                raise ValueError(f"no scored or open period {period_label!r} for {org_unit}")
            return _render_forecast(org_unit, period_label, forecast, units_of)
        head = summary.iloc[0]
        lines = _query(
            con,
            "select * from metrics.scorecard_lines where scorecard = ? and org_unit = ? and grain = ?"
            " and period_start = ? order by weight desc, metric_name",
            [head["scorecard"], org_unit, head["grain"], head["period_start"]],
        )
        attribution = _query(
            con,
            "select * from metrics.driver_attribution where grain = ? and period_start = ?",
            [head["grain"], head["period_start"]],
        )
        associations = _query(con, "select * from metrics.driver_associations where grain = 'month'", [])
        values = _query(
            con,
            "select metric_name, period_start, value from metrics.metric_values"
            " where grain = ? and dimension = 'total' and is_complete",
            [head["grain"]],
        )
    return _render(head, lines, attribution, associations, values, units_of)


def _render(head, lines, attribution, associations, values, units_of) -> str:
    out = [
        f"Scorecard {head['scorecard']} / {head['org_unit']} / {head['period_label']} ({head['grain']})",
        f"  total score {head['total_score']:.1f}   result (financial) {_fmt(head['result_score'])}"
        f"   process (customer, process, learning) {_fmt(head['process_score'])}"
        f"   coverage {head['coverage']:.0%}",
        "",
    ]
    table = pd.DataFrame(
        {
            "metric": lines["metric_name"],
            "perspective": lines["perspective"],
            "weight": [f"{w:.0%}" for w in lines["weight"]],
            "actual": [
                _fmt(v, units_of.get(m)) for v, m in zip(lines["actual"], lines["metric_name"], strict=True)
            ],
            "floor": [
                _fmt(v, units_of.get(m)) for v, m in zip(lines["floor"], lines["metric_name"], strict=True)
            ],
            "target": [
                _fmt(v, units_of.get(m)) for v, m in zip(lines["target"], lines["metric_name"], strict=True)
            ],
            "stretch": [
                _fmt(v, units_of.get(m)) for v, m in zip(lines["stretch"], lines["metric_name"], strict=True)
            ],
            "attainment": [_fmt(v, "ratio") for v in lines["attainment"]],
            "score": [
                "missing" if s == "missing" else f"{v:.1f}"
                for v, s in zip(lines["score"], lines["status"], strict=True)
            ],
        }
    )
    out += ["  " + row for row in table.to_string(index=False).splitlines()]
    out += ["", "Reasons (driver contributions to each metric's change; + helps the score, - hurts it):"]
    reasons = []
    for line in lines.itertuples():
        sign = -1.0 if line.direction == "lower_is_better" else 1.0
        found = attribution[attribution["metric_name"] == line.metric_name]
        for row in found.itertuples():
            reasons.append(
                (
                    sign * row.contribution / (abs(row.change) or 1.0),
                    f"{line.metric_name} {COMPARED[row.comparison]}"
                    f" ({row.method}): {row.driver_metric} contributed {_fmt(row.contribution, None)}"
                    f" of a change of {_fmt(row.change, None)}",
                )
            )
    if reasons:
        ordered = sorted(reasons, key=lambda r: r[0])
        positive = [text for score, text in reversed(ordered) if score > 0][:3]
        negative = [text for score, text in ordered if score < 0][:3]
        out += ["  largest positive:"] + [f"    + {t}" for t in positive or ["(none)"]]
        out += ["  largest negative:"] + [f"    - {t}" for t in negative or ["(none)"]]
    else:
        out.append("  (no metric on this scorecard has an exact driver formula)")
    notes = _associated_moves(head, lines, associations, values, units_of)
    if notes:
        out += ["", "Associated drivers (measured association over history, not attribution):"] + notes
    return "\n".join(out)


def _associated_moves(head, lines, associations, values, units_of) -> list[str]:
    values = values.assign(period_start=pd.to_datetime(values["period_start"]).dt.date)
    series = {(m, p): v for m, p, v in values.itertuples(index=False)}
    periods = sorted({p for _m, p in series})
    now = pd.to_datetime(head["period_start"]).date()
    previous = max((p for p in periods if p < now), default=None)
    notes = []
    for metric in lines["metric_name"]:
        found = associations[associations["metric_name"] == metric].dropna(subset=["estimate"])
        for driver, rows in found.groupby("driver_metric"):
            best = rows.loc[rows["estimate"].abs().idxmax()]
            new, old = series.get((driver, now)), series.get((driver, previous))
            moved = "-" if new is None or old is None else _fmt(new - old, units_of.get(driver))
            notes.append(
                f"  {metric} <- {driver}: moved {moved} vs previous period; r = {best['estimate']:+.2f}"
                f" [{_fmt(best['ci_low'])}, {_fmt(best['ci_high'])}] at lag {int(best['lag_periods'])}"
                f" month(s), n = {int(best['n'])}"
            )
    return notes


def _render_forecast(org_unit, period_label, forecast, units_of) -> str:
    out = [
        f"{org_unit} / {period_label} is still open (as of {pd.Timestamp(forecast['as_of'].iloc[0]).date()}):"
        " projected period end",
        "",
    ]
    table = pd.DataFrame(
        {
            "metric": forecast["metric_name"],
            "so far": [
                _fmt(v, units_of.get(m))
                for v, m in zip(forecast["actual_to_date"], forecast["metric_name"], strict=True)
            ],
            "projected": [
                _fmt(v, units_of.get(m))
                for v, m in zip(forecast["projected_value"], forecast["metric_name"], strict=True)
            ],
            "target": [
                _fmt(v, units_of.get(m))
                for v, m in zip(forecast["target"], forecast["metric_name"], strict=True)
            ],
            "at risk": ["yes" if r is True else "no" if r is False else "-" for r in forecast["at_risk"]],
        }
    )
    out += ["  " + row for row in table.to_string(index=False).splitlines()]
    return "\n".join(out)

"""Time per company: a company's periods end at its own as_of_date, and completeness is judged per
company (README, The metric layer).

The bundled build has two companies: the sample's DE01 (data 2023-01 to the global as_of,
2025-11-14) and the SAP company EPM1 (orders 2014 to 2022-01-06). The rule itself is checked on
hand-made rows first (finkpi.metrics.exports.completeness), then on the build against pandas over
the raw files (tests/metrics/reference.py, tests/sap/oracle.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from finkpi.metrics.exports import UNASSIGNED, completeness, slice_as_of_dates
from tests.metrics import reference as ref
from tests.sap import oracle

EPM1, DE01 = ref.SAP_COMPANY, ref.SAMPLE_COMPANY
SAP_FED = sorted(ref.SAP_FED_METRICS)


# --------------------------------------------------------------------------------------------------
# the rule, on hand-made rows: companies A (data ends 2024-03-10) and B (2024-06-15, the global date)

GLOBAL_AS_OF = date(2024, 6, 15)
COMPANIES = pd.DataFrame(
    {
        "company_code": ["A", "B"],
        "source_system": ["sap", "erp"],
        "as_of_date": [date(2024, 3, 10), GLOBAL_AS_OF],
    }
)
MONTHS = [date(2024, m, 1) for m in range(1, 7)]
PERIOD_ENDS = {
    ("month", m): (m.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1) for m in MONTHS
}
PERIOD_ENDS |= {
    ("quarter", date(2024, 1, 1)): date(2024, 3, 31),
    ("quarter", date(2024, 4, 1)): date(2024, 6, 30),
}


def _rows(metric: str, grain: str, dimension: str, value: str, starts: list[date]) -> list[dict]:
    return [
        {
            "metric_name": metric,
            "grain": grain,
            "period_start": s,
            "dimension": dimension,
            "dimension_value": value,
        }
        for s in starts
    ]


def _flags(rows: list[dict]) -> dict[tuple, bool]:
    frame = pd.DataFrame(rows)
    flags = completeness(frame, PERIOD_ENDS, GLOBAL_AS_OF, slice_as_of_dates(COMPANIES, GLOBAL_AS_OF))
    return {
        (r["metric_name"], r["grain"], r["dimension"], r["dimension_value"], r["period_start"]): f
        for r, f in zip(rows, flags, strict=True)
    }


def test_a_company_slice_is_complete_when_the_period_ends_by_its_own_as_of_date():
    flags = _flags(
        _rows("m", "month", "company_code", "A", MONTHS[:3])
        + _rows("m", "month", "company_code", "B", MONTHS)
        + _rows("m", "month", "source_system", "sap", MONTHS[:3])
    )
    assert [flags[("m", "month", "company_code", "A", m)] for m in MONTHS[:3]] == [True, True, False]
    assert [flags[("m", "month", "source_system", "sap", m)] for m in MONTHS[:3]] == [True, True, False]
    # B's data reaches 15 June: June is running
    assert [flags[("m", "month", "company_code", "B", m)] for m in MONTHS] == [True] * 5 + [False]


def test_a_total_is_complete_only_when_every_contributing_company_covers_the_period():
    rows = (
        _rows("m", "month", "company_code", "A", MONTHS[:3])
        + _rows("m", "month", "company_code", "B", MONTHS)
        + _rows("m", "month", "total", "all", MONTHS)
        + _rows("m", "month", "region", "DACH", MONTHS)
        + _rows("m", "month", "company_code", UNASSIGNED, MONTHS)
        + _rows("m", "quarter", "company_code", "A", [date(2024, 1, 1)])
        + _rows("m", "quarter", "company_code", "B", [date(2024, 1, 1), date(2024, 4, 1)])
        + _rows("m", "quarter", "total", "all", [date(2024, 1, 1), date(2024, 4, 1)])
    )
    flags = _flags(rows)
    # March: A and B both contribute, A's data ends on the 10th; April on: A ended before, B covers
    expected = [True, True, False, True, True, False]
    assert [flags[("m", "month", "total", "all", m)] for m in MONTHS] == expected
    assert [flags[("m", "month", "region", "DACH", m)] for m in MONTHS] == expected
    # rows of no known company could be any company's: judged like the total
    assert [flags[("m", "month", "company_code", UNASSIGNED, m)] for m in MONTHS] == expected
    assert flags[("m", "quarter", "total", "all", date(2024, 1, 1))] is False
    assert flags[("m", "quarter", "total", "all", date(2024, 4, 1))] is False  # running at 15 June


def test_a_company_without_data_for_a_metric_does_not_contribute_to_it():
    # n: only B has data, so A's end in March does not touch n's March total
    rows = _rows("n", "month", "company_code", "B", MONTHS) + _rows("n", "month", "total", "all", MONTHS)
    flags = _flags(rows)
    assert [flags[("n", "month", "total", "all", m)] for m in MONTHS] == [True] * 5 + [False]


def test_a_metric_without_company_slices_counts_every_company_as_contributing():
    flags = _flags(_rows("k", "month", "total", "all", MONTHS))
    assert [flags[("k", "month", "total", "all", m)] for m in MONTHS] == [
        True,
        True,
        False,
        True,
        True,
        False,
    ]


def test_company_dates_never_pass_the_global_one_and_must_be_known():
    later = COMPANIES.assign(as_of_date=[date(2024, 3, 10), date(2024, 9, 1)])
    assert slice_as_of_dates(later, GLOBAL_AS_OF)[("company_code", "B")] == GLOBAL_AS_OF
    unknown = COMPANIES.assign(as_of_date=[date(2024, 3, 10), None])
    with pytest.raises(ValueError, match=r"no as_of_date for \['B'\]"):
        slice_as_of_dates(unknown, GLOBAL_AS_OF)


# --------------------------------------------------------------------------------------------------
# the bundled build


def _series(metric_values, metric: str, grain: str, dimension: str, value: str) -> pd.DataFrame:
    rows = metric_values[
        (metric_values["metric_name"] == metric)
        & (metric_values["grain"] == grain)
        & (metric_values["dimension"] == dimension)
        & (metric_values["dimension_value"] == value)
    ].copy()
    rows["period_start"] = pd.to_datetime(rows["period_start"]).dt.date
    return rows.set_index("period_start").sort_index()


def _cents(value) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def sap_lines() -> pd.DataFrame:
    lines = oracle.sales_order_lines()
    return lines[~lines["is_cancelled"]]


def test_the_sap_company_publishes_nothing_after_its_own_as_of_date(metric_values, sap_lines):
    sap_as_of = ref.sap_as_of()
    assert sap_as_of == date(2022, 1, 6)
    own = metric_values[
        ((metric_values["dimension"] == "company_code") & (metric_values["dimension_value"] == EPM1))
        | ((metric_values["dimension"] == "source_system") & (metric_values["dimension_value"] == "sap"))
    ]
    starts = pd.to_datetime(own["period_start"]).dt.date
    late = own[starts > sap_as_of]
    assert late.empty, f"{len(late)} rows of {EPM1} after {sap_as_of}, e.g. {late.head(3).to_dict('records')}"
    # and every month series reaches its January 2022, no further: one row per month from the first
    # month with an order (pandas over the SAP files), gaps filled
    first = date.fromisoformat(sap_lines["day"].min()[:7] + "-01")
    months = pd.date_range(first, "2022-01-01", freq="MS").date.tolist()
    for metric in ("order_intake", "orders_booked"):
        assert _series(metric_values, metric, "month", "company_code", EPM1).index.tolist() == months, metric


def test_the_sap_company_s_last_month_is_incomplete_and_earlier_ones_complete(metric_values, sap_lines):
    january = sap_lines[sap_lines["day"].str.startswith("2022-01")]
    assert len(january) > 0
    for metric in SAP_FED:
        month = _series(metric_values, metric, "month", "company_code", EPM1)
        assert not month.loc[date(2022, 1, 1), "is_complete"], metric
        assert month.loc[: date(2021, 12, 1), "is_complete"].all(), metric
        for grain in ("quarter", "year"):  # fiscal year starts in January in the bundled settings
            period = _series(metric_values, metric, grain, "company_code", EPM1)
            assert period.index.max() == date(2022, 1, 1) and not period.loc[date(2022, 1, 1), "is_complete"]
    intake = _series(metric_values, "order_intake", "month", "company_code", EPM1)
    assert _cents(intake.loc[date(2022, 1, 1), "value"]) == Decimal(int(january["cents"].sum())).scaleb(-2)
    booked = _series(metric_values, "orders_booked", "month", "company_code", EPM1)
    assert booked.loc[date(2022, 1, 1), "value"] == january["order_id"].nunique()
    # a month inside its range without orders is 0 and complete (it did end, with nothing booked)
    assert not sap_lines["day"].str.startswith("2021-06").any()
    assert booked.loc[date(2021, 6, 1), "value"] == 0 and booked.loc[date(2021, 6, 1), "is_complete"]


def test_the_sample_company_runs_to_the_global_as_of_date_as_before(metric_values, sample_settings):
    as_of = date.fromisoformat(sample_settings.dbt_vars()["as_of_date"])
    # revenue is the sample company's alone (the SAP extract has no invoices): its DE01 slice is
    # the reference's total
    expected = ref.reference_values("revenue", "month", as_of=as_of).set_index("period_start")
    revenue = _series(metric_values, "revenue", "month", "company_code", DE01)
    assert revenue.index.tolist() == expected.index.tolist()
    assert revenue.index.max() == date(as_of.year, as_of.month, 1)
    assert [_cents(v) for v in revenue["value"]] == [Decimal(v) for v in expected["value"]]
    assert revenue["is_complete"].tolist() == [ref.is_complete(s, "month", as_of) for s in revenue.index]
    assert revenue["is_complete"].iloc[:-1].all() and not revenue["is_complete"].iloc[-1]


def test_a_total_after_the_sap_company_ended_is_complete(metric_values, sample_settings):
    as_of = date.fromisoformat(sample_settings.dbt_vars()["as_of_date"])
    expected = ref.reference_values("order_intake", "month", as_of=as_of).set_index("period_start")
    total = _series(metric_values, "order_intake", "month", "total", "all")
    in_2024 = total.loc[date(2024, 1, 1) : date(2024, 12, 1)]
    assert len(in_2024) == 12 and in_2024["is_complete"].all()
    assert [_cents(v) for v in in_2024["value"]] == [Decimal(expected.loc[s, "value"]) for s in in_2024.index]
    # the months between the SAP company's end and the sample's start: nothing happened, complete
    gap = total.loc[date(2022, 2, 1) : date(2022, 12, 1)]
    assert len(gap) == 11 and (gap["value"] == 0).all() and gap["is_complete"].all()


def test_a_total_over_the_period_where_the_sap_company_s_data_ends_is_incomplete(metric_values):
    for metric in SAP_FED:
        for grain in ("month", "quarter", "year"):
            total = _series(metric_values, metric, grain, "total", "all")
            assert not total.loc[date(2022, 1, 1), "is_complete"], (metric, grain)
        months = _series(metric_values, metric, "month", "total", "all")
        assert months.loc[: date(2021, 12, 1), "is_complete"].all(), metric

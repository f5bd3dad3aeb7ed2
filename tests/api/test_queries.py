"""What the API answers: values against the independent pandas oracle over the raw files, filters
against pandas over the published Parquet files, the three formats, the OpenAPI document, lineage,
and SQL built from validated identifiers with bound values."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from finkpi.api import query as q
from finkpi.api.access import Principal
from finkpi.metrics.definition import DEFINITION_FIELDS
from tests.conftest import read_raw
from tests.metrics import reference as ref
from tests.sap import oracle as sap_oracle

V = "/api/v1"


def _frame(response) -> pd.DataFrame:
    assert response.status_code == 200, response.text
    return pd.DataFrame(response.json()["data"])


# -- values: the API serves what the raw files say ----------------------------------------------
@pytest.mark.parametrize(("who", "dimension"), [("admin", "region"), ("sales", "customer_segment")])
def test_revenue_by_quarter_matches_the_raw_files(client, api_keys, who, dimension):
    got = _frame(
        client.get(
            f"{V}/metrics/values",
            params={"metrics": "revenue", "grain": "quarter", "dimension": dimension},
            headers=api_keys.headers(who),
        )
    )
    want = ref.reference_values("revenue", "quarter", dimension, as_of=ref.default_as_of())
    want = {(str(r.period_start), r.dimension_value): Decimal(r.value) for r in want.itertuples()}
    got = {
        (r.period_start, r.dimension_value): Decimal(str(r.value)).quantize(Decimal("0.01"))
        for r in got.itertuples()
    }
    assert got == want and len(got) > 20


def test_orders_booked_by_company_code_match_both_sources_raw_files(client, api_keys):
    """company_code is a short name reached through the company entity (the slice `finkpi query`
    resolves the same way); ERP's and SAP's raw orders say what each company booked per year."""
    got = _frame(
        client.get(
            f"{V}/metrics/values",
            params={"metrics": "orders_booked", "grain": "year", "dimension": "company_code"},
            headers=api_keys.headers("admin"),
        )
    )
    as_of = ref.default_as_of().isoformat()
    erp = read_raw("erp", "sales_orders")
    erp = erp[(erp["status"] != "cancelled") & (erp["order_date"] <= as_of)]
    sap = sap_oracle.sales_order_lines()
    sap = sap[~sap["is_cancelled"]]
    want = {
        **{
            ("DE01", f"{y}-01-01"): n
            for y, n in erp.groupby(erp["order_date"].str[:4])["order_id"].nunique().items()
        },
        **{
            ("EPM1", f"{y}-01-01"): n
            for y, n in sap.groupby(sap["day"].str[:4])["order_id"].nunique().items()
        },
    }
    served = {(r.dimension_value, r.period_start): int(r.value) for r in got.itertuples()}
    assert {key: n for key, n in served.items() if n} == want  # years without orders are 0
    assert {company for company, _ in served} == {"DE01", "EPM1"} and len(want) > 10


def test_a_viewer_gets_its_department_row_of_operating_expense_as_in_the_raw_files(client, api_keys):
    response = client.get(
        f"{V}/metrics/values",
        params={"metrics": "operating_expense", "grain": "month"},
        headers=api_keys.headers("sales"),
    )
    got = _frame(response)
    assert set(zip(got["dimension"], got["dimension_value"], strict=True)) == {("department", "Sales")}
    want = ref.reference_values("operating_expense", "month", "department", as_of=ref.default_as_of())
    want = want[want["dimension_value"] == "Sales"]
    cents = Decimal("0.01")
    assert {str(d): Decimal(v) for d, v in zip(want["period_start"], want["value"], strict=True)} == {
        d: Decimal(str(v)).quantize(cents) for d, v in zip(got["period_start"], got["value"], strict=True)
    }


# -- filters against pandas over the published Parquet files --------------------------------------
def test_filters_select_what_pandas_selects(client, api_keys, published):
    params = {
        "metrics": "gross_margin_pct,dso",
        "grain": "month",
        "dimension": "total",
        "period_from": "2024-03-01",
        "period_to": "2025-02-01",
        "complete_only": "true",
    }
    got = _frame(client.get(f"{V}/metrics/values", params=params, headers=api_keys.headers("admin")))
    values = published["metric_values"]
    start = pd.to_datetime(values["period_start"]).dt.date
    want = values[
        values["metric_name"].isin(["gross_margin_pct", "dso"])
        & (values["grain"] == "month")
        & (values["dimension"] == "total")
        & (start >= date(2024, 3, 1))
        & (start <= date(2025, 2, 1))
        & values["is_complete"]
    ]
    assert len(got) == len(want) == 24
    merged = got.assign(period_start=got["period_start"].astype(str)).merge(
        want.assign(period_start=want["period_start"].astype(str)),
        on=["metric_name", "period_start"],
        suffixes=("", "_want"),
    )
    assert len(merged) == 24 and (merged["value"] - merged["value_want"]).abs().max() < 1e-9


def test_repeated_and_comma_separated_lists_are_the_same(client, api_keys):
    headers = api_keys.headers("admin")
    base = f"{V}/metrics/values?grain=year&dimension=total"
    one = client.get(f"{base}&metrics=revenue,cogs", headers=headers)
    two = client.get(f"{base}&metrics=revenue&metrics=cogs", headers=headers)
    assert one.json()["data"] == two.json()["data"] and one.json()["rows"] > 0


def test_limit_and_offset_page_through(client, api_keys):
    headers, base = api_keys.headers("admin"), f"{V}/metrics/values?metrics=revenue&grain=month"
    everything = client.get(base, headers=headers).json()["data"]
    pages = [client.get(f"{base}&limit=10&offset={o}", headers=headers).json()["data"] for o in (0, 10, 20)]
    assert [row for page in pages for row in page] == everything[:30]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"metrics": "revnue"}, "did you mean revenue"),
        ({"grain": "week"}, "unknown grain 'week'"),
        ({"dimension": "country"}, "unknown dimension 'country'"),
    ],
)
def test_unknown_names_get_400_naming_the_valid_ones(client, api_keys, params, message):
    response = client.get(f"{V}/metrics/values", params=params, headers=api_keys.headers("admin"))
    assert response.status_code == 400 and message in response.json()["detail"]


def test_malformed_parameters_get_422(client, api_keys):
    headers = api_keys.headers("admin")
    assert client.get(f"{V}/metrics/values?period_from=yesterday", headers=headers).status_code == 422
    assert client.get(f"{V}/metrics/values?limit=0", headers=headers).status_code == 422
    assert client.get(f"{V}/metrics/values?format=xml", headers=headers).status_code == 422


# -- SQL: identifiers validated, values bound -----------------------------------------------------
def test_user_input_never_becomes_sql(client, api_keys, api_app):
    headers = api_keys.headers("admin")
    injected = "revenue') or 1=1 --"
    response = client.get(f"{V}/metrics/values", params={"metrics": injected}, headers=headers)
    assert response.status_code == 400
    # a value is bound: it matches nothing, and is not SQL
    response = client.get(
        f"{V}/metrics/values",
        params={"metrics": "revenue", "dimension": "region", "dimension_value": "x' or '1'='1"},
        headers=headers,
    )
    assert response.status_code == 200 and response.json()["rows"] == 0
    with api_app.state.reader.version() as version:
        filters = q.Filters(metrics=["revenue"], dimension="region", dimension_values=["x' or '1'='1"])
        built = q.build_query(version, "metric_values", Principal("t", "admin"), filters)
    assert "x'" not in built.sql and "revenue" not in built.sql
    assert built.sql.count("?") == len(built.parameters) == 3


# -- formats -----------------------------------------------------------------------------------
def test_json_csv_and_arrow_hold_the_same_rows(client, api_keys):
    headers, path = api_keys.headers("sales"), f"{V}/metrics/values?metrics=revenue&grain=quarter"
    as_json = client.get(path, headers=headers)
    as_csv = client.get(f"{path}&format=csv", headers=headers)
    as_arrow = client.get(path, headers={**headers, "Accept": "application/vnd.apache.arrow.stream"})
    by_accept = client.get(path, headers={**headers, "Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_arrow.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert by_accept.text == as_csv.text
    rows = as_json.json()["data"]
    csv_frame = pd.read_csv(io.StringIO(as_csv.text), dtype={"period_start": str})
    arrow = pa.ipc.open_stream(as_arrow.content).read_all()
    assert len(rows) == len(csv_frame) == arrow.num_rows > 0
    assert list(csv_frame["value"]) == pytest.approx([r["value"] for r in rows])
    assert arrow.column("value").to_pylist() == [r["value"] for r in rows]
    run_id = as_json.headers["X-Finkpi-Run-Id"]
    assert arrow.schema.metadata[b"finkpi.run_id"].decode() == run_id == rows[0]["run_id"]


def test_the_catalog_says_what_each_metric_counts_in_json_and_csv(client, api_keys, published):
    """The definition fields as published (the version's Parquet file, read by pandas)."""
    fields = list(DEFINITION_FIELDS)
    expected = published["metric_catalog"].set_index("metric_name")[fields]
    as_json = client.get(f"{V}/catalog", headers=api_keys.headers("auditor"))
    rows = _frame(as_json).set_index("metric_name")[fields]
    assert sorted(rows.index) == sorted(expected.index)
    assert rows.loc[expected.index].to_dict("index") == expected.to_dict("index")
    assert rows.map(lambda text: bool(text.strip())).all().all()
    assert (
        rows.loc["orders_booked", "slice_behavior"]
        .split("\n")[1]
        .startswith("product_category: distinct_count: an order counts once in every category")
    )
    as_csv = client.get(f"{V}/catalog?metrics=revenue&format=csv", headers=api_keys.headers("auditor"))
    frame = pd.read_csv(io.StringIO(as_csv.text)).set_index("metric_name")
    assert frame.loc["revenue", fields].to_dict() == expected.loc["revenue"].to_dict()


def test_openapi_document_lists_every_endpoint_and_no_cdn_pages(client):
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/metrics/values",
        "/api/v1/catalog",
        "/api/v1/scorecards/summary",
        "/api/v1/scorecards/lines",
        "/api/v1/forecasts",
        "/api/v1/attribution",
        "/api/v1/lineage/{metric}",
    ):
        assert path in spec["paths"], path
    names = {p["name"] for p in spec["paths"]["/api/v1/metrics/values"]["get"]["parameters"]}
    assert {"metrics", "grain", "dimension", "dimension_value", "period_from", "period_to", "format"} <= names
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


# -- lineage ------------------------------------------------------------------------------------
def test_lineage_reaches_the_raw_columns(client, api_keys):
    body = client.get(f"{V}/lineage/cogs", headers=api_keys.headers("operations")).json()
    expected = {"erp.invoice_lines.quantity", "erp.product_standard_costs.standard_cost_eur"}
    assert set(body["sources"]) == expected
    assert body["tree"]["kind"] == "metric"
    growth = client.get(f"{V}/lineage/revenue_growth_yoy", headers=api_keys.headers("sales")).json()
    assert "computed from exported revenue" in growth["note"]

"""Metric governance: MetricFlow's own validation, `metrics check`, definition hashes and the
published catalog (certification and definition history: test_certification.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from finkpi import contract
from finkpi.metrics.catalog import Catalog, MetricDefinition, load_catalog
from finkpi.metrics.definition import DEFINITION_FIELDS, slice_behavior_text
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.exports import Planner, published_dimensions
from finkpi.metrics.governance import canonical_sql, check_catalog, definition_hash

CONTRACT_COLUMNS = [
    "metric_name", "label", "description", "perspective", "metric_type", "unit", "direction", "owner",
    "department", "certified", "definition_sql", "definition_hash",
]  # fmt: skip
LIBRARY = set(
    [
        "revenue",
        "order_intake",
        "orders_booked",
        "cogs",
        "gross_profit",
        "gross_margin_pct",
        "cogs_variances",
        "pnl_gross_margin_pct",
        "operating_expense",
        "cost_ratio",
        "operating_margin_pct",
        "revenue_growth_yoy",
        "net_operating_cash_flow",
        "dso",
        "dpo",
        "dio",
        "cash_conversion_cycle",
        "inventory_turnover",
        "ar_collection_rate",
        "overdue_ar_ratio",
        "unit_production_cost",
        "purchase_price_variance",
        "purchase_volume",
        "new_customers",
        "active_customers",
        "repeat_purchase_rate",
        "active_suppliers",
        "average_order_value",
        "win_rate",
        "sales_cycle_days",
        "on_time_delivery_rate",
        "otif_rate",
        "complaint_rate",
        "avg_first_response_hours",
        "avg_resolution_hours",
        "supplier_on_time_rate",
        "scrap_rate",
    ]
)


@pytest.fixture(scope="module")
def catalog_table(warehouse) -> pd.DataFrame:
    return warehouse.execute("select * from metrics.metric_catalog").df()


def test_semantic_manifest_passes_metricflow_validation(built):
    from metricflow_semantic_interfaces.implementations.semantic_manifest import PydanticSemanticManifest
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import (
        SemanticManifestValidator,
    )

    manifest = PydanticSemanticManifest.parse_obj(built.artifacts["semantic_manifest"])
    results = SemanticManifestValidator[PydanticSemanticManifest]().validate_semantic_manifest(manifest)
    assert not results.has_blocking_issues, [str(issue) for issue in results.all_issues]


def test_the_published_catalog_is_the_library_with_the_contract_columns(catalog_table):
    assert set(catalog_table["metric_name"]) >= LIBRARY
    assert set(CONTRACT_COLUMNS) <= set(catalog_table.columns)
    assert catalog_table["definition_sql"].str.len().min() > 50
    assert catalog_table["definition_hash"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_metrics_check_passes_on_the_project(built, sample_settings, catalog_table):
    """With the dimensions each metric is published by: every slice_behavior describes exactly
    those (the published slices in metric_values, read here, are the same)."""
    catalog = load_catalog(sample_settings.project_dir)
    hashes = dict(zip(catalog_table["metric_name"], catalog_table["definition_hash"], strict=True))
    with MetricEngine(sample_settings) as engine:
        dimensions = published_dimensions(Planner(engine, None), catalog)
    result = check_catalog(catalog, hashes, dimensions)
    assert result.ok, result.problems


def test_the_published_catalog_says_what_each_metric_counts(built, sample_settings, catalog_table, warehouse):
    """metric_catalog carries every definition field of metrics/*.yml (computed.py), blanks
    normalized, slice_behavior one 'dimension: kind: explanation' line per entry, and the
    dimensions described are those metric_values publishes."""
    assert set(DEFINITION_FIELDS) <= set(contract.TABLES["metric_catalog"].columns)
    catalog = load_catalog(sample_settings.project_dir)
    sliced = warehouse.execute(
        "select metric_name, list(distinct dimension) from metrics.metric_values"
        " where dimension <> 'total' group by 1"
    ).fetchall()
    for row in catalog_table.itertuples():
        meta = catalog[row.metric_name].meta
        for field in DEFINITION_FIELDS:
            if field != "slice_behavior":
                assert getattr(row, field) == " ".join(meta[field].split()), (row.metric_name, field)
        lines = row.slice_behavior.split("\n")
        assert lines == [f"{dim}: {' '.join(text.split())}" for dim, text in meta["slice_behavior"].items()]
    for metric, dimensions in sliced:
        named = set(catalog[metric].meta["slice_behavior"])
        assert set(dimensions) <= named or "all" in named, metric


def _fields(**changes) -> dict:
    fields = {
        "source_documents": "invoices.csv", "period_date": "invoice date", "includes": "every line",
        "excludes": "quarantined invoices", "rounding": "cents per line",
        "slice_behavior": {"all": "additive: one customer per line"},
    }  # fmt: skip
    return fields | changes


def _metric(name, **meta_changes):
    meta = {
        "owner": "CFO", "department": "Finance", "perspective": "financial", "unit": "currency",
        "direction": "higher_is_better", "drivers": [], "driver_formula": None, "certified": True,
        **_fields(),
    }  # fmt: skip
    meta.update(meta_changes)
    return MetricDefinition(
        name=name, label=name, description=f"{name} described", metric_type="simple", meta=meta
    )


def test_check_names_each_kind_of_problem():
    catalog = Catalog(
        metrics={
            "a": _metric("a", drivers=["b"]),
            "b": _metric("b", drivers=["a"]),  # a cycle
            "c": _metric("c", drivers=["nope"], unit="furlongs"),
            "d": MetricDefinition(
                name="d", label="d", description=" ", metric_type="simple", meta={"owner": "x", **_fields()}
            ),
            "e": _metric("e", driver_formula="a * z", drivers=["a"]),
            "E": _metric("E"),
        }
    )
    problems = "\n".join(check_catalog(catalog, {"a": "h1", "c": "h1", "b": "h2"}).problems)
    assert "driver cycle: a -> b -> a" in problems or "driver cycle: b -> a -> b" in problems
    assert "c: driver 'nope' is not a metric" in problems
    assert "c: unit 'furlongs'" in problems
    assert "d: no description" in problems and "d: meta lacks department" in problems
    assert "e: driver_formula uses ['z']" in problems
    assert "name not unique" in problems
    assert "one canonical definition under several names: a, c" in problems


def test_check_refuses_a_published_metric_that_leaves_a_definition_field_empty():
    """A hand-made catalog: each published metric leaves one field empty or missing; a building
    block (published: false) may leave them all out."""
    metrics = {"complete": _metric("complete")}
    for field in DEFINITION_FIELDS:
        metrics[f"no_{field}"] = _metric(f"no_{field}", **{field: "  " if field != "slice_behavior" else {}})
    missing = _metric("missing")
    del missing.meta["rounding"]
    metrics["missing"] = missing
    block = _metric("block", published=False)
    for field in DEFINITION_FIELDS:
        del block.meta[field]
    metrics["block"] = block
    problems = check_catalog(Catalog(metrics=metrics)).problems
    for field in DEFINITION_FIELDS:
        assert f"no_{field}: published, but says nothing in {field} (meta of metrics/*.yml)" in problems
    assert "missing: published, but says nothing in rounding (meta of metrics/*.yml)" in problems
    assert not [p for p in problems if p.startswith(("complete:", "block:"))], problems
    assert len(problems) == len(DEFINITION_FIELDS) + 1


def test_slice_behavior_is_checked_against_the_vocabulary_and_the_published_dimensions():
    behaviors = {
        "odd_kind": {"all": "summed: somehow"},
        "no_text": {"region": "additive:", "all": "additive: one company per line"},
        "no_dimension": {"colour": "additive: one colour per line"},
        "undescribed": {"region": "additive: one region per customer"},
        "not_reached": {"all": "additive: one company", "department": "additive: by cost center"},
        "said_not_sliced": {"all": "not_sliced: totals only"},
        "total_only": {"all": "not_sliced: the calendar has no slices"},
        "explicit": {"all": "additive: x", "product_category": "distinct_count: an order in each category"},
    }
    catalog = Catalog(metrics={name: _metric(name, slice_behavior=b) for name, b in behaviors.items()})
    reached = {
        "odd_kind": [], "no_text": ["region"], "no_dimension": [], "undescribed": ["region", "company_code"],
        "not_reached": ["company_code"], "said_not_sliced": ["company_code"], "total_only": [],
        "explicit": ["product_category", "company_code"],
    }  # fmt: skip
    problems = check_catalog(catalog, dimensions=reached).problems
    assert problems == [
        "no_dimension: slice_behavior names 'colour', not a dimension (department, region, product_category,"
        " customer_segment, company_code, source_system) or 'all'",
        "no_text: slice_behavior of region: additive without an explanation",
        "not_reached: slice_behavior describes department slices, but it is not published by department",
        "odd_kind: slice_behavior of all: kind 'summed' not in ['additive', 'allocated', 'average',"
        " 'balance', 'distinct_count', 'not_sliced', 'ratio']",
        "said_not_sliced: published by company_code, but slice_behavior says not_sliced",
        "undescribed: published by company_code, but slice_behavior does not say how its slices behave",
    ]
    # the published text: one line per entry, blanks normalized
    assert slice_behavior_text({"all": "additive:  x\n y", "region": "ratio: a"}) == (
        "all: additive: x y\nregion: ratio: a"
    )


SQL = """
SELECT metric_time__month, SUM(revenue_amount) AS revenue
FROM (SELECT DATE_TRUNC('month', revenue_date) AS metric_time__month, net_amount_reporting AS revenue_amount
      FROM "finkpi"."marts"."fct_invoice_lines" invoice_lines_src_1) subq_2
GROUP BY metric_time__month
"""


def test_definition_hash_ignores_formatting_paths_and_targets_but_not_meaning():
    base = definition_hash(SQL, "revenue")
    reformatted = "  ".join(SQL.lower().split())
    other_target = SQL.replace('"finkpi"."marts"', '"prod_db"."analytics"')
    assert definition_hash(reformatted, "revenue") == base
    assert definition_hash(other_target, "revenue") == base
    assert definition_hash(SQL.replace("net_amount_reporting", "gross_amount_reporting"), "revenue") != base
    assert definition_hash(SQL.replace("SUM(", "AVG("), "revenue") != base
    # the same definition under another name is the same canonical definition
    assert definition_hash(SQL.replace("AS revenue\n", "AS sales\n"), "sales") == base
    assert "fct_invoice_lines" in canonical_sql(SQL, "revenue") and "marts" not in canonical_sql(
        SQL, "revenue"
    )


def test_zero_denominator_gives_null_not_zero_or_infinity(warehouse):
    """Complaints from CRM accounts without an ERP customer have no region, and no order lines
    were delivered to that (unassigned) region: the rate is undefined, so NULL."""
    rows = warehouse.execute(
        """
        select value from metrics.metric_values
        where metric_name = 'complaint_rate' and dimension = 'region' and dimension_value = '(unassigned)'
        """
    ).fetchall()
    assert rows, "expected complaint_rate rows for the unassigned region"
    assert all(value is None for (value,) in rows)
    infinite = warehouse.execute(
        "select count(*) from metrics.metric_values where isinf(value) or isnan(value)"
    ).fetchone()[0]
    assert infinite == 0


def test_catalog_meta_is_json_serializable_for_api_consumers(catalog_table):
    json.dumps(catalog_table.drop(columns=["drivers"]).astype(str).to_dict("records"))
    assert all(isinstance(list(drivers), list) for drivers in catalog_table["drivers"])

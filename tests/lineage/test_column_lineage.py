"""Column lineage of metrics down to the raw source columns, against hand-written expectations
(what an auditor reading the metric definitions would list), and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from finkpi.lineage.columns import ColumnLineage, registered_sources
from finkpi.metrics.catalog import load_catalog
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.exports import definition_sql
from finkpi.settings import PROJECT_DIR

# metric -> raw columns whose values flow into it (projection lineage, join keys not included)
EXPECTED = {
    "cogs": {("erp.invoice_lines", "quantity"), ("erp.product_standard_costs", "standard_cost_eur")},
    "operating_expense": {("erp.gl_journal_entries", "amount_eur"), ("erp.gl_accounts", "account_group")},
    "order_intake": {
        ("erp.sales_order_lines", "net_amount"),
        ("erp.sales_orders", "currency"),
        ("erp.sales_orders", "status"),
        ("erp.exchange_rates", "rate"),
        # the SAP source: the item's amount in its currency, shifted by TCURX decimals, converted
        # with TCURR's rate and TCURF's ratio; cancelled from the lifecycle (and delivery) status
        ("sap.salesOrderItem", "NETAMOUNT"),
        ("sap.salesOrderItem", "CURRENCY"),
        ("sap.TCURX", "CURRDEC"),
        ("sap.TCURR", "UKURS"),
        ("sap.TCURF", "FFACT"),
        ("sap.TCURF", "TFACT"),
        ("sap.salesOrder", "LIFECYCLESTATUS"),
        ("sap.salesOrder", "DELIVERYSTATUS"),
    },
    # projection lineage does not follow row filters: fct_deliveries keeps only the ERP's lines
    # (source_system = 'erp'), yet the SAP branch of fct_sales_order_lines is a possible source
    "on_time_delivery_rate": {
        ("erp.deliveries", "actual_date"),
        ("erp.sales_order_lines", "promised_date"),
        ("sap.salesOrderItem", "DELIVERYDATE"),
    },
    "complaint_rate": {("crm.Case", "Type"), ("erp.deliveries", "actual_date")},
    "win_rate": {("crm.Opportunity", "IsClosed"), ("crm.Opportunity", "IsWon")},
    "scrap_rate": {
        ("erp.production_orders", "good_quantity"),
        ("erp.production_orders", "scrapped_quantity"),
    },
    "avg_first_response_hours": {("crm.Case", "CreatedDate"), ("crm.Case", "First_Response_Date__c")},
}


@pytest.fixture(scope="module")
def metric_sql(built, sample_settings):
    catalog = load_catalog(sample_settings.project_dir)
    with MetricEngine(sample_settings) as engine:
        return {m.name: definition_sql(engine, m) for m in catalog.published if not m.is_computed}


@pytest.fixture(scope="module")
def lineage(built, sample_settings):
    # the session build's manifest (compiled SQL): target/ may have been rewritten by an earlier
    # test on this worker, and a module fixture is made before the per-test restore of target/
    return ColumnLineage(
        built.artifacts["manifest"], sample_settings.build_database, *registered_sources(sample_settings)
    )


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_metric_lineage_ends_at_the_expected_source_columns(lineage, metric_sql, metric):
    assert lineage.of_metric(metric, metric_sql[metric]).sources() == EXPECTED[metric]


def test_revenue_lineage_passes_through_each_layer(lineage, metric_sql):
    tree = lineage.of_metric("revenue", metric_sql["revenue"])
    text = tree.render()
    for step in (
        "marts.fct_invoice_lines.net_amount_reporting",
        "intermediate.int_invoice_lines_converted.net_amount_reporting",
        "intermediate.int_credit_note_lines_allocated.net_amount_reporting",
        "staging.stg_erp__invoice_lines.net_amount",
        "erp.invoice_lines.net_amount  [source]",
        "erp.credit_notes.net_amount  [source]",
        "erp.exchange_rates.rate  [source]",
    ):
        assert step in text, text
    assert {("erp.invoice_lines", "net_amount"), ("erp.credit_notes", "net_amount")} <= tree.sources()


def test_every_published_metric_reaches_raw_sources(lineage, metric_sql):
    empty = [name for name, sql in metric_sql.items() if not lineage.of_metric(name, sql).sources()]
    assert not empty, empty


def test_lineage_command_prints_a_tree_and_json(built, sample_settings):
    command = [
        sys.executable,
        "-m",
        "finkpi.cli",
        "lineage",
        "--warehouse-dir",
        str(sample_settings.warehouse_dir),
    ]
    tree = subprocess.run(
        [*command, "scrap_rate"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300
    )
    assert tree.returncode == 0, tree.stderr
    assert (
        tree.stdout.startswith("metric scrap_rate")
        and "erp.production_orders.scrapped_quantity" in tree.stdout
    )
    as_json = subprocess.run(
        [*command, "win_rate", "--format", "json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["kind"] == "metric" and document["upstream"][0]["relation"] == "marts.fct_opportunities"

"""The real dbt build of the bundled sample: every model builds, every dbt test runs and passes,
including the business identities (invoice header = lines, AR roll-forward)."""

from __future__ import annotations

REQUIRED_MARTS = {
    "fct_sales_order_lines",
    "fct_deliveries",
    "fct_invoice_lines",
    "fct_customer_payments",
    "fct_ar_snapshots",
    "fct_purchase_order_lines",
    "fct_goods_receipts",
    "fct_supplier_invoices",
    "fct_supplier_payments",
    "fct_ap_snapshots",
    "fct_inventory_snapshots",
    "fct_production_orders",
    "fct_gl_entries",
    "fct_opportunities",
    "fct_cases",
    "dim_customers",
    "dim_products",
    "dim_suppliers",
    "dim_org_units",
    "dim_dates",
}


def test_every_required_mart_is_built_and_not_empty(built):
    missing = REQUIRED_MARTS - set(built.mart_rows)
    assert not missing, f"marts not built: {missing}"
    empty = [name for name, rows in built.mart_rows.items() if rows == 0]
    assert not empty, f"empty marts: {empty}"


def test_every_node_succeeded(run_results, manifest):
    statuses = {result["unique_id"]: result["status"] for result in run_results["results"]}
    models = [n for n, node in manifest["nodes"].items() if node["resource_type"] == "model"]
    assert models and all(statuses.get(model) == "success" for model in models)
    bad = {node: status for node, status in statuses.items() if status not in ("success", "pass")}
    assert not bad, bad


def _test_names(run_results, manifest):
    names = []
    for result in run_results["results"]:
        node = manifest["nodes"].get(result["unique_id"], {})
        if node.get("resource_type") == "test" and result["status"] == "pass":
            names.append((node.get("test_metadata") or {}).get("name"))
    return names


def test_business_identities_ran_and_passed(run_results, manifest):
    names = _test_names(run_results, manifest)
    assert names.count("header_equals_lines") >= 3  # net, tax, gross of invoices
    assert names.count("roll_forward") >= 2  # AR and AP
    assert names.count("fresh_as_of") >= 2


def test_org_units_are_the_company_and_six_departments(warehouse):
    units = {row[0] for row in warehouse.execute("select org_unit from marts.dim_org_units").fetchall()}
    assert units == {
        "Company",
        "Sales",
        "Procurement",
        "Production",
        "Logistics",
        "Customer Service",
        "Finance",
    }


def test_money_is_decimal_in_marts(warehouse):
    rows = warehouse.execute(
        """
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'marts' and (column_name like '%amount%' or column_name like '%value_reporting')
        """
    ).fetchall()
    assert rows
    not_decimal = [row for row in rows if not row[2].startswith("DECIMAL(18,")]
    assert not not_decimal, not_decimal

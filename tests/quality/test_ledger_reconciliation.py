"""The ledger reconciliation gate (marts.fct_ledger_reconciliations and its suite
expectations/suites/fct_ledger_reconciliations.json): on the sample every reconciliation ties to
the cent for every month and company, and a ledger line changed by one cent in a copy of the
built warehouse fails the gate with the period, company, accounts and difference named."""

from __future__ import annotations

import shutil
from decimal import Decimal

import duckdb

from finkpi import dbt_runner, pipeline
from finkpi.quality.gx_runner import ExpectationOutcome, GateResult

SUITE = "fct_ledger_reconciliations"
RECONCILIATIONS = {
    "revenue",
    "cogs_at_standard",
    "bad_debt",
    "purchase_price_variance",
    "operating_cash_flow",
}


def test_every_reconciliation_ties_for_every_month_and_company(built, warehouse):
    rows = warehouse.execute(
        "select reconciliation, company_code, period_start, ledger_accounts, reconciling_items,"
        " shown_beside, computed_amount, ledger_amount, reconciling_amount, difference"
        " from marts.fct_ledger_reconciliations"
    ).df()
    months = set(
        warehouse.execute(
            "select distinct company_code, strftime(posting_date, '%Y-%m') from marts.fct_gl_entries"
        ).fetchall()
    )
    for name in RECONCILIATIONS:
        covered = warehouse.execute(
            "select company_code, strftime(period_start, '%Y-%m') from marts.fct_ledger_reconciliations"
            " where reconciliation = ?",
            [name],
        ).fetchall()
        # every month and company of the ledger, once (a month without goods receipts has no purchase
        # price variance on either side, so no row)
        if name == "purchase_price_variance":
            assert len(covered) == len(set(covered)) and set(covered) <= months and len(covered) > 30
        else:
            assert sorted(covered) == sorted(months), name
    assert (rows["difference"] == Decimal("0.00")).all(), rows[rows["difference"] != 0]
    assert len(months) == 35 and {company for company, _ in months} == {"DE01"}
    # the accounts of each side, the variances beside COGS, the named non-operating cash items
    accounts = dict(zip(rows["reconciliation"], rows["ledger_accounts"], strict=False))
    assert accounts == {
        "revenue": "4000, 4100",
        "cogs_at_standard": "5000",
        "bad_debt": "6600",
        "purchase_price_variance": "5100",
        "operating_cash_flow": "1000, 1010, 1020",
    }
    cogs = rows[rows["reconciliation"] == "cogs_at_standard"]
    # the variances the month posted, each with its name and amount (5100 only in months with
    # supplier invoices)
    named = [{item.split(" ")[0] for item in text.split("; ")} for text in cogs["shown_beside"]]
    assert all(accounts <= {"5100", "5200", "5300"} and "5200" in accounts for accounts in named)
    assert set().union(*named) == {"5100", "5200", "5300"}
    cash = rows[rows["reconciliation"] == "operating_cash_flow"]
    june = cash[cash["period_start"].astype(str) == "2024-06-01"].iloc[0]
    assert "financing -483666.82" in june["reconciling_items"].split("; ")
    assert june["computed_amount"] == june["ledger_amount"] - june["reconciling_amount"]
    # and the run's gate ran the suite and passed it
    outcomes = [o for o in built.gate.outcomes if o.suite == SUITE]
    assert outcomes and all(o.status == "passed" for o in outcomes)


def test_a_tampered_ledger_line_fails_the_gate_naming_period_company_accounts_and_difference(
    built, sample_settings, tmp_path
):
    settings = sample_settings.with_(warehouse_dir=tmp_path / "warehouse")
    settings.warehouse_dir.mkdir()
    shutil.copy2(sample_settings.build_database, settings.build_database)
    with duckdb.connect(str(settings.build_database)) as con:
        (key,) = con.execute(
            "select min(gl_entry_line_key) from marts.fct_gl_entries"
            " where account_id = '4000' and posting_date between '2024-06-01' and '2024-06-30'"
        ).fetchone()
        # one cent more revenue credited on the ledger than the invoice carries
        con.execute(
            "update marts.fct_gl_entries set amount_reporting = amount_reporting - 0.01"
            " where gl_entry_line_key = ?",
            [key],
        )
    dbt_runner.build(settings, select=["fct_ledger_reconciliations"], quiet=True)
    _, gate = pipeline.quality_gate(settings, "tampered-ledger", suite_names=[SUITE], rules=False)

    assert not gate.success and not gate.errors
    (failed,) = gate.failures
    assert failed.suite == SUITE and "ledger reconciliation" in failed.expectation
    (row,) = failed.unexpected_rows
    assert row["reconciliation"] == "revenue" and row["period"] == "2024-06"
    assert row["company_code"] == "DE01" and row["accounts"] == "4000, 4100"
    assert row["difference"] == "-0.01"
    message = gate.describe()
    assert "reconciliation=revenue, period=2024-06, company_code=DE01, accounts=4000, 4100" in message
    assert "difference=-0.01" in message
    assert "period=2024-06" in failed.observed_text()  # what the audit store records


def test_a_failed_query_expectation_names_its_rows_in_the_message():
    rows = [{"reconciliation": "revenue", "period": "2024-06", "company_code": "DE01", "difference": "0.01"}]
    outcome = ExpectationOutcome(
        SUITE, "marts.fct_ledger_reconciliations", "unexpected_rows_expectation [ties]", False,
        {"unexpected_count": 1, "unexpected_rows": rows},
    )  # fmt: skip
    message = GateResult(outcomes=[outcome]).describe()
    assert "FAILED fct_ledger_reconciliations: unexpected_rows_expectation [ties]" in message
    assert "  reconciliation=revenue, period=2024-06, company_code=DE01, difference=0.01" in message
    assert outcome.observed_text() == (
        "1 unexpected row(s): reconciliation=revenue, period=2024-06, company_code=DE01, difference=0.01"
    )

"""The full pipeline once per bad-input kind (slow: `make test-slow`).

A clean run publishes first; then each damaged copy of the sample runs the whole pipeline against
the same warehouse. A kind that fails the run exits 1 with a message naming the file, the line and
the rule, and leaves the published version byte-for-byte as it was; a warned kind publishes; a
quarantined kind publishes without the bad document and everything that depends on it (payments,
credit notes, write-offs of a quarantined invoice), counted in the audit store."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from finkpi.audit.store import AuditStore
from finkpi.settings import PROJECT_DIR
from tests.conftest import SAMPLE_DIR
from tests.metrics.reference import _hours, default_as_of, reference_values
from tests.quality.test_rules_bad_input import _read, _write

pytestmark = pytest.mark.slow


def _malformed_row(data):
    path = data / "erp" / "invoices.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[9] = lines[9].rstrip("\n") + ",extra\n"
    path.write_text("".join(lines))
    return "erp/invoices.csv", "malformed_row", "line 10"


def _missing_column(data):
    path = data / "erp" / "invoices.csv"
    header, rows = _read(path)
    index = header.index("company_code")
    _write(
        path,
        [h for i, h in enumerate(header) if i != index],
        [[v for i, v in enumerate(r) if i != index] for r in rows],
    )
    return "erp/invoices.csv", "missing_column", "company_code"


def _renamed_column(data):
    path = data / "erp" / "invoices.csv"
    header, rows = _read(path)
    header[header.index("invoice_date")] = "invoice_dt"
    _write(path, header, rows)
    return "erp/invoices.csv", "unexpected_column", "invoice_dt"


def _wrong_type(data):
    path = data / "erp" / "invoices.csv"
    header, rows = _read(path)
    rows[5][header.index("invoice_date")] = "next tuesday"
    _write(path, header, rows)
    return "erp/invoices.csv", "wrong_type", "line 7"


def _empty_file(data):
    (data / "erp" / "credit_notes.csv").write_text("")
    return "erp/credit_notes.csv", "empty_file", "credit_notes.csv"


def _damaged_encoding(data):
    path = data / "erp" / "customers.csv"
    raw = path.read_bytes().splitlines(keepends=True)
    raw[11] = raw[11].replace(b",", b"\xe9,", 1)
    path.write_bytes(b"".join(raw))
    return "erp/customers.csv", "bad_encoding", "line 12"


def _loaded_twice(data):
    path = data / "erp" / "write_offs.csv"
    text = path.read_text()
    path.write_text(text + "".join(text.splitlines(keepends=True)[1:]))
    return "erp/write_offs.csv", "file_loaded_twice", "write_offs.csv"


def _duplicate_key(data):
    path = data / "erp" / "invoices.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines, lines[5]]))
    return "erp/invoices.csv", "unique_key", lines[5].split(",")[0]


FAILING = [_malformed_row, _missing_column, _renamed_column, _wrong_type, _empty_file, _damaged_encoding,
           _loaded_twice, _duplicate_key]  # fmt: skip


def _published_fingerprint(warehouse):
    current = (warehouse / "current").resolve()
    files = sorted(p for p in current.rglob("*") if p.is_file())
    return current.name, {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _run(data, warehouse):
    return subprocess.run(
        [sys.executable, "-m", "finkpi.cli", "run", "--data-dir", str(data),
         "--warehouse-dir", str(warehouse)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip


@pytest.fixture(scope="module")
def published_warehouse(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("bad-input-warehouse")
    result = _run(SAMPLE_DIR, warehouse)
    assert result.returncode == 0, result.stderr[-3000:]
    _CLEAN.update(_revenue_by_invoice=_invoice_revenue(warehouse), revenue=_published_revenue(warehouse))
    return warehouse


_CLEAN: dict = {}  # the clean run's revenue by invoice and month, and its published monthly revenue


def _invoice_revenue(warehouse):
    """Each invoice's contribution to revenue per month in the build (its lines and credit notes)."""
    with duckdb.connect(str(warehouse / "finkpi.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select invoice_id, date_trunc('month', revenue_date)::date, sum(net_amount_reporting)::double "
            "from marts.fct_invoice_lines group by all"
        ).fetchall()
    return {(invoice, month): amount for invoice, month, amount in rows}


def _published_revenue(warehouse):
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select period_start, value from metric_values "
            "where metric_name = 'revenue' and grain = 'month' and dimension = 'total'"
        ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("damage", FAILING, ids=lambda f: f.__name__.strip("_"))
def test_a_failing_kind_stops_the_run_and_leaves_the_published_version(published_warehouse, tmp_path, damage):
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    file, rule, position = damage(data)
    before = _published_fingerprint(published_warehouse)
    result = _run(data, published_warehouse)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    message = result.stderr
    assert rule in message and file.split("/")[-1] in message and position in message, message[-3000:]
    assert _published_fingerprint(published_warehouse) == before


def test_a_warned_kind_publishes_and_counts_the_warning(published_warehouse, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    path = data / "erp" / "invoice_lines.csv"
    header, lines = _read(path)
    lines[200][header.index("unit_price")] = str(float(lines[200][header.index("unit_price")]) * 100)
    _write(path, header, lines)
    before, _files = _published_fingerprint(published_warehouse)
    result = _run(data, published_warehouse)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "extreme_outlier on" in result.stdout and "warned 1 of" in result.stdout, result.stdout[-3000:]
    assert _published_fingerprint(published_warehouse)[0] != before


def _set(data, table, key, column, value):
    """Set one column of the record whose first column is `key`; returns its line (header = 1)."""
    path = data / "erp" / f"{table}.csv"
    header, rows = _read(path)
    index = next(i for i, row in enumerate(rows) if row[0] == key)
    rows[index][header.index(column)] = value
    _write(path, header, rows)
    return index + 2


def _negative_quantity(data):
    line = 102  # IN000030/2; IN000030 has a customer payment (CP000225, customer_payments.csv:226)
    path = data / "erp" / "invoice_lines.csv"
    header, rows = _read(path)
    rows[line - 2][header.index("quantity")] = "-" + rows[line - 2][header.index("quantity")]
    _write(path, header, rows)
    return "negative_quantity", f"invoice_lines.csv:{line}", ["IN000030"], ["customer_payments.csv:226"]


def _unknown_currency(data):
    # IN000016 has a credit note (CN000001) and a payment (CP000005)
    line = _set(data, "invoices", "IN000016", "currency", "XEU")
    return (
        "unknown_currency",
        f"invoices.csv:{line}",
        ["IN000016"],
        ["credit_notes.csv:2", "customer_payments.csv:6"],
    )


def _future_date(data):
    # IN000082 has a write-off (WO000001) and a payment (CP000165)
    line = _set(data, "invoices", "IN000082", "invoice_date", "2099-01-01")
    return (
        "future_date",
        f"invoices.csv:{line}",
        ["IN000082"],
        ["write_offs.csv:2", "customer_payments.csv:166"],
    )


def _missing_exchange_rate(data):
    # GBP is a known currency without any rate in the extract
    line = _set(data, "invoices", "IN000040", "currency", "GBP")
    return "missing_exchange_rate", f"invoices.csv:{line}", ["IN000040"], []


def _orphan_invoice_line(data):
    path = data / "erp" / "invoice_lines.csv"
    header, rows = _read(path)
    rows.append(["IN999999", *rows[0][1:]])
    _write(path, header, rows)
    return "orphan_invoice_line", f"invoice_lines.csv:{len(rows) + 1}", [], []


QUARANTINED = [
    _negative_quantity,
    _unknown_currency,
    _future_date,
    _missing_exchange_rate,
    _orphan_invoice_line,
]


@pytest.mark.parametrize("damage", QUARANTINED, ids=lambda f: f.__name__.strip("_"))
def test_a_quarantined_kind_publishes_without_the_document_and_what_depends_on_it(
    published_warehouse, tmp_path, damage
):
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    rule, position, invoices, dependants = damage(data)
    before, _files = _published_fingerprint(published_warehouse)
    result = _run(data, published_warehouse)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    version = _published_fingerprint(published_warehouse)[0]
    assert version != before

    # the outcome names the rule, the file and the line; dependants leave as parent_quarantined
    outcomes = [line for line in result.stdout.splitlines() if line.startswith("rule ")]
    assert any(f"rule {rule} on" in line and position in line for line in outcomes), outcomes
    for dependant in dependants:
        assert any(
            "rule parent_quarantined on" in line and dependant in line and " of IN" in line
            for line in outcomes
        ), (dependant, outcomes)

    # the audit store counts what the run quarantined
    with AuditStore(published_warehouse).reading() as con:
        counts = dict(
            con.execute(
                "select rule_id, sum(rows_quarantined) from quarantine where run_id = ? group by 1", [version]
            ).fetchall()
        )
    assert counts.get(rule, 0) >= 1, counts
    if dependants:
        assert counts.get("parent_quarantined") == len(dependants), counts

    # revenue is lower by exactly the quarantined invoices' revenue, in their months
    with duckdb.connect(str(published_warehouse / "finkpi.duckdb"), read_only=True) as con:
        quarantined = {
            key
            for (key,) in con.execute(
                "select record_key from quarantine.rule_violations "
                "where quarantined and model = 'int_invoices_validated'"
            ).fetchall()
        }
    assert quarantined == set(invoices), quarantined
    expected = dict(_CLEAN["revenue"])
    for (invoice, month), amount in _CLEAN["_revenue_by_invoice"].items():
        if invoice in quarantined:
            expected[month] -= amount
    revenue = _published_revenue(published_warehouse)
    assert revenue.keys() == expected.keys()
    wrong = {m: (revenue[m], expected[m]) for m in revenue if abs(revenue[m] - expected[m]) > 0.005}
    assert not wrong, wrong
    assert re.search(r"Great Expectations: .* 0 failed, 0 error", result.stdout), result.stdout[-2000:]


def test_crm_facts_out_of_order_leave_the_metrics_with_their_record(published_warehouse, tmp_path):
    """A won opportunity closed before it was created once published a negative sales cycle
    (FY2022 = -25.25 days); a case closed before it was opened, a negative resolution time. Each is
    quarantined with file and line, and the metrics are those of the other records (the pandas
    reference, which leaves out the same records)."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    header, opportunities = _read(data / "crm" / "Opportunity.csv")
    won = next(i for i, row in enumerate(opportunities) if row[header.index("IsWon")] == "true")
    opportunities[won][header.index("CloseDate")] = "2021-06-01"  # before every CreatedDate
    _write(data / "crm" / "Opportunity.csv", header, opportunities)
    case_header, cases = _read(data / "crm" / "Case.csv")
    closed = next(i for i, row in enumerate(cases) if row[case_header.index("ClosedDate")])
    cases[closed][case_header.index("ClosedDate")] = "2021-06-01T00:00:00+00:00"
    _write(data / "crm" / "Case.csv", case_header, cases)

    result = _run(data, published_warehouse)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outcomes = [line for line in result.stdout.splitlines() if line.startswith("rule ")]
    for rule, position in (
        ("opportunity_closed_before_created", f"Opportunity.csv:{won + 2}"),
        ("case_closed_before_created", f"Case.csv:{closed + 2}"),
    ):
        assert any(
            f"rule {rule} on" in line and "quarantined 1 of" in line and position in line for line in outcomes
        ), (
            rule,
            outcomes,
        )

    as_of = default_as_of(data)
    with duckdb.connect(str(published_warehouse / "published.duckdb"), read_only=True) as con:
        published = {
            metric: dict(
                con.execute(
                    "select period_start, value from metric_values where metric_name = ?"
                    " and grain = 'year' and dimension = 'total' and value is not null",
                    [metric],
                ).fetchall()
            )
            for metric in ("sales_cycle_days", "avg_resolution_hours")
        }
    # the sales cycle: the pandas reference, which leaves out the same records
    reference = reference_values("sales_cycle_days", "year", as_of=as_of, data_dir=data)
    expected = {row.period_start: row.value for row in reference.itertuples() if row.value is not None}
    assert published["sales_cycle_days"].keys() == expected.keys(), (published, expected)
    assert all(abs(published["sales_cycle_days"][p] - expected[p]) < 1e-6 for p in expected), (
        published,
        expected,
    )
    # the resolution time (the reference's case events read the sample only): every other closed
    # case, by the year it was opened in
    hours: dict[date, list[float]] = {}
    for index, row in enumerate(cases):
        created, closed_at = row[case_header.index("CreatedDate")], row[case_header.index("ClosedDate")]
        if index != closed and closed_at and created[:10] <= closed_at[:10] <= as_of.isoformat():
            hours.setdefault(date(int(created[:4]), 1, 1), []).append(_hours(created, closed_at))
    expected = {year: sum(values) / len(values) for year, values in hours.items()}
    assert published["avg_resolution_hours"].keys() == expected.keys()
    assert all(abs(published["avg_resolution_hours"][p] - expected[p]) < 1e-6 for p in expected), (
        published["avg_resolution_hours"],
        expected,
    )
    assert all(value >= 0 for values in published.values() for value in values.values()), published

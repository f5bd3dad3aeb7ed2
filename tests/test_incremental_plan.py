"""`finkpi.incremental.plan`: an incremental run is incremental only when yesterday's files are all
still there unchanged and every new file is a delivery of a table that appends; otherwise it is a
full run that says why. Its window starts at the incremental facts' newest date minus the lookback.

Real files and a real DuckDB build warehouse, made by hand: the facts hold two days each, the
record of loaded files is written by `record_build` over the real file hashes."""

from __future__ import annotations

import csv
import shutil
from datetime import date

import duckdb
import pytest

from finkpi import dbt_runner
from finkpi.audit.provenance import input_file_hashes
from finkpi.incremental import (
    DEFINITIONS,
    INCREMENTAL_FACTS,
    LOADED_FILES,
    changed_dimensions,
    dimension_rows,
    plan,
    record_build,
)
from finkpi.settings import PROJECT_DIR, load_settings
from tests.conftest import SAMPLE_DIR

NEWEST = {
    "fct_gl_entries": date(2025, 11, 12),
    "fct_invoice_lines": date(2025, 11, 10),  # the oldest newest date: the window follows it
    "fct_sales_order_lines": date(2025, 11, 14),
}


@pytest.fixture
def yesterday(tmp_path):
    """Settings asking for an incremental run over a copy of the sample and of the dbt project's
    definitions, whose build warehouse loaded exactly the files there are now."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    project = tmp_path / "project"
    project.mkdir()
    for part in DEFINITIONS:
        copy = shutil.copytree if (PROJECT_DIR / part).is_dir() else shutil.copyfile
        copy(PROJECT_DIR / part, project / part)
    settings = load_settings(
        data_dir=data, warehouse_dir=tmp_path / "warehouse", project_dir=project, incremental=True
    )
    settings.warehouse_dir.mkdir()
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute("create schema marts")
        for fact, column in INCREMENTAL_FACTS.items():
            con.execute(
                f"create table marts.{fact} as select * from (values (date '2025-11-01'),"
                f" (date '{NEWEST[fact].isoformat()}')) as t({column})"
            )
    record_build(settings, input_file_hashes(settings))
    return settings


def _deliver(settings, source: str, table: str, batch: str = "2025-11-15", **changes) -> str:
    """A delivery file of `table`: its base file's header and first record, with `changes`
    (column -> value) applied."""
    base = settings.source_path(source, table)
    folder = settings.source_folder(source) / "deliveries" / batch
    folder.mkdir(parents=True, exist_ok=True)
    with base.open(newline="") as file:
        reader = csv.DictReader(file)
        record = next(reader) | changes
    with (folder / base.name).open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerow(record)
    return f"{source}/deliveries/{batch}/{base.name}"


def test_a_full_run_asked_for_is_full(yesterday):
    decided = plan(yesterday.with_(incremental=False), input_file_hashes(yesterday))
    assert not decided.incremental and decided.full_because is None
    assert decided.describe() == "full run"


def test_no_new_file_recomputes_the_window_from_the_oldest_newest_fact_date(yesterday):
    decided = plan(yesterday, input_file_hashes(yesterday))
    assert decided.incremental, decided.describe()
    assert decided.window_start == date(2025, 11, 7)  # 2025-11-10 minus the lookback of 3 days
    assert decided.new_files == ()
    settings = decided.apply(yesterday)
    assert settings.incremental and settings.dbt_vars()["incremental_start"] == "2025-11-07"


def test_a_set_window_start_is_kept(yesterday):
    decided = plan(yesterday.with_(incremental_start=date(2025, 10, 1)), input_file_hashes(yesterday))
    assert decided.window_start == date(2025, 10, 1)


def test_a_delivery_of_an_appending_table_is_a_new_file_of_an_incremental_run(yesterday):
    """A new order and its line, dated inside the window (the line by its order)."""
    orders = _deliver(yesterday, "erp", "sales_orders", order_id="SO-NEW", order_date="2025-11-15")
    lines = _deliver(yesterday, "erp", "sales_order_lines", order_id="SO-NEW")
    decided = plan(yesterday, input_file_hashes(yesterday))
    assert decided.incremental, decided.describe()
    assert decided.new_files == (lines, orders)
    assert "2 new delivery file(s)" in decided.describe()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("deliver customers", "erp/deliveries/2025-11-15/customers.csv delivers customers"),
        (
            "deliver a late order",
            "erp/deliveries/2025-11-15/sales_orders.csv delivers records dated 2025-11-06, before the"
            " window's first day 2025-11-07",
        ),
        ("deliver a line of an old order", "sales_order_lines.csv delivers records dated 20"),
        ("edit a base file", "erp/sales_orders.csv changed since it was loaded"),
        ("remove a base file", "erp/write_offs.csv was loaded before and is gone now"),
        ("add a base file", "is a new base file, not a delivery"),
        ("forget the record", f"has no record of the files it loaded ({LOADED_FILES})"),
        ("edit a macro", "the definitions changed since the last build"),
        ("change a quality rule", "the definitions changed since the last build"),
        ("empty a fact", "fct_invoice_lines is empty or not built yet"),
        ("no warehouse", "there is no build warehouse yet"),
    ],
)
def test_what_an_incremental_run_cannot_take_makes_it_full_and_says_why(
    yesterday, change, reason, monkeypatch
):
    erp = yesterday.source_folder("erp")
    if change == "edit a macro":  # a cast, say: the columns stay, the rows built yesterday would differ
        macro = yesterday.project_dir / "macros" / "currency.sql"
        macro.write_text(macro.read_text() + "\n{# changed #}\n")
    elif change == "change a quality rule":
        rules = dbt_runner.dbt_var()
        monkeypatch.setattr(
            dbt_runner, "dbt_var", lambda: {**rules, "a_new_rule": {"severity": "quarantine"}}
        )
    elif change == "deliver a late order":  # one day before the window
        _deliver(yesterday, "erp", "sales_orders", order_id="SO-LATE", order_date="2025-11-06")
    elif change == "deliver a line of an old order":  # dated by its order, booked long ago
        _deliver(yesterday, "erp", "sales_order_lines", line_number="99")
    elif change == "deliver customers":
        _deliver(yesterday, "erp", "customers")
    elif change == "edit a base file":
        path = erp / "sales_orders.csv"
        path.write_text(path.read_text().replace("delivered", "cancelled", 1))
    elif change == "remove a base file":
        (erp / "write_offs.csv").unlink()
    elif change == "add a base file":  # the CRM's Account file was not there when yesterday loaded
        account = yesterday.source_path("crm", "Account")
        held = account.read_bytes()
        account.unlink()
        record_build(yesterday, input_file_hashes(yesterday))
        account.write_bytes(held)
    elif change in ("forget the record", "empty a fact"):
        with duckdb.connect(str(yesterday.build_database)) as con:
            con.execute(
                f"drop table {LOADED_FILES}"
                if change == "forget the record"
                else "delete from marts.fct_invoice_lines"
            )
    else:
        shutil.rmtree(yesterday.warehouse_dir)
    decided = plan(yesterday, input_file_hashes(yesterday))
    assert not decided.incremental
    assert reason in decided.full_because
    assert decided.describe().startswith("full run although --incremental was asked for: ")
    settings = decided.apply(yesterday)
    assert not settings.incremental and settings.dbt_vars()["incremental_start"] is None


def _dimensions(settings, customers: str) -> None:
    """marts.dim_customers (key, region, first invoice date) as `customers` (SQL values), and a
    calendar whose as-of flag moves with the run."""
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute(
            f"create or replace table marts.dim_customers as select * from (values {customers})"
            " as t(customer_key, region, first_invoice_date)"
        )
        flag = f"date_day <= date '{NEWEST['fct_invoice_lines'].isoformat()}'"
        con.execute(
            "create or replace table marts.dim_dates as select cast(range as date) as date_day,"
            f" {flag} as is_through_as_of from range(date '2025-11-01', date '2025-11-20', interval 1 day)"
        )


YESTERDAYS_CUSTOMERS = "('c1', 'EMEA', date '2025-10-02'), ('c2', 'APAC', null)"


@pytest.mark.parametrize(
    "today, changed",
    [
        # a new customer, and c2's first invoice inside the window: additions
        (YESTERDAYS_CUSTOMERS.replace("null", "date '2025-11-14'") + ", ('c3', 'AMER', null)", None),
        # c1 moved to another region: its old periods' slices would change
        ("('c1', 'AMER', date '2025-10-02'), ('c2', 'APAC', null)", "marts.dim_customers: 1 row(s)"),
        # c2's first invoice dated before the window: not the new facts' doing
        (
            "('c1', 'EMEA', date '2025-10-02'), ('c2', 'APAC', date '2025-10-20')",
            "marts.dim_customers: 1 row(s)",
        ),
        # c2 is gone
        ("('c1', 'EMEA', date '2025-10-02')", "marts.dim_customers: 1 row(s) changed or disappeared"),
    ],
)
def test_a_dimension_row_that_changed_or_went_is_found_and_added_rows_are_not(yesterday, today, changed):
    settings = plan(yesterday, input_file_hashes(yesterday)).apply(yesterday)
    assert settings.incremental_start == date(2025, 11, 7)
    _dimensions(settings, YESTERDAYS_CUSTOMERS)
    before = dimension_rows(settings)
    assert set(before) == {"dim_customers", "dim_dates"}
    _dimensions(settings, today)
    with duckdb.connect(str(settings.build_database)) as con:  # the as-of flag moves: not a change
        con.execute("update marts.dim_dates set is_through_as_of = date_day <= date '2025-11-19'")
    found = changed_dimensions(settings, before)
    assert (found is None) if changed is None else (changed in found), found
    assert dimension_rows(settings.with_(incremental=False, incremental_start=None)) is None

"""Bad raw files fail before dbt runs, with the rule, the file and the line (fast: no dbt)."""

from __future__ import annotations

import shutil

import pytest

from finkpi.quality import preflight
from finkpi.settings import load_settings
from finkpi.sources import get
from tests.conftest import SAMPLE_DIR

INVOICE_COLUMNS = [(c.name, c.type, c.description) for c in get("erp").table("invoices").columns]


@pytest.fixture
def invoices(tmp_path):
    path = tmp_path / "invoices.csv"
    shutil.copy(SAMPLE_DIR / "erp" / "invoices.csv", path)
    return path


def _lines(path):
    return path.read_text().splitlines(keepends=True)


def _only(problems, rule_id, line):
    assert problems, "expected a problem"
    problem = problems[0]
    assert problem.rule_id == rule_id, problems
    assert problem.line == line, problems
    message = preflight.PreflightError(problems).args[0]
    assert f"FAILED rule {rule_id}: {problem.file}" in message
    if line:
        assert f"line {line}" in message
    return problem


def test_clean_sample_has_no_problem():
    assert preflight.find_problems(load_settings(data_dir=SAMPLE_DIR)) == []


def test_malformed_row(invoices):
    lines = _lines(invoices)
    lines[9] = lines[9].rstrip("\n") + ",extra\n"  # line 10: one field too many
    invoices.write_text("".join(lines))
    problem = _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "malformed_row", 10)
    assert "12 field(s), the header has 11" in problem.message


def test_unterminated_quote(invoices):
    lines = _lines(invoices)
    lines[4] = lines[4].replace("USD", '"USD', 1).replace("EUR", '"EUR', 1)
    invoices.write_text("".join(lines))
    problems = preflight.check_csv(invoices, INVOICE_COLUMNS)
    assert problems[0].rule_id == "malformed_row"


def test_missing_column(invoices):
    rows = [line.rstrip("\n").split(",") for line in _lines(invoices)]
    invoices.write_text("".join(",".join(row[:-1]) + "\n" for row in rows))  # drop company_code
    problem = _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "missing_column", 1)
    assert "company_code" in problem.message


def test_renamed_column(invoices):
    lines = _lines(invoices)
    lines[0] = lines[0].replace("invoice_date", "invoice_dt")
    invoices.write_text("".join(lines))
    problem = _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "unexpected_column", 1)
    assert "invoice_dt" in problem.message and "missing invoice_date (renamed?)" in problem.message


def test_wrong_type(invoices):
    lines = _lines(invoices)
    lines[6] = lines[6].replace(",2023-", ",23/01/2023-", 1)  # line 7: invoice_date not ISO
    invoices.write_text("".join(lines))
    problem = _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "wrong_type", 7)
    assert "column invoice_date" in problem.message and "is not a date" in problem.message


def test_empty_file(invoices):
    invoices.write_text("")
    _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "empty_file", None)
    invoices.write_text(_lines(SAMPLE_DIR / "erp" / "invoices.csv")[0])
    _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "empty_file", None)


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"], ids=["bom", "bom_newline"])
def test_a_file_holding_only_a_byte_order_mark_is_empty(invoices, content):
    """Excel saves an empty sheet as a UTF-8 byte-order mark alone (sometimes with a line end)."""
    invoices.write_bytes(content)
    problem = _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "empty_file", None)
    assert problem.file == invoices and "empty" in problem.message
    assert f"FAILED rule empty_file: {invoices}: the file is empty" in problem.describe()


def test_damaged_encoding(invoices):
    data = bytearray(invoices.read_bytes())
    offset = data.index(b"\n", data.index(b"IN000011"))  # end of line 12
    data[offset - 1 : offset - 1] = b"\xe9"  # a Latin-1 byte
    invoices.write_bytes(bytes(data))
    problem = _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "bad_encoding", 12)
    assert "0xe9" in problem.message


@pytest.mark.parametrize("with_header", [False, True])
def test_same_file_loaded_twice(invoices, with_header):
    lines = _lines(invoices)
    invoices.write_text("".join(lines + (lines if with_header else lines[1:])))
    records = len(lines) - 1
    first_repeat = len(lines) + 1
    problem = _only(preflight.check_csv(invoices, INVOICE_COLUMNS), "file_loaded_twice", first_repeat)
    assert f"{records} records repeat" in problem.message


@pytest.fixture
def delivered(tmp_path):
    """The sample's ERP and CRM with a delivery of two invoices (their base file's header, their
    last two records), in the layout `<source>/deliveries/<batch>/`."""
    data = tmp_path / "data"
    for source in ("erp", "crm"):
        shutil.copytree(SAMPLE_DIR / source, data / source)
    lines = _lines(SAMPLE_DIR / "erp" / "invoices.csv")
    delivery = data / "erp" / "deliveries" / "2025-11-15" / "invoices.csv"
    delivery.parent.mkdir(parents=True)
    delivery.write_text("".join([lines[0], *lines[-2:]]))
    return load_settings(data_dir=data), delivery


def test_a_delivery_file_is_checked_like_its_base_file(delivered):
    settings, delivery = delivered
    assert settings.table_files("erp", "invoices") == [settings.source_path("erp", "invoices"), delivery]
    assert preflight.find_problems(settings) == []


def test_a_delivery_file_with_a_renamed_column_fails_naming_file_and_column(delivered):
    settings, delivery = delivered
    lines = _lines(delivery)
    lines[0] = lines[0].replace("invoice_date", "invoice_dt")
    delivery.write_text("".join(lines))
    (problem,) = preflight.find_problems(settings)
    assert (problem.rule_id, problem.file, problem.line) == ("unexpected_column", delivery, 1)
    message = preflight.PreflightError([problem]).args[0]
    assert f"FAILED rule unexpected_column: {delivery} line 1" in message
    assert "invoice_dt" in message and "missing invoice_date (renamed?)" in message


def test_a_missing_base_file_fails_in_either_format(tmp_path):
    """The source definitions read a table's files with allow_empty (a day may bring no delivery),
    which would read a missing base file as no rows: the pre-flight names it instead, also for
    Parquet, whose contents it does not check."""
    data = tmp_path / "data"
    for source in ("erp", "crm"):
        shutil.copytree(SAMPLE_DIR / source, data / source)
    (data / "erp" / "invoices.csv").unlink()
    (problem,) = preflight.find_problems(load_settings(data_dir=data))
    assert (problem.rule_id, problem.file.name) == ("empty_file", "invoices.csv")

    parquet = tmp_path / "parquet"
    for source in ("erp", "crm"):
        (parquet / source).mkdir(parents=True)
        for path in (SAMPLE_DIR / source).glob("*.csv"):
            (parquet / source / f"{path.stem}.parquet").write_bytes(b"")  # existence is all it checks
    (parquet / "erp" / "invoices.parquet").unlink()
    (problem,) = preflight.find_problems(load_settings(data_dir=parquet, raw_format="parquet"))
    assert (problem.rule_id, problem.file, problem.message) == (
        "empty_file",
        parquet / "erp" / "invoices.parquet",
        "the file does not exist",
    )

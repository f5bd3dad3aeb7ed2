"""The full pipeline once per bad-input kind (slow: `make test-slow`).

A clean run publishes first; then each damaged copy of the sample runs the whole pipeline against
the same warehouse. A kind that fails the run exits 1 with a message naming the file, the line and
the rule, and leaves the published version byte-for-byte as it was; a warned kind publishes."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import pytest

from finkpi.settings import PROJECT_DIR
from tests.conftest import SAMPLE_DIR
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
    return warehouse


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

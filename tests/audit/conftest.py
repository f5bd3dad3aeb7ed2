"""Fixtures shared by the OpenLineage and audit-report tests."""

import pytest

from finkpi.settings import PROJECT_DIR


@pytest.fixture
def empty_invoices(tmp_path):
    """The sample's files linked into a new folder, with invoices.csv cut to its header."""
    data = tmp_path / "data"
    sample = PROJECT_DIR / "data" / "sample"
    for path in sample.rglob("*.csv"):
        target = data / path.relative_to(sample)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    invoices = data / "erp" / "invoices.csv"
    header = invoices.read_text().splitlines()[0]
    invoices.unlink()
    invoices.write_text(header + "\n")
    return data

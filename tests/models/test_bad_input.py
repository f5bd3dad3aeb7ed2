"""A deliberately duplicated invoice id makes the run fail, and the message names the model, the
rule and the offending key with its file and line (dbt's own `unique` prints only a count)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from finkpi.settings import PROJECT_DIR
from tests.conftest import SAMPLE_DIR

# not in `make test-quick`: a whole `finkpi run` that fails in its dbt build
pytestmark = pytest.mark.build


def test_duplicated_invoice_id_fails_the_run_naming_model_rule_key_file_and_line(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    invoices = data / "erp" / "invoices.csv"
    lines = invoices.read_text().splitlines(keepends=True)
    duplicated = lines[5]  # line 6 of the file: the 5th invoice
    invoice_id = duplicated.split(",")[0]
    lines.append(duplicated)  # a second copy at the end of the file
    invoices.write_text("".join(lines))
    last_line = len(lines)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "finkpi.cli",
            "run",
            "--data-dir",
            str(data),
            "--warehouse-dir",
            str(tmp_path / "warehouse"),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stderr
    assert "FAILED rule unique_key on stg_erp__invoices" in message, message
    assert invoice_id in message
    # both copies, each with its file and line
    rows = re.findall(rf"^\s+{invoice_id}\s+(\S+)\s+(\d+)\s+2$", message, re.MULTILINE)
    assert sorted((file, int(line)) for file, line in rows) == [
        (str(invoices), 6),
        (str(invoices), last_line),
    ], message

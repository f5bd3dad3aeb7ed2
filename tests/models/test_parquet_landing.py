"""The scale path: `finkpi generate --scale N` writes Parquet into a landing folder, and the same
dbt project builds from it (every model and test) with `--raw-format parquet`."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from finkpi.settings import PROJECT_DIR


def test_scaled_parquet_landing_builds_with_n_times_the_volume(tmp_path):
    landing = tmp_path / "landing"
    finkpi = [sys.executable, "-m", "finkpi.cli"]
    subprocess.run([*finkpi, "generate", "--scale", "2", "--out", str(landing)], check=True, cwd=PROJECT_DIR)
    assert sorted(p.name for p in (landing / "erp").iterdir())[:2] == [
        "company_codes.parquet",
        "cost_centers.parquet",
    ]

    result = subprocess.run(
        [
            *finkpi,
            "run",
            "--data-dir",
            str(landing),
            "--raw-format",
            "parquet",
            "--warehouse-dir",
            str(tmp_path / "warehouse"),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with duckdb.connect(str(tmp_path / "warehouse" / "finkpi.duckdb"), read_only=True) as con:
        # the generated company's lines (the SAP source's, always CSV, are beside them)
        lines = con.execute(
            "select count(*) from marts.fct_sales_order_lines where source_system = 'erp'"
        ).fetchone()[0]
        raw = con.execute(
            "select count(*) from read_parquet(?)", [str(landing / "erp" / "sales_order_lines.parquet")]
        ).fetchone()[0]
        # the last record of the Parquet file is row N (1-based), as the line-number contract says
        last_row = con.execute("select max(_source_row) from staging.stg_erp__sales_order_lines").fetchone()[
            0
        ]
    sample_csv = PROJECT_DIR / "data" / "sample" / "erp" / "sales_order_lines.csv"
    sample_lines = len(sample_csv.read_text().splitlines()) - 1
    assert lines == raw == last_row
    assert 1.8 * sample_lines < lines < 2.2 * sample_lines

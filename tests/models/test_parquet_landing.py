"""The scale path: `finkpi generate --scale N` writes Parquet into a landing folder, and the same
dbt project builds from it (every model and test) with `--raw-format parquet`.

What runs, and why no more:
- the generation is the real command line, at scale 2 (about two seconds): a second shard is what
  makes the "N times the volume" assertion mean something (scale 1 is the CSV sample itself);
- the options `--data-dir --raw-format parquet --warehouse-dir` go through the command line's
  parser into the settings, and then the build stage of `finkpi run` runs in this process: the
  pre-flight check of the raw files and one whole `dbt build`, every model and test of the project
  (asserted), no `--select`;
- the later stages of a run (metric exports, scorecards, the quality gate, publish) read the build
  warehouse only, the same tables whatever format the extracts came in; the pytest session's whole
  run covers them. (Before, this test ran a whole `finkpi run` in a subprocess: about a minute.)
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from finkpi import dbt_runner
from finkpi.cli import build_parser
from finkpi.cli.options import settings_from
from finkpi.quality import preflight
from finkpi.settings import PROJECT_DIR

# not in `make test-quick`: a whole dbt build of the Parquet landing
pytestmark = pytest.mark.build


def test_scaled_parquet_landing_builds_with_n_times_the_volume(tmp_path):
    landing = tmp_path / "landing"
    finkpi = [sys.executable, "-m", "finkpi.cli"]
    subprocess.run([*finkpi, "generate", "--scale", "2", "--out", str(landing)], check=True, cwd=PROJECT_DIR)
    assert sorted(p.name for p in (landing / "erp").iterdir())[:2] == [
        "company_codes.parquet",
        "cost_centers.parquet",
    ]

    arguments = [
        "--data-dir",
        str(landing),
        "--raw-format",
        "parquet",
        "--warehouse-dir",
        str(tmp_path / "warehouse"),
    ]
    settings = settings_from(build_parser().parse_args(["run", *arguments]))
    assert (settings.raw_format, settings.data_dir) == ("parquet", landing.resolve())
    preflight.check(settings)
    result = dbt_runner.build(settings, quiet=True)  # raises DbtBuildError if a model or test fails
    built = {r.node.name for r in result.result.results if r.node.resource_type == "model"}
    models = {path.stem for path in (settings.project_dir / "models").rglob("*.sql")}
    assert built == models, models ^ built
    assert sum(r.node.resource_type == "test" for r in result.result.results) > 300
    # staging read the Parquet files of the landing (not the CSV sample)
    compiled = {r.node.name: getattr(r.node, "compiled_code", "") for r in result.result.results}
    # its base file and the glob of its deliveries (none here: allow_empty)
    assert (
        f"read_parquet(['{landing.resolve()}/erp/sales_order_lines.parquet',"
        f" '{landing.resolve()}/erp/deliveries/*/sales_order_lines.parquet']"
        in compiled["stg_erp__sales_order_lines"]
    )

    with duckdb.connect(str(settings.build_database), read_only=True) as con:
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

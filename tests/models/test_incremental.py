"""Incremental runs publish the same numbers as a full rebuild.

The sample's last nine order days (about 1% of its sales order lines) are the delivery. In the CI
gate, yesterday's warehouse is the pytest session's full build with the incremental facts' rows
after those days taken out (`yesterday_build`, as the benchmark makes it): no second build. Then
`finkpi run --incremental` recomputes only the recent window of the incremental facts and rebuilds
everything else, and every mart row and every exported metric value must equal the session's full
build of the whole sample.

The long way, a real build of the sample as it stood nine days before its end and the delivery
appended to the extracts (`write_history`, `write_with_delivery`), is the `slow` test below
(`make test-slow`): it also shows that `yesterday_build` leaves the fact rows such a history build
holds.
"""

from __future__ import annotations

import math
import shutil

import duckdb
import pytest

from finkpi import dbt_runner, pipeline
from finkpi.cli import build_parser
from finkpi.cli.options import settings_from
from finkpi.generate.daily import (
    INCREMENTAL_FACTS,
    cutoff_for_share,
    rows_after,
    write_history,
    write_with_delivery,
    yesterday_build,
)
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR


def _rows(con, database: str, table: str, data_dir: str) -> list[tuple]:
    """Every row of a table, sorted; a lineage file path relative to its data folder (the two
    builds read the same files from two folders)."""
    columns = [row[0] for row in con.execute(f"describe {database}.{table}").fetchall()]
    exprs = [
        f"replace({c}, '{data_dir}', '<data>') as {c}" if c.endswith("source_file") else c
        for c in columns
        if c not in ("run_id", "value_run_id")  # the run that wrote the row, never equal
    ]
    return con.execute(f"select {', '.join(exprs)} from {database}.{table} order by all").fetchall()


def _close(actual: list[tuple], expected: list[tuple]) -> bool:
    """Equal rows, float values within 1e-9 relative (every other column exactly)."""
    if len(actual) != len(expected):
        return False
    for left, right in zip(actual, expected, strict=True):
        for a, b in zip(left, right, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif a != b:
                return False
    return True


def _fact_rows(database) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in INCREMENTAL_FACTS}


def _run_incremental_and_compare(incremental, full, data_dir, before: dict[str, int], monkeypatch) -> None:
    """`pipeline.run` with `incremental` (its warehouse is yesterday's), then every mart row and
    metric value against the full build of `full`; `data_dir` is what the incremental run read."""
    assert incremental.incremental
    builds = []
    real_build = dbt_runner.build

    def spy(settings, *args, **kwargs):
        builds.append(result := real_build(settings, *args, **kwargs))
        return result

    monkeypatch.setattr(dbt_runner, "build", spy)
    summary = pipeline.run(incremental, progress=lambda message: None)
    assert summary.published_version

    # dbt really replaced a window: each incremental fact ran its filter, not a full rebuild
    compiled = {r.node.name: getattr(r.node, "compiled_code", "") for r in builds[0].result.results}
    for table, column in INCREMENTAL_FACTS.items():
        assert f"where {column} >= cast(" in compiled[table], compiled[table][-400:]

    with duckdb.connect() as con:
        con.execute(f"attach '{incremental.build_database}' as incremental (read_only)")
        con.execute(f"attach '{full.build_database}' as full_build (read_only)")
        marts = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where database_name = 'full_build'"
                " and schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        assert len(marts) > 20
        for table in [*(f"marts.{m}" for m in marts), "metrics.metric_values"]:
            expected = _rows(con, "full_build", table, str(full.data_dir.resolve()))
            actual = _rows(con, "incremental", table, str(data_dir.resolve()))
            if table == "metrics.metric_values":  # values are DOUBLEs from MetricFlow: a sum of
                # doubles depends on the order rows are read in, which an incremental table
                # (a window deleted and appended) does not share with a rebuilt one
                assert _close(actual, expected), f"{table}: the incremental run differs from the full rebuild"
                continue
            assert actual == expected, f"{table}: the incremental run differs from the full rebuild"
        for table in INCREMENTAL_FACTS:  # the delivery added rows (the comparison is not vacuous)
            (after,) = con.execute(f"select count(*) from incremental.marts.{table}").fetchone()
            assert after > before[table]


def test_incremental_run_publishes_what_a_full_rebuild_does(built, sample_settings, tmp_path, monkeypatch):
    cutoff = cutoff_for_share(SAMPLE_DIR, 0.01)
    delivered = rows_after(SAMPLE_DIR, cutoff)
    assert 0 < delivered["erp.sales_order_lines"] <= 0.011 * 26_705, delivered
    # yesterday's warehouse: the session's full build without the incremental facts' rows of the
    # delivered days; the run reads the same files as the session build
    incremental = sample_settings.with_(warehouse_dir=tmp_path / "warehouse", incremental=True)
    yesterday_build(sample_settings.build_database, incremental.build_database, cutoff)
    before = _fact_rows(incremental.build_database)
    _run_incremental_and_compare(incremental, sample_settings, sample_settings.data_dir, before, monkeypatch)


@pytest.mark.slow
def test_incremental_run_after_a_built_history_and_an_appended_delivery(
    built, sample_settings, tmp_path, monkeypatch
):
    """The long way: a real full build of the history, then the delivery appended to the files."""
    cutoff = cutoff_for_share(SAMPLE_DIR, 0.01)
    data_dir = tmp_path / "data"
    history = load_settings(data_dir=data_dir, warehouse_dir=tmp_path / "warehouse")
    delivered = write_history(SAMPLE_DIR, data_dir, cutoff)
    assert 0 < delivered["erp.sales_order_lines"] <= 0.011 * 26_705, delivered
    dbt_runner.build(history, quiet=True)  # full
    before = _fact_rows(history.build_database)
    # yesterday_build leaves the incremental facts as this history build holds them
    shortcut = tmp_path / "shortcut" / "finkpi.duckdb"
    yesterday_build(sample_settings.build_database, shortcut, cutoff)
    with duckdb.connect() as con:
        con.execute(f"attach '{history.build_database}' as history (read_only)")
        con.execute(f"attach '{shortcut}' as shortcut (read_only)")
        for table in INCREMENTAL_FACTS:
            assert _rows(con, "shortcut", f"marts.{table}", str(SAMPLE_DIR.resolve())) == _rows(
                con, "history", f"marts.{table}", str(data_dir.resolve())
            ), table

    # the delivery lands: the same files with the new days appended
    shutil.rmtree(data_dir)
    write_with_delivery(SAMPLE_DIR, data_dir, cutoff)
    arguments = ["--data-dir", str(data_dir), "--warehouse-dir", str(history.warehouse_dir)]
    incremental = settings_from(build_parser().parse_args(["run", "--incremental", *arguments]))
    _run_incremental_and_compare(incremental, sample_settings, data_dir, before, monkeypatch)


def test_a_run_rebuilds_in_full_unless_incremental(monkeypatch, sample_settings):
    """`finkpi run` passes --full-refresh to dbt (a plain run rebuilds every table); with
    `--incremental` or FINKPI_INCREMENTAL=1 it does not."""
    calls = []
    monkeypatch.setattr(dbt_runner, "invoke", lambda settings, args: calls.append(args) or _Ok())
    dbt_runner.build(sample_settings)
    dbt_runner.build(sample_settings.with_(incremental=True))
    assert "--full-refresh" in calls[0] and "--full-refresh" not in calls[1]

    assert not settings_from(build_parser().parse_args(["run"])).incremental
    assert settings_from(build_parser().parse_args(["run", "--incremental"])).incremental
    monkeypatch.setenv("FINKPI_INCREMENTAL", "1")
    assert settings_from(build_parser().parse_args(["run"])).incremental
    monkeypatch.setenv("FINKPI_INCREMENTAL_LOOKBACK_DAYS", "-1")
    with pytest.raises(ValueError, match="LOOKBACK"):
        load_settings()


class _Ok:
    success = True

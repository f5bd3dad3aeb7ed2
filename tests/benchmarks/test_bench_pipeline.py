"""The pipeline benchmark's own logic (#25 item 1), on hand-made numbers and a tiny DuckDB file:
fixed costs apart from the work that grows with rows, the aims, the EXPLAIN files, the budget.
Nothing here is timed."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import duckdb
import pytest

from benchmarks import bench_pipeline as bench

STAGES = {"dbt build": 0.0, "metric exports": 0.0, "scorecards": 1.0, "validate": 2.0, "publish": 1.0}


def _run(wall: float, build: float, exports: float, peak_mib: float = 1000.0, gx_fixed: float = 2.0) -> dict:
    return {
        "wall_s": wall,
        "stages_s": {**STAGES, "dbt build": build, "metric exports": exports},
        "peak_mib": {"dbt build": peak_mib, "validate": 300.0},
        "other_load": {"share": 0.05},
        "dbt_nodes": {"seconds_by_type": {"model": build / 2, "test": build / 3}, "slowest": [["m", 1.0]]},
        "export_requests": {"count": 3, "sum_s": 1.5, "slowest": [["revenue @ month by total", 0.9]]},
        "gx": {
            "suites_s": {"a": 1.0, "b": 0.5},
            "setup_s": 1.2,
            "process_s": 1.5 + gx_fixed,
            "fixed_s": gx_fixed,
        },
    }


FIXED = {"start_up_s": 3.0, "dbt_parse_cold_s": 5.0, "dbt_parse_warm_s": 1.0, "metricflow_engine_s": 1.0}


def _scale(scale: int, cold: float, warm: float | None, baseline: float, **extra) -> dict:
    result = {
        "scale": scale,
        "order_lines": 30_000 * scale,
        "raw": {"rows": 200_000 * scale},
        "full": _run(cold, cold / 2, cold / 4),
        "baseline": {"wall_s": baseline, "peak_mib": 200.0},
        "measured_at": "2026-12-07 02:00 UTC",
        **extra,
    }
    if warm is not None:
        result["warm"] = _run(warm, warm / 2, warm / 4)
        result["fixed"] = FIXED
    return result


def test_split_fixed_takes_the_fixed_parts_from_the_whole():
    assert bench.split_fixed(10.0, {"a": 2.0, "b": 3.0}) == {"fixed_s": 5.0, "growing_s": 5.0}
    # parts measured apart can exceed a short run: never a negative part that grows
    assert bench.split_fixed(4.0, {"a": 2.0, "b": 3.0}) == {"fixed_s": 4.0, "growing_s": 0.0}


def test_a_cold_run_pays_the_cold_parse_a_warm_one_the_warm_parse():
    run = _run(40.0, 20.0, 10.0, gx_fixed=2.5)
    cold = bench.fixed_parts(FIXED, run, cold=True)
    warm = bench.fixed_parts(FIXED, run, cold=False)
    assert cold == {"start-up": 3.0, "dbt parse": 5.0, "MetricFlow engine": 1.0, "GX set-up": 2.5}
    assert warm["dbt parse"] == 1.0 and sum(warm.values()) == 7.5
    result = _scale(10, 40.0, 30.0, 2.0)
    # warm: 30 - (3 + 1 + 1 + 2) = 23 s grows with rows
    assert bench.run_split(result, "warm") == {"fixed_s": 7.0, "growing_s": 23.0}
    assert bench.run_split(result, "incremental") is None  # not measured
    result["incremental"] = _run(20.0, 10.0, 5.0)
    # in the warm run's folder, with the run's dates outside dbt's vars: the warm parse
    assert bench.run_split(result, "incremental") == {"fixed_s": 7.0, "growing_s": 13.0}
    assert bench.run_split({k: v for k, v in result.items() if k != "fixed"}, "full") is None


def test_gate_times_counts_what_is_not_a_suite_as_fixed():
    class Gate:
        suite_seconds = {"a": 2.0, "b": 1.0}
        setup_seconds = 1.5
        process_seconds = 7.0

    assert bench.gate_times(Gate()) == {
        "suites_s": {"a": 2.0, "b": 1.0},
        "setup_s": 1.5,
        "process_s": 7.0,
        "fixed_s": 4.0,
    }
    assert bench.gate_times(None) == {}


def test_slowest_of_counts_sums_and_orders():
    found = bench.slowest_of({"a": 1.0, "b": 3.0, "c": 2.0}, keep=2)
    assert found == {"count": 3, "sum_s": 6.0, "slowest": [["b", 3.0], ["c", 2.0]]}


def test_aims_measured_at_every_scale():
    incremental = _run(20.0, 10.0, 5.0, peak_mib=3500.0)
    results = [
        _scale(1, 25.0, 12.0, 0.4),
        _scale(10, 40.0, 22.0, 0.5),
        _scale(100, 120.0, 50.0, 5.0, incremental=incremental),
    ]
    rows = {row["measure"]: row for row in bench.aims(results)}
    assert len(rows) == 9
    sample = rows["whole run of the sample, warm / cold"]
    assert (sample["now"], sample["met"]) == ("12.0 s / 25.0 s", True)
    assert rows["whole run, scale 10, warm"]["met"] is False  # 22 s > 20 s
    whole = rows["whole run vs the baseline, scale 100, warm"]
    assert (whole["now"], whole["met"]) == ("10.0x", True)  # 50 / 5, at the aim
    # grows with rows: 50 - (3 + 1 + 1 + 2) = 43 s, 8.6x the baseline
    assert rows["the part of it that grows with rows vs the baseline, scale 100"]["now"] == "8.6x"
    assert rows["dbt build vs the baseline, scale 100, warm"]["now"] == "5.0x"  # 25 / 5
    assert rows["metric exports, scale 100, warm"]["met"] is False  # 12.5 s
    inc = rows["incremental day vs full run, scale 100, whole / the part that grows with rows"]
    # whole 20/50 = 40%; growing (20 - (3 + 5 + 1 + 2)) / 43 = 21%: the benchmark's incremental run
    # parses in full (its warehouse folder differs from the full run's)
    assert (inc["now"], inc["met"]) == ("40% / 30%", False)
    peak = rows["peak memory, scale 100, default settings"]
    assert (peak["now"], peak["met"]) == ("3.4 GiB", False)  # the incremental run's 3,500 MiB
    query = rows["`finkpi query`, cached, fresh process, sample"]
    assert (query["now"], query["met"]) == ("not measured", None)
    results[0]["query"] = {"question": "...", "new_s": 3.2, "cached_s": 0.45}
    query = {row["measure"]: row for row in bench.aims(results)}[
        "`finkpi query`, cached, fresh process, sample"
    ]
    assert (query["now"], query["met"]) == ("450 ms", True)


def test_a_run_whose_plans_were_all_cached_pays_no_metricflow_engine():
    run = _run(40.0, 20.0, 10.0) | {"metric_plans": {"planned": 0, "cached": 250}}
    assert bench.fixed_parts(FIXED, run, cold=False)["MetricFlow engine"] == 0.0
    run["metric_plans"]["planned"] = 3  # one new metric: MetricFlow is built for it
    assert bench.fixed_parts(FIXED, run, cold=False)["MetricFlow engine"] == 1.0


def test_aims_not_measured_say_so_and_are_neither_met_nor_missed():
    rows = bench.aims([_scale(1, 25.0, None, 0.4)])  # a cold run only
    sample = rows[0]
    assert sample["now"] == "not measured / 25.0 s" and sample["met"] is None
    assert all(row["met"] is None and "not measured" in row["now"] for row in rows[1:])
    # a measured miss counts even when the other half is not measured
    assert bench.aims([_scale(1, 31.0, None, 0.4)])[0]["met"] is False


def test_aims_table_renders_now_aim_and_met():
    table = bench.aims_table(
        [
            {"measure": "m1", "now": "1 s", "aim": "≤ 2 s", "met": True},
            {"measure": "m2", "now": "3 s", "aim": "≤ 2 s", "met": False},
            {"measure": "m3", "now": "not measured", "aim": "< 1 s", "met": None},
        ]
    )
    assert table[0] == "| measure | now | aim | met |"
    assert table[2:] == [
        "| m1 | 1 s | ≤ 2 s | yes |",
        "| m2 | 3 s | ≤ 2 s | **no** |",
        "| m3 | not measured | < 1 s | — |",
    ]


MACHINE = {
    "cpu": "test cpu",
    "cores": 2,
    "usable_cores": 2,
    "memory_gib": 8.0,
    "os": "Linux",
    "python": "3.11",
    "versions": {"duckdb": "1"},
}


def test_the_section_shows_the_aims_the_fixed_split_and_a_budget_stop(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nintro\n\n<!-- bench_metric_layer: start -->\nother\n")
    old = _scale(385, 600.0, None, 40.0)  # a row from before the warm run and the fixed costs
    results = [
        _scale(1, 25.0, 12.0, 0.4, explain=[{"node": "model.finkpi.fct_x", "dbt_s": 2.0, "file": "f"}]),
        old,
    ]
    stopped = {"budget_s": 300.0, "scale": 10, "phase": "warm"}
    bench.render(results, MACHINE, ["--scales", "1,10", "--budget", "300"], 1.0, out, "chart.png", stopped)
    text = out.read_text()
    assert text.index(bench.SECTION_START) < text.index("<!-- bench_metric_layer: start -->")
    assert "**Stopped at the budget** (`--budget 300`) during scale 10, warm run" in text
    assert "| whole run of the sample, warm / cold | 12.0 s / 25.0 s | ≤ 15 s / ≤ 30 s | yes |" in text
    # the sample's warm run: 12 - (3 + 1 + 1 + 2) = 5 s grows with rows, 12.5x the 0.4 s baseline
    assert "| 1 | warm | 12.0 s | 3.00 s | 1.00 s | 1.00 s | 2.00 s | 7.00 s | 5.00 s | 12.5x |" in text
    assert "| 385 | 11,550,000 |" in text and "| 385 | cold |" in text  # an old row still renders
    assert "`revenue @ month by total`" in text and "`benchmarks/explain/scale1/` of `fct_x`" in text
    # rendering again replaces the section, and without a stop the note is gone
    bench.render(results, MACHINE, ["--scales", "1"], 1.0, out, "chart.png")
    text = out.read_text()
    assert text.count(bench.SECTION_START) == 1 and "Stopped at the budget" not in text


def test_merge_phase_keeps_cold_and_warm_apart():
    result = {"scale": 10, "full": {"wall_s": 1}, "checks": {"revenue_by_month": 3}, "seconds": 5.0}
    bench.merge_phase(
        result, {"scale": 10, "warm": {"wall_s": 2}, "checks": {"incremental_equals_full": 9}, "seconds": 7.0}
    )
    assert result["checks"] == {"revenue_by_month": 3, "incremental_equals_full": 9}
    assert (result["seconds"], result["warm_seconds"]) == (5.0, 7.0)
    assert result["full"] == {"wall_s": 1} and result["warm"] == {"wall_s": 2}


# --------------------------------------------------------------------------------------------------
# EXPLAIN ANALYZE of the slowest nodes


def _node(unique_id: str, seconds: float, sql: str | None) -> dict:
    return {"unique_id": unique_id, "execution_time": seconds, "compiled_code": sql, "relation_name": None}


def test_explain_files_of_the_slowest_models_and_tests(tmp_path):
    database = tmp_path / "tiny.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts; create table marts.orders as select range as id from range(10)")
    models = [
        _node(f"model.finkpi.m{i}", float(i), f"select id * {i} as x from marts.orders") for i in range(7)
    ]
    run_results = {
        "results": [
            *models,
            _node("test.finkpi.not_null_orders_id.abc", 9.0, "select * from marts.orders where id is null;"),
            _node("test.finkpi.broken", 8.0, "select * from marts.no_such_table"),
            _node("seed.finkpi.big_seed", 99.0, "select 1"),  # not a model or a test
            _node("model.finkpi.ephemeral_no_sql", 50.0, None),  # nothing to explain
        ]
    }
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(run_results))
    out = tmp_path / "explain" / "scale1"

    written = bench.explain_slowest(database, path, out)

    assert [w["node"] for w in written] == [
        "model.finkpi.m6",
        "model.finkpi.m5",
        "model.finkpi.m4",
        "model.finkpi.m3",
        "model.finkpi.m2",
        "test.finkpi.not_null_orders_id.abc",
        "test.finkpi.broken",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(w["file"] for w in written)
    model = (out / "model-m6.txt").read_text()
    assert model.startswith("-- model.finkpi.m6: 6.00 s in dbt")
    plan = model.split("-- the compiled SQL")[0]
    assert "SEQ_SCAN" in plan and "marts.orders" in plan and "10 rows" in plan  # what it scanned
    assert "10 rows scanned" in plan
    assert "select id * 6 as x from marts.orders" in model
    test = (out / "test-not_null_orders_id.abc.txt").read_text()
    assert "no plan" not in test and "where id is null" in test and not test.rstrip().endswith(";")
    broken = (out / "test-broken.txt").read_text()
    assert "no plan: CatalogException" in broken and "no_such_table" in broken
    with duckdb.connect(str(database), read_only=True) as con:  # the select ran, nothing was created
        assert con.execute("select count(*) from duckdb_tables()").fetchone()[0] == 1


def test_plan_text_lists_the_slowest_operators_then_the_tree():
    profile = {
        "query": {"total_time": 3.5, "cpu_time": 6.25, "total_rows_scanned": 123_456},
        "system": {"peak_buffer_memory": 3 * 2**20, "total_bytes_spilled": 0},
        "operator": [
            {
                "name": "EXPLAIN_ANALYZE",
                "timing": 0.0,
                "children": [
                    {
                        "name": "HASH_JOIN",
                        "timing": 0.5,
                        "intermediate_rows": 1200,
                        "extra_info": {"Join Type": "INNER", "Conditions": ["a = b", "c = d"]},
                        "children": [
                            {
                                "name": "SEQ_SCAN",
                                "timing": 2.0,
                                "intermediate_rows": 3000,
                                "extra_info": {"Table": "x" * 300, "Estimated Cardinality": "5"},
                            },
                            {"name": "SEQ_SCAN", "timing": 0.25, "intermediate_rows": 7},
                        ],
                    }
                ],
            }
        ],
    }
    text = bench.plan_text(profile, top=2, width=80)
    head, tree = text.split("\n\nthe plan:\n")
    head = head.splitlines()
    assert head[0] == (
        "query: 3.500 s, CPU 6.250 s, 123,456 rows scanned, peak buffer memory 3 MiB, spilled 0 MiB"
    )
    assert head[1] == "operators: 3, 2.750 s in all; the slowest:"
    assert head[2].startswith("  SEQ_SCAN 2.000 s, 3,000 rows; Table: xxx")
    assert head[2].endswith("...") and len(head[2]) == 2 + 80
    assert head[3] == "  HASH_JOIN 0.500 s, 1,200 rows; Join Type: INNER; Conditions: a = b, c = d"
    assert len(head) == 4  # top=2
    lines = tree.splitlines()
    assert lines[0].startswith("HASH_JOIN") and lines[1].startswith("  SEQ_SCAN 2.000 s")
    assert lines[2] == "  SEQ_SCAN 0.250 s, 7 rows" and "Estimated Cardinality" not in text


def test_explain_file_names_are_file_names():
    assert bench.explain_file_name("model.finkpi.fct_sales") == "model-fct_sales.txt"
    name = bench.explain_file_name("test.finkpi.accepted_values_x__a/b c" + "y" * 200)
    assert "/" not in name and " " not in name and len(name) <= len("test-.txt") + 120


# --------------------------------------------------------------------------------------------------
# the budget


def test_budget_left():
    assert bench.budget_left(None, 123.0) is None
    assert bench.budget_left(100.0, 40.0) == 60.0
    assert bench.budget_left(100.0, 140.0) == -40.0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_child_past_its_budget_is_ended_with_its_own_children(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(g.pid))\n"
        "time.sleep(120)\n"
    )
    code, timed_out = bench.run_child([sys.executable, "-c", script], timeout=3.0, grace=5.0)
    assert timed_out and code is not None and code != 0
    grandchild = int(pid_file.read_text())
    for _ in range(50):  # the grandchild gets the signal too; give the kernel a moment to reap it
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild), "the child's own child outlived the budget"


def test_a_child_within_its_budget_runs_to_its_end():
    assert bench.run_child([sys.executable, "-c", "raise SystemExit(3)"], timeout=60) == (3, False)
    assert bench.run_child([sys.executable, "-c", "pass"], timeout=None) == (0, False)


@pytest.mark.parametrize("stopped", [None, {"budget_s": 60.0, "scale": None, "phase": None}])
def test_the_printed_summary(stopped):
    lines = bench.summary_lines([_scale(1, 25.0, 12.0, 0.4)], stopped)
    assert any(
        line.startswith("scale 1 (30,000 order lines): baseline 400 ms; cold 25.0 s") for line in lines
    )
    assert ("between scales" in lines[0]) == (stopped is not None)
    assert "| measure | now | aim | met |" in lines
    assert os.linesep not in "".join(lines)

"""Benchmark of the whole finkpi pipeline against a hand-written raw-DuckDB baseline, by scale: a
cold and a warm run, fixed costs apart from the work that grows with rows, and an incremental day.

    python benchmarks/bench_pipeline.py --scales 1,10 --merge     # make bench: scales 1 and 10
    python benchmarks/bench_pipeline.py --scales 1,10,100 --incremental-scale 100 --merge
                                                                  # make bench-100
    python benchmarks/bench_pipeline.py --scales 1,10 --budget 300   # stop at 5 min, keep what it has

Per scale, two child processes (so peak memory and imports belong to one run):

1. Cold: a fresh copy of the dbt project (no target/) and `pipeline.run` as `finkpi run` does it:
   pre-flight and dbt build, metric exports, scorecards, validate (rules, Great Expectations in a
   child process), publish. Each stage's wall time, and its peak memory: the resident memory of
   the whole process tree (this process and the GX child), sampled every 100 ms, and this
   process's kernel high-water mark (VmHWM, reset at the stage's start), whichever is higher.
   Each MetricFlow request's seconds (`RunSummary.export_request_seconds`) and each GX suite's
   (`GateResult.suite_seconds`) are kept: the slowest are reported.
   Then the baseline, in the same process: hand-written DuckDB SQL straight over the raw files
   into a fresh DuckDB file, the core of finkpi's transformations (sales order lines and invoice
   lines with their headers, exchange rates and standard costs, credit notes at their invoice's
   rate, GL lines with accounts and departments) and a handful of metrics (revenue, cogs, order
   intake, orders booked by month and fiscal quarter, company total and by region). Every value of
   it is checked to the cent against finkpi's export (AssertionError otherwise).
2. Warm: the same project copy and warehouse run again with unchanged definitions, in a new
   process (what a nightly schedule sees). Then, against the built warehouse (read-only),
   `EXPLAIN ANALYZE` of the 5 slowest models' selects and the 5 slowest tests of that build
   (target/run_results.json), one file per node in benchmarks/explain/scaleN/; and the fixed
   costs, each measured on its own (`measure_fixed`): a fresh process's start-up (imports), a cold
   `dbt parse` (a fresh copy) and a warm one, a MetricFlow engine's construction; with the GX
   child's time outside its suites, they are the run's fixed part, and the rest of the run is
   what grows with rows (`split_fixed`).
   At the incremental scale (default: the largest): the day that leaves about 1% of the sales
   order lines to a last delivery is found (`finkpi/generate/daily.py`), and the scale's data is
   written into the scratch folder as the history up to that day plus a delivery folder of the
   rest (`<source>/deliveries/<batch>/`, `prepare_delivery`; the landing folder is not touched):
   both runs of that scale read those files. Yesterday's warehouse is the warm full build with the
   incremental facts' and windowed models' rows after that day and the staging rows of the
   delivery's files taken out,
   and `pipeline.run` with `incremental=True`
   runs every stage again in it. Its marts and metric values are compared, row by row, with the
   full run over the same files (AssertionError otherwise).
   (`yesterday_build` in finkpi/generate/daily.py; tests/models/test_incremental.py makes the same
   on the sample, and its slow twin the long way: a real build of the history, then the delivery
   folder landing beside its files.)

`--budget SECONDS` ends the running child (its whole process group: dbt, the GX child) when the
budget is spent, and writes what was measured with a note that it stopped there. `--merge` keeps
the rows of scales not run from benchmarks/pipeline.json.

Larger scales are generated with `write_scaled` into `data/landing/scaleN` (kept for the next
run; pass --regenerate to write them again); scale 1 is the bundled CSV sample. The dbt project
is copied into a temporary folder, so the run writes neither the repository's target/ nor its
warehouse/. Results: the section between the markers in BENCHMARKS.md (with the aims of issue
#25: `aims`), raw numbers in benchmarks/pipeline.json, the chart benchmarks/pipeline.png (log-log,
time against order lines, the baseline beside it) and the plans in benchmarks/explain/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for path in (REPO, HERE):  # runnable as a plain script, with or without the editable install
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_metric_layer as common  # noqa: E402 - the shared helpers (memory, machine, checks)

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

SECTION_START = "<!-- bench_pipeline: start -->"
SECTION_END = "<!-- bench_pipeline: end -->"
STAGE_MARKERS = {  # pipeline progress messages that open a stage -> the stage's name here
    "[1/5]": "dbt build",
    "[2/5]": "metric exports",
    "[3/5]": "scorecards",
    "[4/5]": "validate",
    "[5/5]": "publish",
}
DELIVERY_SHARE = 0.01  # the last delivery: about 1% of the sales order lines
SAMPLE_ORDER_LINES = 26_705
say = common.say


# --------------------------------------------------------------------------------------------------
# memory of the process tree


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    children, total, todo = _children_of(), 0, [root]
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):  # the process has just ended
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page_kb
        todo.extend(children.get(pid, []))
    return total


class StageMemory:
    """Peak memory per stage: the process tree's RSS sampled every 100 ms, and this process's
    VmHWM (reset when a stage starts; it catches peaks between two samples)."""

    def __init__(self):
        self.stage: str | None = None
        self.peaks_kb: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> StageMemory:
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            stage = self.stage
            if stage is not None:
                self.peaks_kb[stage] = max(self.peaks_kb.get(stage, 0), tree_rss_kb(os.getpid()))

    def start(self, stage: str) -> None:
        self.close_stage()
        common._reset_high_water_mark()
        self.stage = stage

    def close_stage(self) -> None:
        if self.stage is not None:
            own = common._status_kb("VmHWM") or 0
            common._note_process_peak(own)
            self.peaks_kb[self.stage] = max(self.peaks_kb.get(self.stage, 0), own)
        self.stage = None

    def __exit__(self, *exc) -> None:
        self.close_stage()
        self._stop.set()
        self._thread.join()

    def mib(self) -> dict[str, float]:
        return {stage: kb / 1024 for stage, kb in self.peaks_kb.items()}


def run_pipeline(settings, tag: str) -> dict:
    """`pipeline.run` with each stage's time (the pipeline's own clock) and peak memory."""
    from finkpi import pipeline

    def progress(message: str) -> None:
        stage = STAGE_MARKERS.get(message[:5])
        if stage:
            memory.start(stage)
            say(f"{tag} {stage} ...")

    from finkpi import dbt_runner

    builds = []
    real_build = dbt_runner.build

    def keep_build(*args, **kwargs):  # the pipeline's dbt result, for where the build's time goes
        builds.append(result := real_build(*args, **kwargs))
        return result

    dbt_runner.build = keep_build
    started = time.perf_counter()
    try:
        with StageMemory() as memory:
            summary = pipeline.run(settings, progress=progress)
    finally:
        dbt_runner.build = real_build
    wall = time.perf_counter() - started
    seconds = {STAGE_MARKERS[k]: 0.0 for k in STAGE_MARKERS}
    for name, value in summary.seconds.items():
        seconds[name] = value
    peaks = memory.mib()
    say(
        f"{tag} pipeline: {wall:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s / {peaks.get(k, 0):.0f} MiB" for k, v in seconds.items())
        + ")"
    )
    return {
        "wall_s": wall,
        "stages_s": seconds,
        "peak_mib": peaks,
        "metric_values_rows": summary.metric_rows,
        # an incremental run's exports: rows recomputed and kept from yesterday's, or why not kept
        "metric_values_recomputed": summary.metric_rows_recomputed,
        "metric_values_kept": summary.metric_rows_kept,
        "metric_values_full_because": summary.metric_full_because,
        "metric_queries": summary.metric_queries,
        "metric_plans": {"planned": summary.metric_plans[0], "cached": summary.metric_plans[1]},
        "mart_rows": summary.mart_rows,
        "published_version": summary.published_version,
        # incremental or full, and why (finkpi/incremental.py)
        "plan": summary.incremental_plan.describe() if summary.incremental_plan else None,
        "dbt_nodes": dbt_node_times(builds[0]) if builds else {},
        "export_requests": slowest_of(summary.export_request_seconds),
        "gx": gate_times(summary.gate),
    }


def _exports_kept(run: dict) -> str:
    """What an incremental run's metric exports recomputed and kept, as a clause."""
    if run.get("metric_values_full_because"):
        return f"; the metric exports recomputed every value ({run['metric_values_full_because']})"
    if run.get("metric_values_kept"):
        return (
            f"; the metric exports recomputed {run['metric_values_recomputed']:,} values and kept"
            f" {run['metric_values_kept']:,} of earlier periods"
        )
    return ""


def slowest_of(seconds: dict[str, float], keep: int = 20) -> dict:
    """How many, their sum, and the slowest `keep` of a label -> seconds mapping."""
    ordered = sorted(seconds.items(), key=lambda item: item[1], reverse=True)
    return {
        "count": len(seconds),
        "sum_s": sum(seconds.values()),
        "slowest": [list(i) for i in ordered[:keep]],
    }


def gate_times(gate) -> dict:
    """The quality gate's time: each suite, GX's set-up (import, context, data source) and the whole
    child process; what is not a suite (start-up, set-up, Data Docs) does not grow with rows."""
    if gate is None:
        return {}
    suites = dict(gate.suite_seconds)
    return {
        "suites_s": suites,
        "setup_s": gate.setup_seconds,
        "process_s": gate.process_seconds,
        "fixed_s": max(0.0, gate.process_seconds - sum(suites.values())),
    }


def dbt_node_times(result) -> dict:
    """Seconds by node type (model, test, seed) and the slowest nodes of a dbt build."""
    by_type: dict[str, float] = {}
    nodes = []
    for node_result in result.result.results:
        kind = getattr(node_result.node.resource_type, "value", str(node_result.node.resource_type))
        by_type[kind] = by_type.get(kind, 0.0) + node_result.execution_time
        nodes.append((node_result.execution_time, node_result.node.name))
    nodes.sort(reverse=True)
    return {"seconds_by_type": by_type, "slowest": [[name, seconds] for seconds, name in nodes[:12]]}


# --------------------------------------------------------------------------------------------------
# the baseline: hand-written DuckDB SQL straight over the raw files


def baseline_statements(settings, as_of: str) -> list[tuple[str, str]]:
    """(name, SQL) in order: the core facts as tables, then the metrics by period and region."""
    eur = settings.reporting_currency
    start_month = settings.fiscal_year_start_month

    def read(table: str) -> str:
        # the base file and its delivery files (the incremental scale's data has a delivery folder)
        files = settings.table_files("erp", table)
        paths = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
        if settings.raw_format == "csv":
            return f"read_csv([{paths}], all_varchar = true, header = true)"
        return f"read_parquet([{paths}])"

    def t(column: str) -> str:
        return f"nullif(trim({column}), '')"

    def to_eur(amount: str, currency: str, rate: str) -> str:
        converted = f"cast(round({amount} * {rate}, 2) as decimal(18, 2))"
        return f"case when {currency} = '{eur}' then {amount} else {converted} end"

    return [
        (
            "rates, customers, standard costs",
            f"""
            create table rates as
                select {t("from_currency")} as currency, cast({t("rate_date")} as date) as rate_date,
                    cast({t("rate")} as decimal(18, 8)) as rate
                from {read("exchange_rates")} where {t("to_currency")} = '{eur}';
            create table customers as
                select {t("customer_id")} as customer_id,
                    coalesce({t("region")}, '{common.UNASSIGNED}') as region
                from {read("customers")};
            create table costs as
                select {t("product_id")} as product_id,
                    cast({t("standard_cost_eur")} as decimal(18, 4)) as cost,
                    cast({t("valid_from")} as date) as valid_from, cast({t("valid_to")} as date) as valid_to
                from {read("product_standard_costs")};
            """,
        ),
        (
            "sales order lines",
            f"""
            create table order_lines as
                with orders as (
                    select {t("order_id")} as order_id, {t("customer_id")} as customer_id,
                        {t("currency")} as currency, {t("status")} as status,
                        cast({t("order_date")} as date) as order_date
                    from {read("sales_orders")}),
                lines as (
                    select {t("order_id")} as order_id, cast({t("line_number")} as integer) as line_number,
                        {t("product_id")} as product_id, cast({t("quantity")} as decimal(18, 3)) as quantity,
                        cast({t("net_amount")} as decimal(18, 2)) as net_amount
                    from {read("sales_order_lines")})
                select lines.*, orders.customer_id, orders.currency,
                    orders.status = 'cancelled' as is_cancelled, orders.order_date,
                    {to_eur("lines.net_amount", "orders.currency", "rates.rate")} as net_eur
                from lines
                inner join orders on orders.order_id = lines.order_id
                left join rates on rates.currency = orders.currency and rates.rate_date = orders.order_date;
            """,
        ),
        (
            "invoice lines and credit notes",
            f"""
            create table invoice_lines as
                with invoices as (
                    select {t("invoice_id")} as invoice_id, {t("customer_id")} as customer_id,
                        {t("currency")} as currency, cast({t("invoice_date")} as date) as invoice_date
                    from {read("invoices")}),
                lines as (
                    select {t("invoice_id")} as invoice_id,
                        cast({t("line_number")} as integer) as line_number, {t("product_id")} as product_id,
                        cast({t("quantity")} as decimal(18, 3)) as quantity,
                        cast({t("net_amount")} as decimal(18, 2)) as net_amount
                    from {read("invoice_lines")}),
                credits as (
                    select {t("credit_note_id")} as credit_note_id, {t("invoice_id")} as invoice_id,
                        cast({t("credit_date")} as date) as credit_date,
                        cast({t("net_amount")} as decimal(18, 2)) as net_amount
                    from {read("credit_notes")}),
                invoice_rates as (
                    select invoices.*, rates.rate from invoices
                    left join rates on rates.currency = invoices.currency
                        and rates.rate_date = invoices.invoice_date)
                select 'invoice' as line_type, lines.invoice_id, lines.line_number, lines.product_id,
                    invoice_rates.customer_id, invoice_rates.invoice_date as revenue_date,
                    {to_eur("lines.net_amount", "invoice_rates.currency", "invoice_rates.rate")} as net_eur,
                    cast(round(lines.quantity * costs.cost, 2) as decimal(18, 2)) as cost_eur
                from lines
                inner join invoice_rates on invoice_rates.invoice_id = lines.invoice_id
                left join costs on costs.product_id = lines.product_id
                    and invoice_rates.invoice_date >= costs.valid_from
                    and invoice_rates.invoice_date < costs.valid_to
                union all
                select 'credit_note', credits.invoice_id, null, null, invoice_rates.customer_id,
                    credits.credit_date,
                    -({to_eur("credits.net_amount", "invoice_rates.currency", "invoice_rates.rate")}), 0
                from credits
                inner join invoice_rates on invoice_rates.invoice_id = credits.invoice_id;
            """,
        ),
        (
            "GL lines",
            f"""
            create table gl_lines as
                with accounts as (
                    select {t("account_id")} as account_id, {t("account_group")} as account_group
                    from {read("gl_accounts")}),
                centers as (
                    select {t("cost_center_id")} as cost_center_id, {t("department")} as department
                    from {read("cost_centers")})
                select {t("entries.entry_id")} as entry_id,
                    cast({t("entries.line_number")} as integer) as line_number,
                    {t("entries.account_id")} as account_id, accounts.account_group, centers.department,
                    cast({t("entries.posting_date")} as date) as posting_date,
                    cast({t("entries.amount_eur")} as decimal(18, 2)) as amount_eur
                from {read("gl_journal_entries")} as entries
                left join accounts on accounts.account_id = {t("entries.account_id")}
                left join centers on centers.cost_center_id = {t("entries.cost_center_id")};
            """,
        ),
        (
            "metrics by month and fiscal quarter, total and by region",
            f"""
            create table metric_values as
                with facts as (
                    select revenue_date as day, coalesce(customers.region, '{common.UNASSIGNED}') as region,
                        net_eur as revenue, cost_eur as cogs,
                        0 as order_intake, null as booked_order_id
                    from invoice_lines left join customers using (customer_id)
                    union all
                    select order_date, coalesce(customers.region, '{common.UNASSIGNED}'), 0, 0,
                        case when not is_cancelled then net_eur else 0 end,
                        case when not is_cancelled then order_id end
                    from order_lines left join customers using (customer_id)),
                periods as (
                    select *, cast(date_trunc('month', day) as date) as month_start,
                        cast(date_trunc('month', day)
                            - to_months((month(day) - {start_month} + 12) % 12 % 3) as date)
                            as fiscal_quarter_start
                    from facts)
                select
                    case when grouping(month_start) = 0 then 'month' else 'quarter' end as grain,
                    coalesce(month_start, fiscal_quarter_start) as period_start,
                    case when grouping(region) = 0 then 'region' else 'total' end as dimension,
                    case when grouping(region) = 0 then region else 'all' end as dimension_value,
                    sum(revenue) as revenue, sum(cogs) as cogs, sum(order_intake) as order_intake,
                    count(distinct booked_order_id) as orders_booked
                from periods
                group by grouping sets (
                    (month_start), (month_start, region),
                    (fiscal_quarter_start), (fiscal_quarter_start, region))
                having coalesce(month_start, fiscal_quarter_start) <= date '{as_of}';
            """,
        ),
    ]


def run_baseline(settings, as_of: str, database: Path, tag: str) -> tuple[dict, object]:
    import duckdb

    steps = {}
    with StageMemory() as memory:
        memory.start("baseline")
        started = time.perf_counter()
        with duckdb.connect(str(database)) as con:
            for name, sql in baseline_statements(settings, as_of):
                step_started = time.perf_counter()
                con.execute(sql)
                steps[name] = time.perf_counter() - step_started
            wall = time.perf_counter() - started
            rows = {
                table: con.execute(f"select count(*) from {table}").fetchone()[0]
                for table in ("order_lines", "invoice_lines", "gl_lines", "metric_values")
            }
            wide = con.execute("select * from metric_values").df()
    import pandas as pd

    values = wide.melt(
        id_vars=["grain", "period_start", "dimension", "dimension_value"],
        value_vars=["revenue", "cogs", "order_intake", "orders_booked"],
        var_name="metric_name",
        value_name="value",
    )
    values["period_start"] = pd.to_datetime(values["period_start"]).dt.date
    values["value"] = values["value"].astype(float)
    peak = memory.mib()["baseline"]
    say(f"{tag} baseline: {wall:.1f} s, peak {peak:.0f} MiB, {rows}")
    return {"wall_s": wall, "steps_s": steps, "peak_mib": peak, "rows": rows}, values[
        [*common.SLICE_KEYS, "value"]
    ]


# --------------------------------------------------------------------------------------------------
# comparing two builds


def compare_builds(left: Path, right: Path) -> dict[str, int]:
    """Every mart and metrics.metric_values row (run ids aside) of two build warehouses, as
    multisets; AssertionError naming the table where they differ. Returns the rows compared."""
    import duckdb

    compared = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as left_build (read_only)")
        con.execute(f"attach '{right}' as right_build (read_only)")
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'right_build'"
                " and (schema_name = 'marts' or (schema_name = 'metrics' and table_name = 'metric_values'))"
                " order by 1, 2"
            ).fetchall()
        ]
        for table in tables:
            if table == "metrics.metric_values":
                compared[table] = _compare_metric_values(con)
                continue
            columns = [c for (c, *_rest) in con.execute(f"describe right_build.{table}").fetchall()]
            select = ", ".join(f'"{c}"' for c in columns if c not in ("run_id", "value_run_id"))
            for a, b in (("left_build", "right_build"), ("right_build", "left_build")):
                (differing,) = con.execute(
                    f"select count(*) from (select {select} from {a}.{table} except all"
                    f" select {select} from {b}.{table})"
                ).fetchone()
                if differing:
                    raise AssertionError(f"{table}: {differing} row(s) of {a} are not in {b}")
            (compared[table],) = con.execute(f"select count(*) from right_build.{table}").fetchone()
    return compared


def _compare_metric_values(con) -> int:
    """metric_values by key; a value may differ by float rounding only (1e-9 relative): MetricFlow
    returns DOUBLEs, and a sum of doubles depends on the order rows are read in, which an
    incremental table (a window deleted and appended) does not share with a rebuilt one."""
    keys = "metric_name, grain, period_start, dimension, dimension_value"
    (differing, worst) = con.execute(
        f"""
        select count(*), max(abs(l.value - r.value))
        from left_build.metrics.metric_values as l
        full outer join right_build.metrics.metric_values as r using ({keys})
        where l.metric_name is null or r.metric_name is null
            or l.period_label is distinct from r.period_label
            or l.is_complete is distinct from r.is_complete
            or (l.value is null) <> (r.value is null)
            or abs(l.value - r.value) > 1e-9 * greatest(1, abs(r.value))
        """
    ).fetchone()
    if differing:
        raise AssertionError(
            f"metrics.metric_values: {differing} value(s) differ (largest difference {worst})"
        )
    return con.execute("select count(*) from right_build.metrics.metric_values").fetchone()[0]


# --------------------------------------------------------------------------------------------------
# one scale, in its own process


def run_scale(spec: dict) -> dict:
    """One phase of a scale: "cold" (a fresh project copy: the full run, the baseline, the checks)
    or "warm" (the same copy and warehouse again, then the fixed costs, EXPLAIN ANALYZE of the
    slowest dbt nodes and the incremental day)."""
    scale, workdir = spec["scale"], Path(spec["workdir"])
    tag = f"[scale {scale}]"
    raw_format = "csv" if scale == 1 else "parquet"
    source = Path(spec["source"])
    result: dict = {"scale": scale, "raw_format": raw_format, "source": str(source)}
    started_all = time.perf_counter()
    cutoff = date.fromisoformat(spec["cutoff"]) if spec.get("cutoff") else None
    try:
        if spec.get("phase", "cold") == "cold":
            project = common.copy_project(workdir / "project")
            _measure_scale(spec, result, project, source, raw_format, tag)
        else:
            _measure_warm(spec, result, workdir / "project", source, raw_format, cutoff, tag)
    except BaseException as exc:  # keep what was measured, and say what failed
        result["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        result["process_peak_mib"] = common.process_peak_mib()
        result["children_peak_mib"] = _children_peak_mib()
        result["seconds"] = time.perf_counter() - started_all
        _save(spec, result)
    return result


def _save(spec: dict, result: dict) -> None:
    """Written whole or not at all: a child stopped at the budget leaves the last complete one."""
    path = Path(spec["result"])
    scratch = path.with_suffix(".partial")
    scratch.write_text(json.dumps(result, indent=2, default=str))
    os.replace(scratch, path)


def _scale_settings(spec, project: Path, source: Path, raw_format: str):
    from finkpi.settings import load_settings

    settings = load_settings(
        project_dir=project,
        data_dir=source,
        raw_format=raw_format,
        warehouse_dir=Path(spec["workdir"]) / "full",
    )
    return settings.with_(as_of_date=common._resolve(settings))


def _measure_scale(spec, result, project, source, raw_format, tag) -> None:
    workdir = Path(spec["workdir"])
    settings = _scale_settings(spec, project, source, raw_format)
    as_of = settings.as_of_date.isoformat()
    result["as_of_date"] = as_of
    result["raw"] = common.raw_inventory(settings)
    say(
        f"{tag} {result['raw']['rows']:,} raw rows ({raw_format}, {result['raw']['mib']:.0f} MiB);"
        f" as_of {as_of}"
    )

    say(f"{tag} full run ...")
    with common.OtherLoad() as load:
        result["full"] = run_pipeline(settings, tag + " full")
    result["full"]["other_load"] = load.as_dict()
    _save(spec, result)
    result["order_lines"] = result["full"]["mart_rows"].get("fct_sales_order_lines")

    with common.OtherLoad() as load:
        result["baseline"], baseline_values = run_baseline(settings, as_of, workdir / "baseline.duckdb", tag)
    result["baseline"]["other_load"] = load.as_dict()
    import duckdb
    import pandas as pd

    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        exported = con.execute("select * from metrics.metric_values").df()
    exported["period_start"] = pd.to_datetime(exported["period_start"]).dt.date
    # the baseline reads the generated company's files only; the SAP source's orders (a second
    # ERP, 2014-2022: README, Adding a source system) are in the export before that company's start
    exported = exported[exported["period_start"].map(str) >= common.SAMPLE_START]
    result["checks"] = {
        "revenue_by_month": common.check_revenue_by_month(exported, baseline_values, "baseline"),
        "baseline_values_equal_to_export": common.check_equal(
            common.slice_of_export(exported), baseline_values, "baseline"
        ),
    }
    (workdir / "baseline.duckdb").unlink()


def _measure_warm(spec, result, project, source, raw_format, cutoff, tag) -> None:
    """The same project copy and warehouse run again with unchanged definitions (what a nightly
    schedule sees), in a fresh process; then what does not grow with rows, measured apart, the
    slowest dbt nodes' plans, and the incremental day."""
    from finkpi.generate.daily import yesterday_build

    workdir = Path(spec["workdir"])
    settings = _scale_settings(spec, project, source, raw_format)
    say(f"{tag} warm run (the same project and warehouse again) ...")
    with common.OtherLoad() as load:
        result["warm"] = run_pipeline(settings, tag + " warm")
    result["warm"]["other_load"] = load.as_dict()
    _save(spec, result)

    # before any other dbt command rewrites target/run_results.json
    explain_dir = Path(spec["explain_dir"])
    shutil.rmtree(explain_dir, ignore_errors=True)
    say(f"{tag} EXPLAIN ANALYZE of the slowest dbt nodes into {explain_dir} ...")
    result["explain"] = explain_slowest(
        settings.build_database, project / "target" / "run_results.json", explain_dir
    )
    say(f"{tag} fixed costs: start-up, dbt parse (cold and warm), MetricFlow engine ...")
    result["fixed"] = measure_fixed(settings, workdir)
    say(f"{tag} fixed: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["fixed"].items()))
    result["query"] = measure_query(settings)
    say(
        f"{tag} `finkpi query` in a fresh process: new question {result['query']['new_s']:.2f} s,"
        f" asked again (plan cached) {result['query']['cached_s']:.2f} s"
    )
    _save(spec, result)

    if cutoff is not None:
        # the delivery folder beside the history (prepare_delivery): its rows per table
        result["delivery"] = {"cutoff": cutoff.isoformat(), "rows": spec["delivery_rows"]}
        # today's full build, kept as the comparison's reference; yesterday's warehouse is made in
        # the warm run's own folder, as a nightly run finds it (its plan cache, its dbt state)
        reference = workdir / "full_reference" / "finkpi.duckdb"
        reference.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(settings.build_database, reference)
        incremental = settings.with_(incremental=True)
        yesterday_build(reference, incremental.build_database, cutoff)
        delivered = sum(result["delivery"]["rows"].values())
        say(f"{tag} incremental run (a delivery of {delivered:,} rows after {cutoff}) ...")
        with common.OtherLoad() as load:
            result["incremental"] = run_pipeline(incremental, tag + " incremental")
        result["incremental"]["other_load"] = load.as_dict()
        _save(spec, result)
        say(f"{tag} comparing the incremental build with the full one, row by row ...")
        result.setdefault("checks", {})["incremental_equals_full"] = compare_builds(
            incremental.build_database, reference
        )


def _children_peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------------
# fixed costs, and the work that grows with rows

# what a fresh `finkpi run` process imports before its first row: finkpi's pipeline, dbt, MetricFlow
START_UP_IMPORTS = "import finkpi.pipeline, dbt.cli.main, dbt_metricflow.cli.cli_configuration"


def _build_metricflow(settings) -> None:
    # MetricEngine builds MetricFlow on first use (a run whose plans are cached never does)
    from finkpi.metrics.engine import MetricEngine

    with MetricEngine(settings) as engine:
        engine.build()


def measure_fixed(settings, workdir: Path) -> dict[str, float]:
    """What a run pays whatever its rows, each measured on its own: a fresh process's start-up
    (interpreter and imports), `dbt parse` cold (a fresh project copy, no target/) and warm (the
    project just built, its partial-parse state kept), and the construction of a MetricFlow engine.
    GX's set-up is reported by each run's gate (gate_times)."""
    from finkpi import dbt_runner

    start_up_s, _ = common.timed(
        lambda: subprocess.run([sys.executable, "-c", START_UP_IMPORTS], cwd=REPO, check=True)
    )
    engine_s, _ = common.timed(_build_metricflow, settings)
    warm_parse_s, warm = common.timed(dbt_runner.invoke, settings, ["parse"])
    cold_project = common.copy_project(workdir / "parse-cold")
    cold = settings.with_(project_dir=cold_project, warehouse_dir=workdir / "parse-cold-warehouse")
    cold_parse_s, parsed = common.timed(dbt_runner.invoke, cold, ["parse"])
    for what, outcome in (("warm", warm), ("cold", parsed)):
        if not outcome.success:
            raise RuntimeError(f"dbt parse ({what}) failed: {outcome.exception}")
    return {
        "start_up_s": start_up_s,
        "dbt_parse_cold_s": cold_parse_s,
        "dbt_parse_warm_s": warm_parse_s,
        "metricflow_engine_s": engine_s,
    }


# the benchmark's question to `finkpi query`: two metrics by a short-named slice, filtered
QUERY_QUESTION = ("--metrics", "revenue,order_intake", "--group-by", "fiscal_quarter,region",
                  "--where", "region <> 'DACH'", "--format", "csv")  # fmt: skip
QUERY_REPEATS = 3  # the cached question is timed this often (fresh processes); the median counts


def measure_query(settings) -> dict:
    """`finkpi query` as a user runs it, each a fresh process on the run's warehouse: a new
    question (names resolved and planned by MetricFlow), then the same question again, whose SQL
    the plan cache holds (neither dbt nor MetricFlow is imported)."""
    environment = {
        **os.environ,
        "FINKPI_PROJECT_DIR": str(settings.project_dir),
        "FINKPI_DATA_DIR": str(settings.data_dir),
        "FINKPI_RAW_FORMAT": settings.raw_format,
        "FINKPI_WAREHOUSE_DIR": str(settings.warehouse_dir),
    }
    command = [sys.executable, "-m", "finkpi.cli", "query", *QUERY_QUESTION]

    def ask() -> float:
        seconds, _ = common.timed(
            lambda: subprocess.run(command, cwd=REPO, env=environment, check=True, capture_output=True)
        )
        return seconds

    new_s = ask()
    cached = sorted(ask() for _ in range(QUERY_REPEATS))
    return {"question": " ".join(QUERY_QUESTION), "new_s": new_s, "cached_s": cached[len(cached) // 2]}


def fixed_parts(fixed: dict[str, float], run: dict, cold: bool) -> dict[str, float]:
    """The fixed costs one run paid: start-up, its dbt parse (cold for a fresh project copy),
    the MetricFlow engine, and the GX child's start-up, context and Data Docs."""
    return {
        "start-up": fixed["start_up_s"],
        "dbt parse": fixed["dbt_parse_cold_s" if cold else "dbt_parse_warm_s"],
        # paid only by a run that planned (a run whose plans were all cached never builds it)
        "MetricFlow engine": fixed["metricflow_engine_s"] if _planned(run) else 0.0,
        "GX set-up": run.get("gx", {}).get("fixed_s", 0.0),
    }


def _planned(run: dict) -> bool:
    # rows measured before the plan cache have no count: then every run planned
    return run.get("metric_plans", {}).get("planned", 1) > 0


def split_fixed(wall_s: float, parts: dict[str, float]) -> dict[str, float]:
    """A run's whole time as fixed (the parts' sum, at most the whole) and what grows with rows."""
    fixed = min(wall_s, sum(parts.values()))
    return {"fixed_s": fixed, "growing_s": wall_s - fixed}


def parses_in_full(kind: str) -> bool:
    """Whether a run of the benchmark paid a full dbt parse: the cold run (a fresh project copy).
    The warm run and the incremental day run in the same project and warehouse folder, and the
    run's dates reach dbt as environment variables (Settings.dbt_call): they parse partially, as a
    nightly run does."""
    return kind == "full"


def run_split(result: dict, kind: str) -> dict[str, float] | None:
    """split_fixed of one run of a scale ("full" is the cold run), or None when not measured."""
    run, fixed = result.get(kind), result.get("fixed")
    if run is None or fixed is None:
        return None
    return split_fixed(run["wall_s"], fixed_parts(fixed, run, cold=parses_in_full(kind)))


# --------------------------------------------------------------------------------------------------
# EXPLAIN ANALYZE of the slowest dbt nodes

EXPLAIN_TOP = 5  # models and tests each


def slowest_nodes(run_results: dict, top: int = EXPLAIN_TOP) -> list[dict]:
    """The `top` slowest models and `top` slowest data tests of a dbt run_results.json that have
    compiled SQL, slowest first within each kind."""
    chosen = []
    for kind in ("model", "test"):
        nodes = [
            r
            for r in run_results.get("results", [])
            if r["unique_id"].split(".", 1)[0] == kind and r.get("compiled_code")
        ]
        nodes.sort(key=lambda r: r.get("execution_time") or 0.0, reverse=True)
        chosen += nodes[:top]
    return chosen


def explain_file_name(unique_id: str) -> str:
    """model.finkpi.fct_x -> model-fct_x.txt (a file name whatever the test's name holds)."""
    kind, _project, name = unique_id.split(".", 2)
    safe = "".join(c if c.isalnum() or c in "_-." else "_" for c in name)[:120]
    return f"{kind}-{safe}.txt"


def plan_text(profile: dict, top: int = 10, width: int = 160) -> str:
    """DuckDB's EXPLAIN ANALYZE profile (FORMAT JSON) as readable text: the operators that took
    longest, then the plan as an indented tree, each operator with its seconds, rows out and
    details (cut at `width`). DuckDB's own box drawing runs to thousands of columns on these
    queries."""
    operators: list[tuple[int, dict]] = []

    def walk(operator: dict, depth: int) -> None:
        if operator.get("name") not in ("RESULT_COLLECTOR", "EXPLAIN_ANALYZE"):
            operators.append((depth, operator))
            depth += 1
        for child in operator.get("children", []):
            walk(child, depth)

    for root in profile.get("operator", []):
        walk(root, 0)

    def describe(operator: dict) -> str:
        details = "; ".join(
            f"{key}: {', '.join(value) if isinstance(value, list) else value}"
            for key, value in operator.get("extra_info", {}).items()
            if key != "Estimated Cardinality"
        )
        line = (
            f"{operator['name']} {operator.get('timing', 0.0):.3f} s,"
            f" {operator.get('intermediate_rows', 0):,} rows" + (f"; {details}" if details else "")
        )
        return line if len(line) <= width else line[: width - 3] + "..."

    total = sum(operator.get("timing", 0.0) for _, operator in operators)
    slowest = sorted(operators, key=lambda item: item[1].get("timing", 0.0), reverse=True)[:top]
    query, system = profile.get("query", {}), profile.get("system", {})
    lines = [
        f"query: {query.get('total_time', 0.0):.3f} s, CPU {query.get('cpu_time', 0.0):.3f} s,"
        f" {query.get('total_rows_scanned', 0):,} rows scanned,"
        f" peak buffer memory {system.get('peak_buffer_memory', 0) / 2**20:,.0f} MiB,"
        f" spilled {system.get('total_bytes_spilled', 0) / 2**20:,.0f} MiB",
        f"operators: {len(operators)}, {total:.3f} s in all; the slowest:",
    ]
    lines += [f"  {describe(operator)}" for _, operator in slowest]
    lines += ["", "the plan:"]
    lines += [f"{'  ' * depth}{describe(operator)}" for depth, operator in operators]
    return "\n".join(lines)


def explain_slowest(database: Path, run_results_path: Path, out_dir: Path) -> list[dict]:
    """EXPLAIN ANALYZE of the slowest models' selects (not a re-create) and tests' queries against
    the built warehouse, read-only, one text file per node in `out_dir`. A node whose plan cannot be
    taken gets a file saying why. Returns what was written (node, dbt's seconds, file)."""
    import duckdb

    out_dir.mkdir(parents=True, exist_ok=True)
    nodes = slowest_nodes(json.loads(Path(run_results_path).read_text()))
    written = []
    with duckdb.connect(str(database), read_only=True) as con:
        for node in nodes:
            sql = node["compiled_code"].strip().rstrip(";")
            header = [
                f"-- {node['unique_id']}: {node.get('execution_time', 0.0):.2f} s in dbt"
                f" ({node.get('relation_name') or 'no relation'})",
                f"-- EXPLAIN ANALYZE against {database} (read-only)",
                "",
            ]
            try:
                (profile,) = con.execute(f"explain (analyze, format json) {sql}").fetchone()[-1:]
                plan = plan_text(json.loads(profile))
            except duckdb.Error as exc:
                plan = f"no plan: {type(exc).__name__}: {exc}"
            path = out_dir / explain_file_name(node["unique_id"])
            path.write_text("\n".join(header) + plan + "\n\n-- the compiled SQL\n" + sql + "\n")
            written.append(
                {"node": node["unique_id"], "dbt_s": node.get("execution_time", 0.0), "file": path.name}
            )
    return written


# --------------------------------------------------------------------------------------------------
# the budget


def run_child(command: list[str], timeout: float | None, grace: float = 10.0) -> tuple[int | None, bool]:
    """Run a child process in a process group of its own; past `timeout` seconds, end the whole
    group (the child and its own children: dbt, the GX validation), SIGTERM then SIGKILL.
    Returns (exit code, whether it was stopped at the timeout)."""
    child = subprocess.Popen(command, cwd=REPO, start_new_session=True)
    try:
        return child.wait(timeout=None if timeout is None else max(0.0, timeout)), False
    except subprocess.TimeoutExpired:
        for signal_number, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal_number)
            try:
                child.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        return child.returncode, True


def budget_left(deadline: float | None, now: float) -> float | None:
    """Seconds left before the deadline (None: no budget)."""
    return None if deadline is None else deadline - now


# --------------------------------------------------------------------------------------------------
# data, report, chart


def prepare_delivery(source: Path, workdir: Path) -> dict:
    """The incremental day's files: the scale's extracts as history plus a delivery folder of the
    last days (about DELIVERY_SHARE of the order lines), written into `workdir` (the scale's data
    in the landing folder is a complete extract and stays as it is). Both runs of the scale read
    these files, so the incremental run's full reference reads the same files."""
    from finkpi.generate.daily import cutoff_for_share, write_with_delivery

    cutoff = cutoff_for_share(source, DELIVERY_SHARE)
    data_dir = workdir / "delivered"
    say(f"writing {source} as history up to {cutoff} and a delivery folder into {data_dir} ...")
    rows = write_with_delivery(source, data_dir, cutoff)
    return {"cutoff": cutoff.isoformat(), "rows": rows, "data_dir": str(data_dir)}


def source_for(scale: int, landing: Path, regenerate: bool) -> tuple[Path, dict]:
    """The raw data of a scale: the bundled sample, or write_scaled(N) in the landing folder."""
    from finkpi.generate import write_scaled

    if scale == 1:
        return REPO / "data" / "sample", {}
    from finkpi.generate.writer import SAMPLE_SOURCES

    out = landing / f"scale{scale}"
    expected = [
        out / name / f"{t}.parquet" for name, source in SAMPLE_SOURCES.items() for t in source.table_names
    ]
    # complete: every table written and the per-shard parts merged (`finkpi generate --scale N` too)
    if all(p.exists() for p in expected) and not (out / ".parts").exists() and not regenerate:
        return out, {"generated": False}
    shutil.rmtree(out, ignore_errors=True)
    say(f"generating scale {scale} into {out} ...")
    seconds, _ = common.timed(lambda: write_scaled(out, scale=scale))
    say(f"generated scale {scale} in {seconds:.0f} s")
    return out, {"generated": True, "generate_s": seconds}


def ratio(numerator: float, denominator: float) -> str:
    return common.fmt_ratio(numerator, denominator)


# --------------------------------------------------------------------------------------------------
# the aims (issue #25; benchmarks, not timed tests)

AIM_SCALE = 100  # the aims at scale are set at scale 100 (2.6 million order lines)


def _measured(results: list[dict]) -> dict[int, dict]:
    return {r["scale"]: r for r in results if "full" in r and "baseline" in r}


def _met(*conditions: bool | None) -> bool | None:
    """All met: True; any not met: False; else (something not measured) None."""
    if any(c is False for c in conditions):
        return False
    return None if any(c is None for c in conditions) else True


def _within(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _s(value: float | None) -> str:
    return "not measured" if value is None else common.fmt_s(value)


def _x(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.1f}x"


def _pct(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0%}"


def aims(results: list[dict]) -> list[dict]:
    """The issue's aims, each with what was measured now and whether it is met (None: not
    measured). "warm" is the same project run again: what a nightly schedule sees."""
    at = _measured(results)
    sample, ten, big = at.get(1, {}), at.get(10, {}), at.get(AIM_SCALE, {})

    def wall(r: dict, kind: str) -> float | None:
        return r[kind]["wall_s"] if kind in r else None

    def over_baseline(value: float | None, r: dict) -> float | None:
        return None if value is None or "baseline" not in r else value / r["baseline"]["wall_s"]

    warm_growing = (run_split(big, "warm") or {}).get("growing_s")
    query_cached = sample.get("query", {}).get("cached_s")
    build = big["warm"]["stages_s"]["dbt build"] if "warm" in big else None
    exports = big["warm"]["stages_s"]["metric exports"] if "warm" in big else None
    full = big.get("warm") or big.get("full")
    inc_share = inc_growing_share = None
    if "incremental" in big and full is not None:
        inc_share = big["incremental"]["wall_s"] / full["wall_s"]
        inc_split, full_split = run_split(big, "incremental"), run_split(big, "warm")
        if inc_split and full_split:
            inc_growing_share = inc_split["growing_s"] / full_split["growing_s"]
    peaks = [max(big[k]["peak_mib"].values()) for k in ("full", "warm", "incremental") if k in big]
    peak_gib = max(peaks) / 1024 if peaks else None
    rows = [
        (
            "whole run of the sample, warm / cold",
            f"{_s(wall(sample, 'warm'))} / {_s(wall(sample, 'full'))}",
            "≤ 15 s / ≤ 30 s",
            _met(_within(wall(sample, "warm"), 15), _within(wall(sample, "full"), 30)),
        ),
        ("whole run, scale 10, warm", _s(wall(ten, "warm")), "≤ 20 s", _within(wall(ten, "warm"), 20)),
        (
            f"whole run vs the baseline, scale {AIM_SCALE}, warm",
            _x(over_baseline(wall(big, "warm"), big)),
            "≤ 10x",
            _within(over_baseline(wall(big, "warm"), big), 10),
        ),
        (
            f"the part of it that grows with rows vs the baseline, scale {AIM_SCALE}",
            _x(over_baseline(warm_growing, big)),
            "≤ 5x",
            _within(over_baseline(warm_growing, big), 5),
        ),
        (
            f"dbt build vs the baseline, scale {AIM_SCALE}, warm",
            _x(over_baseline(build, big)),
            "≤ 7x",
            _within(over_baseline(build, big), 7),
        ),
        (f"metric exports, scale {AIM_SCALE}, warm", _s(exports), "≤ 8 s", _within(exports, 8)),
        (
            f"incremental day vs full run, scale {AIM_SCALE}, whole / the part that grows with rows",
            f"{_pct(inc_share)} / {_pct(inc_growing_share)}",
            "≤ 30% / ≤ 10%",
            _met(_within(inc_share, 0.30), _within(inc_growing_share, 0.10)),
        ),
        (
            f"peak memory, scale {AIM_SCALE}, default settings",
            "not measured" if peak_gib is None else f"{peak_gib:.1f} GiB",
            "≤ 3 GiB",
            _within(peak_gib, 3.0),
        ),
        (
            "`finkpi query`, cached, fresh process, sample",
            _s(query_cached),
            "< 1 s",
            _within(query_cached, 1.0),
        ),
    ]
    return [{"measure": m, "now": now, "aim": aim, "met": met} for m, now, aim, met in rows]


def aims_table(rows: list[dict]) -> list[str]:
    met = {True: "yes", False: "**no**", None: "—"}
    return ["| measure | now | aim | met |", "|---|---:|---:|:---:|"] + [
        f"| {r['measure']} | {r['now']} | {r['aim']} | {met[r['met']]} |" for r in rows
    ]


def budget_note(stopped: dict | None) -> list[str]:
    """The report's note when a run stopped at its --budget."""
    if not stopped:
        return []
    where = f"scale {stopped['scale']}, {stopped['phase']} run" if stopped.get("scale") else "between scales"
    return [
        f"**Stopped at the budget** (`--budget {stopped['budget_s']:.0f}`) during {where}:"
        " what it had measured is below; the rest was not run.",
        "",
    ]


def render(
    results: list[dict],
    info: dict,
    argv: list[str],
    wall_s: float,
    out: Path,
    chart: str,
    stopped: dict | None = None,
) -> None:
    m = info
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    command = "python benchmarks/bench_pipeline.py " + " ".join(argv)
    failed = [r for r in results if r.get("error")]
    results = [r for r in results if "full" in r and "baseline" in r]
    inc = next((r for r in reversed(results) if "incremental_equals_full" in r.get("checks", {})), None)
    lines = [
        SECTION_START,
        "## The pipeline against a raw-DuckDB baseline, and incremental runs",
        "",
        *budget_note(stopped),
        f"Measured by `{command.strip()}`"
        + (" (with earlier scales kept by `--merge`)" if "--merge" in argv else "")
        + ": "
        + "; ".join(f"scale {r['scale']} at {r.get('measured_at', '?')}" for r in results)
        + ". Raw numbers: `benchmarks/pipeline.json`; plans of the slowest dbt nodes:"
        " `benchmarks/explain/`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable),"
        f" {m['memory_gib']:.1f} GiB memory, {m['os']}; Python {m['python']}; {versions}.",
        "",
        "What is timed: `finkpi run` as a whole (`pipeline.run`: pre-flight and dbt build of the models"
        " and their tests, the metrics exported through MetricFlow, scorecards, the quality gate with"
        " Great Expectations, publish), stage by stage, in a process of its own per run. The **cold**"
        " run is a fresh copy of the dbt project (no `target/`: a full dbt parse); the **warm** run is"
        " the same copy and warehouse run again with unchanged definitions, in a new process (what a"
        " nightly schedule sees). Peak memory is the resident memory of the whole process tree during"
        " the stage (sampled every 100 ms, and the process's VmHWM), so the Great Expectations child of"
        " `validate` counts. The baseline is hand-written DuckDB SQL over the same raw files into a"
        " fresh DuckDB file, in the cold run's process right after it: the core of the sales and"
        " invoice marts (lines with headers, exchange rate on the document date, standard cost, credit"
        " notes at the invoice's rate), the GL lines with accounts and departments, and revenue, cogs,"
        " order intake and orders booked by month and fiscal quarter, company total and by region; each"
        " of its values equals finkpi's export to the cent (checked, AssertionError otherwise). It has"
        " no quality rules, tests, lineage columns, governance, scorecards or publishing, which is most"
        " of what the ratio pays for.",
        "",
        "### Against the aims",
        "",
        *aims_table(aims(results)),
        "",
        "### finkpi against the baseline",
        "",
        "| scale | order lines | raw rows | cold run | warm run | of which dbt build (warm) | baseline"
        " | cold/baseline | warm/baseline | dbt build (warm)/baseline | peak memory, finkpi"
        " | peak memory, baseline |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        full, base, warm = r["full"], r["baseline"], r.get("warm")
        warm_build = (warm or full)["stages_s"]["dbt build"]
        peak = max(max(r[k]["peak_mib"].values()) for k in ("full", "warm", "incremental") if k in r)
        lines.append(
            f"| {r['scale']} | {r['order_lines']:,} | {r['raw']['rows']:,} | {common.fmt_s(full['wall_s'])}"
            f" | {common.fmt_s(warm['wall_s']) if warm else '—'}"
            f" | {common.fmt_s(warm_build) if warm else '—'} | {common.fmt_s(base['wall_s'])}"
            f" | {ratio(full['wall_s'], base['wall_s'])}"
            f" | {ratio(warm['wall_s'], base['wall_s']) if warm else '—'}"
            f" | {ratio(warm_build, base['wall_s']) if warm else '—'}"
            f" | {common.fmt_mib(peak)} | {common.fmt_mib(base['peak_mib'])} |"
        )
    lines += [
        "",
        "### Fixed costs and the work that grows with rows",
        "",
        "Each fixed cost measured on its own, after the warm run: a fresh process's start-up (the"
        f" interpreter and `{START_UP_IMPORTS}`), `dbt parse` (cold: a fresh project copy; warm: the"
        " built project with its partial-parse state; the incremental run pays the cold one: its"
        " warehouse folder is not the full run's, so dbt finds the profile changed), the construction"
        " of a MetricFlow engine, and the Great Expectations child's time outside its suites"
        " (start-up, GX import, context, data source, Data Docs). What grows with rows is the whole"
        " run less these.",
        "",
        "| scale | run | whole | start-up | dbt parse | MetricFlow engine | GX set-up | fixed"
        " | grows with rows | grows with rows/baseline |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for kind, label in (("full", "cold"), ("warm", "warm"), ("incremental", "incremental")):
            split = run_split(r, kind)
            if split is None:
                continue
            parts = fixed_parts(r["fixed"], r[kind], cold=parses_in_full(kind))
            lines.append(
                f"| {r['scale']} | {label} | {common.fmt_s(r[kind]['wall_s'])} | "
                + " | ".join(common.fmt_s(v) for v in parts.values())
                + f" | {common.fmt_s(split['fixed_s'])} | {common.fmt_s(split['growing_s'])}"
                f" | {ratio(split['growing_s'], r['baseline']['wall_s'])} |"
            )
    if not any(run_split(r, "full") for r in results):
        lines.append(
            "| | not measured in these rows (before the fixed costs were measured) | | | | | | | | |"
        )
    lines += ["", "### Stages", ""]
    stages = list(STAGE_MARKERS.values())
    lines += [
        "| scale | run | " + " | ".join(stages) + " | all |",
        "|---:|---|" + "---:|" * (len(stages) + 1),
    ]
    for r in results:
        for kind, label in (("full", "cold"), ("warm", "warm"), ("incremental", "incremental")):
            if kind not in r:
                continue
            run = r[kind]
            cells = [
                f"{common.fmt_s(run['stages_s'][s])}<br>{common.fmt_mib(run['peak_mib'].get(s, 0))}"
                for s in stages
            ]
            lines.append(
                f"| {r['scale']} | {label} | " + " | ".join(cells) + f" | {common.fmt_s(run['wall_s'])} |"
            )
    lines += [
        "",
        "Each cell: wall time, then peak memory of the process tree. The CPU other processes took while"
        " each scale ran (the machine is shared; all cores counted):",
        "",
    ]
    for r in results:
        shares = [
            f"{label} run {r[kind]['other_load']['share']:.0%}"
            for kind, label in (("full", "cold"), ("warm", "warm"), ("incremental", "incremental"))
            if kind in r and "other_load" in r[kind]
        ]
        lines.append(f"- scale {r['scale']}: " + ", ".join(shares) + " of the machine")
    lines += _where_time_goes(results)
    if inc is not None:
        lines += _incremental_section(inc, stages)
    lines += [f"- **scale {r['scale']} failed**: {r['error']}" for r in failed]
    lines += [
        "",
        "### Time against rows",
        "",
        f"![time against sales order lines]({chart})",
        "",
        SECTION_END,
    ]
    section = "\n".join(lines) + "\n"
    text = out.read_text() if out.exists() else "# Benchmarks\n\n"
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        text = head + section + rest.split(SECTION_END, 1)[1].lstrip("\n")
    else:  # first: right after the title and its introduction, before the other sections
        marker = "<!-- bench_metric_layer: start -->"
        text = text.replace(marker, section + "\n" + marker) if marker in text else text + "\n" + section
    out.write_text(text)


def _where_time_goes(results: list[dict]) -> list[str]:
    """The slowest export requests and GX suites of each scale's warm run, and its EXPLAIN files."""
    lines = []
    for r in results:
        kind = "warm" if "warm" in r else "full"
        run = r[kind]
        requests, gx = run.get("export_requests"), run.get("gx")
        if not requests and not gx and not r.get("explain"):
            continue
        label = "warm" if kind == "warm" else "cold"
        if requests:
            lines.append(
                f"- scale {r['scale']}, {label} run: {requests['count']} MetricFlow requests,"
                f" {common.fmt_s(requests['sum_s'])} in all; the slowest: "
                + ", ".join(f"`{name}` {common.fmt_s(sec)}" for name, sec in requests["slowest"][:5])
            )
        if gx:
            suites = sorted(gx["suites_s"].items(), key=lambda item: item[1], reverse=True)
            lines.append(
                f"- scale {r['scale']}, {label} run: Great Expectations {common.fmt_s(gx['process_s'])}"
                f" (its child process): {len(suites)} suites {common.fmt_s(sum(gx['suites_s'].values()))},"
                f" set-up {common.fmt_s(gx['setup_s'])}; the slowest suites: "
                + ", ".join(f"`{name}` {common.fmt_s(sec)}" for name, sec in suites[:5])
            )
        if r.get("explain"):
            lines.append(
                f"- scale {r['scale']}: EXPLAIN ANALYZE in `benchmarks/explain/scale{r['scale']}/` of "
                + ", ".join(
                    f"`{e['node'].split('.', 2)[2]}` ({common.fmt_s(e['dbt_s'])})" for e in r["explain"]
                )
            )
    if not lines:  # rows from before these were measured
        return []
    return ["", "### Where the time goes: export requests, Great Expectations suites, dbt nodes", "", *lines]


def _incremental_section(inc: dict, stages: list[str]) -> list[str]:
    full, incr = inc.get("warm") or inc["full"], inc["incremental"]
    full_label = "full run (warm)" if "warm" in inc else "full run"
    delivered = inc["delivery"]["rows"]
    lines = [
        "",
        "### An incremental day against a full run",
        "",
        f"At scale {inc['scale']} ({inc['order_lines']:,} sales order lines), the last delivery is"
        f" the days after {inc['delivery']['cutoff']}:"
        f" {delivered.get('erp.sales_order_lines', 0):,} sales order lines"
        f" ({delivered.get('erp.sales_order_lines', 0) / inc['order_lines']:.1%}),"
        f" {delivered.get('erp.invoice_lines', 0):,} invoice lines,"
        f" {delivered.get('erp.gl_journal_entries', 0):,} GL lines and"
        f" {sum(delivered.values()):,} rows in all came after it, as a delivery folder of new files"
        " beside the history's (`<source>/deliveries/<batch>/`; both runs of this scale read those"
        " files). Yesterday's warehouse is the full"
        " build with what a delivery changes taken out: the incremental facts' and the windowed"
        " models' rows after that day,"
        " the month-end snapshots after its month, the staging rows of the delivery's files, and its"
        " metric values of the periods after it poisoned (the slow test in"
        " `tests/models/test_incremental.py` builds a real history on the sample and then lands the"
        " delivery folder). `finkpi run --incremental` then ran every stage in it"
        + (", on the warm run's project" if "warm" in inc else "")
        + f" ({inc['incremental'].get('plan') or 'incremental'}): the facts, the windowed models and"
        " the snapshots recompute"
        " their window, the staging tables of the appending tables load only the delivery's files,"
        " the data tests and the gate check the window's rows row by row and the keys across the"
        " whole table"
        + _exports_kept(inc["incremental"])
        + "; everything else is rebuilt. Every staging and mart row and every metric value"
        " equals the full run over the same files"
        f" ({sum(inc['checks']['incremental_equals_full'].values()):,}"
        " rows compared, AssertionError otherwise).",
        "",
        f"| stage | {full_label} | incremental run | incremental/full |",
        "|---|---:|---:|---:|",
    ]
    for s in stages:
        lines.append(
            f"| {s} | {common.fmt_s(full['stages_s'][s])} | {common.fmt_s(incr['stages_s'][s])}"
            f" | {incr['stages_s'][s] / full['stages_s'][s]:.0%} |"
        )
    lines.append(
        f"| **all** | **{common.fmt_s(full['wall_s'])}** | **{common.fmt_s(incr['wall_s'])}**"
        f" | **{incr['wall_s'] / full['wall_s']:.0%}** |"
    )
    types = sorted(full["dbt_nodes"]["seconds_by_type"])
    lines += [
        "",
        "Where the dbt build's time goes (seconds of node execution summed over dbt's 2 threads):",
        "",
        "| | " + " | ".join(types) + " | slowest nodes |",
        "|---|" + "---:|" * len(types) + "---|",
    ]
    for kind, run in (("full", full), ("incremental", incr)):
        nodes = run["dbt_nodes"]
        lines.append(
            f"| {kind} | "
            + " | ".join(f"{nodes['seconds_by_type'].get(t, 0):.0f} s" for t in types)
            + " | "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in nodes["slowest"][:6])
            + " |"
        )
    return lines


def draw_chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [r for r in results if "full" in r and "baseline" in r]
    rows = [r["order_lines"] for r in results]
    figure, axes = plt.subplots(figsize=(9, 5), dpi=110)
    axes.plot(rows, [r["full"]["wall_s"] for r in results], marker="o", label="finkpi run, cold")
    axes.plot(
        rows,
        [(r.get("warm") or r["full"])["stages_s"]["dbt build"] for r in results],
        marker="o",
        label="  of which dbt build (warm where measured)",
    )
    warm = [r for r in results if "warm" in r]
    if warm:
        warm_rows = [r["order_lines"] for r in warm]
        axes.plot(warm_rows, [r["warm"]["wall_s"] for r in warm], marker="o", label="finkpi run, warm")
        split = [(r["order_lines"], run_split(r, "warm")) for r in warm if run_split(r, "warm")]
        if split:
            axes.plot(
                [n for n, _ in split],
                [v["growing_s"] for _, v in split],
                marker="o",
                linestyle="--",
                label="  warm, the part that grows with rows",
            )
    axes.plot(rows, [r["baseline"]["wall_s"] for r in results], marker="s", label="raw-DuckDB baseline")
    incremental = [r for r in results if "incremental_equals_full" in r.get("checks", {})]
    if incremental:
        axes.plot(
            [r["order_lines"] for r in incremental],
            [r["incremental"]["wall_s"] for r in incremental],
            marker="*",
            markersize=12,
            linestyle="none",
            label="finkpi run --incremental (1% new lines)",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("sales order lines")
    axes.set_ylabel("seconds (log)")
    axes.set_title("finkpi pipeline against a raw-DuckDB baseline")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# --------------------------------------------------------------------------------------------------
# command line


def report(
    results: list[dict], argv: list[str], started: float, out: Path, stopped: dict | None = None
) -> None:
    """Raw numbers, chart and Markdown section, rewritten after every run (a long run that is
    stopped keeps what it measured)."""
    info = common.machine()
    (HERE / "pipeline.json").write_text(
        json.dumps(
            {"machine": info, "argv": argv, "results": results, "stopped_at_budget": stopped},
            indent=2,
            default=str,
        )
    )
    draw_chart(results, HERE / "pipeline.png")
    render(results, info, argv, time.perf_counter() - started, out, "benchmarks/pipeline.png", stopped)


def summary_lines(results: list[dict], stopped: dict | None) -> list[str]:
    """What the command prints at its end: per scale the runs against the baseline and their
    fixed part, then the aims."""
    lines = [" ".join(budget_note(stopped)).strip()] if stopped else []
    for r in results:
        if "full" not in r or "baseline" not in r:
            continue
        runs = []
        for kind, label in (("full", "cold"), ("warm", "warm"), ("incremental", "incremental")):
            if kind in r:
                split = run_split(r, kind)
                runs.append(
                    f"{label} {common.fmt_s(r[kind]['wall_s'])}"
                    + (
                        f" (fixed {common.fmt_s(split['fixed_s'])}, grows with rows"
                        f" {common.fmt_s(split['growing_s'])},"
                        f" {ratio(split['growing_s'], r['baseline']['wall_s'])} the baseline)"
                        if split
                        else ""
                    )
                )
        lines.append(
            f"scale {r['scale']} ({r['order_lines']:,} order lines): baseline"
            f" {common.fmt_s(r['baseline']['wall_s'])}; " + "; ".join(runs)
        )
        if r.get("fixed"):
            lines.append("  fixed: " + ", ".join(f"{k} {common.fmt_s(v)}" for k, v in r["fixed"].items()))
    lines += aims_table(aims(results))
    return lines


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,10", help="comma-separated scales (1 = the bundled sample)")
    parser.add_argument(
        "--incremental-scale", type=int, help="where to measure an incremental day (default: largest)"
    )
    parser.add_argument("--landing", default=str(REPO / "data" / "landing"), help="where scaled data is kept")
    parser.add_argument("--regenerate", action="store_true", help="write the scaled data again")
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"), help="Markdown file to write into")
    parser.add_argument("--merge", action="store_true", help="keep other scales' results from pipeline.json")
    parser.add_argument("--render-only", action="store_true", help="rewrite the report from pipeline.json")
    parser.add_argument(
        "--budget",
        type=float,
        help="seconds: stop there (the running child is ended) and write what was measured",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.render_only:
        saved = json.loads((HERE / "pipeline.json").read_text())
        render(
            saved["results"],
            saved["machine"],
            saved.get("argv", []),
            0.0,
            Path(args.out),
            "benchmarks/pipeline.png",
            saved.get("stopped_at_budget"),
        )
        draw_chart(saved["results"], HERE / "pipeline.png")
        return
    if args.child:
        spec = json.loads(Path(args.child).read_text())
        run_scale(spec)
        return

    scales = sorted(int(s) for s in args.scales.split(","))
    incremental_scale = args.incremental_scale or scales[-1]
    started = time.perf_counter()
    raw_numbers = HERE / "pipeline.json"
    # scales measured before (--merge) stay in the report unless measured again
    kept = json.loads(raw_numbers.read_text())["results"] if args.merge and raw_numbers.exists() else []
    results = {r["scale"]: r for r in kept}
    deadline = started + args.budget if args.budget else None
    stopped: dict | None = None
    with tempfile.TemporaryDirectory(prefix="finkpi-bench-") as tmp:
        for scale in scales:
            left = budget_left(deadline, time.perf_counter())
            if left is not None and left <= 0:
                stopped = {"budget_s": args.budget, "scale": None, "phase": None}
                break
            source, generation = source_for(scale, Path(args.landing), args.regenerate)
            workdir = Path(tmp) / f"scale{scale}"
            workdir.mkdir()
            result: dict = {}
            delivery = prepare_delivery(source, workdir) if scale == incremental_scale else None
            if delivery:  # every run of this scale reads the history and the delivery folder
                source = Path(delivery["data_dir"])
            for phase in ("cold", "warm"):
                spec = {
                    "scale": scale,
                    "phase": phase,
                    "workdir": str(workdir),
                    "source": str(source),
                    "result": str(workdir / f"{phase}.json"),
                    "explain_dir": str(HERE / "explain" / f"scale{scale}"),
                }
                if delivery:
                    spec["cutoff"], spec["delivery_rows"] = delivery["cutoff"], delivery["rows"]
                (workdir / f"{phase}.json.spec").write_text(json.dumps(spec))
                say(f"scale {scale}, {phase} run: a child process ...")
                code, timed_out = run_child(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--child",
                        str(workdir / f"{phase}.json.spec"),
                    ],
                    budget_left(deadline, time.perf_counter()),
                )
                measured = workdir / f"{phase}.json"
                if measured.exists():
                    merge_phase(result, json.loads(measured.read_text()))
                elif not timed_out:
                    raise RuntimeError(
                        f"scale {scale}, {phase} run: the child process failed ({code}) before measuring"
                    )
                if timed_out:
                    say(f"scale {scale}, {phase} run: stopped at the budget of {args.budget:.0f} s")
                    stopped = {"budget_s": args.budget, "scale": scale, "phase": phase}
                if timed_out or code != 0:
                    break
            if result:
                result["generation"] = generation
                result["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
                results[scale] = result
            shutil.rmtree(workdir, ignore_errors=True)
            report(sorted(results.values(), key=lambda r: r["scale"]), argv, started, Path(args.out), stopped)
            if stopped:
                break
    if stopped:  # the note, also when the budget ran out between two scales
        report(sorted(results.values(), key=lambda r: r["scale"]), argv, started, Path(args.out), stopped)
    wall = time.perf_counter() - started
    for line in summary_lines(sorted(results.values(), key=lambda r: r["scale"]), stopped):
        print(line, flush=True)
    say(f"done in {wall:.0f} s: {args.out}, benchmarks/pipeline.json, benchmarks/pipeline.png")


def merge_phase(result: dict, phase: dict) -> None:
    """A scale's result from its cold and its warm child: the warm one adds its runs, fixed costs,
    plans and checks; its peaks and seconds are kept apart."""
    checks = {**result.get("checks", {}), **phase.pop("checks", {})}
    for key in ("process_peak_mib", "children_peak_mib", "seconds"):
        if key in phase and key in result:
            result[f"warm_{key}"] = phase.pop(key)
    if "error" in phase and "error" in result:
        phase["error"] = result["error"] + "; " + phase["error"]
    result.update(phase)
    if checks:
        result["checks"] = checks


if __name__ == "__main__":
    main()

"""Benchmark of finkpi's metric layer: dbt build, metric exports, a raw-DuckDB baseline, query latency.

    python benchmarks/bench_metric_layer.py [--scales 1,10] [--out BENCHMARKS.md]

Per scale (scale 1: the bundled CSV sample in data/sample; scale N > 1: `write_scaled(N)` as
Parquet into a temporary folder), in a process of its own so that peak memory belongs to one scale:

1. `dbt_runner.build` and `export_metrics` (what `finkpi run` does), each with its time and its
   peak resident memory (VmHWM: DuckDB allocates natively, so tracemalloc would miss most of it),
   the rows of `metrics.metric_values` and the number of MetricFlow queries.
2. A hand-written DuckDB baseline in the same process: revenue, cogs, order_intake and
   orders_booked by month and fiscal quarter, company total and by region, once over the built
   marts and once straight over the raw files. Every number of it is checked against the export
   (to the cent); the same slice through MetricEngine (16 queries, as the export issues them)
   gives the ratio finkpi/baseline.
3. One query (revenue, gross_margin_pct by fiscal quarter and region) in a warm MetricEngine
   (median and p95 of 30) against the same query through the `mf query` command line (median of 3).

The dbt project is copied into a temporary folder for each scale, so the run writes neither the
repository's target/ nor its warehouse/. Results: a section of BENCHMARKS.md (replaced between its
markers on every run), the raw numbers in benchmarks/metric_layer.json, and a chart
benchmarks/metric_layer.png when matplotlib can be imported (it is not a dependency of finkpi).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable as a plain script, with or without the editable install
    sys.path.insert(0, str(REPO))

# Telemetry of every tool off, as the Makefile does.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

SECTION_START = "<!-- bench_metric_layer: start -->"
SECTION_END = "<!-- bench_metric_layer: end -->"
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "metrics", "macros", "seeds", "tests/dbt")

SLICE_METRICS = ("revenue", "cogs", "order_intake", "orders_booked")
SAMPLE_START = "2023-01-01"  # the generated company's first day (finkpi/generate/calendar.py)
SLICE_GRAINS = {"month": "month", "quarter": "fiscal_quarter"}  # metric_values grain -> MetricFlow
SLICE_DIMENSIONS = {"total": None, "region": "customer__region"}
SLICE_KEYS = ["metric_name", "grain", "dimension", "dimension_value", "period_start"]
UNASSIGNED = "(unassigned)"  # what the export writes for a NULL dimension value
CENT = 0.005  # values agree when they differ by less than half a cent

WARM_METRICS = ("revenue", "gross_margin_pct")
WARM_GROUP_BY = ("metric_time__fiscal_quarter", "customer__region")
WARM_REPS = 30
CLI_REPS = 3
SLICE_REPS = 5


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------------------
# memory


def _status_kb(field: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), None where there is no /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_high_water_mark() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


_process_peak_kb = 0  # the reset below also resets ru_maxrss: the process's peak is kept here


def _note_process_peak(kb: int | None) -> None:
    global _process_peak_kb
    _process_peak_kb = max(_process_peak_kb, kb or 0)


class PeakMemory:
    """Peak resident memory of this process during a block, DuckDB's native memory included.

    Resets the kernel's high-water mark at the start and reads it at the end; where the reset is
    refused, samples VmRSS every 10 ms in a thread instead."""

    def __enter__(self) -> PeakMemory:
        _note_process_peak(_status_kb("VmHWM"))
        self.start_kb = _status_kb("VmRSS") or 0
        self.method = "VmHWM" if _reset_high_water_mark() else "VmRSS sampled every 10 ms"
        self._samples = [self.start_kb]
        self._stop = threading.Event()
        self._thread = None
        if self.method != "VmHWM":
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._samples.append(_status_kb("VmRSS") or 0)

    def __exit__(self, *exc) -> None:
        if self._thread is None:
            self.peak_kb = _status_kb("VmHWM") or 0
        else:
            self._stop.set()
            self._thread.join()
            self.peak_kb = max([*self._samples, _status_kb("VmRSS") or 0])
        _note_process_peak(self.peak_kb)

    def as_dict(self) -> dict:
        return {"start_mib": self.start_kb / 1024, "peak_mib": self.peak_kb / 1024, "method": self.method}


def process_peak_mib() -> float:
    """The process's peak RSS: ru_maxrss (KiB on Linux), or the highest peak seen before a reset."""
    _note_process_peak(_status_kb("VmHWM"))
    return max(_process_peak_kb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


# --------------------------------------------------------------------------------------------------
# other processes


def _busy_cpu_seconds() -> float | None:
    """CPU time the whole machine has spent busy since boot (/proc/stat), in seconds."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU time of this process (all its threads: the pipeline and the baseline run in-process)
    plus that of its finished children (dbt's and GX's child processes)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class OtherLoad:
    """How much CPU other processes took while this one measured something: the machine's busy
    time minus this process's own and its children's, as a share of all cores over the wall time.
    (Counting only the children, as before, booked the in-process pipeline and baseline as
    "other": the baseline showed own CPU 0.0 and other 95%.)"""

    def __enter__(self) -> OtherLoad:
        self._busy = _busy_cpu_seconds()
        self._own = _own_cpu_seconds()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self._wall
        busy = _busy_cpu_seconds()
        own = _own_cpu_seconds() - self._own
        self.cpu_s = max(0.0, busy - self._busy - own) if busy is not None and self._busy is not None else 0.0
        self.share = self.cpu_s / (wall * (os.cpu_count() or 1)) if wall > 0 else 0.0
        self.own_cpu_s = own
        self.wall_s = wall

    def as_dict(self) -> dict:
        return {
            "other_cpu_s": self.cpu_s,
            "share": self.share,
            "own_cpu_s": self.own_cpu_s,
            "wall_s": self.wall_s,
        }


# --------------------------------------------------------------------------------------------------
# statistics


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


# --------------------------------------------------------------------------------------------------
# the baseline: hand-written DuckDB SQL


def _grouped(select_facts: str, measures: str, periods: str, as_of: str) -> str:
    """Facts (day, region, measures) aggregated by month and fiscal quarter, total and by region.

    `periods` selects the facts with their month_start and fiscal_quarter_start."""
    return f"""
        with facts as ({select_facts}),
        periods as ({periods})
        select
            case when grouping(month_start) = 0 then 'month' else 'quarter' end as grain,
            coalesce(month_start, fiscal_quarter_start) as period_start,
            case when grouping(region) = 0 then 'region' else 'total' end as dimension,
            case when grouping(region) = 0 then region else 'all' end as dimension_value,
            {measures}
        from periods
        group by grouping sets (
            (month_start), (month_start, region), (fiscal_quarter_start), (fiscal_quarter_start, region)
        )
        having coalesce(month_start, fiscal_quarter_start) <= date '{as_of}'
    """


REVENUE_MEASURES = "sum(revenue) as revenue, sum(cogs) as cogs"
ORDER_MEASURES = "sum(order_intake) as order_intake, count(distinct booked_order_id) as orders_booked"


def marts_baseline_sql(as_of: str) -> list[str]:
    """Over the built marts: the facts, the customer dimension and the fiscal calendar."""
    invoice_facts = f"""
        select lines.revenue_date as day, coalesce(customers.region, '{UNASSIGNED}') as region,
            lines.net_amount_reporting as revenue, lines.standard_cost_reporting as cogs
        from marts.fct_invoice_lines as lines
        left join marts.dim_customers as customers on customers.customer_key = lines.customer_id"""
    order_facts = f"""
        select lines.order_date as day, coalesce(customers.region, '{UNASSIGNED}') as region,
            case when not lines.is_cancelled then lines.net_amount_reporting else 0 end as order_intake,
            case when not lines.is_cancelled then lines.order_id end as booked_order_id
        from marts.fct_sales_order_lines as lines
        left join marts.dim_customers as customers on customers.customer_key = lines.customer_id"""
    periods = """
        select facts.*, dates.month_start, dates.fiscal_quarter_start
        from facts inner join marts.dim_dates as dates on dates.date_day = facts.day"""
    return [
        _grouped(invoice_facts, REVENUE_MEASURES, periods, as_of),
        _grouped(order_facts, ORDER_MEASURES, periods, as_of),
    ]


def raw_baseline_sql(settings, as_of: str) -> list[str]:
    """Straight over the raw extracts: the currency conversion (round(amount x rate, 2) per line,
    credit notes at their invoice's rate), the standard cost valid on the invoice date, and the
    fiscal calendar, written out again. Credit notes subtract their header amount: spread over
    the invoice's lines (as the marts do) it adds up to the same cents by month and region."""

    def read(table: str) -> str:
        path = str(settings.source_path("erp", table)).replace("'", "''")
        if settings.raw_format == "csv":
            return f"read_csv('{path}', all_varchar = true, header = true)"
        return f"read_parquet('{path}')"

    def text(column: str) -> str:
        return f"nullif(trim({column}), '')"

    eur = settings.reporting_currency

    def to_reporting(amount: str, currency: str, rate: str) -> str:
        return (
            f"case when {currency} = '{eur}' then {amount}"
            f" else cast(round({amount} * {rate}, 2) as decimal(18, 2)) end"
        )

    ctes = f"""
        rates as (
            select {text("from_currency")} as currency, cast({text("rate_date")} as date) as rate_date,
                cast({text("rate")} as decimal(18, 8)) as rate
            from {read("exchange_rates")} where {text("to_currency")} = '{eur}'),
        customers as (
            select {text("customer_id")} as customer_id, {text("region")} as region
            from {read("customers")}),
        invoices as (
            select {text("invoice_id")} as invoice_id, {text("customer_id")} as customer_id,
                {text("currency")} as currency, cast({text("invoice_date")} as date) as invoice_date
            from {read("invoices")}),
        invoice_rates as (
            select invoices.*, coalesce(customers.region, '{UNASSIGNED}') as region, rates.rate
            from invoices
            left join customers on customers.customer_id = invoices.customer_id
            left join rates on rates.currency = invoices.currency
                and rates.rate_date = invoices.invoice_date),
        costs as (
            select {text("product_id")} as product_id,
                cast({text("standard_cost_eur")} as decimal(18, 4)) as standard_cost,
                cast({text("valid_from")} as date) as valid_from, cast({text("valid_to")} as date) as valid_to
            from {read("product_standard_costs")})"""
    invoice_facts = f"""
        with {ctes},
        lines as (
            select {text("invoice_id")} as invoice_id, {text("product_id")} as product_id,
                cast({text("quantity")} as decimal(18, 3)) as quantity,
                cast({text("net_amount")} as decimal(18, 2)) as net_amount
            from {read("invoice_lines")}),
        credits as (
            select {text("invoice_id")} as invoice_id, cast({text("credit_date")} as date) as credit_date,
                cast({text("net_amount")} as decimal(18, 2)) as net_amount
            from {read("credit_notes")})
        select invoice_rates.invoice_date as day, invoice_rates.region,
            {to_reporting("lines.net_amount", "invoice_rates.currency", "invoice_rates.rate")} as revenue,
            cast(round(lines.quantity * costs.standard_cost, 2) as decimal(18, 2)) as cogs
        from lines
        inner join invoice_rates on invoice_rates.invoice_id = lines.invoice_id
        left join costs on costs.product_id = lines.product_id
            and invoice_rates.invoice_date >= costs.valid_from and invoice_rates.invoice_date < costs.valid_to
        union all
        select credits.credit_date, invoice_rates.region,
            -({to_reporting("credits.net_amount", "invoice_rates.currency", "invoice_rates.rate")}), 0
        from credits
        inner join invoice_rates on invoice_rates.invoice_id = credits.invoice_id"""
    order_facts = f"""
        with {ctes},
        orders as (
            select {text("order_id")} as order_id, {text("customer_id")} as customer_id,
                {text("currency")} as currency, {text("status")} as status,
                cast({text("order_date")} as date) as order_date
            from {read("sales_orders")}),
        lines as (
            select {text("order_id")} as order_id, cast({text("net_amount")} as decimal(18, 2)) as net_amount
            from {read("sales_order_lines")})
        select orders.order_date as day, coalesce(customers.region, '{UNASSIGNED}') as region,
            case when not (orders.status = 'cancelled')
                then {to_reporting("lines.net_amount", "orders.currency", "rates.rate")} else 0 end
                as order_intake,
            case when not (orders.status = 'cancelled') then orders.order_id end as booked_order_id
        from lines
        inner join orders on orders.order_id = lines.order_id
        left join customers on customers.customer_id = orders.customer_id
        left join rates on rates.currency = orders.currency and rates.rate_date = orders.order_date"""
    start = settings.fiscal_year_start_month
    periods = f"""
        select *, cast(date_trunc('month', day) as date) as month_start,
            cast(date_trunc('month', day) - to_months((month(day) - {start} + 12) % 12 % 3) as date)
                as fiscal_quarter_start
        from facts"""
    return [
        _grouped(invoice_facts, REVENUE_MEASURES, periods, as_of),
        _grouped(order_facts, ORDER_MEASURES, periods, as_of),
    ]


def run_baseline(con, statements: list[str]):
    """The baseline's statements on an open connection, as one long frame like metric_values."""
    import pandas as pd

    frames = []
    for sql in statements:
        wide = con.execute(sql).df()
        measures = [
            c for c in wide.columns if c not in ("grain", "period_start", "dimension", "dimension_value")
        ]
        frames.append(
            wide.melt(
                id_vars=["grain", "period_start", "dimension", "dimension_value"],
                value_vars=measures,
                var_name="metric_name",
                value_name="value",
            )
        )
    values = pd.concat(frames, ignore_index=True)
    values["period_start"] = pd.to_datetime(values["period_start"]).dt.date
    values["value"] = values["value"].astype(float)
    return values[[*SLICE_KEYS, "value"]]


def measure_baseline(connect, statements: list[str]) -> tuple[dict, object]:
    """Cold: connect and run once; warm: the median of SLICE_REPS runs on the open connection."""
    with PeakMemory() as memory:
        started = time.perf_counter()
        con = connect()
        values = run_baseline(con, statements)
        cold = time.perf_counter() - started
        warm = [timed(run_baseline, con, statements)[0] for _ in range(SLICE_REPS)]
        con.close()
    stats = {"cold_s": cold, "warm_median_s": median(warm), "warm_s": warm, "statements": len(statements)}
    return {**stats, "memory": memory.as_dict()}, values


# --------------------------------------------------------------------------------------------------
# finkpi's side of the comparison


def engine_slice(engine, as_of):
    """The same 4 metrics x 2 grains x 2 slices through MetricEngine, one metric per query (as the
    export issues them), as one long frame like metric_values."""
    import pandas as pd

    frames = []
    for metric in SLICE_METRICS:
        for grain_name, grain in SLICE_GRAINS.items():
            for dimension, qualified in SLICE_DIMENSIONS.items():
                time_column = f"metric_time__{grain}"
                frame = engine.query([metric], [time_column] + ([qualified] if qualified else []))
                out = pd.DataFrame(
                    {
                        "metric_name": metric,
                        "grain": grain_name,
                        "dimension": dimension,
                        "dimension_value": frame[qualified].fillna(UNASSIGNED).astype(str)
                        if qualified
                        else "all",
                        "period_start": pd.to_datetime(frame[time_column]).dt.date,
                        "value": frame[metric].astype(float),
                    }
                )
                frames.append(out[out["period_start"] <= as_of])
    return pd.concat(frames, ignore_index=True)


def slice_of_export(values):
    """The comparable slice of the exported metric_values."""
    chosen = values[
        values["metric_name"].isin(SLICE_METRICS)
        & values["grain"].isin(list(SLICE_GRAINS))
        & values["dimension"].isin(list(SLICE_DIMENSIONS))
    ]
    return chosen[[*SLICE_KEYS, "value"]].reset_index(drop=True)


def check_equal(expected, actual, what: str) -> int:
    """Every value of `actual` equals `expected` to the cent; raise AssertionError otherwise.

    A period missing on one side counts as 0: these four metrics are flows, and the export fills
    the periods without business with 0 (a hand-written query simply has no row for them)."""
    merged = expected.merge(actual, on=SLICE_KEYS, how="outer", suffixes=("_expected", "_actual"))
    merged = merged.fillna({"value_expected": 0.0, "value_actual": 0.0})
    wrong = merged[(merged["value_expected"] - merged["value_actual"]).abs() >= CENT]
    if not wrong.empty:
        raise AssertionError(
            f"{what}: {len(wrong)} of {len(merged)} values differ from the export, e.g.\n"
            + wrong.head(10).to_string(index=False)
        )
    return len(merged)


def revenue_by_month(values):
    chosen = values[
        (values["metric_name"] == "revenue") & (values["grain"] == "month") & (values["dimension"] == "total")
    ]
    return chosen[["period_start", "value"]].sort_values("period_start", ignore_index=True)


def check_revenue_by_month(exported, baseline, what: str) -> dict:
    """The brief's must: the baseline's revenue by month equals the exported revenue by month."""
    left = revenue_by_month(exported)
    left = left[left["value"] != 0]  # months the export zero-filled have no row in SQL
    right = revenue_by_month(baseline)
    assert_frame = left.merge(right, on="period_start", how="outer", suffixes=("_export", "_baseline"))
    differ = assert_frame[
        ~((assert_frame["value_export"] - assert_frame["value_baseline"]).abs() < CENT)
    ]  # NaN on either side (a month missing) counts as a difference
    if not differ.empty:
        raise AssertionError(f"{what}: revenue by month differs from the export:\n{differ.to_string()}")
    return {"months": len(left), "total": float(left["value"].sum())}


# --------------------------------------------------------------------------------------------------
# one scale, in its own process


def copy_project(target: Path) -> Path:
    """The dbt project (not the Python package) in a folder of this run: dbt and mf write target/
    and logs/ there, never into the repository."""
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def raw_inventory(settings) -> dict:
    import duckdb

    from finkpi.sources import DELIVERIES_FOLDER

    # the extracts and any delivery folder beside them (`<source>/deliveries/<batch>/`)
    files = sorted(Path(settings.data_dir).glob(f"*/*.{settings.raw_format}")) + sorted(
        Path(settings.data_dir).glob(f"*/{DELIVERIES_FOLDER}/*/*.{settings.raw_format}")
    )
    reader = "read_csv" if settings.raw_format == "csv" else "read_parquet"
    options = ", all_varchar = true, header = true" if settings.raw_format == "csv" else ""
    with duckdb.connect() as con:
        rows = sum(
            con.execute(f"select count(*) from {reader}(?{options})", [str(f)]).fetchone()[0] for f in files
        )
    return {"files": len(files), "rows": rows, "mib": sum(f.stat().st_size for f in files) / 2**20}


def run_scale(scale: int, data_dir: Path, raw_format: str, workdir: Path) -> dict:
    import duckdb

    from finkpi import dbt_runner, pipeline
    from finkpi.metrics.engine import MetricEngine
    from finkpi.metrics.exports import export_metrics
    from finkpi.run import new_run_id
    from finkpi.settings import load_settings

    tag = f"[scale {scale}]"
    started_all = time.perf_counter()
    project = copy_project(workdir / "project")
    settings = load_settings(
        project_dir=project, data_dir=data_dir, raw_format=raw_format, warehouse_dir=workdir / "warehouse"
    )
    settings = settings.with_(as_of_date=settings.as_of_date or _resolve(settings))
    as_of = settings.as_of_date
    result: dict = {"scale": scale, "raw_format": raw_format, "as_of_date": as_of.isoformat()}
    result["raw"] = raw_inventory(settings)
    say(
        f"{tag} data: {result['raw']['rows']:,} raw rows in {result['raw']['files']} {raw_format} files"
        f" ({result['raw']['mib']:.0f} MiB); as_of_date {as_of}"
    )

    # 1. dbt build and metric exports -------------------------------------------------------
    say(f"{tag} dbt build (in-process, quiet) ...")
    with PeakMemory() as memory:
        seconds, built = timed(lambda: dbt_runner.build(settings, quiet=True))
    nodes: dict[str, int] = {}
    for node_result in built.result.results:
        kind = node_result.node.resource_type
        kind = getattr(kind, "value", str(kind))
        nodes[kind] = nodes.get(kind, 0) + 1
    marts = pipeline.mart_row_counts(settings)
    result["build"] = {
        "seconds": seconds,
        "memory": memory.as_dict(),
        "nodes": nodes,
        "mart_rows": sum(marts.values()),
        "fct_invoice_lines": marts.get("fct_invoice_lines"),
        "fct_sales_order_lines": marts.get("fct_sales_order_lines"),
        "warehouse_mib": settings.build_database.stat().st_size / 2**20,
    }
    say(
        f"{tag} dbt build: {seconds:.1f} s, peak {memory.peak_kb / 1024:.0f} MiB, {sum(nodes.values())} nodes"
    )

    say(f"{tag} metric exports (MetricFlow in-process) ...")
    with PeakMemory() as memory:
        seconds, exported = timed(lambda: export_metrics(settings, new_run_id()))
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        (rows,) = con.execute("select count(*) from metrics.metric_values").fetchone()
    result["export"] = {
        "seconds": seconds,
        "memory": memory.as_dict(),
        "metric_values_rows": rows,
        "queries": exported.stats.queries,
        "rollups": exported.stats.rollups,
        "metrics": int(exported.values["metric_name"].nunique()),
    }
    say(
        f"{tag} metric exports: {seconds:.1f} s, peak {memory.peak_kb / 1024:.0f} MiB,"
        f" {rows:,} metric_values rows from {exported.stats.queries} MetricFlow queries"
    )
    exported_slice = slice_of_export(exported.values)
    checks: dict = {}

    # 2. the baseline, over the marts and over the raw files ----------------------------------
    say(f"{tag} baseline: hand-written DuckDB SQL over the marts ...")
    database = str(settings.build_database)
    result["baseline_marts"], marts_values = measure_baseline(
        lambda: duckdb.connect(database, read_only=True), marts_baseline_sql(as_of.isoformat())
    )
    checks["revenue_by_month"] = check_revenue_by_month(exported.values, marts_values, "baseline over marts")
    checks["baseline_marts_values"] = check_equal(exported_slice, marts_values, "baseline over marts")
    say(
        f"{tag} baseline over marts: {result['baseline_marts']['warm_median_s'] * 1000:.0f} ms warm;"
        f" {checks['baseline_marts_values']} values equal to the export"
    )

    say(f"{tag} baseline: hand-written DuckDB SQL over the raw {raw_format} files ...")
    result["baseline_raw"], raw_values = measure_baseline(
        duckdb.connect, raw_baseline_sql(settings, str(as_of))
    )
    check_revenue_by_month(exported.values, raw_values, "baseline over raw files")
    # the raw baseline reads the generated company's files only; the SAP source's orders (a second
    # ERP, 2014-2022: README, Adding a source system) are in the export and the marts baseline
    generated_only = exported_slice[exported_slice["period_start"].map(str) >= SAMPLE_START]
    checks["baseline_raw_values"] = check_equal(generated_only, raw_values, "baseline over raw files")
    say(
        f"{tag} baseline over raw files: {result['baseline_raw']['warm_median_s'] * 1000:.0f} ms warm;"
        f" {checks['baseline_raw_values']} values equal to the export"
    )

    # 2b and 3. the same slice and one query through a warm MetricEngine ---------------------
    say(
        f"{tag} MetricEngine: the comparable slice ({SLICE_REPS + 1} times),"
        f" then {WARM_REPS + 1} warm queries"
    )
    with PeakMemory() as memory:
        startup, engine = timed(MetricEngine, settings)
        try:
            first_slice, engine_values = timed(engine_slice, engine, as_of)
            slice_runs = [timed(engine_slice, engine, as_of)[0] for _ in range(SLICE_REPS)]
            warm_first, warm_frame = timed(engine.query, list(WARM_METRICS), list(WARM_GROUP_BY))
            warm_runs = [
                timed(engine.query, list(WARM_METRICS), list(WARM_GROUP_BY))[0] for _ in range(WARM_REPS)
            ]
        finally:
            engine.close()  # releases the DuckDB file for the `mf` processes below
    checks["engine_slice_values"] = check_equal(exported_slice, engine_values, "MetricEngine slice")
    queries = len(SLICE_METRICS) * len(SLICE_GRAINS) * len(SLICE_DIMENSIONS)
    result["engine_slice"] = {
        "startup_s": startup,
        "cold_s": first_slice,
        "warm_median_s": median(slice_runs),
        "warm_s": slice_runs,
        "queries": queries,
        "memory": memory.as_dict(),
    }
    result["warm_query"] = {
        "first_s": warm_first,
        "median_s": median(warm_runs),
        "p95_s": p95(warm_runs),
        "min_s": min(warm_runs),
        "reps": len(warm_runs),
        "rows": len(warm_frame),
    }
    say(
        f"{tag} MetricEngine: start-up {startup:.1f} s; slice {median(slice_runs) * 1000:.0f} ms warm"
        f" ({queries} queries); warm query median {median(warm_runs) * 1000:.0f} ms,"
        f" p95 {p95(warm_runs) * 1000:.0f} ms"
    )

    # 3b. the same query through the `mf query` command line ----------------------------------
    mf = Path(sys.executable).with_name("mf")
    command = [
        str(mf if mf.exists() else shutil.which("mf") or "mf"),
        "query",
        "--metrics",
        ",".join(WARM_METRICS),
        "--group-by",
        ",".join(WARM_GROUP_BY),
    ]
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), **settings.dbt_environment()}
    cli_runs = []
    for attempt in range(1, CLI_REPS + 1):
        say(f"{tag} mf query (command line) {attempt}/{CLI_REPS} ...")
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        cli_runs.append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise RuntimeError(
                f"mf query failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
            )
        cli_rows = len(re.findall(r"^\d{4}-\d{2}-\d{2}T", completed.stdout, flags=re.MULTILINE))
        if cli_rows != len(warm_frame):
            raise AssertionError(f"mf query printed {cli_rows} rows, MetricEngine returned {len(warm_frame)}")
    result["cli_query"] = {"median_s": median(cli_runs), "runs_s": cli_runs, "rows": cli_rows}
    say(f"{tag} mf query: median {median(cli_runs):.1f} s of {CLI_REPS}")

    # 3c. where the command line's time goes: the same query from a fresh Python process ------
    fresh = (
        "from datetime import date; from pathlib import Path\n"
        "from finkpi.metrics.engine import MetricEngine\n"
        "from finkpi.settings import load_settings\n"
        f"settings = load_settings(project_dir=Path({str(project)!r}), data_dir=Path({str(data_dir)!r}),"
        f" raw_format={raw_format!r}, warehouse_dir=Path({str(settings.warehouse_dir)!r}),"
        f" as_of_date=date.fromisoformat({as_of.isoformat()!r}))\n"
        "with MetricEngine(settings) as engine:\n"
        f"    print(len(engine.query({list(WARM_METRICS)!r}, {list(WARM_GROUP_BY)!r})))\n"
    )
    fresh_runs = []
    for attempt in range(1, CLI_REPS + 1):
        say(f"{tag} the same query in a fresh Python process with MetricEngine {attempt}/{CLI_REPS} ...")
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-c", fresh], cwd=REPO, env=env, capture_output=True, text=True
        )
        fresh_runs.append(time.perf_counter() - started)
        if completed.returncode != 0 or completed.stdout.split()[-1:] != [str(len(warm_frame))]:
            raise RuntimeError(f"fresh-process query failed:\n{completed.stdout}\n{completed.stderr}")
    result["fresh_process_query"] = {"median_s": median(fresh_runs), "runs_s": fresh_runs}
    say(f"{tag} fresh process with MetricEngine: median {median(fresh_runs):.1f} s of {CLI_REPS}")

    result["checks"] = checks
    result["process_peak_mib"] = process_peak_mib()
    result["seconds"] = time.perf_counter() - started_all
    return result


def _resolve(settings):
    from finkpi.settings import resolve_as_of_date

    return resolve_as_of_date(settings)


# --------------------------------------------------------------------------------------------------
# machine, report, chart


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = int(line.split()[1]) / 2**20
    except OSError:
        pass
    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "metricflow", "dbt-metricflow", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": memory_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
    }


def fmt_s(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def fmt_ratio(numerator: float, denominator: float) -> str:
    ratio = numerator / denominator
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def fmt_mib(value: float) -> str:
    return f"{value:,.0f} MiB"


def scale_table(r: dict) -> list[str]:
    b, e, bm, br = r["build"], r["export"], r["baseline_marts"], r["baseline_raw"]
    es, wq, cq, fq = r["engine_slice"], r["warm_query"], r["cli_query"], r["fresh_process_query"]
    nodes = ", ".join(f"{n} {kind}s" for kind, n in sorted(b["nodes"].items()))
    source = "bundled sample, `data/sample`" if r["scale"] == 1 else f"`write_scaled(scale={r['scale']})`"
    generated = f"; generated in {fmt_s(r['generate_s'])}" if r.get("generate_s") else ""
    lines = [
        f"### Scale {r['scale']}: {r['raw']['rows']:,} raw rows ({r['raw_format']}, {source}{generated})",
        "",
        f"{r['raw']['files']} files, {r['raw']['mib']:.1f} MiB on disk; as_of_date {r['as_of_date']};"
        f" marts {b['mart_rows']:,} rows (fct_invoice_lines {b['fct_invoice_lines']:,},"
        f" fct_sales_order_lines {b['fct_sales_order_lines']:,});"
        f" warehouse file {b['warehouse_mib']:.0f} MiB.",
        "",
        "| stage | time | peak RSS (at start) | what |",
        "|---|---:|---:|---|",
        f"| dbt build | {fmt_s(b['seconds'])} | {fmt_mib(b['memory']['peak_mib'])}"
        f" ({fmt_mib(b['memory']['start_mib'])}) | `dbt_runner.build`: {nodes} |",
        f"| metric exports | {fmt_s(e['seconds'])} | {fmt_mib(e['memory']['peak_mib'])}"
        f" ({fmt_mib(e['memory']['start_mib'])}) | `export_metrics`: {e['metric_values_rows']:,} rows of"
        f" `metric_values` ({e['metrics']} metrics) from {e['queries']} MetricFlow queries"
        f" ({e['rollups']} fiscal roll-ups of balances) |",
        f"| baseline over marts | {fmt_s(bm['warm_median_s'])} (cold {fmt_s(bm['cold_s'])})"
        f" | {fmt_mib(bm['memory']['peak_mib'])}"
        f" ({fmt_mib(bm['memory']['start_mib'])}) | {bm['statements']} SQL statements (grouping sets),"
        f" median of {len(bm['warm_s'])} |",
        f"| baseline over raw files | {fmt_s(br['warm_median_s'])} (cold {fmt_s(br['cold_s'])})"
        f" | {fmt_mib(br['memory']['peak_mib'])}"
        f" ({fmt_mib(br['memory']['start_mib'])}) | {br['statements']} SQL statements reading the"
        f" {r['raw_format']} files, median of {len(br['warm_s'])} |",
        f"| same slice, MetricEngine | {fmt_s(es['warm_median_s'])} (cold {fmt_s(es['cold_s'])})"
        f" | {fmt_mib(es['memory']['peak_mib'])}"
        f" ({fmt_mib(es['memory']['start_mib'])}) | {es['queries']} queries in a warm engine, median of"
        f" {len(es['warm_s'])}; engine start-up {fmt_s(es['startup_s'])} |",
        f"| one query, warm MetricEngine | median {fmt_s(wq['median_s'])}, p95 {fmt_s(wq['p95_s'])} | |"
        f" {wq['reps']} repetitions (first query {fmt_s(wq['first_s'])}), {wq['rows']} rows |",
        f"| one query, `mf query` | median {fmt_s(cq['median_s'])} | | {len(cq['runs_s'])} runs: "
        + ", ".join(fmt_s(s) for s in cq["runs_s"])
        + " (a new process each: imports, manifest, connection, query) |",
        f"| one query, fresh `python` with MetricEngine | median {fmt_s(fq['median_s'])} | |"
        f" {len(fq['runs_s'])} runs: " + ", ".join(fmt_s(s) for s in fq["runs_s"]) + " (the same work"
        " without the command line: what a scheduler pays per new process) |",
        "",
        f"Checked (AssertionError otherwise): revenue by month ({r['checks']['revenue_by_month']['months']}"
        f" months, {r['checks']['revenue_by_month']['total']:,.2f} EUR in all) is the exported revenue"
        f" by month, to the cent, in both baselines; so is every value of the slice"
        f" ({r['checks']['baseline_marts_values']} values) in the marts baseline, the raw-file baseline and"
        f" the MetricEngine slice. Process peak RSS: {fmt_mib(r['process_peak_mib'])};"
        f" this scale ran in {fmt_s(r['seconds'])}"
        + (
            f"; other processes used {r['other_load']['share']:.0%} of the machine's CPU meanwhile"
            f" ({r['other_load']['other_cpu_s']:.0f} core-seconds)"
            + (
                " — **not a quiet machine: these times are inflated**."
                if r["other_load"]["share"] > 0.1
                else "."
            )
            if "other_load" in r
            else "."
        ),
        "",
    ]
    return lines


def ratio_table(results: list[dict]) -> list[str]:
    lines = [
        "| scale | finkpi/baseline, slice warm | incl. engine start-up vs cold baseline |"
        " finkpi/raw-file baseline, warm | `mf query`/warm engine query |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        es, bm, br = r["engine_slice"], r["baseline_marts"], r["baseline_raw"]
        lines.append(
            f"| {r['scale']} | {fmt_ratio(es['warm_median_s'], bm['warm_median_s'])}"
            f" | {fmt_ratio(es['startup_s'] + es['cold_s'], bm['cold_s'])}"
            f" | {fmt_ratio(es['warm_median_s'], br['warm_median_s'])}"
            f" | {fmt_ratio(r['cli_query']['median_s'], r['warm_query']['median_s'])} |"
        )
    return lines


def render(results: list[dict], info: dict, chart: Path | None, chart_note: str, wall_s: float, out: Path):
    m = info
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    scales = ",".join(str(r["scale"]) for r in results)
    lines = [
        SECTION_START,
        "## Metric layer: build, exports, a raw-DuckDB baseline, query latency",
        "",
        f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by"
        f" `python benchmarks/bench_metric_layer.py --scales {scales}` in {fmt_s(wall_s)} all told"
        " (generation of the scaled data included). Raw numbers: `benchmarks/metric_layer.json`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable),"
        f" {m['memory_gib']:.1f} GiB memory, {m['os']}; Python {m['python']}; {versions}.",
        "",
        "How: each scale runs in a process of its own, on a copy of the dbt project in a temporary folder"
        " (a fresh `target/`, so the dbt build includes dbt's import and a full parse; the repository's"
        " `target/` and `warehouse/` are not touched) and a temporary warehouse. Times are wall clock;"
        " peak RSS is the process's resident high-water mark during the stage (VmHWM, reset at the"
        " stage's start; it includes what the process already held, shown in brackets), since DuckDB"
        " allocates outside Python's allocator. Scale 1 reads CSV, larger scales Parquet, as"
        " `finkpi run` would. The machine should be quiet: under each table, the CPU that other"
        " processes took meanwhile (from /proc/stat).",
        "",
        "The comparable slice is revenue, cogs, order_intake and orders_booked by month and by fiscal"
        " quarter, company total and by region (16 series, as in `metric_values`). The baseline computes"
        " it with 2 hand-written DuckDB statements (one per fact, grouping sets), once over the built marts"
        " and once over the raw files (currency conversion, standard costs and the fiscal calendar written"
        " again); finkpi computes it with 16 MetricEngine queries, one metric each, the way the export"
        " issues them. Warm: an open connection or engine, median of 5 runs; cold: the first run,"
        " including opening the connection or starting the engine. The engine starts in the process that"
        " has just run the export, so dbt and MetricFlow are imported already; the two last rows of each"
        " table show what a new process pays.",
        "",
        "### Ratios",
        "",
        *ratio_table(results),
        "",
    ]
    for r in results:
        lines += scale_table(r)
    if chart is not None:
        lines += ["### Stage time against scale", "", f"![stage time against scale]({chart})", ""]
    else:
        lines += ["### Chart", "", chart_note, ""]
    lines.append(SECTION_END)
    section = "\n".join(lines) + "\n"

    if out.exists():
        text = out.read_text()
        if SECTION_START in text and SECTION_END in text:
            head, rest = text.split(SECTION_START, 1)
            tail = rest.split(SECTION_END, 1)[1].lstrip("\n")
            text = head + section + ("\n" + tail if tail else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = (
            "# Benchmarks\n\n"
            "What finkpi costs, measured on one machine, and against what. Each section is written by a"
            " script in `benchmarks/` (`make bench` runs them) and replaced when the script runs again.\n\n"
            + section
        )
    out.write_text(text)


def draw_chart(results: list[dict], path: Path) -> tuple[bool, str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False, (
            "No chart: matplotlib cannot be imported in this environment, and it is not a dependency of"
            " finkpi (none was added). With matplotlib installed, the script also writes"
            " `benchmarks/metric_layer.png` (stage time against scale)."
        )
    scales = [r["scale"] for r in results]
    series = {
        "dbt build": [r["build"]["seconds"] for r in results],
        "metric exports": [r["export"]["seconds"] for r in results],
        "slice, MetricEngine (warm)": [r["engine_slice"]["warm_median_s"] for r in results],
        "slice, baseline over marts (warm)": [r["baseline_marts"]["warm_median_s"] for r in results],
        "slice, baseline over raw files (warm)": [r["baseline_raw"]["warm_median_s"] for r in results],
        "one query, mf query": [r["cli_query"]["median_s"] for r in results],
        "one query, warm MetricEngine": [r["warm_query"]["median_s"] for r in results],
    }
    figure, axes = plt.subplots(figsize=(10, 5), dpi=120)
    for label, values in series.items():
        axes.plot(scales, values, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(scales, [str(s) for s in scales])
    axes.set_xlabel("scale (x the bundled sample)")
    axes.set_ylabel("seconds (log)")
    axes.set_title("finkpi metric layer: stage time against scale")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True, ""


# --------------------------------------------------------------------------------------------------
# command line


def child_main(args) -> None:
    result = run_scale(args.scale, Path(args.data_dir), args.raw_format, Path(args.workdir))
    Path(args.result).write_text(json.dumps(result, indent=2, default=str))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,10", help="comma-separated scales (1 = the bundled sample)")
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"), help="Markdown file to write into")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (data, warehouses)")
    # internal: one scale in a child process
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--raw-format", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args)
        return

    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    if not scales or min(scales) < 1:
        parser.error("--scales: positive integers, e.g. 1,10")
    out = Path(args.out).resolve()
    started = time.perf_counter()
    info = machine()
    say(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']:.1f} GiB; scales {scales}")
    root = Path(tempfile.mkdtemp(prefix="finkpi-bench-"))
    results = []
    try:
        for scale in scales:
            workdir = root / f"scale{scale}"
            workdir.mkdir()
            generate_s = None
            if scale == 1:
                data_dir, raw_format = REPO / "data" / "sample", "csv"
            else:
                from finkpi.generate import write_scaled

                data_dir, raw_format = workdir / "data", "parquet"
                say(f"[scale {scale}] generating {scale}x the sample as Parquet into {data_dir} ...")
                generate_s, _counts = timed(write_scaled, data_dir, scale)
                say(f"[scale {scale}] generated in {generate_s:.1f} s")
            result_file = workdir / "result.json"
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                f"--scale={scale}",
                f"--data-dir={data_dir}",
                f"--raw-format={raw_format}",
                f"--workdir={workdir}",
                f"--result={result_file}",
            ]
            with OtherLoad() as other:
                subprocess.run(command, check=True)
            result = json.loads(result_file.read_text())
            result["generate_s"] = generate_s
            result["other_load"] = other.as_dict()
            if other.share > 0.1:
                say(
                    f"[scale {scale}] WARNING: other processes used {other.share:.0%} of the machine's CPU"
                    " during this scale: its times are not those of a quiet machine"
                )
            results.append(result)
    finally:
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    wall_s = time.perf_counter() - started

    chart_path = REPO / "benchmarks" / "metric_layer.png"
    drawn, chart_note = draw_chart(results, chart_path)
    chart_link = Path(os.path.relpath(chart_path, out.parent)) if drawn else None
    say("chart: " + (str(chart_path) if drawn else "skipped (matplotlib cannot be imported)"))
    (REPO / "benchmarks" / "metric_layer.json").write_text(
        json.dumps({"machine": info, "wall_s": wall_s, "results": results}, indent=2) + "\n"
    )
    render(results, info, chart_link, chart_note, wall_s, out)
    say(f"wrote {out} and {REPO / 'benchmarks' / 'metric_layer.json'} ({wall_s / 60:.1f} min)")
    for line in ratio_table(results):
        print(line)


if __name__ == "__main__":
    main()

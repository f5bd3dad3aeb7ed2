"""Benchmark of the whole finkpi pipeline against a hand-written raw-DuckDB baseline, by scale, and
of an incremental day against a full run.

    python benchmarks/bench_pipeline.py                          # quick: scales 1 and 10 (~6 min)
    python benchmarks/bench_pipeline.py --scales 1,10,100,385    # full: up to 10 million order lines

Per scale, in a process of its own (so peak memory belongs to one scale):

1. `pipeline.run` as `finkpi run` does it: pre-flight and dbt build, metric exports, scorecards,
   validate (rules, Great Expectations in a child process), publish. Each stage's wall time, and
   its peak memory: the resident memory of the whole process tree (this process and the GX
   child), sampled every 100 ms, and this process's kernel high-water mark (VmHWM, reset at the
   stage's start), whichever is higher.
2. The baseline, in the same process: hand-written DuckDB SQL straight over the raw files into a
   fresh DuckDB file, the core of finkpi's transformations (sales order lines and invoice lines
   with their headers, exchange rates and standard costs, credit notes at their invoice's rate,
   GL lines with accounts and departments) and a handful of metrics (revenue, cogs, order intake,
   orders booked by month and fiscal quarter, company total and by region). Every value of it is
   checked to the cent against finkpi's export (AssertionError otherwise).
3. At the incremental scale (default: the largest): the day that leaves about 1% of the sales
   order lines to a last delivery is found (`finkpi/generate/daily.py`); yesterday's warehouse is
   the full build with the incremental facts' rows after that day taken out, and `pipeline.run`
   with `incremental=True` runs every stage again in it. Its marts and metric values are compared,
   row by row, with the full run over the same files (AssertionError otherwise).
   (`yesterday_build` in finkpi/generate/daily.py; tests/models/test_incremental.py makes the same
   on the sample, and its slow twin the long way: a real build of the history, then the delivery
   appended to the files.)

Larger scales are generated with `write_scaled` into `data/landing/scaleN` (kept for the next
run; pass --regenerate to write them again); scale 1 is the bundled CSV sample. The dbt project
is copied into a temporary folder, so the run writes neither the repository's target/ nor its
warehouse/. Results: the section between the markers in BENCHMARKS.md, raw numbers in
benchmarks/pipeline.json, and the chart benchmarks/pipeline.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
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
        "metric_queries": summary.metric_queries,
        "mart_rows": summary.mart_rows,
        "published_version": summary.published_version,
        "dbt_nodes": dbt_node_times(builds[0]) if builds else {},
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
        path = str(settings.source_path("erp", table)).replace("'", "''")
        if settings.raw_format == "csv":
            return f"read_csv('{path}', all_varchar = true, header = true)"
        return f"read_parquet('{path}')"

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
    scale, workdir = spec["scale"], Path(spec["workdir"])
    tag = f"[scale {scale}]"
    project = common.copy_project(workdir / "project")
    raw_format = "csv" if scale == 1 else "parquet"
    source = Path(spec["source"])
    result: dict = {"scale": scale, "raw_format": raw_format, "source": str(source)}
    started_all = time.perf_counter()
    cutoff = date.fromisoformat(spec["cutoff"]) if spec.get("cutoff") else None
    try:
        _measure_scale(spec, result, project, source, raw_format, cutoff, tag)
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
    Path(spec["result"]).write_text(json.dumps(result, indent=2, default=str))


def _measure_scale(spec, result, project, source, raw_format, cutoff, tag) -> None:
    from finkpi.generate.daily import rows_after, yesterday_build
    from finkpi.settings import load_settings

    workdir = Path(spec["workdir"])

    data_dir = source
    settings = load_settings(
        project_dir=project, data_dir=data_dir, raw_format=raw_format, warehouse_dir=workdir / "full"
    )
    settings = settings.with_(as_of_date=common._resolve(settings))
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

    if cutoff is not None:
        result["delivery"] = {"cutoff": cutoff.isoformat(), "rows": rows_after(data_dir, cutoff)}
        incremental = settings.with_(warehouse_dir=workdir / "incremental", incremental=True)
        yesterday_build(settings.build_database, incremental.build_database, cutoff)
        delivered = sum(result["delivery"]["rows"].values())
        say(f"{tag} incremental run (a delivery of {delivered:,} rows after {cutoff}) ...")
        with common.OtherLoad() as load:
            result["incremental"] = run_pipeline(incremental, tag + " incremental")
        result["incremental"]["other_load"] = load.as_dict()
        _save(spec, result)
        say(f"{tag} comparing the incremental build with the full one, row by row ...")
        result["checks"]["incremental_equals_full"] = compare_builds(
            incremental.build_database, settings.build_database
        )


def _children_peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------------
# data, report, chart


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


def render(results: list[dict], info: dict, argv: list[str], wall_s: float, out: Path, chart: str) -> None:
    m = info
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    command = "python benchmarks/bench_pipeline.py " + " ".join(argv)
    failed = [r for r in results if r.get("error")]
    results = [r for r in results if "full" in r and "baseline" in r]
    inc = next((r for r in reversed(results) if "incremental_equals_full" in r.get("checks", {})), None)
    largest = results[-1]
    lines = [
        SECTION_START,
        "## The pipeline against a raw-DuckDB baseline, and incremental runs",
        "",
        f"Measured by `{command.strip()}`"
        + (" (with earlier scales kept by `--merge`)" if "--merge" in argv else "")
        + ": "
        + "; ".join(f"scale {r['scale']} at {r.get('measured_at', '?')}" for r in results)
        + ". Raw numbers: `benchmarks/pipeline.json`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable),"
        f" {m['memory_gib']:.1f} GiB memory, {m['os']}; Python {m['python']}; {versions}.",
        "",
        "What is timed: `finkpi run` as a whole (`pipeline.run`: pre-flight and dbt build of 60 models"
        " and their tests, 36 metrics exported through MetricFlow, scorecards, the quality gate with"
        " Great Expectations, publish), stage by stage, in a process of its own per scale on a copy of"
        " the dbt project (a fresh `target/`: dbt's parse is in the build). Peak memory is the resident"
        " memory of the whole process tree during the stage (sampled every 100 ms, and the process's"
        " VmHWM), so the Great Expectations child of `validate` counts. The baseline is hand-written"
        " DuckDB SQL over the same raw files into a fresh DuckDB file, in the same process right after:"
        " the core of the sales and invoice marts (lines with headers, exchange rate on the document"
        " date, standard cost, credit notes at the invoice's rate), the GL lines with accounts and"
        " departments, and revenue, cogs, order intake and orders booked by month and fiscal quarter,"
        " company total and by region; each of its values equals finkpi's export to the cent (checked,"
        " AssertionError otherwise). It has no quality rules, tests, lineage columns, governance,"
        " scorecards or publishing, which is most of what the ratio pays for.",
        "",
        "### finkpi against the baseline",
        "",
        "| scale | order lines | raw rows | finkpi run | of which dbt build | baseline | finkpi/baseline |"
        " dbt build/baseline | peak memory, finkpi | peak memory, baseline |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        full, base = r["full"], r["baseline"]
        lines.append(
            f"| {r['scale']} | {r['order_lines']:,} | {r['raw']['rows']:,} | {common.fmt_s(full['wall_s'])}"
            f" | {common.fmt_s(full['stages_s']['dbt build'])} | {common.fmt_s(base['wall_s'])}"
            f" | {ratio(full['wall_s'], base['wall_s'])}"
            f" | {ratio(full['stages_s']['dbt build'], base['wall_s'])}"
            f" | {common.fmt_mib(max(full['peak_mib'].values()))} | {common.fmt_mib(base['peak_mib'])} |"
        )
    lines += ["", "### Stages", ""]
    stages = list(STAGE_MARKERS.values())
    lines += [
        "| scale | run | " + " | ".join(stages) + " | all |",
        "|---:|---|" + "---:|" * (len(stages) + 1),
    ]
    for r in results:
        for kind in ("full", "incremental"):
            if kind not in r:
                continue
            run = r[kind]
            cells = [
                f"{common.fmt_s(run['stages_s'][s])}<br>{common.fmt_mib(run['peak_mib'].get(s, 0))}"
                for s in stages
            ]
            lines.append(
                f"| {r['scale']} | {kind} | " + " | ".join(cells) + f" | {common.fmt_s(run['wall_s'])} |"
            )
    lines += [
        "",
        "Each cell: wall time, then peak memory of the process tree. The CPU other processes took while"
        " each scale ran (the machine is shared; 2 cores in all):",
        "",
    ]
    for r in results:
        share = r["full"]["other_load"]["share"]
        lines.append(f"- scale {r['scale']}: {share:.0%} of the machine during the full run")
    if inc is not None:
        full, incr = inc["full"], inc["incremental"]
        delivered = inc["delivery"]["rows"]
        lines += [
            "",
            "### An incremental day against a full run",
            "",
            f"At scale {inc['scale']} ({inc['order_lines']:,} sales order lines), the last delivery is"
            f" the days after {inc['delivery']['cutoff']}:"
            f" {delivered.get('erp.sales_order_lines', 0):,} sales order lines"
            f" ({delivered.get('erp.sales_order_lines', 0) / inc['order_lines']:.1%}),"
            f" {delivered.get('erp.invoice_lines', 0):,} invoice lines,"
            f" {delivered.get('erp.gl_journal_entries', 0):,} GL lines and"
            f" {sum(delivered.values()):,} rows in all came after it. Yesterday's warehouse is the full"
            " build with the three incremental facts' rows after that day taken out (every other table"
            " is rebuilt by any run; the slow test in `tests/models/test_incremental.py` builds a real"
            " history on the sample and appends the delivery to the files). `finkpi run --incremental`"
            " then ran every"
            " stage in it: the three largest facts recompute a window of the last days, everything else"
            " is rebuilt. Every mart row and every metric value equals the full run over the same files"
            f" ({sum(inc['checks']['incremental_equals_full'].values()):,}"
            " rows compared, AssertionError otherwise).",
            "",
            "| stage | full run | incremental run | incremental/full |",
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
        lines += [
            "",
            "Where the dbt build's time goes (seconds of node execution summed over dbt's 2 threads):",
            "",
            "| | " + " | ".join(sorted(full["dbt_nodes"]["seconds_by_type"])) + " | slowest nodes |",
            "|---|" + "---:|" * len(full["dbt_nodes"]["seconds_by_type"]) + "---|",
        ]
        for kind, run in (("full", full), ("incremental", incr)):
            nodes = run["dbt_nodes"]
            lines.append(
                f"| {kind} | "
                + " | ".join(
                    f"{nodes['seconds_by_type'].get(t, 0):.0f} s"
                    for t in sorted(full["dbt_nodes"]["seconds_by_type"])
                )
                + " | "
                + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in nodes["slowest"][:6])
                + " |"
            )
    big = largest
    lines += [f"- **scale {r['scale']} failed**: {r['error']}" for r in failed]
    lines += [
        "",
        "### Against the aims",
        "",
        f"At the largest scale measured ({big['order_lines']:,} order lines):",
        "",
        "- full pipeline at most 2x the raw-DuckDB baseline:"
        f" **{ratio(big['full']['wall_s'], big['baseline']['wall_s'])}**"
        f" (dbt build alone {ratio(big['full']['stages_s']['dbt build'], big['baseline']['wall_s'])})"
        + (" — met" if big["full"]["wall_s"] <= 2 * big["baseline"]["wall_s"] else " — not met"),
    ]
    if inc is not None:
        share = inc["incremental"]["wall_s"] / inc["full"]["wall_s"]
        build_share = inc["incremental"]["stages_s"]["dbt build"] / inc["full"]["stages_s"]["dbt build"]
        lines.append(
            f"- an incremental day at most 10% of a full run (at scale {inc['scale']}): **{share:.0%}**"
            f" (dbt build alone {build_share:.0%})" + (" — met" if share <= 0.10 else " — not met")
        )
    peak = max(big["full"]["peak_mib"].values())
    lines += [
        f"- peak memory under 8 GiB: **{peak / 1024:.1f} GiB**"
        + (" — met" if peak < 8 * 1024 else " — not met"),
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


def draw_chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [r for r in results if "full" in r and "baseline" in r]
    rows = [r["order_lines"] for r in results]
    figure, axes = plt.subplots(figsize=(9, 5), dpi=110)
    axes.plot(rows, [r["full"]["wall_s"] for r in results], marker="o", label="finkpi run (full)")
    axes.plot(
        rows, [r["full"]["stages_s"]["dbt build"] for r in results], marker="o", label="  of which dbt build"
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


def report(results: list[dict], argv: list[str], started: float, out: Path) -> None:
    """Raw numbers, chart and Markdown section, rewritten after every scale (a long run that is
    stopped keeps what it measured)."""
    info = common.machine()
    (HERE / "pipeline.json").write_text(
        json.dumps({"machine": info, "argv": argv, "results": results}, indent=2, default=str)
    )
    draw_chart(results, HERE / "pipeline.png")
    render(results, info, argv, time.perf_counter() - started, out, "benchmarks/pipeline.png")


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
        )
        draw_chart(saved["results"], HERE / "pipeline.png")
        return
    if args.child:
        spec = json.loads(Path(args.child).read_text())
        run_scale(spec)
        return

    from finkpi.generate.daily import cutoff_for_share

    scales = sorted(int(s) for s in args.scales.split(","))
    incremental_scale = args.incremental_scale or scales[-1]
    started = time.perf_counter()
    raw_numbers = HERE / "pipeline.json"
    # scales measured before (--merge) stay in the report unless measured again
    kept = json.loads(raw_numbers.read_text())["results"] if args.merge and raw_numbers.exists() else []
    results = {r["scale"]: r for r in kept}
    with tempfile.TemporaryDirectory(prefix="finkpi-bench-") as tmp:
        for scale in scales:
            source, generation = source_for(scale, Path(args.landing), args.regenerate)
            workdir = Path(tmp) / f"scale{scale}"
            workdir.mkdir()
            spec = {
                "scale": scale,
                "workdir": str(workdir),
                "source": str(source),
                "result": str(workdir / "r.json"),
            }
            if scale == incremental_scale:
                spec["cutoff"] = cutoff_for_share(source, DELIVERY_SHARE).isoformat()
            (workdir / "spec.json").write_text(json.dumps(spec))
            say(f"scale {scale}: a child process ...")
            child = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(workdir / "spec.json")],
                cwd=REPO,
            )
            if not (workdir / "r.json").exists():
                raise RuntimeError(
                    f"scale {scale}: the child process failed ({child.returncode}) before measuring"
                )
            result = json.loads((workdir / "r.json").read_text())
            result["generation"] = generation
            result["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            results[scale] = result
            shutil.rmtree(workdir, ignore_errors=True)
            report(sorted(results.values(), key=lambda r: r["scale"]), argv, started, Path(args.out))
    wall = time.perf_counter() - started
    say(f"done in {wall:.0f} s: {args.out}, benchmarks/pipeline.json, benchmarks/pipeline.png")


if __name__ == "__main__":
    main()

"""HTTP API benchmark: concurrent clients against `finkpi serve` on 127.0.0.1, beside the same
queries run directly on DuckDB in this process.

    python benchmarks/bench_api.py [--scale 10] [--warehouse-dir DIR] [--requests 480]

1. Generates scale N (`finkpi generate --scale N`, Parquet in data/landing/scaleN) unless it exists,
   and runs the whole pipeline on it into a temporary warehouse (or reuses --warehouse-dir).
2. Starts `finkpi serve` in a process of its own (uvicorn, one worker) with a temporary key file.
3. For 1, 4 and 16 concurrent clients (threads, one keep-alive httpx client each), sends a bounded
   number of requests in all (a mix of four queries, round robin), and measures each request's
   latency; throughput = requests / wall time.
4. Baseline: the same SQL (built by the API's own query builder, so the work is identical) on a
   read-only DuckDB connection to the same published file, in this process: the query alone (to
   Arrow), and the query plus JSON encoding; serially, and with the same numbers of threads.
5. Checks that the API's rows equal the direct query's rows for every query, then writes
   benchmarks/api.json and the section "## HTTP API" of BENCHMARKS.md (between its markers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

import duckdb  # noqa: E402
import httpx  # noqa: E402
import yaml  # noqa: E402

from finkpi import contract  # noqa: E402
from finkpi.api import query as q  # noqa: E402
from finkpi.api.access import Principal, hash_key, new_key  # noqa: E402
from finkpi.api.formats import records  # noqa: E402
from finkpi.api.published import PublishedReader  # noqa: E402

SECTION_START = "<!-- bench_api: start -->"
SECTION_END = "<!-- bench_api: end -->"
CONCURRENCY = (1, 4, 16)

# name -> (what, API path, parameters, key, resource, filters for the direct query)
QUERIES = {
    "values_region": (
        "revenue by month and region (admin)",
        "/api/v1/metrics/values",
        {"metrics": "revenue", "grain": "month", "dimension": "region"},
        "admin",
        "metric_values",
        q.Filters(metrics=["revenue"], grain="month", dimension="region"),
    ),
    "values_scoped": (
        "Sales viewer: every row it may read at quarter grain (scope condition)",
        "/api/v1/metrics/values",
        {"grain": "quarter"},
        "sales",
        "metric_values",
        q.Filters(grain="quarter"),
    ),
    "scorecard_lines": (
        "a department's scorecard lines, all quarters (viewer)",
        "/api/v1/scorecards/lines",
        {"org_unit": "Sales", "grain": "quarter"},
        "sales",
        "scorecard_lines",
        q.Filters(org_units=["Sales"], grain="quarter"),
    ),
    "values_all_months": (
        "every metric, month grain, company total (admin)",
        "/api/v1/metrics/values",
        {"grain": "month", "dimension": "total"},
        "admin",
        "metric_values",
        q.Filters(grain="month", dimension="total"),
    ),
}
PRINCIPALS = {
    "admin": Principal("admin", "admin"),
    "sales": Principal("sales", "viewer", frozenset({"Sales"})),
}


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def summary(latencies: list[float], wall: float) -> dict:
    return {
        "requests": len(latencies),
        "wall_s": wall,
        "throughput_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def busy_cpu_seconds() -> float:
    """CPU time the whole machine spent busy since boot (/proc/stat), seconds."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(server_pid: int | None) -> float:
    seconds = sum(os.times()[:4])
    if server_pid:
        stat = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


# -- the data ---------------------------------------------------------------------------------
def prepare_warehouse(scale: int, warehouse_dir: Path | None, workdir: Path) -> tuple[Path, dict]:
    from finkpi import pipeline
    from finkpi.settings import load_settings

    if warehouse_dir is not None:
        say(f"reusing the published version in {warehouse_dir}")
        return warehouse_dir, {"pipeline_s": None, "data_dir": None}
    data_dir = ROOT / "data" / "landing" / f"scale{scale}"
    if not (data_dir / "erp").exists():
        say(f"generating scale {scale} into {data_dir}")
        subprocess.run(
            [sys.executable, "-m", "finkpi.cli", "generate", "--scale", str(scale)], cwd=ROOT, check=True
        )
    warehouse = workdir / "warehouse"
    warehouse.mkdir()
    settings = load_settings(data_dir=data_dir, raw_format="parquet", warehouse_dir=warehouse)
    say(f"running the pipeline on scale {scale} into {warehouse}")
    started = time.perf_counter()
    run = pipeline.run(settings, progress=lambda m: None)
    return warehouse, {
        "pipeline_s": time.perf_counter() - started,
        "data_dir": str(data_dir.relative_to(ROOT)),
        "metric_rows": run.metric_rows,
    }


def key_file(workdir: Path) -> tuple[Path, dict[str, str]]:
    keys = {"admin": new_key(), "sales": new_key()}
    entries = [
        {"name": "bench-admin", "sha256": hash_key(keys["admin"]), "role": "admin"},
        {
            "name": "bench-sales",
            "sha256": hash_key(keys["sales"]),
            "role": "viewer",
            "departments": ["Sales"],
        },
    ]
    path = workdir / "api_keys.yml"
    path.write_text(yaml.safe_dump({"keys": entries}))
    return path, keys


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(warehouse: Path, keys_path: Path, admin_key: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "FINKPI_API_KEYS": str(keys_path)}
    command = [
        sys.executable,
        "-m",
        "finkpi.cli",
        "serve",
        "--warehouse-dir",
        str(warehouse),
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/version", headers={"X-API-Key": admin_key}).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("finkpi serve did not answer within 60 s")


# -- the measurements -------------------------------------------------------------------------
def run_clients(clients: int, total: int, work) -> tuple[list[float], float]:
    """`clients` threads share `total` calls of work(i), round robin over the query mix."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        state: dict = {}
        try:
            barrier.wait()
            for call in range(index, total, clients):
                started = time.perf_counter()
                work(call, state)
                latencies[index].append(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)
        finally:
            if "http" in state:
                state["http"].close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return [value for per_client in latencies for value in per_client], wall


def api_work(url: str, keys: dict[str, str], names: list[str]):
    def work(call: int, state: dict) -> None:
        if "http" not in state:
            state["http"] = httpx.Client(base_url=url, timeout=60)
        _what, path, params, key, _resource, _filters = QUERIES[names[call % len(names)]]
        response = state["http"].get(path, params=params, headers={"X-API-Key": keys[key]})
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params}: {response.status_code} {response.text[:200]}")
        response.json()  # the client parses what it received, as a BI tool would

    return work


def direct_work(connection, queries: dict, names: list[str], encode: bool):
    def work(call: int, state: dict) -> None:
        query = queries[names[call % len(names)]]
        with connection.cursor() as cursor:
            table = cursor.sql(query.sql, params=query.parameters).to_arrow_table()
        if encode:
            json.dumps({"data": records(table)}, default=str)

    return work


def check_same_rows(url: str, keys: dict[str, str], connection, queries: dict) -> dict[str, int]:
    rows = {}
    for name, (_what, path, params, key, _resource, _filters) in QUERIES.items():
        body = httpx.get(f"{url}{path}", params=params, headers={"X-API-Key": keys[key]}, timeout=60).json()
        with connection.cursor() as cursor:
            direct = records(cursor.sql(queries[name].sql, params=queries[name].parameters).to_arrow_table())
        assert body["data"] == json.loads(json.dumps(direct, default=str)), (
            f"{name}: API rows differ from DuckDB"
        )
        rows[name] = len(direct)
    return rows


def measure(url: str, keys: dict[str, str], warehouse: Path, total: int, server_pid: int) -> dict:
    reader = PublishedReader(warehouse)
    with reader.version() as version:
        queries = {
            name: q.build_query(version, resource, PRINCIPALS[key], filters)
            for name, (_what, _path, _params, key, resource, filters) in QUERIES.items()
        }
        run_id = version.run_id
    reader.close()
    published = contract.database_file(contract.version_dir(warehouse, run_id))
    connection = duckdb.connect(str(published), read_only=True)
    rows = check_same_rows(url, keys, connection, queries)
    say(f"API rows = DuckDB rows for every query: {rows}")
    measured_at = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    results: dict = {"run_id": run_id, "measured_at": measured_at, "rows": rows, "mix": {}, "per_query": {}}
    names = list(QUERIES)
    run_clients(2, 40, api_work(url, keys, names))  # warm-up: connections, caches
    for clients in CONCURRENCY:
        entry = {}
        for label, work in (
            ("api", api_work(url, keys, names)),
            ("duckdb", direct_work(connection, queries, names, encode=False)),
            ("duckdb_json", direct_work(connection, queries, names, encode=True)),
        ):
            busy, own = busy_cpu_seconds(), own_cpu_seconds(server_pid)
            latencies, wall = run_clients(clients, total, work)
            other = max(0.0, (busy_cpu_seconds() - busy) - (own_cpu_seconds(server_pid) - own))
            entry[label] = {**summary(latencies, wall), "other_cpu_s": other}
        results["mix"][clients] = entry
        say(
            f"{clients:>2} client(s): API {entry['api']['throughput_per_s']:.0f}/s p50"
            f" {entry['api']['p50_ms']:.1f} ms p99 {entry['api']['p99_ms']:.1f} ms;"
            f" DuckDB {entry['duckdb']['throughput_per_s']:.0f}/s p50 {entry['duckdb']['p50_ms']:.1f} ms"
        )
    for name in names:  # each query alone, one client: where the time goes
        per = {}
        for label, work in (
            ("api", api_work(url, keys, [name])),
            ("duckdb", direct_work(connection, queries, [name], encode=False)),
            ("duckdb_json", direct_work(connection, queries, [name], encode=True)),
        ):
            latencies, wall = run_clients(1, max(30, total // 8), work)
            per[label] = summary(latencies, wall)
        results["per_query"][name] = per
    connection.close()
    return results


# -- the report -------------------------------------------------------------------------------
def machine() -> dict:
    import fastapi
    import uvicorn

    memory = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": memory / 1024 / 1024,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "fastapi": fastapi.__version__,
        "uvicorn": uvicorn.__version__,
        "httpx": httpx.__version__,
    }


def render(results: dict, info: dict, prep: dict, scale: int, total: int, wall_s: float) -> str:
    mix = results["mix"]
    lines = [
        SECTION_START,
        "## HTTP API",
        "",
        f"Measured {results['measured_at']} UTC by `python benchmarks/bench_api.py --scale {scale}`"
        f" in {wall_s:.0f} s all told. Raw numbers: `benchmarks/api.json`.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']:.1f} GiB memory; Python"
        f" {info['python']}, duckdb {info['duckdb']}, fastapi {info['fastapi']}, uvicorn {info['uvicorn']},"
        f" httpx {info['httpx']}.",
        "",
        f"How: the pipeline ran on scale {scale} ({prep.get('data_dir') or 'an existing warehouse'}"
        + (
            f", {prep['pipeline_s']:.0f} s, {prep['metric_rows']:,} metric values"
            if prep.get("pipeline_s")
            else ""
        )
        + f") and published version `{results['run_id']}`. `finkpi serve` ran in its own process (uvicorn,"
        " one worker) on 127.0.0.1; the clients are threads of this process, each with one keep-alive"
        f" httpx client, sending {total} requests in all per row (a bounded loop, round robin over the"
        " four queries below) and parsing each JSON answer. The baseline runs the same SQL (built by the"
        " API's query builder) on a read-only DuckDB connection to the same published file in this"
        " process, with the same number of threads: the query alone (rows to Arrow), and the query plus"
        " the API's JSON encoding. The API's rows were checked equal to the direct query's for every"
        " query. The machine is shared: 'other load' is the CPU other processes used during the row"
        " (from /proc/stat), in cores on average (of the machine's"
        f" {info['cores']}); with other load the latencies and ratios are upper bounds.",
        "",
        "| query | rows |",
        "|---|---:|",
    ]
    for name, (what, path, params, _key, _resource, _filters) in QUERIES.items():
        query = "&".join(f"{k}={v}" for k, v in params.items())
        lines.append(f"| {what}: `{path}?{query}` | {results['rows'][name]:,} |")
    lines += [
        "",
        "### Throughput and latency, the four queries mixed",
        "",
        "| clients | API req/s | API p50 | API p99 | DuckDB q/s | DuckDB p50 | DuckDB p99 | DuckDB+JSON p50"
        " | API/DuckDB p50 | DuckDB/API throughput | other load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clients, entry in mix.items():
        api, direct, encoded = entry["api"], entry["duckdb"], entry["duckdb_json"]
        rows = (api, direct, encoded)
        other = sum(r["other_cpu_s"] for r in rows) / sum(r["wall_s"] for r in rows)
        lines.append(
            f"| {clients} | {api['throughput_per_s']:.0f} | {api['p50_ms']:.1f} ms | {api['p99_ms']:.1f} ms"
            f" | {direct['throughput_per_s']:.0f} | {direct['p50_ms']:.1f} ms | {direct['p99_ms']:.1f} ms"
            f" | {encoded['p50_ms']:.1f} ms | {api['p50_ms'] / direct['p50_ms']:.1f}x"
            f" | {direct['throughput_per_s'] / api['throughput_per_s']:.1f}x | {other:.1f} cores |"
        )
    lines += [
        "",
        "### Each query alone, one client",
        "",
        "| query | rows | API p50 | API p99 | DuckDB p50 | DuckDB+JSON p50 | API/DuckDB p50 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, per in results["per_query"].items():
        api = per["api"]
        lines.append(
            f"| {name} | {results['rows'][name]:,} | {api['p50_ms']:.1f} ms | {api['p99_ms']:.1f} ms"
            f" | {per['duckdb']['p50_ms']:.1f} ms | {per['duckdb_json']['p50_ms']:.1f} ms"
            f" | {per['api']['p50_ms'] / per['duckdb']['p50_ms']:.1f}x |"
        )
    lines += ["", SECTION_END, ""]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION_START in current and SECTION_END in current:
        before = current[: current.index(SECTION_START)]
        after = current[current.index(SECTION_END) + len(SECTION_END) :].lstrip("\n")
        path.write_text(before + text + after)
    else:
        path.write_text(current.rstrip("\n") + "\n\n" + text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--warehouse-dir", type=Path, help="reuse this warehouse's published version")
    parser.add_argument("--requests", type=int, default=480, help="requests per row of the table")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the section from benchmarks/api.json"
    )
    args = parser.parse_args(argv)
    if args.render_only:
        saved = json.loads((ROOT / "benchmarks" / "api.json").read_text())
        saved["mix"] = {int(k): v for k, v in saved["mix"].items()}
        text = render(
            saved, saved["machine"], saved["prepare"], saved["scale"], saved["requests"], saved["wall_s"]
        )
        write_section(text, ROOT / "BENCHMARKS.md")
        return
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="finkpi-bench-api-"))
    server = None
    try:
        warehouse, prep = prepare_warehouse(args.scale, args.warehouse_dir, workdir)
        keys_path, keys = key_file(workdir)
        server, url = start_server(warehouse, keys_path, keys["admin"])
        say(f"finkpi serve at {url} (pid {server.pid})")
        results = measure(url, keys, warehouse, args.requests, server.pid)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    wall = time.perf_counter() - started
    info = machine()
    (ROOT / "benchmarks" / "api.json").write_text(
        json.dumps({"machine": info, "prepare": prep, "scale": args.scale, **results}, indent=2, default=str)
        + "\n"
    )
    text = render(results, info, prep, args.scale, args.requests, wall)
    print(text)
    if not args.no_write:
        write_section(text, ROOT / "BENCHMARKS.md")
        say("wrote the section '## HTTP API' of BENCHMARKS.md")


if __name__ == "__main__":
    main()

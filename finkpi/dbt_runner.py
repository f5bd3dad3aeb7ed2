"""dbt, in-process, in one place.

Every dbt call goes through `invoke`, which points dbt at this project with the paths and vars of
the given settings. Running dbt in-process (dbtRunner) saves its 8-12 s start-up on repeated calls.

When a data test fails, dbt prints only a count. `build` reads the failing rows themselves back from
the warehouse and puts them in the error, so a duplicated key is reported with the rule, the model,
the key and the file and line it came from.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from finkpi.errors import FinkpiError
from finkpi.quality.rules import dbt_var
from finkpi.settings import Settings

MAX_ROWS_SHOWN = 20


class DbtBuildError(FinkpiError):
    """dbt failed; the message names each failed model or rule with its offending rows."""

    def __init__(self, message: str, failures: list[Failure], result=None):
        super().__init__(message)
        self.failures = failures
        self.result = result  # dbt's dbtRunnerResult: per-node run results (Dagster reports them)


@dataclass
class Failure:
    kind: str  # "test" or "model" (or seed, ...)
    node_name: str  # the test or model name
    rule: str | None  # the generic test's name (unique_key, not_null, ...)
    model: str | None  # the model or source the rule is attached to
    arguments: dict = field(default_factory=dict)
    message: str = ""
    defined_in: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    row_count: int | None = None

    def describe(self) -> str:
        if self.kind != "test":
            return f"ERROR in {self.kind} {self.node_name} ({self.defined_in}):\n  {self.message.strip()}"
        args = ", ".join(f"{key}={value}" for key, value in self.arguments.items() if key != "model")
        lines = [
            f"FAILED rule {self.rule} on {self.model}" + (f" ({args})" if args else ""),
            f"  test {self.node_name}, defined in {self.defined_in}",
        ]
        if self.rows:
            shown = len(self.rows)
            total = self.row_count if self.row_count is not None else shown
            lines.append(f"  {total} offending row(s)" + (f", first {shown}:" if total > shown else ":"))
            lines.extend("    " + line for line in _format_table(self.columns, self.rows))
        elif self.message:
            lines.append(f"  {self.message.strip()}")
        return "\n".join(lines)


def invoke(settings: Settings, args: list[str]):
    """Run one dbt command in this process against the project of `settings`."""
    from dbt.cli.main import dbtRunner

    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    variables, environment = settings.dbt_call()
    full_args = [
        *args,
        "--project-dir",
        str(settings.project_dir),
        "--profiles-dir",
        str(settings.project_dir),
        "--target",
        settings.dbt_target,
        "--vars",
        json.dumps(dbt_variables(variables)),
    ]
    try:
        with _environment(environment):
            return dbtRunner().invoke(full_args)
    finally:
        release_duckdb()


def dbt_variables(variables: dict) -> dict:
    """Every dbt variable of a call: `Settings.dbt_call`'s and the quality rules."""
    return {"quality_rules": dbt_var(), **variables}


@contextlib.contextmanager
def dbt_environment(settings: Settings) -> Iterator[None]:
    """The environment variables profiles.yml and the sources read, set for one dbt (or
    MetricFlow) call and restored afterwards: left behind, they would leak one call's warehouse
    and data folder into the next `load_settings()` of this process and into its subprocesses."""
    with _environment(settings.dbt_environment()):
        yield


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """`values` set in os.environ for the block, the previous values restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def release_duckdb() -> None:
    """Close the DuckDB connection dbt-duckdb keeps open in this process after a command.

    Otherwise the database file stays locked with dbt's configuration, and this process can open
    it again only with that exact configuration (not read-only, say). dbt-duckdb has no public
    call for this; its connection manager keeps the environment on a class attribute.
    """
    if "dbt.adapters.duckdb.connections" not in sys.modules:
        # dbt-duckdb never ran in this process: nothing held, and importing dbt here would cost
        # seconds (a cached `finkpi query` runs without dbt)
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager  # loaded already (above)

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
        DuckDBConnectionManager.close_all_connections()


def build(
    settings: Settings,
    select: list[str] | None = None,
    quiet: bool = False,
    indirect_selection: str | None = None,
    selection_args: list[str] | None = None,
    resource_types: list[str] | None = None,
    full_refresh: bool | None = None,
):
    """`dbt build` (seeds, models, tests in dependency order); raises DbtBuildError on failure.

    `indirect_selection="buildable"` runs only the tests whose every parent is selected (a
    partial build, e.g. staging and validated models only). `selection_args` are ready-made
    selection arguments (`--select ... --exclude ...`, as dagster-dbt computes for a subset).
    `resource_types` limits the build (the Spark target builds seeds and models only: its data
    tests are DuckDB SQL). The incremental facts are rebuilt in full (`--full-refresh`) unless
    `settings.incremental` (or `full_refresh=False`)."""
    args = ["build"]
    if full_refresh is None:
        full_refresh = not settings.incremental
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
    if selection_args:
        args += selection_args
    for resource_type in resource_types or []:
        args += ["--resource-type", resource_type]
    if indirect_selection:
        args += ["--indirect-selection", indirect_selection]
    if quiet:
        args = ["--quiet", *args]
    result = invoke(settings, args)
    if result.success:
        return result
    failures = _explain(settings, result)
    if not failures:
        raise DbtBuildError(f"dbt build failed: {result.exception or 'see the dbt log above'}", [], result)
    header = f"dbt build failed: {len(failures)} problem(s)"
    raise DbtBuildError("\n\n".join([header, *(f.describe() for f in failures)]), failures, result)


def _explain(settings: Settings, result) -> list[Failure]:
    failures: list[Failure] = []
    run_results = getattr(result.result, "results", None) or []
    for run_result in run_results:
        status = str(getattr(run_result.status, "value", run_result.status))
        if status not in ("fail", "error"):
            continue
        node = run_result.node
        kind = node.resource_type.value if hasattr(node.resource_type, "value") else str(node.resource_type)
        failure = Failure(
            kind=kind,
            node_name=node.name,
            rule=None,
            model=None,
            message=run_result.message or "",
            defined_in=node.original_file_path,
        )
        if kind == "test":
            metadata = getattr(node, "test_metadata", None)
            failure.rule = metadata.name if metadata else "singular test"
            failure.arguments = dict(metadata.kwargs) if metadata else {}
            attached = getattr(node, "attached_node", None) or ""
            failure.model = attached.split(".")[-1] if attached else _first_dependency(node)
            if status == "fail" and node.compiled_code:
                _fetch_failing_rows(settings, node.compiled_code, failure)
        failures.append(failure)
    return failures


def _first_dependency(node) -> str | None:
    nodes = list(getattr(node.depends_on, "nodes", []) or [])
    return nodes[0].split(".", 2)[-1] if nodes else None


def _fetch_failing_rows(settings: Settings, compiled_sql: str, failure: Failure) -> None:
    """Run the failed test's query again and keep its rows (the offenders)."""
    import duckdb

    try:
        with duckdb.connect(str(settings.build_database), read_only=True) as con:
            cursor = con.execute(f"select * from ({compiled_sql}) as failing limit {MAX_ROWS_SHOWN}")
            failure.columns = [column[0] for column in cursor.description]
            failure.rows = cursor.fetchall()
            failure.row_count = con.execute(f"select count(*) from ({compiled_sql}) as failing").fetchone()[0]
    except duckdb.Error as exc:  # the rows are a courtesy; the failure itself stands
        failure.message += f" (could not read the failing rows back: {exc})"


def _format_table(columns: list[str], rows: list[tuple]) -> list[str]:
    cells = [[str(c) for c in columns]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return ["  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells]

"""The Great Expectations suites (expectations/suites/*.json) run against the build warehouse.

Each suite file is a GX 1.x expectation suite with the table it validates in `meta.finkpi_table`.
Parameters (`{"$PARAMETER": ...}`) are filled per run: `as_of_date`, `as_of_month_start`, and
for each table with a volume check `min_rows__<table>`/`max_rows__<table>` (+/-50% of the row
counts of the previous run, passed in; without them only "not empty").

In an incremental run (`settings.incremental_start`), a suite of an incremental fact
(finkpi.incremental.INCREMENTAL_FACTS) checks its row-level expectations (`is_row_level`) on the
rows the run recomputed only, those dated from the window's first day (or without a date); the
rows before it were checked by the runs that wrote them and are unchanged. Every other expectation
(uniqueness of keys, row counts, the newest date, the schema) still reads the whole table. A full
run checks every row.

An expectation that raised (GX reports `exception_info` and success=False) is an ERROR of the
gate, not a data failure and never a pass. Results are stored in a file context under
`<warehouse>/gx/` and rendered as Data Docs there for every run, with local copies of the styles
and scripts GX loads from CDNs (finkpi/quality/data_docs.py), so they render styled offline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from finkpi.incremental import INCREMENTAL_FACTS
from finkpi.quality import data_docs, gx_duckdb
from finkpi.settings import PROJECT_DIR, Settings, load_settings

SUITES_DIR = PROJECT_DIR / "expectations" / "suites"
# GX's column map expectations: each row passes or fails by itself
ROW_LEVEL_TYPES = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
}
# A failed query expectation names its rows (a reconciliation: period, company, accounts,
# difference): it is validated once more alone, with GX's COMPLETE result, which returns them.
ROWS_TYPE = "unexpected_rows_expectation"
ROWS_NAMED = 10  # rows of a failed query expectation named in the message
VOLUME_TOLERANCE = 0.5
WAIT_FOR_REQUEST = "--wait"  # the child's argument: preload, then read the request from stdin


@dataclass
class ExpectationOutcome:
    suite: str
    table: str
    expectation: str  # type, with the column or the notes that say what it checks
    success: bool
    observed_value: object = None
    error: str | None = None  # the exception, when the expectation could not be evaluated

    @property
    def status(self) -> str:
        return "error" if self.error else ("passed" if self.success else "failed")

    @property
    def unexpected_rows(self) -> list[dict]:
        """The rows a failed query expectation returned (named in the message), else none."""
        observed = self.observed_value
        return observed.get("unexpected_rows", []) if isinstance(observed, dict) else []

    def observed_text(self) -> str:
        """What was observed, for the message and the audit store: a failed query expectation's
        rows in full, anything else shortened."""
        if self.unexpected_rows:
            rows = " | ".join(_row_text(row) for row in self.unexpected_rows)
            return f"{self.observed_value.get('unexpected_count')} unexpected row(s): {rows}"
        return _short(self.observed_value)


@dataclass
class GateResult:
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # suites whose optional table was not built
    seconds: float = 0.0
    data_docs: Path | None = None
    # where the time goes (the benchmark reports it): each suite's validation, GX's import, context
    # and data source before the first suite, and the whole child process (validate_in_subprocess)
    suite_seconds: dict[str, float] = field(default_factory=dict)
    setup_seconds: float = 0.0
    process_seconds: float = 0.0

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.error and not o.success]

    @property
    def success(self) -> bool:
        return bool(self.outcomes) and not self.errors and not self.failures

    def describe(self) -> str:
        passed = len(self.outcomes) - len(self.errors) - len(self.failures)
        lines = [
            f"Great Expectations: {len(self.outcomes)} expectation(s) in "
            f"{len({o.suite for o in self.outcomes})} suite(s): {passed} passed, "
            f"{len(self.failures)} failed, {len(self.errors)} error(s) ({self.seconds:.1f} s)"
        ]
        if self.skipped:
            lines.append(f"skipped (table not built in this run): {', '.join(self.skipped)}")
        for outcome in self.errors:
            lines.append(f"ERROR {outcome.suite}: {outcome.expectation}: could not run: {outcome.error}")
        for outcome in self.failures:
            rows = outcome.unexpected_rows
            observed = f"{len(rows)} row(s) named below" if rows else _short(outcome.observed_value)
            lines.append(f"FAILED {outcome.suite}: {outcome.expectation} (observed: {observed})")
            lines.extend(f"  {_row_text(row)}" for row in rows)
        if self.data_docs:
            lines.append(f"Data Docs: {self.data_docs}")
        return "\n".join(lines)

    def to_records(self) -> list[dict]:
        """One plain dict per expectation, for the audit store and the publish step."""
        return [{**asdict(o), "status": o.status, "observed_value": o.observed_text()} for o in self.outcomes]


def is_row_level(entry: dict) -> bool:
    """Whether an expectation of a suite judges each row by itself (so a window of rows can be
    checked alone): a column map expectation, or a query over `{batch}` marked `meta.row_level`
    (e.g. referential integrity; a query could also compare rows with each other)."""
    return entry["type"] in ROW_LEVEL_TYPES or bool(entry.get("meta", {}).get("row_level"))


def suite_batches(name: str, spec: dict, window_start: date | None) -> list[tuple[str, str, list[dict], str]]:
    """What a suite validates: (GX asset name, query, expectations, scope label) per batch. One
    batch of the whole table, and in an incremental run (`window_start`) of an incremental fact,
    a second one of the window's rows for the row-level expectations."""
    table = spec["meta"]["finkpi_table"]
    # a query asset: GX's table asset drops the schema in some of its queries on DuckDB
    query = f"select * from {table}"
    date_column = INCREMENTAL_FACTS.get(table.split(".")[-1])
    if window_start is None or date_column is None:
        return [(name, query, spec["expectations"], "")]
    start = window_start.isoformat()
    return [
        (name, query, [e for e in spec["expectations"] if not is_row_level(e)], ""),
        (
            f"{name}__window",
            f"{query} where {date_column} >= date '{start}' or {date_column} is null",
            [e for e in spec["expectations"] if is_row_level(e)],
            f" (rows from {start})",
        ),
    ]


def load_suites(suites_dir: Path = SUITES_DIR) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(suites_dir.glob("*.json"))}


def parameters(as_of: date, previous_counts: dict[str, int] | None, suites: dict[str, dict]) -> dict:
    values: dict = {"as_of_date": as_of.isoformat(), "as_of_month_start": as_of.replace(day=1).isoformat()}
    for name in suites:
        previous = (previous_counts or {}).get(name)
        if previous:
            values[f"min_rows__{name}"] = int(previous * (1 - VOLUME_TOLERANCE))
            values[f"max_rows__{name}"] = int(previous * (1 + VOLUME_TOLERANCE))
        else:
            values[f"min_rows__{name}"] = 1
            values[f"max_rows__{name}"] = None
    return values


def row_counts(database: Path, suites: dict[str, dict] | None = None) -> dict[str, int]:
    """Row counts of the validated tables (pass them to the next run as previous_counts)."""
    import duckdb

    suites = suites or load_suites()
    with duckdb.connect(str(database), read_only=True) as con:
        return {
            name: con.execute(f"select count(*) from {suite['meta']['finkpi_table']}").fetchone()[0]
            for name, suite in suites.items()
        }


def validate(
    settings: Settings,
    previous_counts: dict[str, int] | None = None,
    suites: dict[str, dict] | None = None,
    build_docs: bool = True,
    patch: bool = True,
    run_id: str | None = None,
    docs_dir: Path | None = None,
) -> GateResult:
    """Run every suite against the build warehouse (read-only) and return each expectation's result.

    With `run_id`, the stored validation results carry finkpi's run id as their GX run name, and
    with `docs_dir` too, that run's results alone are rendered as a Data Docs site in `docs_dir`
    (the audit report links it)."""
    entered = time.perf_counter()
    # GX loads here, in the validation child process only: importing it costs seconds and starts
    # its own machinery, which no other step (nor `import finkpi`) should pay for
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if patch:
        gx_duckdb.apply()
    started = time.perf_counter()
    suites = suites if suites is not None else load_suites()
    # before GX connects: afterwards this process can only use GX's own connection configuration
    optional = any(spec["meta"].get("only_when_present") for spec in suites.values())
    present = _present_tables(settings.build_database) if optional else set()
    as_of = date.fromisoformat(settings.dbt_vars()["as_of_date"])
    expectation_parameters = parameters(as_of, previous_counts, suites)
    window_start = settings.incremental_start if settings.incremental else None

    context = gx.get_context(mode="file", project_root_dir=str(settings.warehouse_dir / "gx"))
    datasource_name = "finkpi_build"
    if datasource_name in [d.name for d in context.data_sources.all().values()]:
        context.data_sources.delete(datasource_name)
    datasource = context.data_sources.add_sql(
        name=datasource_name,
        connection_string=f"duckdb:///{settings.build_database.resolve()}",
        kwargs={"connect_args": {"read_only": True}},
    )
    result = GateResult(setup_seconds=time.perf_counter() - entered)
    try:
        for name, spec in suites.items():
            if spec["meta"].get("only_when_present") and spec["meta"]["finkpi_table"] not in present:
                # e.g. scorecards, skipped by a run whose fiscal calendar has no targets
                result.skipped.append(name)
                continue
            suite_started = time.perf_counter()
            for batch_name, query, entries, scope in suite_batches(name, spec, window_start):
                asset = datasource.add_query_asset(name=batch_name, query=query)
                batch_definition = asset.add_batch_definition_whole_table(name=f"{batch_name}_whole")
                suite = ExpectationSuite(name=batch_name, meta=spec.get("meta", {}))
                for entry in entries:
                    config = ExpectationConfiguration(
                        type=entry["type"], kwargs=entry["kwargs"], meta=entry.get("meta", {})
                    )
                    suite.add_expectation(config.to_domain_obj())
                suite = context.suites.add_or_update(suite)
                definition = context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(
                        name=f"{batch_name}_validation", data=batch_definition, suite=suite
                    )
                )
                run = definition.run(
                    expectation_parameters=expectation_parameters,
                    result_format="SUMMARY",
                    run_id=RunIdentifier(run_name=run_id) if run_id else None,
                )
                for item in run.results:
                    if not item.success and item.expectation_config.type == ROWS_TYPE:
                        # validated alone once more, to name the rows (only when it failed)
                        item = batch_definition.get_batch().validate(
                            item.expectation_config.to_domain_obj(),
                            result_format="COMPLETE",
                            expectation_parameters=expectation_parameters,
                        )
                    result.outcomes.append(_outcome(name, spec["meta"]["finkpi_table"], item, scope))
            result.suite_seconds[name] = time.perf_counter() - suite_started
    finally:
        execution_engine = getattr(datasource, "_execution_engine", None) or None
        if execution_engine is not None:
            execution_engine.close()
            execution_engine.engine.dispose()
    if build_docs:
        context.build_data_docs(site_names=["local_site"])
        site = settings.warehouse_dir / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
        data_docs.make_offline(site)
        index = site / "index.html"
        result.data_docs = index if index.exists() else None
        if run_id and docs_dir:
            result.data_docs = _run_data_docs(context, run_id, Path(docs_dir)) or result.data_docs
    result.seconds = time.perf_counter() - started
    return result


RUN_SITE = "finkpi_run"


def _run_data_docs(context, run_id: str, docs_dir: Path) -> Path | None:
    """A Data Docs site of one run's validation results only, in `docs_dir`. The site is added to
    the context for the build and removed after it, so later builds never touch this folder."""
    mine = [key for key in context.validation_results_store.list_keys() if key.run_id.run_name == run_id]
    if not mine:
        return None
    config = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    if RUN_SITE in context.get_site_names():
        context.delete_data_docs_site(RUN_SITE)
    context.add_data_docs_site(RUN_SITE, config)
    try:
        context.build_data_docs(site_names=[RUN_SITE], resource_identifiers=mine)
    finally:
        context.delete_data_docs_site(RUN_SITE)
    data_docs.make_offline(docs_dir)
    index = docs_dir / "index.html"
    return index if index.exists() else None


def _present_tables(database: Path) -> set[str]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }


class GateProcess:
    """The validation child process, started ahead of its request.

    Importing Great Expectations costs ~2 s (the largest fixed cost of the gate, BENCHMARKS.md);
    started early, the child pays it while the run's exports and scorecards work, then waits for
    its one request on stdin. A parent that dies closes the pipe: the child reads nothing and
    exits. Use it as a context manager, so a run that fails before validating ends it."""

    def __init__(self):
        self._process = subprocess.Popen(
            [sys.executable, "-m", "finkpi.quality.gx_runner", WAIT_FOR_REQUEST],
            cwd=str(PROJECT_DIR),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, request: dict) -> tuple[int, str]:
        """Send the request; wait for the child to end. Its exit status and standard error."""
        _stdout, stderr = self._process.communicate(json.dumps(request) + "\n")
        return self._process.returncode, stderr

    def close(self) -> None:
        if self._process.poll() is None:  # never asked (the run failed before its gate)
            self._process.kill()
            self._process.communicate()

    def __enter__(self) -> GateProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def validate_in_subprocess(
    settings: Settings,
    previous_counts: dict[str, int] | None = None,
    run_id: str | None = None,
    docs_dir: Path | None = None,
    suite_names: list[str] | None = None,
    process: GateProcess | None = None,
) -> GateResult:
    """`validate` in a child process (`process`, started earlier, or a new one). GX (through
    duckdb-engine) keeps the DuckDB file open with its own configuration until the process ends,
    and DuckDB then refuses any other connection to that file from the same process (e.g.
    read-only ones): the pipeline validates out of process."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "gate.json"
        request = {
            "warehouse_dir": str(settings.warehouse_dir.resolve()),
            "data_dir": str(settings.data_dir.resolve()),
            "raw_format": settings.raw_format,
            "as_of_date": settings.dbt_vars()["as_of_date"],
            # an incremental run's window: row-level expectations of its facts check it alone
            "incremental_start": (
                settings.incremental_start.isoformat()
                if settings.incremental and settings.incremental_start
                else None
            ),
            "previous_counts": previous_counts,
            "run_id": run_id,
            "docs_dir": str(Path(docs_dir).resolve()) if docs_dir else None,
            "suite_names": suite_names,  # None: every suite
            "out": str(out),
        }
        # what the run waits for: with a child started early, its GX import is already paid
        started = time.perf_counter()
        returncode, stderr = (process or GateProcess()).run(request)
        process_seconds = time.perf_counter() - started
        if returncode != 0 or not out.exists():
            result = GateResult()
            result.outcomes.append(
                ExpectationOutcome(
                    "(gate)",
                    "",
                    "run the Great Expectations suites",
                    False,
                    None,
                    f"the validation process failed: {stderr.strip()[-2000:]}",
                )
            )
            result.process_seconds = process_seconds
            return result
        payload = json.loads(out.read_text())
    result = GateResult(
        outcomes=[ExpectationOutcome(**o) for o in payload["outcomes"]],
        skipped=payload.get("skipped", []),
        seconds=payload["seconds"],
        data_docs=Path(payload["data_docs"]) if payload["data_docs"] else None,
        suite_seconds=payload.get("suite_seconds", {}),
        setup_seconds=payload.get("setup_seconds", 0.0),
        process_seconds=process_seconds,
    )
    return result


def _preload() -> None:
    # the waiting child's head start: the import `validate` would otherwise pay after the request
    import great_expectations  # noqa: F401


def _main(argv: list[str]) -> int:
    if argv[0] == WAIT_FOR_REQUEST:  # a GateProcess: import first, then wait for the request
        _preload()
        line = sys.stdin.readline()
        if not line:  # the parent ended (or closed the pipe) before asking: nothing to do
            return 0
        request = json.loads(line)
    else:
        request = json.loads(argv[0])
    settings = load_settings(
        warehouse_dir=Path(request["warehouse_dir"]),
        data_dir=Path(request["data_dir"]),
        raw_format=request["raw_format"],
        as_of_date=date.fromisoformat(request["as_of_date"]),
        incremental=bool(request.get("incremental_start")),
        incremental_start=(
            date.fromisoformat(request["incremental_start"]) if request.get("incremental_start") else None
        ),
    )
    suites = load_suites()
    if request.get("suite_names") is not None:
        suites = {name: suites[name] for name in request["suite_names"]}
    result = validate(
        settings,
        previous_counts=request["previous_counts"],
        suites=suites,
        run_id=request.get("run_id"),
        docs_dir=Path(request["docs_dir"]) if request.get("docs_dir") else None,
    )
    payload = {
        "outcomes": [
            {**asdict(o), "observed_value": json.loads(json.dumps(o.observed_value, default=str))}
            for o in result.outcomes
        ],
        "skipped": result.skipped,
        "seconds": result.seconds,
        "data_docs": str(result.data_docs) if result.data_docs else None,
        "suite_seconds": result.suite_seconds,
        "setup_seconds": result.setup_seconds,
    }
    Path(request["out"]).write_text(json.dumps(payload))
    return 0


def _outcome(suite: str, table: str, item, scope: str = "") -> ExpectationOutcome:
    config = item.expectation_config
    kwargs = config.kwargs
    label = config.type
    detail = kwargs.get("column") or kwargs.get("column_list") or (config.meta or {}).get("notes")
    if detail:
        label += f" [{', '.join(detail) if isinstance(detail, list) else detail}]"
    label += scope  # e.g. " (rows from 2025-11-03)": the rows of an incremental run's window
    error = None
    info = item.exception_info or {}
    if info.get("raised_exception") or any(
        isinstance(value, dict) and value.get("raised_exception") for value in info.values()
    ):
        messages = [info.get("exception_message")] + [
            value.get("exception_message") for value in info.values() if isinstance(value, dict)
        ]
        error = "; ".join(m for m in messages if m) or "the expectation raised an exception"
    res = item.result or {}
    observed = res.get("observed_value")
    rows = (res.get("details") or {}).get("unexpected_rows")
    if rows and isinstance(rows, list):  # a failed query expectation, validated to name its rows
        named = [{k: str(v) for k, v in dict(row).items()} for row in rows[:ROWS_NAMED]]
        return ExpectationOutcome(
            suite,
            table,
            label,
            bool(item.success),
            {"unexpected_count": observed, "unexpected_rows": named},
            error,
        )
    if observed is None and "unexpected_count" in res:
        observed = {"unexpected_count": res.get("unexpected_count")}
    if observed is None and res.get("details"):
        observed = res.get("details")
    return ExpectationOutcome(suite, table, label, bool(item.success), observed, error)


def _row_text(row: dict) -> str:
    """One unexpected row as `column=value, ...` (a failed reconciliation: period, company,
    accounts, difference)."""
    return ", ".join(f"{column}={value}" for column, value in row.items())


def _short(value, limit: int = 300) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""Shared fixtures: one real dbt build of the bundled sample company per test session.

The build goes into a temporary warehouse, so tests never touch `warehouse/` of a developer, and
dbt, MetricFlow and Dagster work in a copy of the project (symlinks to the repository's files,
with a `target/` and `logs/` of its own: FINKPI_PROJECT_DIR), so they never touch its `target/`.

Under pytest-xdist (`-n 2`) each worker has its own project copy and its own copy of the session
build: the first worker that needs the build makes it (under a file lock), the others copy it.
DuckDB lets one process hold a file read-write, and dbt rewrites `target/`: nothing is shared
between the workers while they run.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from filelock import FileLock

from finkpi import pipeline
from finkpi.settings import PROJECT_DIR, load_settings

SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
# Written by tools, never shared through a project copy (the rest of the repository is linked).
NOT_IN_A_PROJECT_COPY = {
    ".git", ".venv", ".venv-spark", ".dagster", ".pytest_cache", ".ruff_cache", "target", "logs",
    "warehouse", "metastore_db", "spark-warehouse", "derby.log", "test-artifacts",
}  # fmt: skip
DBT_ARTIFACTS = ("manifest", "run_results", "semantic_manifest")
_PROJECT_COPY = pytest.StashKey[tuple[Path, str | None]]()  # the copy, the variable's value before


def pytest_configure(config):
    # registered here, not in pyproject.toml: the Spark parity test (tests/spark, make test-spark)
    config.addinivalue_line("markers", "spark: needs the Spark extra (.venv-spark); run by make test-spark")
    # Each process that runs tests gets its own copy (an xdist worker too, although it inherits
    # the controller's variable); set in this process, its subprocesses inherit it.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    copy = Path(tempfile.mkdtemp(prefix=f"finkpi-project-{worker}-"))
    for entry in PROJECT_DIR.iterdir():
        if entry.name not in NOT_IN_A_PROJECT_COPY:
            (copy / entry.name).symlink_to(entry)
    config.stash[_PROJECT_COPY] = (copy, os.environ.get("FINKPI_PROJECT_DIR"))
    os.environ["FINKPI_PROJECT_DIR"] = str(copy)


def pytest_collection_modifyitems(config, items):
    # `build`: needs a warehouse build, so not in `make test-quick`. Every test that uses the
    # session build (directly or through another fixture) is marked here; modules that run dbt or
    # the pipeline themselves say so with `pytestmark = pytest.mark.build`.
    for item in items:
        if _uses_session_build(item):
            item.add_marker(pytest.mark.build)
    items[:] = _in_module_order_for_two_workers(items)


def _uses_session_build(item) -> bool:
    return "built" in getattr(item, "fixturenames", ())


def _in_module_order_for_two_workers(items: list) -> list:
    """Modules ordered so that two xdist workers (`--dist loadfile --no-loadscope-reorder`: each
    takes the next module in this order) are both busy from the start: first the module with
    the most tests on the session build (its worker makes the build), then the modules that run
    builds of their own, larger first (the other worker runs them meanwhile; they are the
    longest), then those that need no build, then the rest of the session build's readers.
    Within a module the order stays as written."""
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def session_readers(module: str) -> int:
        return sum(_uses_session_build(item) for item in modules[module])

    def own_builds(module: str) -> bool:
        return any(
            item.get_closest_marker("build") and not _uses_session_build(item) for item in modules[module]
        )

    readers = sorted((m for m in modules if session_readers(m)), key=session_readers, reverse=True)
    builders = [m for m in modules if own_builds(m) and m not in readers]
    builders.sort(key=lambda m: len(modules[m]), reverse=True)
    quick = [m for m in modules if m not in readers and m not in builders]
    order = readers[:1] + builders + quick + readers[1:]
    return [item for module in order for item in modules[module]]


def pytest_unconfigure(config):
    copy, before = config.stash.get(_PROJECT_COPY, (None, None))
    if copy is not None:
        if before is None:
            os.environ.pop("FINKPI_PROJECT_DIR", None)
        else:
            os.environ["FINKPI_PROJECT_DIR"] = before
        shutil.rmtree(copy, ignore_errors=True)


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory):
    """Settings for the bundled sample, with a warehouse of the test session's own."""
    return load_settings(warehouse_dir=tmp_path_factory.mktemp("warehouse"), data_dir=SAMPLE_DIR)


@pytest.fixture(scope="session")
def built(sample_settings, tmp_path_factory):
    """The sample company built once by the real pipeline (dbt build, every model and test, metric
    exports, publish) and copied into this worker's warehouse and project copy. dbt's artifacts
    are read right away: later tests run other builds, which rewrite target/."""
    # one folder per pytest session, seen by every xdist worker (their basetemps are inside it)
    basetemp = tmp_path_factory.getbasetemp()
    shared = (basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp) / "session-build"
    with FileLock(f"{shared}.lock"):
        if (shared / "failed.txt").exists():  # another worker's build failed: the same error here
            pytest.fail((shared / "failed.txt").read_text(), pytrace=False)
        if not (shared / "summary.pickle").exists():
            _build_once(sample_settings, shared)
    shutil.copytree(shared / "warehouse", sample_settings.warehouse_dir, symlinks=True, dirs_exist_ok=True)
    _restore_session_target(sample_settings.project_dir, shared)
    summary = pickle.loads((shared / "summary.pickle").read_bytes())
    # what the run wrote names the folder it ran in (OpenLineage namespaces, report links):
    # `settings` is that folder, kept until the session ends; `warehouse` is this worker's copy
    summary.settings = sample_settings.with_(warehouse_dir=shared / "warehouse")
    summary.warehouse = sample_settings.build_database
    summary.artifacts = {
        name: json.loads((sample_settings.project_dir / "target" / f"{name}.json").read_text())
        for name in DBT_ARTIFACTS
    }
    summary.shared = shared
    return summary


@pytest.fixture(autouse=True)
def _session_target_for_session_readers(request):
    """A test that uses the session build sees the session build's dbt artifacts in target/
    (compiled SQL for lineage and the report, the manifest for Dagster), even when a test before
    it on this worker ran dbt itself (a partial build, `finkpi run`) and rewrote target/."""
    if "built" in request.fixturenames:
        built = request.getfixturevalue("built")
        _restore_session_target(built.settings.project_dir, built.shared)


def _restore_session_target(project_dir: Path, shared: Path) -> None:
    target = project_dir / "target"
    manifest = target / "manifest.json"
    original = (shared / "target" / "manifest.json").stat()
    if manifest.exists():  # copied with its mtime; any dbt command since rewrote it
        current = manifest.stat()
        if (current.st_size, current.st_mtime_ns) == (original.st_size, original.st_mtime_ns):
            return
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(shared / "target", target)


def _build_once(sample_settings, shared: Path) -> None:
    """The session's one whole-pipeline build, into `shared` (warehouse, dbt target/, summary)."""
    settings = sample_settings.with_(warehouse_dir=shared / "warehouse")
    try:
        summary = pipeline.run(settings, progress=lambda message: None)
    except BaseException as exc:
        shared.mkdir(parents=True, exist_ok=True)
        (shared / "failed.txt").write_text(f"the session build failed: {type(exc).__name__}: {exc}")
        raise
    shutil.copytree(settings.project_dir / "target", shared / "target")
    (shared / "summary.pickle").write_bytes(pickle.dumps(summary))


class ReadOnlyWarehouse:
    """Runs each query on its own short read-only connection and returns the materialized result.

    A connection held open for the whole session would stop other code in this process (the
    MetricFlow engine, another build) from opening the file: DuckDB allows one configuration per
    file per process.
    """

    def __init__(self, path: Path):
        self.path = path

    def execute(self, sql: str, parameters=None) -> _Result:
        with duckdb.connect(str(self.path), read_only=True) as con:
            cursor = con.execute(sql, parameters or [])
            columns = [column[0] for column in cursor.description]
            return _Result(columns, cursor.fetchall())


class _Result:
    def __init__(self, columns, rows):
        self.columns, self.rows = columns, rows

    def fetchall(self):
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def df(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


@pytest.fixture(scope="session")
def warehouse(built, sample_settings) -> ReadOnlyWarehouse:
    """Read-only queries against the built warehouse."""
    return ReadOnlyWarehouse(sample_settings.build_database)


@pytest.fixture(scope="session")
def manifest(built) -> dict:
    return built.artifacts["manifest"]


@pytest.fixture(scope="session")
def run_results(built) -> dict:
    return built.artifacts["run_results"]


@pytest.fixture(scope="session")
def metric_values(built, warehouse):
    """The exported metric_values of the session's build, as pandas."""
    return warehouse.execute("select * from metrics.metric_values").df()


def read_raw(source: str, table: str):
    """A raw sample file as pandas, every column as text (the way the extract is delivered)."""
    import pandas as pd

    return pd.read_csv(SAMPLE_DIR / source / f"{table}.csv", dtype=str, keep_default_na=False)


# --- A real browser: Debian's headless Chromium, driven by Playwright -------------------------------
# Playwright's own browser download does not work offline; `make test` installs Debian's chromium.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium keeps trying to reach Google's hosts on a closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test session (a fresh profile: Playwright creates its own)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class BrowserPage:
    """A page with every console error and uncaught exception collected, for `assert not errors`."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


@pytest.fixture
def browser_page(browser):
    """A new page in its own context; `.page` is Playwright's Page, `.errors` the console errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield BrowserPage(context.new_page())
    context.close()

"""Shared fixtures: one real dbt build of the bundled sample company per test session.

The build goes into a temporary warehouse, so tests never touch `warehouse/` of a developer.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from finkpi import pipeline
from finkpi.settings import PROJECT_DIR, load_settings

SAMPLE_DIR = PROJECT_DIR / "data" / "sample"


def pytest_configure(config):
    # registered here, not in pyproject.toml: the Spark parity test (tests/spark, make test-spark)
    config.addinivalue_line("markers", "spark: needs the Spark extra (.venv-spark); run by make test-spark")


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory):
    """Settings for the bundled sample, with a warehouse of the test session's own."""
    return load_settings(warehouse_dir=tmp_path_factory.mktemp("warehouse"), data_dir=SAMPLE_DIR)


@pytest.fixture(scope="session")
def built(sample_settings):
    """The sample company built once by the real pipeline (dbt build, every model and test, metric
    exports). dbt's artifacts are read right away: later tests run other builds in subprocesses,
    which rewrite target/."""
    summary = pipeline.run(sample_settings, progress=lambda message: None)
    summary.artifacts = {
        name: json.loads((PROJECT_DIR / "target" / f"{name}.json").read_text())
        for name in ("manifest", "run_results", "semantic_manifest")
    }
    return summary


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

"""The Dagster UI, for real: dagster-webserver on a free port of 127.0.0.1 with a temporary
DAGSTER_HOME (the committed template), opened in headless Chromium. The test finds the publish
asset in the global asset graph, opens its lineage and reads the upstream asset names shown.

Console errors fail the test; none are filtered today.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from finkpi import contract
from finkpi.settings import PROJECT_DIR

WEBSERVER = str(Path(sys.executable).parent / "dagster-webserver")
READY_SECONDS = 180  # ~30 s on an idle machine; the code location imports dbt and GX metadata
UPSTREAM_OF_PUBLISH = {*contract.EXPORT_TABLES, *contract.SCORECARD_TABLES}  # the steps' tables


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(PROJECT_DIR / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    log = open(home / "webserver.log", "w")  # noqa: SIM115 - closed in teardown
    # its own session (a group to signal) and default signal handling (TOOLCHAIN-NOTES: started from
    # a script, dagster otherwise ignores SIGINT/SIGTERM)
    process = subprocess.Popen(
        ["setsid", "env", "--default-signal=INT,TERM", WEBSERVER, "-h", "127.0.0.1", "-p", str(port),
         "-w", "orchestration/workspace.yaml"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DAGSTER_HOME": str(home), "DO_NOT_TRACK": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            with urllib.request.urlopen(base + "/server_info", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"dagster-webserver did not start: {(home / 'webserver.log').read_text()[-3000:]}")
        time.sleep(1)
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("dagster-webserver did not stop on SIGTERM")
    finally:
        log.close()


def _shown_as(shown: str, name: str) -> bool:
    """The graph shortens long names in the middle: `metric_de…_history`."""
    if "…" not in shown:
        return shown == name
    head, tail = shown.split("…", 1)
    return name.startswith(head) and name.endswith(tail) and len(shown) < len(name) + 1


def test_the_asset_graph_shows_the_publish_asset_and_its_upstream_lineage(dagster_ui, browser_page):
    page = browser_page.page
    page.goto(dagster_ui + "/asset-groups")  # the global asset lineage
    jump = page.get_by_placeholder("Jump to…")
    jump.wait_for(timeout=120_000)
    for group in ("staging", "intermediate", "marts", "metric_layer", "publish"):
        page.locator("svg").get_by_text(group, exact=True).first.wait_for(timeout=60_000)

    jump.fill("published_version")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="View in Asset Catalog").click(timeout=60_000)
    page.wait_for_url("**/assets/published_version**", timeout=60_000)
    page.get_by_text("Write-audit-publish", exact=False).first.wait_for(timeout=60_000)  # its description

    page.get_by_role("tab", name="Lineage").click()
    page.get_by_role("button", name="Upstream").click()  # one level up by default
    page.locator('[class*="assetName"]', has_text="published_version").first.wait_for(timeout=60_000)
    page.locator('[class*="assetName"]', has_text="scorecard_summary").first.wait_for(timeout=60_000)
    shown = {text.strip() for text in page.locator('[class*="assetName"]').all_inner_texts()}

    missing = {name for name in UPSTREAM_OF_PUBLISH if not any(_shown_as(s, name) for s in shown)}
    assert not missing, f"upstream of published_version not shown: {missing} (shown: {sorted(shown)})"
    unexpected = {
        s for s in shown if not any(_shown_as(s, n) for n in UPSTREAM_OF_PUBLISH | {"published_version"})
    }
    assert not unexpected, f"not a parent of the publish: {unexpected}"
    assert not browser_page.errors, browser_page.errors

"""Faults: `kill -9` of a run during the build, during validation and during publish.

After each kill the published state is the one complete version it was before (byte for byte),
the audit store verifies, and the next run succeeds. The kills use the test hook
FINKPI_TEST_PAUSE_AT (finkpi/faults.py) so the process is killed at a known stage; the build is
killed while dbt is writing models. One module-wide warehouse: the kills reuse the session's build
(`run --from-stage publish`), and one full run at the end proves recovery.
"""

from __future__ import annotations

import os
import shutil
import signal

import duckdb
import pytest
from tests_publish_helpers import SAMPLE_DIR, published_state, run_ids, start_cli, wait_for

from finkpi.audit import AuditStore
from finkpi.publish import list_versions, publish_run
from finkpi.settings import load_settings

FIRST = "20250101T000000Z-0000f001"


@pytest.fixture(scope="module")
def faulty(built, sample_settings, tmp_path_factory):
    target = tmp_path_factory.mktemp("faults")
    shutil.copy2(sample_settings.build_database, target / "finkpi.duckdb")
    settings = load_settings(warehouse_dir=target, data_dir=SAMPLE_DIR)
    publish_run(settings, FIRST)
    return settings


def _kill_at(settings, tmp_path, point: str | None, args: list[str], needle: str, count: int = 1):
    before = published_state(settings)
    versions = list_versions(settings)
    log = tmp_path / "run.log"
    env = {"FINKPI_TEST_PAUSE_AT": point} if point else {}
    process = start_cli(settings, ["run", *args], log, **env)
    try:
        waited = wait_for(log, needle, process, count=count)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    assert process.returncode == -signal.SIGKILL
    # one complete version, the old one, byte for byte; no half version among the versions
    assert published_state(settings) == before
    assert list_versions(settings) == versions
    result = AuditStore(settings.warehouse_dir).verify()
    assert result.ok, result.broken
    return waited


@pytest.mark.parametrize("point", ["validate", "publish-write", "publish"])
def test_kill_during_validation_and_publish(faulty, tmp_path, point):
    _kill_at(faulty, tmp_path, point, ["--from-stage", "publish"], f"FINKPI_PAUSED_AT {point}")


def test_kill_during_the_build(faulty, tmp_path):
    # dbt has started writing models of the build warehouse (a few have finished)
    _kill_at(faulty, tmp_path, None, [], " OK created ", count=5)


def test_the_next_run_succeeds_after_the_kills(faulty, tmp_path):
    log = tmp_path / "run.log"
    process = start_cli(faulty, ["run"], log)
    assert process.wait(600) == 0, log.read_text()[-3000:]
    published = faulty.warehouse_dir / "published.duckdb"
    ids = run_ids(published)
    (run_id,) = ids["metric_values"]
    assert all(found == {run_id} for found in ids.values())
    assert list_versions(faulty) == [FIRST, run_id]
    assert not list((faulty.warehouse_dir / "versions").glob(".tmp-*"))  # leftovers of kills removed
    assert AuditStore(faulty.warehouse_dir).verify().ok
    with duckdb.connect(str(published), read_only=True) as con:
        statuses = dict(con.execute("select status, count(*) from audit_runs group by 1").fetchall())
    assert statuses == {"interrupted": 4, "publishing": 1}

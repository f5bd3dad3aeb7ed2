"""Faults: `kill -9` of a run during the build, during validation and during publish.

After each kill the published state is the one complete version it was before (byte for byte),
the audit store verifies, and the next run succeeds. The kills use the test hook
FINKPI_TEST_PAUSE_AT (finkpi/faults.py) so the process is killed at a known stage; the build is
killed while dbt is writing models. One module-wide warehouse: the kills reuse the session's build
(`run --from-stage publish`), and one full run after all of them proves recovery. The kills are
made by one module fixture (`kills`), so no test depends on the order the tests run in.
"""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass, field

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


@dataclass
class Kill:
    """What one kill left: the published state and versions before and after, the exit code, the
    audit store's verification, or the error that kept the kill from happening."""

    before: tuple = ()
    after: tuple = ()
    versions_before: list = field(default_factory=list)
    versions_after: list = field(default_factory=list)
    returncode: int | None = None
    audit: object = None
    error: BaseException | None = None

    def check(self) -> None:
        if self.error is not None:
            raise self.error
        assert self.returncode == -signal.SIGKILL
        # one complete version, the old one, byte for byte; no half version among the versions
        assert self.after == self.before
        assert self.versions_after == self.versions_before
        assert self.audit.ok, self.audit.broken


def _kill_at(settings, log, point: str | None, args: list[str], needle: str, count: int = 1) -> Kill:
    kill = Kill(before=published_state(settings), versions_before=list_versions(settings))
    env = {"FINKPI_TEST_PAUSE_AT": point} if point else {}
    process = start_cli(settings, ["run", *args], log, **env)
    try:
        wait_for(log, needle, process, count=count)
    except AssertionError as exc:
        kill.error = exc
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    kill.returncode = process.returncode
    kill.after, kill.versions_after = published_state(settings), list_versions(settings)
    kill.audit = AuditStore(settings.warehouse_dir).verify()
    return kill


KILLED_IN_PUBLISH = ["validate", "publish-write", "publish"]


@pytest.fixture(scope="module")
def kills(faulty, tmp_path_factory) -> dict[str, Kill]:
    """Every kill, one after the other on the module's warehouse: `run --from-stage publish`
    killed at each point of validation and publish, then a whole `run` killed during the build
    (dbt has started writing models of the build warehouse: a few have finished). The tests
    check each kill, and the recovery run comes after all of them, in any order of the tests."""
    logs = tmp_path_factory.mktemp("kills")
    done = {}
    for point in KILLED_IN_PUBLISH:
        done[point] = _kill_at(
            faulty, logs / f"{point}.log", point, ["--from-stage", "publish"], f"FINKPI_PAUSED_AT {point}"
        )
    done["build"] = _kill_at(faulty, logs / "build.log", None, [], " OK created ", count=5)
    return done


@pytest.mark.parametrize("point", KILLED_IN_PUBLISH)
def test_kill_during_validation_and_publish(kills, point):
    kills[point].check()


def test_kill_during_the_build(kills):
    kills["build"].check()


def test_the_next_run_succeeds_after_the_kills(faulty, kills, tmp_path):
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

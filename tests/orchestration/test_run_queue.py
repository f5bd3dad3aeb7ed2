"""One run at a time: with the committed instance template, two submitted runs both queue, the
run-queue daemon starts one, the second waits (it does not fail) and starts when the first ended.

The runs are of a probe job that holds for two seconds (tests/orchestration/queue_probe.py), so
the test measures the queue, not the pipeline: with the run's start-up, the first run is in
progress for about three seconds, over several iterations of the daemon.
"""

import shutil
import time

import dagster as dg
import pytest
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from finkpi.settings import PROJECT_DIR
from tests.orchestration.queue_probe import probe

# not in `make test-quick`: Dagster's daemon and two queued runs
pytestmark = pytest.mark.build

Status = dg.DagsterRunStatus


@pytest.fixture
def instance(tmp_path, monkeypatch):
    shutil.copy(PROJECT_DIR / "orchestration" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_a_second_run_waits_in_the_queue_until_the_first_ends(instance):
    target = ModuleTarget(
        module_name="tests.orchestration.queue_probe",
        attribute=None,
        working_directory=str(PROJECT_DIR),
        location_name="probe",
    )
    with create_test_daemon_workspace_context(target, instance) as workspace:
        request = workspace.create_request_context()
        repository = next(iter(request.get_code_location("probe").get_repositories().values()))
        remote_job = repository.get_full_job("probe")
        run_ids = []
        for _ in range(2):
            run = instance.create_run_for_job(
                job_def=probe,
                remote_job_origin=remote_job.get_remote_origin(),
                job_code_origin=remote_job.get_python_origin(),
            )
            instance.submit_run(run.run_id, request)
            run_ids.append(run.run_id)

        def statuses():
            return [instance.get_run_by_id(run_id).status for run_id in run_ids]

        assert statuses() == [Status.QUEUED, Status.QUEUED]
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        list(daemon.run_iteration(workspace))
        first = statuses()
        assert first.count(Status.QUEUED) == 1, first  # one launched, the other waits
        assert {s for s in first if s != Status.QUEUED} <= {Status.STARTING, Status.STARTED}, first

        deadline = time.monotonic() + 240
        while statuses() != [Status.SUCCESS, Status.SUCCESS] and time.monotonic() < deadline:
            list(daemon.run_iteration(workspace))
            assert Status.FAILURE not in statuses()
            assert sum(s in (Status.STARTING, Status.STARTED) for s in statuses()) <= 1
            time.sleep(0.5)
        assert statuses() == [Status.SUCCESS, Status.SUCCESS]

    records = sorted(
        (instance.get_run_record_by_id(run_id) for run_id in run_ids), key=lambda r: r.start_time
    )
    assert records[1].start_time >= records[0].end_time  # never both at once

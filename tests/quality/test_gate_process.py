"""The quality gate's child process started ahead of its request (gx_runner.GateProcess): it
never outlives a parent that did not ask, and answers a request as a fresh child does."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

from finkpi.quality import gx_runner
from finkpi.settings import PROJECT_DIR, load_settings


def test_a_waiting_child_ends_when_its_parent_closes_the_pipe_without_asking():
    child = subprocess.Popen(
        [sys.executable, "-m", "finkpi.quality.gx_runner", gx_runner.WAIT_FOR_REQUEST],
        cwd=str(PROJECT_DIR),
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    child.stdin.close()  # what a parent killed before its gate leaves behind
    assert child.wait(timeout=120) == 0
    assert child.stderr.read() == ""


def test_a_gate_process_never_asked_is_ended_on_close():
    with gx_runner.GateProcess() as gate:
        process = gate._process
        assert process.poll() is None  # waiting (importing GX, then reading its request)
    assert process.poll() is not None


def test_a_request_the_child_cannot_serve_is_an_error_of_the_gate_not_a_pass(tmp_path):
    # a warehouse that does not exist: the child fails, and the gate says so in an outcome
    settings = load_settings(warehouse_dir=tmp_path / "nowhere", as_of_date=date(2025, 11, 14))
    with gx_runner.GateProcess() as gate:
        result = gx_runner.validate_in_subprocess(settings, process=gate)
    assert not result.success
    assert result.errors and "the validation process failed" in result.errors[0].error

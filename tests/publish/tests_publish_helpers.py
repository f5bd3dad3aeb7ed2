"""Helpers shared by the publish tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from finkpi import contract
from finkpi.settings import PROJECT_DIR

SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
# the export step's tables: their run_id is the publishing run (audit_* copies carry the audited runs')
RUN_TABLES = contract.EXPORT_TABLES


def tree_digest(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 of every file under a folder (following the path if it is a symlink)."""
    folder = Path(os.path.realpath(folder))
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def published_state(settings) -> tuple[str | None, dict[str, str]]:
    """(current version, digest of its files): equal before and after means byte-for-byte unchanged."""
    link = settings.warehouse_dir / "current"
    if not link.is_symlink():
        return None, {}
    return os.readlink(link), tree_digest(link)


def run_ids(path: Path) -> dict[str, set[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            table: {row[0] for row in con.execute(f"select distinct run_id from {table}").fetchall()}
            for table in RUN_TABLES
        }


def cli_env(settings, **extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(PROJECT_DIR),
        PYTHONUNBUFFERED="1",
        FINKPI_WAREHOUSE_DIR=str(settings.warehouse_dir),
        FINKPI_DATA_DIR=str(settings.data_dir),
    )
    env.update(extra)
    return env


def start_cli(settings, args: list[str], log: Path, **env) -> subprocess.Popen:
    """`python -m finkpi.cli <args>` in its own process, stdout and stderr into `log`."""
    handle = open(log, "w")  # noqa: SIM115 - closed by the caller through the process
    return subprocess.Popen(
        [sys.executable, "-m", "finkpi.cli", *args],
        cwd=PROJECT_DIR,
        env=cli_env(settings, **env),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def wait_for(
    log: Path, needle: str, process: subprocess.Popen, timeout: float = 240, count: int = 1
) -> float:
    """Wait until `needle` occurs `count` times in the log; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if log.exists() and log.read_text(errors="replace").count(needle) >= count:
            return time.monotonic() - started
        if process.poll() is not None:
            raise AssertionError(
                f"process ended ({process.returncode}) before {needle!r}:\n{log.read_text()}"
            )
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not seen within {timeout} s:\n{log.read_text()[-3000:]}")

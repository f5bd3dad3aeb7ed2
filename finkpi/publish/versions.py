"""Write–audit–publish: complete version directories and an atomic switch.

The layout of a version and of the warehouse folder (versions/<run_id>/, `current`,
`published.duckdb`) is declared in `finkpi.contract`, with the tables a version holds.

A version is written under `versions/.tmp-<run_id>-<pid>/` and renamed into place only when it is
complete, so `versions/<run_id>/` always holds a whole version. `current` is switched by creating
`current.tmp-<id>` and `os.replace`-ing it over `current` (rename(2) is atomic): a reader that opens
`published.duckdb` gets the old file or the new one, never a mix, and a file it has open stays
readable even when the version is pruned later (Linux keeps an unlinked file until it is closed).
Existing versions are never modified; a failed or killed run leaves `current` as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from finkpi import contract, faults
from finkpi.audit.store import AuditStore, published_audit_sql
from finkpi.errors import FinkpiError
from finkpi.files import file_sha256
from finkpi.settings import Settings

# A table's source: a relation of the build warehouse ("metrics.metric_values"), a query over the
# build warehouse attached as `build` ("select ... from build.metrics.metric_values"), or a frame.
Source = str | pd.DataFrame


class PublishError(FinkpiError):
    """Nothing was published; the current version is unchanged."""


@dataclass
class PublishResult:
    run_id: str
    version_dir: Path
    previous_version: str | None
    table_rows: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    seconds: float = 0.0
    pruned: list[str] = field(default_factory=list)


# -- paths and state -------------------------------------------------------------------------
def versions_dir(settings: Settings) -> Path:
    return contract.versions_dir(settings.warehouse_dir)


def current_link(settings: Settings) -> Path:
    return contract.current_link(settings.warehouse_dir)


def published_path(settings: Settings) -> Path:
    """Where BI tools open the published DuckDB file (a symlink through `current`)."""
    return contract.published_path(settings.warehouse_dir)


def current_version(settings: Settings) -> str | None:
    link = current_link(settings)
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def list_versions(settings: Settings, audit: AuditStore | None = None) -> list[str]:
    """The versions on disk, oldest first, in the order they were published.

    The order comes from the audit store's publish events, not from the names: a run id sorts by
    the second only, so two versions published within one second would sort at random (and prune
    or rollback would pick the wrong one). A version without a publish event (the process died
    between the rename and the record) was never announced: it sorts first, by name."""
    on_disk = _versions_on_disk(settings)
    if not on_disk:
        return []
    audit = audit or AuditStore(settings.warehouse_dir)
    published_order: dict[str, int] = {}
    for event in audit.events(["publish"]):
        published_order.setdefault(event["version"], len(published_order))
    unrecorded = sorted(on_disk - published_order.keys())
    recorded = sorted(on_disk & published_order.keys(), key=published_order.__getitem__)
    return unrecorded + recorded


def _versions_on_disk(settings: Settings) -> set[str]:
    root = versions_dir(settings)
    if not root.exists():
        return set()
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}


_held_locks: dict[Path, int] = {}


@contextlib.contextmanager
def state_lock(settings: Settings) -> Iterator[None]:
    """One process at a time changes the published state (publish, rollback, close, reopen).
    Re-entrant within a process (publish_run holds it around publish)."""
    path = (settings.warehouse_dir / "publish.lock").resolve()
    if _held_locks.get(path):
        _held_locks[path] += 1
        try:
            yield
        finally:
            _held_locks[path] -= 1
        return
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held_locks[path] = 1
        try:
            yield
        finally:
            _held_locks[path] = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _replace_symlink(link: Path, target: str) -> None:
    """Point `link` at `target` atomically: a new symlink renamed over the old one."""
    temporary = link.with_name(f"{link.name}.tmp-{uuid.uuid4().hex[:8]}")
    os.symlink(target, temporary)
    os.replace(temporary, link)
    _fsync_dir(link.parent)


def switch_current(settings: Settings, version: str) -> None:
    if not contract.manifest_file(contract.version_dir(settings.warehouse_dir, version)).exists():
        raise PublishError(f"version {version} is not a complete version directory")
    _replace_symlink(current_link(settings), contract.current_target(version))
    published = published_path(settings)
    if published.exists() and not published.is_symlink():
        raise PublishError(f"{published} is a regular file; move it away (it must be a symlink)")
    if not published.is_symlink() or os.readlink(published) != contract.PUBLISHED_TARGET:
        _replace_symlink(published, contract.PUBLISHED_TARGET)


# -- publish -----------------------------------------------------------------------------
def _sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _source_sql(source: str) -> str:
    text = source.strip()
    if text.lower().startswith(("select", "with", "(", "from")):
        return text
    return f"select * from build.{text}"


def publish(
    settings: Settings,
    run_id: str,
    tables: dict[str, Source],
    *,
    keep: int | None = None,
    audit: AuditStore | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> PublishResult:
    """Write a complete version of `tables` plus the audit_* copies, switch `current` to it,
    record the publish in the audit store and prune old versions."""
    started = time.perf_counter()
    audit = audit or AuditStore(settings.warehouse_dir)
    keep = keep if keep is not None else settings.keep_versions
    root = versions_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    final = root / run_id
    if final.exists():
        raise PublishError(f"version {run_id} exists already")
    with state_lock(settings):
        _remove_stale_temporaries(settings)
        staging = root / f".tmp-{run_id}-{os.getpid()}"
        staging.mkdir()
        try:
            table_rows = _write_version(settings, run_id, tables, staging, audit)
            faults.pause_point("publish")
            _fsync_dir(staging)
            os.rename(staging, final)
            _fsync_dir(root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        previous = current_version(settings)
        switch_current(settings, run_id)
        size = sum(path.stat().st_size for path in final.iterdir())
        audit.record_event(
            "publish",
            run_id=run_id,
            version=run_id,
            previous_version=previous,
            details={"tables": table_rows, "manifest_sha256": file_sha256(contract.manifest_file(final))},
        )
        pruned = prune(settings, keep, audit)
    result = PublishResult(
        run_id=run_id,
        version_dir=final,
        previous_version=previous,
        table_rows=table_rows,
        bytes_written=size,
        seconds=time.perf_counter() - started,
        pruned=pruned,
    )
    progress(
        f"  published version {run_id}: {len(table_rows)} tables, {size / 1e6:.1f} MB,"
        f" {result.seconds:.1f} s (previous: {previous or 'none'})"
    )
    return result


def _write_version(
    settings: Settings, run_id: str, tables: dict[str, Source], staging: Path, audit: AuditStore
) -> dict[str, int]:
    database = contract.database_file(staging)
    con = duckdb.connect()
    try:
        if settings.build_database.exists():
            con.execute(f"attach {_sql_literal(settings.build_database)} as build (read_only)")
        storage = _sql_literal(contract.STORAGE_VERSION)
        con.execute(f"attach {_sql_literal(database)} as pub (storage_version {storage})")
        for name, source in tables.items():
            if name.startswith(contract.AUDIT_PREFIX):
                raise PublishError(f"{name}: audit_* tables are written by publish itself")
            if isinstance(source, pd.DataFrame):
                con.register("incoming", source)
                con.execute(f'create table pub.main."{name}" as select * from incoming')
                con.unregister("incoming")
            else:
                con.execute(f'create table pub.main."{name}" as {_source_sql(source)}')
        # the audit store as of this publish (shared lock: no append is half-written meanwhile)
        with audit.locked_for_copy() as audit_file:
            if audit_file is not None:
                con.execute(f"attach {_sql_literal(audit_file)} as audit (read_only)")
            for name, sql in published_audit_sql("audit" if audit_file else None, run_id).items():
                con.execute(f'create table pub.main."{name}" as {sql}')
            if audit_file is not None:
                con.execute("detach audit")
        names = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where database_name = 'pub' order by table_name"
            ).fetchall()
        ]
        manifest_tables = {}
        for name in names:
            rows = con.execute(f'select count(*) from pub.main."{name}"').fetchone()[0]
            columns = con.execute(
                "select column_name, data_type from duckdb_columns()"
                " where database_name = 'pub' and table_name = ? order by column_index",
                [name],
            ).fetchall()
            parquet = contract.parquet_file(staging, name)
            con.execute(f'copy pub.main."{name}" to {_sql_literal(parquet)} (format parquet)')
            manifest_tables[name] = {"rows": rows, "columns": dict(columns), "parquet": parquet.name}
        faults.pause_point("publish-write")
        con.execute("detach pub")
    finally:
        con.close()
    if database.with_name(database.name + ".wal").exists():
        raise PublishError(f"{database.name} kept a WAL after detach; refusing an incomplete file")
    files = {}
    for path in sorted(staging.iterdir()):
        _fsync_file(path)
        files[path.name] = file_sha256(path)
    manifest = {
        "run_id": run_id,
        "storage_version": contract.STORAGE_VERSION,
        "tables": manifest_tables,
        "files": files,
    }
    manifest_path = contract.manifest_file(staging)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _fsync_file(manifest_path)
    return {name: info["rows"] for name, info in manifest_tables.items()}


# -- keeping versions ----------------------------------------------------------------------
def prune(settings: Settings, keep: int, audit: AuditStore | None = None) -> list[str]:
    """Delete all but the `keep` most recently published versions; never the current one."""
    current = current_version(settings)
    versions = list_versions(settings, audit)
    keep_set = set(versions[-max(keep, 1) :]) | ({current} if current else set())
    removed = []
    for name in versions:
        if name not in keep_set:
            shutil.rmtree(versions_dir(settings) / name)
            removed.append(name)
    return removed


def _remove_stale_temporaries(settings: Settings) -> None:
    """Leftovers of killed publishes: `.tmp-<run_id>-<pid>` of dead processes, stray symlinks."""
    root = versions_dir(settings)
    for path in root.glob(".tmp-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
            continue
        shutil.rmtree(path, ignore_errors=True)
    for path in settings.warehouse_dir.glob("*.tmp-*"):
        if path.is_symlink():
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- rollback ------------------------------------------------------------------------------
def rollback(
    settings: Settings, actor: str | None = None, audit: AuditStore | None = None
) -> tuple[str, str]:
    """Switch `current` back to the version published before it (per the audit store) that is
    still on disk. Returns (from, to)."""
    audit = audit or AuditStore(settings.warehouse_dir)
    with state_lock(settings):
        current = current_version(settings)
        if current is None:
            raise PublishError("nothing is published: no version to roll back from")
        history = [event["version"] for event in audit.events(["publish"])]
        position = max((i for i, v in enumerate(history) if v == current), default=len(history))
        on_disk = _versions_on_disk(settings)
        candidates = [v for v in reversed(history[:position]) if v != current and v in on_disk]
        if not candidates:
            raise PublishError(f"no earlier version than {current} is kept on disk to roll back to")
        target = candidates[0]
        switch_current(settings, target)
        audit.record_event("rollback", version=target, previous_version=current, actor=actor or _user())
    return current, target


def _user() -> str:
    try:
        return os.getlogin()
    except OSError:
        import getpass

        return getpass.getuser()

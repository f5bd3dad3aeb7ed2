"""The published version the API reads: whatever `warehouse/current` points at, per request.

Each request resolves the `current` symlink (one readlink, a few microseconds) and reads the
`published.duckdb` of that version directory through a read-only DuckDB connection. Opening a
DuckDB file costs tens of milliseconds, so the connection of the current version is kept and
shared (a cursor per request, DuckDB's way of using one connection from several threads). When
`current` switches, new requests go to the new version; the old connection is closed as soon as
the last request still reading it ends. Version directories are never modified, only created and
pruned, so a held connection never stands in a publisher's way (a pruned file stays readable to
an open connection until it is closed).
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from finkpi import contract


class NothingPublished(RuntimeError):
    """No version is published yet (no `current` link), or it is incomplete."""


@dataclass
class Version:
    """One open published version: its run id, read-only connection and a reader count."""

    run_id: str
    directory: Path
    connection: duckdb.DuckDBPyConnection
    manifest: dict
    readers: int = 0
    retired: bool = False
    cache: dict = field(default_factory=dict)  # per-version lookups (catalog, dimension names)

    def close_if_idle(self) -> None:
        if self.retired and self.readers == 0:
            self.connection.close()


class PublishedReader:
    """Hands out the current version to requests; thread-safe."""

    def __init__(self, warehouse_dir: Path):
        self.warehouse_dir = Path(warehouse_dir)
        self._lock = threading.Lock()
        self._version: Version | None = None

    def current_run_id(self) -> str:
        link = contract.current_link(self.warehouse_dir)
        try:
            return Path(os.readlink(link)).name
        except (FileNotFoundError, OSError):
            raise NothingPublished(
                f"nothing is published in {self.warehouse_dir} yet (no `current` link): run `finkpi run`"
            ) from None

    @contextmanager
    def version(self):
        """The current version, held for the duration of one request."""
        run_id = self.current_run_id()
        with self._lock:
            version = self._version
            if version is None or version.run_id != run_id:
                if version is not None:
                    version.retired = True
                    version.close_if_idle()
                version = self._version = self._open(run_id)
            version.readers += 1
        try:
            yield version
        finally:
            with self._lock:
                version.readers -= 1
                version.close_if_idle()

    def _open(self, run_id: str) -> Version:
        directory = contract.version_dir(self.warehouse_dir, run_id)
        manifest_path = contract.manifest_file(directory)
        if not manifest_path.exists():
            raise NothingPublished(f"published version {run_id} has no {manifest_path.name} (incomplete)")
        connection = duckdb.connect(str(contract.database_file(directory)), read_only=True)
        return Version(run_id, directory, connection, json.loads(manifest_path.read_text()))

    def close(self) -> None:
        with self._lock:
            if self._version is not None:
                self._version.retired = True
                self._version.close_if_idle()
                self._version = None

"""What a run's audit record says it ran on: code version, input files, metric definitions."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import duckdb

from finkpi import __version__
from finkpi.files import file_sha256
from finkpi.settings import Settings


def code_version(project_dir: Path) -> str:
    """The git commit (with `+dirty` when tracked files changed), else the package version.
    Asked where dbt_project.yml really lives: a project copy made of symlinks is no repository."""
    project_dir = (project_dir / "dbt_project.yml").resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, timeout=10
        )
        if commit.returncode == 0:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=project_dir,
                capture_output=True,
                text=True,
                timeout=10,
            )
            return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return f"finkpi {__version__}"


def input_file_hashes(settings: Settings) -> dict[str, str]:
    """SHA-256 of every registered source's files, deliveries included (`<source>/<path in its
    folder>`, finkpi/sources/), and of any other file under the data folder (by its path there),
    so nothing read goes unhashed."""
    hashes = {}
    for source, _table, path in settings.raw_files():  # base files and delivery files
        if path.is_file():
            hashes[source_file_key(settings, source.name, path)] = file_sha256(path)
    root = settings.data_dir
    if root.exists():
        for path in sorted(root.rglob("*")):
            key = str(path.relative_to(root))
            if path.is_file() and not path.name.startswith(".") and key not in hashes:
                hashes[key] = file_sha256(path)
    return dict(sorted(hashes.items()))


def source_file_key(settings: Settings, source: str, path: Path) -> str:
    """How the audit store names a source's file: `<source>/<path in its folder>`
    (`sap/salesOrder.csv`, `erp/deliveries/2025-11-15/sales_orders.csv`)."""
    return f"{source}/{Path(path).relative_to(settings.source_folder(source)).as_posix()}"


def definitions_hash(build_database: Path) -> str | None:
    """One hash over the metric catalog's definition hashes (metric name and hash, sorted)."""
    if not Path(build_database).exists():
        return None
    with duckdb.connect(str(build_database), read_only=True) as con:
        try:
            rows = con.execute(
                "select metric_name, definition_hash from metrics.metric_catalog order by metric_name"
            ).fetchall()
        except duckdb.CatalogException:
            return None
    return hashlib.sha256("\n".join(f"{name}:{digest}" for name, digest in rows).encode()).hexdigest()

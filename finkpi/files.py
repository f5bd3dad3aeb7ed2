"""Low-level file helpers shared by the audit store's input hashes, publish (version manifests,
closes) and OpenLineage (dataset facets). On the ground floor so that none of them has to import
another for a hash (see tests/test_layering.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

"""Tests, and the Dagster definitions they load, read dbt's artifacts from the settings' project
folder (each worker's copy: `sample_settings.project_dir`, `load_settings().project_dir`), never
from the repository's target/: that one is missing in a fresh clone, stale or partial elsewhere
(sqlfluff and `dg` write it), and under `-n 2` another process may be rewriting it."""

from __future__ import annotations

import re
from pathlib import Path

# the repository's project folder passed where dbt's artifacts are read
READS_THE_REPOSITORY_TARGET = re.compile(
    r'PROJECT_DIR\s*/\s*"target"|(load_catalog|for_project)\(PROJECT_DIR\b'
)


def test_no_test_and_no_dagster_definition_reads_dbt_artifacts_from_the_repository():
    tests = Path(__file__).parent
    root = tests.parent
    files = [*tests.rglob("*.py"), *(root / "orchestration").rglob("*.py")]
    offenders = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(files)
        if path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if READS_THE_REPOSITORY_TARGET.search(line)
    ]
    assert not offenders, "\n".join(offenders)

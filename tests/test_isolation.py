"""Tests read dbt's artifacts from their own project copy (`sample_settings.project_dir`, or
`load_settings().project_dir`), never from the repository's target/: that one is stale or partial
(sqlfluff and `dg` write it), and under `-n 2` another process may be rewriting it."""

from __future__ import annotations

import re
from pathlib import Path

# the repository's project folder passed where dbt's artifacts are read
READS_THE_REPOSITORY_TARGET = re.compile(
    r'PROJECT_DIR\s*/\s*"target"|(load_catalog|for_project)\(PROJECT_DIR\b'
)


def test_no_test_reads_dbt_artifacts_from_the_repository():
    tests = Path(__file__).parent
    offenders = [
        f"{path.relative_to(tests)}:{number}: {line.strip()}"
        for path in sorted(tests.rglob("*.py"))
        if path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if READS_THE_REPOSITORY_TARGET.search(line)
    ]
    assert not offenders, "\n".join(offenders)

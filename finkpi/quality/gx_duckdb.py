"""Great Expectations' SQL path on DuckDB, made to work: the one patch, in one place.

GX 1.24.1 with duckdb-engine 0.17.0 / SQLAlchemy 2.1.9 runs each metric query on a fresh pooled
connection that is closed (and so rolled back) before the result is fetched; DuckDB drops the
pending result and every expectation comes back `success=False` with `exception_info` set. It
does NOT raise. Upstream: great_expectations issues #10738 and #11579 (an open pull request adds a
native DuckDB engine; drop this module when a release has it).

The fix: treat duckdb like sqlite, one persisted connection per execution engine, by adding it to
`sqlalchemy_execution_engine._PERSISTED_CONNECTION_DIALECTS`. tests/quality/test_gx_duckdb.py
proves both that the unpatched path fails and that the patched one works.
"""

from __future__ import annotations

DUCKDB = "duckdb"


class _DialectName(str):
    """A dialect name as GX expects it in that tuple: comparable to a string, with `.value`."""

    @property
    def value(self) -> str:
        return str(self)


def is_patched() -> bool:
    # GX is imported by whoever validates (gx_runner's child process), never at import of finkpi
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    return any(str(getattr(d, "value", d)) == DUCKDB for d in engine._PERSISTED_CONNECTION_DIALECTS)


def apply() -> None:
    """Idempotent: persist one connection for DuckDB, the way GX does for sqlite."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    if not is_patched():
        engine._PERSISTED_CONNECTION_DIALECTS = (
            *engine._PERSISTED_CONNECTION_DIALECTS,
            _DialectName(DUCKDB),
        )


def remove() -> None:
    """Undo `apply` (for the test that shows the patch is needed)."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    engine._PERSISTED_CONNECTION_DIALECTS = tuple(
        d for d in engine._PERSISTED_CONNECTION_DIALECTS if str(getattr(d, "value", d)) != DUCKDB
    )

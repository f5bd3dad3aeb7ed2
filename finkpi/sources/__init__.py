"""The source registry: every source system finkpi reads, one entry each (docs/adding-a-source.md).

A new ERP or CRM is a module beside these (`finkpi source new NAME --kind erp|crm` writes it) and
one line in REGISTERED. Everything that touches raw files asks this registry; no module or macro
outside this package names a source.
"""

from __future__ import annotations

from finkpi.sources import crm, erp, sap
from finkpi.sources.registry import AsOfDate, Column, SourceSystem, SourceTable

# The registered source systems, in the order their files are checked, hashed and listed.
REGISTERED: tuple[SourceSystem, ...] = (
    erp.SOURCE,
    crm.SOURCE,
    sap.SOURCE,
)

SOURCES: dict[str, SourceSystem] = {source.name: source for source in REGISTERED}

__all__ = [
    "REGISTERED",
    "SOURCES",
    "AsOfDate",
    "Column",
    "SourceSystem",
    "SourceTable",
    "get",
    "run_date_source",
]


def get(name: str) -> SourceSystem:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(
            f"source system {name!r} is not registered (registered: {', '.join(SOURCES)}); "
            "add it to finkpi/sources/__init__.py (docs/adding-a-source.md)"
        ) from None


def run_date_source() -> SourceSystem:
    """The source whose business date is the run's as_of_date (exactly one sets it)."""
    (source,) = [source for source in REGISTERED if source.sets_run_date]
    return source

"""The source registry: every source system finkpi reads, one entry each (docs/adding-a-source.md).

An entry is a module of this package with a `SOURCE` (a `SourceSystem`): the bundled sample ERP
and CRM and the SAP extract first, then every other module here, by name. A new ERP or CRM is a
new module (`finkpi source new NAME --kind erp|crm` writes it); no list is edited. Everything
that touches raw files asks this registry; no module or macro outside this package names a source.
"""

from __future__ import annotations

import importlib
import pkgutil

from finkpi.sources import crm, erp, sap
from finkpi.sources.registry import (
    DELIVERIES_FOLDER,
    AsOfDate,
    Column,
    Company,
    SourceSystem,
    SourceTable,
    table_file_patterns,
    table_files,
)

BUNDLED: tuple[SourceSystem, ...] = (erp.SOURCE, crm.SOURCE, sap.SOURCE)
# the modules of this package that are no entry: what an entry is, and the scaffold
NOT_ENTRIES = {"registry", "scaffold"}


def _added() -> tuple[SourceSystem, ...]:
    """The entries of the other modules of this package (those with a SOURCE), by module name."""
    bundled = {source.name for source in BUNDLED}
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module.name in bundled | NOT_ENTRIES or module.ispkg:
            continue
        source = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SOURCE", None)
        if isinstance(source, SourceSystem):
            if source.name != module.name:
                raise ValueError(
                    f"finkpi/sources/{module.name}.py declares source {source.name!r}: name them alike"
                )
            found.append(source)
    return tuple(found)


# The registered source systems, in the order their files are checked, hashed and listed.
REGISTERED: tuple[SourceSystem, ...] = BUNDLED + _added()

SOURCES: dict[str, SourceSystem] = {source.name: source for source in REGISTERED}

__all__ = [
    "REGISTERED",
    "Company",
    "SOURCES",
    "AsOfDate",
    "Column",
    "SourceSystem",
    "SourceTable",
    "DELIVERIES_FOLDER",
    "table_file_patterns",
    "table_files",
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

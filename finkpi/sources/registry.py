"""What a source system is: one declaration per ERP or CRM, read by everything that touches its files.

A `SourceSystem` says where its files live (a folder setting and its environment variable), which
files it has with their column contract, types and keys, how its company's business date (as-of
date) is found, which company its data belongs to and which quality rules it adds. Settings,
the pre-flight check, provenance, both lineage paths, OpenLineage and the dbt macros
(`raw_source`, `join_rate`, via var `sources`) read it; none of them names a source.

This module is the floor below `finkpi.settings`: it imports nothing of finkpi's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KINDS = ("erp", "crm")
RAW_FORMATS = ("csv", "parquet")
# How a source's ledger rounds a document's amount in the reporting currency (README,
# "Rounding: revenue ties to the ledger"): `document`, the document's amount converted and
# rounded once as the ledger posts it, its lines converted one by one and the rounding difference
# on the last line; `line`, every line converted and rounded by itself (a ledger posting line by
# line).
REPORTING_ROUNDINGS = ("document", "line")
# A day's delivery: new files beside a source's base files, in a folder of their own,
# `<source folder>/deliveries/<batch>/<file>.<format>`, holding only the rows it adds, with the
# base file's header. Batches are read in name order (ISO dates sort as days); a table may have
# no file in a batch. (A complete extract that replaces everything is a new data folder instead,
# e.g. `data/landing/<batch>/`, and starts a full run.)
DELIVERIES_FOLDER = "deliveries"


def _table_files_in_folder(file_stem: str, file_format: str) -> tuple[str, str]:
    """A table's base file and the glob of its delivery files, relative to its source's folder."""
    name = f"{file_stem}.{file_format}"
    return name, f"{DELIVERIES_FOLDER}/*/{name}"


def table_file_patterns(folder: str, file_stem: str, file_format: str) -> tuple[str, str]:
    """Where one table's rows are: its base file, and the glob of its delivery files."""
    base, deliveries = _table_files_in_folder(file_stem, file_format)
    return f"{folder}/{base}", f"{folder}/{deliveries}"


def table_files(folder: Path, file_stem: str, file_format: str) -> list[Path]:
    """One table's files: the base file (whether it exists or not), then the delivery files that
    exist, in batch order."""
    folder = Path(folder)
    base, deliveries = _table_files_in_folder(file_stem, file_format)
    return [folder / base, *sorted(folder.glob(deliveries))]


@dataclass(frozen=True)
class Column:
    name: str  # as spelt in the file's header
    type: str  # the DuckDB type staging casts it to (every raw column is read as text)
    description: str = ""
    # The values the column may hold (a CRM stage, a case status); empty: any. The source's
    # validated model quarantines a record with another value (var `sources`, not_declared_value).
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceTable:
    """One raw file of a source: its dbt source table name, file name and column contract."""

    name: str  # the dbt source table (`source('<source>', '<name>')`)
    columns: tuple[Column, ...]
    file: str = ""  # the file name without extension (dbt `identifier`); default: the table name
    keys: tuple[str, ...] = ()  # the columns that identify a record
    # A delivery of this table brings new records only, never a restated one (transactions: orders,
    # invoices, ledger lines). Its staging model loads only the files not loaded yet; a delivery
    # of a table that does not append (master data, rates) makes an incremental run a full one
    # (finkpi/incremental.py).
    appends: bool = False
    # What dates a delivered record of an appending table: its column, or (parent table, key) for
    # lines dated by their header. A delivery dated before the run's window makes it a full run.
    dated_by: str | tuple[str, str] | None = None

    @property
    def file_stem(self) -> str:
        return self.file or self.name

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def declared_values(self) -> dict[str, list[str]]:
        """Column -> the values it may hold, for the columns that declare them (Column.values)."""
        return {column.name: list(column.values) for column in self.columns if column.values}


@dataclass(frozen=True)
class Company:
    """The company of a source whose rows carry no company code (a single-company CRM). A company
    the other sources do not know yet (its code is in no ERP's company master) joins dim_companies
    with these attributes."""

    code: str
    name: str = ""
    country: str = ""
    currency: str = ""


@dataclass(frozen=True)
class AsOfDate:
    """How a source's business date is found in its files: the newest date in one column (its
    first ten characters, so an ISO timestamp counts by its date)."""

    table: str
    column: str


@dataclass(frozen=True)
class SourceSystem:
    name: str  # dbt source name, folder names, `source_system` value of its rows
    kind: str  # erp | crm (which union branches and templates it takes)
    description: str
    tables: tuple[SourceTable, ...]
    # Where the files are: the folder in `folder_env`, else `default_folder` (relative to the
    # repository, as vendored data), else `<data_dir>/<name>` (the sample company's extracts).
    folder_env: str | None = None
    default_folder: str | None = None
    # csv | parquet, or None: the run's raw_format (FINKPI_RAW_FORMAT)
    raw_format: str | None = None
    # The company's business date: the newest date of one column, overridable in `as_of_env`.
    # None: the run's as_of_date (a source that reports on the group's business day).
    as_of: AsOfDate | None = None
    as_of_env: str | None = None
    # The run's own as_of_date is the as-of date of the source that sets it (exactly one).
    sets_run_date: bool = False
    # The company of a source whose rows carry no company code (a single-company CRM); None when
    # every row names its own (an ERP's company_code column).
    company: Company | None = None
    # The rates its amounts are converted with by join_rate (a dbt model: from_currency,
    # to_currency, rate_date, rate); None: the group's, those of the source that sets the run date.
    rates_model: str | None = None
    # The source's own quality rules (expectations/rules.yml format), relative to the project.
    rules_file: str | None = None
    # How its ledger rounds reporting-currency amounts: per document or per line
    # (REPORTING_ROUNDINGS); the revenue lines round the same way, so they tie to the ledger.
    reporting_rounding: str = "document"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"source {self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.raw_format is not None and self.raw_format not in RAW_FORMATS:
            raise ValueError(f"source {self.name}: raw_format must be one of {RAW_FORMATS}")
        if self.reporting_rounding not in REPORTING_ROUNDINGS:
            raise ValueError(
                f"source {self.name}: reporting_rounding must be one of {REPORTING_ROUNDINGS}, "
                f"not {self.reporting_rounding!r}"
            )
        if bool(self.folder_env) != bool(self.default_folder):
            raise ValueError(
                f"source {self.name}: a folder of its own needs both folder_env and default_folder"
            )
        if self.as_of is not None and self.as_of.table not in self.table_names:
            raise ValueError(
                f"source {self.name}: as_of reads table {self.as_of.table!r}, not one of its tables"
            )

    @property
    def company_code(self) -> str | None:
        return self.company.code if self.company else None

    @property
    def table_names(self) -> list[str]:
        return [table.name for table in self.tables]

    def table(self, name: str) -> SourceTable:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"source {self.name} has no table {name!r} (tables: {', '.join(self.table_names)})")

    @property
    def in_data_dir(self) -> bool:
        """Its files arrive in `<data_dir>/<name>/` with the other extracts of a batch."""
        return not (self.folder_env or self.default_folder)

    def default_location(self, data_dir: Path, repository: Path) -> Path:
        """The folder of the source's files when its setting (`folder_env`) is not set."""
        if self.in_data_dir:
            return Path(data_dir) / self.name
        return (repository / self.default_folder).resolve()

    def file_format(self, run_raw_format: str) -> str:
        return self.raw_format or run_raw_format


def tables_from_contract(
    contract: dict[str, list[tuple[str, str, str]]],
    keys: dict[str, tuple[str, ...]],
    files: dict[str, str] | None = None,
    appends: dict[str, str | tuple[str, str]] | None = None,
    values: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> tuple[SourceTable, ...]:
    """SourceTables from a table -> [(column, type, description)] contract, in its order;
    `appends` maps the tables whose deliveries bring new records only to what dates a record
    (SourceTable.appends, dated_by); `values` table -> column -> the values it may hold."""
    appends, values = appends or {}, values or {}
    for named, what in ((set(keys), "keys"), (set(appends), "appends"), (set(values), "values")):
        if unknown := named - set(contract):
            raise ValueError(f"{what} name tables that are not in the contract: {sorted(unknown)}")
    for table, declared in values.items():
        if unknown := set(declared) - {column[0] for column in contract[table]}:
            raise ValueError(f"values name columns that are not in {table}'s contract: {sorted(unknown)}")
    return tuple(
        SourceTable(
            name=table,
            columns=tuple(
                Column(*column, values=tuple(values.get(table, {}).get(column[0], ()))) for column in columns
            ),
            file=(files or {}).get(table, ""),
            keys=keys.get(table, ()),
            appends=table in appends,
            dated_by=appends.get(table),
        )
        for table, columns in contract.items()
    )

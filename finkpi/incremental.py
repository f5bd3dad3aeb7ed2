"""What an incremental run recomputes, decided once per run (README, "Incremental runs").

`finkpi run --incremental` asks for an incremental run; `plan` decides whether it may be one and
where its window starts, before anything is built:

- The build warehouse records the files it has loaded and their SHA-256 (`LOADED_FILES`), and
  a hash of what turned them into tables (`BUILT_WITH`: the dbt project's models, macros and
  seeds and the dbt variables but the run's dates), both written by `record_build` after every
  successful build. A run is incremental only if the definitions are the same, every file loaded
  before is still there unchanged and every new file is a delivery
  (`<source>/deliveries/<batch>/`) of a table whose deliveries bring new records only
  (`SourceTable.appends`). Anything else (a changed model or rule, a base file re-extracted, a
  delivery of master data, no record at all) makes it a full run, and the plan says why: rows
  built yesterday are kept only where today's definitions and files would build them the same.
- The window: the first day recomputed is the newest date of the incremental facts
  (`INCREMENTAL_FACTS`) minus the lookback (`incremental_lookback_days`), or `incremental_start`
  where set. Everything dated from that day on is recomputed: the facts' window, the month-end
  snapshots of the months from that day's month on, the metric values of the periods that end on
  or after it, and the window of the models that follow the facts (`WINDOWED_MODELS`). It is
  passed to dbt as `incremental_start` (an environment variable, `Settings.dbt_call`), so every
  model cuts at the same day.
- The dimensions: the metric values of periods before the window are kept from the last build
  (finkpi/metrics/export_scope.py) only if no dimension row they were sliced by changed.
  `dimension_rows` fingerprints the rows of marts.dim_* before the build, `after_build` compares
  after it: a row that changed or disappeared (a customer's region, a product's category) makes
  the exports recompute everything; added rows are fine.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb

from finkpi.audit.provenance import source_file_key
from finkpi.dbt_runner import dbt_variables
from finkpi.settings import Settings, business_day_sql, raw_reader_sql
from finkpi.sources import DELIVERIES_FOLDER, get

# The incremental facts (models/marts, `materialized='incremental'`) -> the date column their
# window (macros/incremental.sql) is cut by.
INCREMENTAL_FACTS = {
    "fct_gl_entries": "posting_date",
    "fct_invoice_lines": "revenue_date",
    "fct_sales_order_lines": "order_date",
}

# The month-end snapshots (incremental on DuckDB at the grain of a month, macros/incremental.sql):
# an incremental run rebuilds the rows of this column from the window's month on.
INCREMENTAL_SNAPSHOTS = {
    "fct_ar_snapshots": "snapshot_month",
    "fct_ap_snapshots": "snapshot_month",
    "fct_inventory_snapshots": "snapshot_month",
}

# The other models incremental by date, which recompute the same window but do not choose it
# (their newest date follows a fact's, or lags behind it, as a delivery does) -> what dates a row
# of it (the model's config `incremental_recompute_also` adds the rows every incremental run
# recomputes: invoices without a date, undelivered lines). `yesterday_build` takes their later rows out.
WINDOWED_MODELS = {
    "intermediate.int_invoices_validated": "invoice_date",
    "intermediate.int_invoice_lines_converted": "invoice_date",
    "marts.fct_deliveries": "greatest(order_date, actual_date)",
}

# In the build warehouse: the source files its tables were built from (`<source>/<path in its
# folder>`, as the audit store names them) with their SHA-256.
LOADED_FILES = "build_state.loaded_files"
# In the build warehouse: the hash of the definitions its tables were built with (`build_definitions_hash`).
BUILT_WITH = "build_state.built_with"

# What turns the files into tables: a change to any of it rebuilds everything.
DEFINITIONS = ("models", "macros", "seeds", "dbt_project.yml")
# The dbt variable of the window that moves with every run: not a definition (the run's dates are
# no dbt variables at all, Settings.dbt_call).
RUN_VARIABLES = ("incremental_lookback_days",)


@dataclass(frozen=True)
class IncrementalPlan:
    """A run's decision: incremental from `window_start`, or full (`full_because` says why when an
    incremental run was asked for)."""

    window_start: date | None = None
    new_files: tuple[str, ...] = ()  # the delivery files this run loads for the first time
    full_because: str | None = None
    # set after the build (`after_build`): which dimension rows changed, so the metric exports
    # cannot keep earlier periods' values
    dimensions_changed: str | None = None

    @property
    def incremental(self) -> bool:
        return self.window_start is not None

    def describe(self) -> str:
        if self.incremental:
            return (
                f"incremental run: recomputes from {self.window_start.isoformat()};"
                f" {len(self.new_files)} new delivery file(s)"
            )
        if self.full_because:
            return f"full run although --incremental was asked for: {self.full_because}"
        return "full run"

    def after_build(self, settings: Settings, before: dict[str, set[int]] | None) -> IncrementalPlan:
        """This plan with what the build changed in the dimensions: `before` is `dimension_rows`
        taken before it (None in a full run: nothing to compare)."""
        if before is None:
            return self
        return replace(self, dimensions_changed=changed_dimensions(settings, before))

    def apply(self, settings: Settings) -> Settings:
        """The run's settings under this plan: incremental from the window, or full."""
        return replace(settings, incremental=self.incremental, incremental_start=self.window_start)


def plan(settings: Settings, input_files: dict[str, str]) -> IncrementalPlan:
    """Decide a run (see the module's docstring). `input_files` are this run's file hashes
    (finkpi.audit.provenance.input_file_hashes, which the run's start record holds)."""
    if not settings.incremental:
        return IncrementalPlan()
    database = Path(settings.build_database)
    if not database.exists():
        return IncrementalPlan(full_because="there is no build warehouse yet")
    with duckdb.connect(str(database), read_only=True) as con:
        loaded, built_with = _recorded_build(con)
        if loaded is None:
            return IncrementalPlan(
                full_because=f"the build warehouse has no record of the files it loaded ({LOADED_FILES})"
            )
        newest = _newest_fact_dates(con)
    if built_with != build_definitions_hash(settings):
        return IncrementalPlan(
            full_because="the definitions changed since the last build (dbt models, macros, seeds,"
            " dbt_project.yml, quality rules or settings)"
        )
    source_files = source_file_tables(settings)
    current = {key: digest for key, digest in input_files.items() if key in source_files}
    for key, digest in sorted(loaded.items()):
        if key not in current:
            return IncrementalPlan(full_because=f"{key} was loaded before and is gone now")
        if current[key] != digest:
            return IncrementalPlan(full_because=f"{key} changed since it was loaded")
    new_files = tuple(sorted(set(current) - set(loaded)))
    for key in new_files:
        table, delivered = source_files[key]
        if not delivered:
            return IncrementalPlan(full_because=f"{key} is a new base file, not a delivery")
        if not table.appends:
            return IncrementalPlan(
                full_because=f"{key} delivers {table.name}, whose deliveries may restate loaded records"
            )
    missing = [fact for fact, newest_date in newest.items() if newest_date is None]
    if missing:
        return IncrementalPlan(full_because=f"{', '.join(missing)} is empty or not built yet")
    window_start = settings.incremental_start or (
        min(newest.values()) - timedelta(days=settings.incremental_lookback_days)
    )
    for key in new_files:  # a late record would fall before the window and be missed
        earliest = earliest_delivered_date(settings, key, source_files)
        if earliest is not None and earliest < window_start:
            return IncrementalPlan(
                full_because=f"{key} delivers records dated {earliest.isoformat()}, before the"
                f" window's first day {window_start.isoformat()}"
            )
    return IncrementalPlan(window_start=window_start, new_files=new_files)


def earliest_delivered_date(settings: Settings, key: str, source_files: dict[str, tuple]) -> date | None:
    """The earliest business date of the records in one delivery file (`SourceTable.dated_by`:
    its own date column, or for lines their header's, looked up in every file of the header
    table). The first ten characters are the ISO date, also of a timestamp. None: no dated record."""
    table, _delivered = source_files[key]
    source = key.split("/", 1)[0]
    path = settings.source_folder(source) / key.split("/", 1)[1]
    file_format = settings.source_format(source)
    delivery = raw_reader_sql(file_format, [path])
    if isinstance(table.dated_by, str):
        query = f"select min({business_day_sql(table.dated_by)}) from {delivery}"
    else:
        parent, join_key = table.dated_by
        parent_column = get(source).table(parent).dated_by
        headers = raw_reader_sql(
            file_format, [p for p in settings.table_files(source, parent) if p.is_file()]
        )
        query = (
            f"select min({business_day_sql(parent_column, 'header')}) from {delivery} as line"
            f" join {headers} as header on trim(line.{join_key}) = trim(header.{join_key})"
        )
    with duckdb.connect() as con:
        (earliest,) = con.execute(query).fetchone()
    return earliest


def source_file_tables(settings: Settings) -> dict[str, tuple]:
    """Every registered source file by its key (`<source>/<path in its folder>`) -> (its
    SourceTable, whether it is a delivery file)."""
    return {
        source_file_key(settings, source.name, path): (
            table,
            DELIVERIES_FOLDER in path.relative_to(settings.source_folder(source.name)).parts,
        )
        for source, table, path in settings.raw_files()
        if path.is_file()
    }


def build_definitions_hash(settings: Settings) -> str:
    """SHA-256 of what turns the raw files into tables: every file of `DEFINITIONS` in the dbt
    project, and the dbt variables (quality rules included) but the run's dates."""
    digest = hashlib.sha256()
    project = Path(settings.project_dir)
    for part in DEFINITIONS:
        for path in _files_under(project / part):
            digest.update(path.relative_to(project).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    variables = dbt_variables(settings.dbt_call()[0])
    digest.update(
        json.dumps(
            {k: v for k, v in variables.items() if k not in RUN_VARIABLES}, sort_keys=True, default=str
        ).encode()
    )
    return digest.hexdigest()


def _files_under(path: Path) -> list[Path]:
    """A file, or every file under a folder, sorted (symlinks followed: a project copy may be
    made of them)."""
    if path.is_file():
        return [path]
    found = [Path(folder) / name for folder, _, names in os.walk(path, followlinks=True) for name in names]
    return sorted(found)


def record_build(settings: Settings, input_files: dict[str, str]) -> None:
    """After a successful build: the source files the build warehouse now holds, with their
    hashes, and the definitions it was built with (the next incremental run compares both)."""
    source_files = source_file_tables(settings)
    rows = [(key, digest) for key, digest in sorted(input_files.items()) if key in source_files]
    schema = LOADED_FILES.split(".")[0]
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create or replace table {LOADED_FILES} (file_key varchar primary key, sha256 varchar)")
        if rows:
            con.executemany(f"insert into {LOADED_FILES} values (?, ?)", rows)
        con.execute(
            f"create or replace table {BUILT_WITH} as select ? as definitions_sha256",
            [build_definitions_hash(settings)],
        )


def _recorded_build(con) -> tuple[dict[str, str] | None, str | None]:
    """The files the build warehouse loaded (None: no record) and its definitions' hash."""
    try:
        loaded = dict(con.execute(f"select file_key, sha256 from {LOADED_FILES}").fetchall())
        (built_with,) = con.execute(f"select definitions_sha256 from {BUILT_WITH}").fetchone()
    except duckdb.CatalogException:
        return None, None
    return loaded, built_with


def _newest_fact_dates(con) -> dict[str, date | None]:
    newest = {}
    for fact, column in INCREMENTAL_FACTS.items():
        try:
            (newest[fact],) = con.execute(f"select max({column}) from marts.{fact}").fetchone()
        except duckdb.CatalogException:
            newest[fact] = None
    return newest


# Columns of a dimension that follow the run's as_of_date rather than the data: not fingerprinted
AS_OF_COLUMNS = {"dim_dates": ("is_through_as_of",)}


def dimension_rows(settings: Settings) -> dict[str, set[int]] | None:
    """Before an incremental run's build: per dimension table (marts.dim_*) of the build warehouse,
    the hashes of its rows as the last build left them (None in a full run). A date on or after the
    window start is hashed as NULL: a value the new facts set (a customer's first invoice date
    inside the window) is an addition, not a change of what earlier periods were sliced by."""
    if not settings.incremental_start:
        return None
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        return _dimension_hashes(con, settings.incremental_start)


def changed_dimensions(settings: Settings, before: dict[str, set[int]]) -> str | None:
    """Which dimension rows of `before` (`dimension_rows`) changed or disappeared in the build
    warehouse now, said in a sentence; None when every one is still there as it was."""
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        after = _dimension_hashes(con, settings.incremental_start)
    changed = []
    for table, rows in sorted(before.items()):
        if table not in after:
            changed.append(f"marts.{table} is gone")
        elif missing := len(rows - after[table]):
            changed.append(f"marts.{table}: {missing} row(s) changed or disappeared")
    return "; ".join(changed) or None


def _dimension_hashes(con, window_start: date) -> dict[str, set[int]]:
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
            " and table_name like 'dim\\_%' escape '\\' order by 1"
        ).fetchall()
    ]
    hashes = {}
    for table in tables:
        columns = [
            f'case when "{name}" >= date \'{window_start.isoformat()}\' then null else "{name}" end'
            if kind in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
            else f'"{name}"'
            for name, kind in con.execute(
                "select column_name, data_type from duckdb_columns()"
                " where schema_name = 'marts' and table_name = ? order by column_index",
                [table],
            ).fetchall()
            if name not in AS_OF_COLUMNS.get(table, ())
        ]
        rows = con.execute(f"select distinct hash({', '.join(columns)}) from marts.{table}").fetchall()
        hashes[table] = {digest for (digest,) in rows}
    return hashes

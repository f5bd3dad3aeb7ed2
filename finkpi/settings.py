"""Environment -> dbt target, paths and business settings, in one place (the ground floor).

Everything else asks `load_settings()` instead of reading environment variables itself, so a new
environment or path is one change here. Defaults need no configuration: a fresh clone runs the
bundled sample company on the embedded DuckDB under `warehouse/`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb

from finkpi.sources import (
    REGISTERED,
    SourceSystem,
    SourceTable,
    get,
    run_date_source,
    table_file_patterns,
    table_files,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent

# The run's dates -> the environment variable a dbt call gets it in (`Settings.dbt_call`): not dbt
# vars, whose every change makes dbt parse the whole project again.
RUN_DATE_ENVIRONMENT = {
    "as_of_date": "FINKPI_RUN_AS_OF_DATE",
    "source_as_of_dates": "FINKPI_RUN_SOURCE_AS_OF_DATES",  # JSON: source name -> date
    "incremental_start": "FINKPI_RUN_INCREMENTAL_START",  # empty: none
}

# Environment name -> dbt target in profiles.yml. `ci` is `local` with CI's paths; `spark` is the
# scale-out target (dbt-spark session, an optional extra).
DBT_TARGETS = {"local": "local", "ci": "local", "spark": "spark"}


@dataclass(frozen=True)
class Settings:
    env: str = "local"
    project_dir: Path = PROJECT_DIR
    # Raw extracts: <data_dir>/<source>/<table>.<raw_format>, unless a source has a folder of its
    # own (finkpi/sources/: its folder setting, e.g. FINKPI_SAP_DIR); a day's delivery adds files
    # in <source folder>/deliveries/<batch>/ (`table_files`)
    data_dir: Path = PROJECT_DIR / "data" / "sample"
    # source name -> its folder, where set (else the registry's default)
    source_folders: dict[str, Path] = field(default_factory=dict)
    # source name -> its company's business date, where set (else found in its files, see
    # `source_as_of_date`); the run's own as_of_date is `as_of_date`
    source_as_of_dates: dict[str, date] = field(default_factory=dict)
    raw_format: str = "csv"
    warehouse_dir: Path = PROJECT_DIR / "warehouse"
    # None: the latest business date found in the data (see `resolve_as_of_date`).
    as_of_date: date | None = None
    fiscal_year_start_month: int = 1
    reporting_currency: str = "EUR"
    dbt_threads: int = 2
    # published versions kept for rollback (the current one is never deleted)
    keep_versions: int = 5
    # the HTTP API's key file (keys as SHA-256 hashes mapped to roles; see finkpi/api/access.py)
    api_keys: Path = PROJECT_DIR / "config" / "api_keys.yml"
    # OpenLineage run events: to files under <warehouse>/openlineage/ unless a URL (Marquez) is set
    openlineage_url: str | None = None
    openlineage_endpoint: str = "api/v1/lineage"
    openlineage_disabled: bool = False
    # dbt builds the incremental facts incrementally (a window of recent days) instead of in full
    incremental: bool = False
    incremental_lookback_days: int = 3
    # the first day an incremental run recomputes (finkpi/incremental.py resolves it once per run
    # from the build warehouse; dbt's window, the snapshots and the exports all start there).
    # None: dbt's own default (the newest date built minus the lookback), or a full run.
    incremental_start: date | None = None
    extra_vars: dict = field(default_factory=dict)

    @property
    def dbt_target(self) -> str:
        try:
            return DBT_TARGETS[self.env]
        except KeyError:
            raise ValueError(
                f"unknown FINKPI_ENV {self.env!r}; expected one of {sorted(DBT_TARGETS)}"
            ) from None

    @property
    def seeds_dir(self) -> Path:
        """The governed reference data (dbt seeds), as its real path: lineage and OpenLineage name
        the files an auditor can open, also when `project_dir` is a copy made of symlinks."""
        return (self.project_dir / "seeds").resolve()

    @property
    def build_database(self) -> Path:
        """The build warehouse dbt writes (never read by BI tools)."""
        return self.warehouse_dir / "finkpi.duckdb"

    @property
    def closed_periods(self) -> list[str]:
        """Closed months ("YYYY-MM"), as `finkpi close`/`reopen` last wrote them (the audit store
        holds the record; `closed/periods.json` is its projection for dbt and the rules)."""
        import json

        path = self.warehouse_dir / "closed" / "periods.json"
        if not path.exists():
            return []
        return sorted(json.loads(path.read_text())["closed_periods"])

    def source_folder(self, source: str) -> Path:
        """The folder of one source system's files (its setting, else the registry's default)."""
        if source in self.source_folders:
            return self.source_folders[source]
        # a default folder is the repository's (vendored data, as data/sample), not the dbt
        # project's: a project copy (the benchmark's, Dagster's) holds no data
        return get(source).default_location(self.data_dir, PROJECT_DIR)

    def source_path(self, source: str, table: str) -> Path:
        """The base file of one table of a registered source (its deliveries: `table_files`)."""
        system = get(source)
        return self.source_folder(source) / f"{system.table(table).file_stem}.{self.source_format(source)}"

    def table_files(self, source: str, table: str) -> list[Path]:
        """Every file of one table: the base file (whether it exists or not), then its delivery
        files in batch order (finkpi/sources/registry.py, DELIVERIES_FOLDER)."""
        system = get(source)
        return table_files(
            self.source_folder(source), system.table(table).file_stem, self.source_format(source)
        )

    def file_patterns(self, source: str) -> list[str]:
        """A source's base file and delivery glob, with `{identifier}` for the file name."""
        folder = str(self.source_folder(source).resolve())
        return list(table_file_patterns(folder, "{identifier}", self.source_format(source)))

    def raw_files(self) -> list[tuple[SourceSystem, SourceTable, Path]]:
        """Every registered source's files, in registry order: each table's base file (whether it
        exists or not), then its delivery files."""
        return [
            (source, table, path)
            for source in REGISTERED
            for table in source.tables
            for path in self.table_files(source.name, table.name)
        ]

    def source_format(self, source: str) -> str:
        return get(source).file_format(self.raw_format)

    def source_as_of_date(self, source: str) -> date:
        """The business date one source's data reaches: set, else the newest date of its as-of
        column, else (a source without one) the run's as_of_date."""
        system = get(source)
        if source in self.source_as_of_dates:
            return self.source_as_of_dates[source]
        if system.sets_run_date and self.as_of_date:
            return self.as_of_date
        if system.as_of is None:
            return self.as_of_date or resolve_as_of_date(self)
        return resolve_source_as_of_date(self, system)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    def resolved(self) -> Settings:
        """These settings with the as-of dates resolved from the raw files (where not set). A run
        pins them once at its start: every stage, dbt call and child process then sees the same
        dates, and none reads the files again for them."""
        pinned = replace(self, as_of_date=self.as_of_date or resolve_as_of_date(self))
        return replace(
            pinned,
            source_as_of_dates={source.name: pinned.source_as_of_date(source.name) for source in REGISTERED},
        )

    def pinned_dates(self) -> dict[str, str]:
        """The resolved as-of dates as text (`as_of_date` and one per source): what a run hands to
        its steps in other processes (Dagster run tags), read back by `with_pinned_dates`."""
        resolved = self.resolved()
        return {"as_of_date": resolved.as_of_date.isoformat()} | {
            source: day.isoformat() for source, day in resolved.source_as_of_dates.items()
        }

    def with_pinned_dates(self, dates: dict[str, str]) -> Settings:
        """These settings with the as-of dates of `pinned_dates`: `resolved()` then reads no file."""
        pinned = {name: date.fromisoformat(day) for name, day in dates.items()}
        as_of_date = pinned.pop("as_of_date")
        return replace(self, as_of_date=as_of_date, source_as_of_dates=pinned)

    def dbt_environment(self) -> dict[str, str]:
        """Environment variables profiles.yml and the source definitions read (absolute paths, so a
        copy of the project, as Dagster makes, still finds the data)."""
        return {
            "FINKPI_DBT_TARGET": self.dbt_target,
            "FINKPI_WAREHOUSE_DIR": str(self.warehouse_dir.resolve()),
            "FINKPI_DATA_DIR": str(self.data_dir.resolve()),
            "FINKPI_DBT_THREADS": str(self.dbt_threads),
            # a source with a folder of its own: its dbt source definition reads this variable
            **{
                source.folder_env: str(self.source_folder(source.name).resolve())
                for source in REGISTERED
                if source.folder_env
            },
        }

    def dbt_call(self) -> tuple[dict, dict[str, str]]:
        """What one dbt call gets: its `--vars` (`dbt_vars` without the run's dates, so dbt's vars
        hash stays the same from day to day and a run whose definitions did not change parses
        partially) and its environment (`dbt_environment` plus the run's dates as
        `RUN_DATE_ENVIRONMENT`, which the macros read: macros/time.sql, sources.sql,
        incremental.sql; see docs/toolchain.md)."""
        variables = self.dbt_vars()
        sources = variables["sources"]
        dates = {
            "as_of_date": variables["as_of_date"],
            "source_as_of_dates": json.dumps(
                {name: source["as_of_date"] for name, source in sources.items()}
            ),
            "incremental_start": variables["incremental_start"] or "",
        }
        fixed = {k: v for k, v in variables.items() if k not in ("as_of_date", "incremental_start")}
        fixed["sources"] = {
            name: {k: v for k, v in source.items() if k != "as_of_date"} for name, source in sources.items()
        }
        environment = {RUN_DATE_ENVIRONMENT[name]: value for name, value in dates.items()}
        return fixed, self.dbt_environment() | environment

    def dbt_vars(self) -> dict:
        """Every dbt variable the models read, the run's dates included (a dbt call gets those as
        environment variables instead: `dbt_call`)."""
        # the run's date read once here, not again by source_vars (unpinned settings only: a run's
        # settings are resolved() and read no file)
        pinned = self if self.as_of_date else replace(self, as_of_date=resolve_as_of_date(self))
        return {
            "as_of_date": pinned.as_of_date.isoformat(),
            "fiscal_year_start_month": self.fiscal_year_start_month,
            "reporting_currency": self.reporting_currency,
            "raw_format": self.raw_format,
            "closed_periods": self.closed_periods,
            "incremental_lookback_days": self.incremental_lookback_days,
            "incremental_start": self.incremental_start.isoformat() if self.incremental_start else None,
            "sources": pinned.source_vars(),
            "group_rates_model": run_date_source().rates_model,
            **self.extra_vars,
        }

    def source_vars(self) -> dict:
        """The var `sources`: per registered source system, what the dbt macros need to know of it
        (macros/sources.sql, raw_source, join_rate): the business date its data reaches, the
        company of a source whose rows carry none, its folder, files and file format, the tables
        that append, its rates."""
        settings = self if self.as_of_date else replace(self, as_of_date=resolve_as_of_date(self))
        group_rates = run_date_source().rates_model
        return {
            source.name: {
                "as_of_date": settings.source_as_of_date(source.name).isoformat(),
                "company_code": source.company_code,
                # a company the ERPs' company masters do not hold joins dim_companies with these
                "company": {
                    "name": source.company.name,
                    "country": source.company.country,
                    "currency": source.company.currency,
                }
                if source.company
                else None,
                "folder": str(settings.source_folder(source.name).resolve()),
                "raw_format": settings.source_format(source.name),
                # a table's files: its base file and the glob of its deliveries, `{identifier}`
                # for its file name; as a DuckDB list for the source definitions (dbt-duckdb
                # fills in the identifier), as a list for Spark's load_raw_sources
                "file_patterns": (patterns := settings.file_patterns(source.name)),
                "files": _sql_list(patterns),
                # the tables whose deliveries bring new records only (SourceTable.appends): their
                # staging models load only the files not loaded yet (macros/raw_source.sql)
                "appends": [table.name for table in source.tables if table.appends],
                # table -> column -> the values it may hold (macros/sources.sql, not_declared_value)
                "values": {
                    table.name: table.declared_values for table in source.tables if table.declared_values
                },
                "rates_model": source.rates_model or group_rates,
                # per document or per line, as its ledger rounds (macros/currency.sql)
                "reporting_rounding": source.reporting_rounding,
            }
            for source in REGISTERED
        }


def _sql_list(values) -> str:
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"[{quoted}]"


def load_settings(**overrides) -> Settings:
    """Settings from the environment (FINKPI_*), then explicit overrides."""
    env = os.environ
    values: dict = {}
    if env.get("FINKPI_PROJECT_DIR"):
        # a copy of the dbt project with its own target/ and logs/ (each pytest-xdist worker has
        # one: dbt, MetricFlow and Dagster write and read <project>/target)
        values["project_dir"] = Path(env["FINKPI_PROJECT_DIR"]).resolve()
    if "FINKPI_ENV" in env:
        values["env"] = env["FINKPI_ENV"]
    if "FINKPI_DATA_DIR" in env:
        values["data_dir"] = Path(env["FINKPI_DATA_DIR"]).resolve()
    # each source's own folder and business date, in the variables its registry entry names
    folders = {
        s.name: Path(env[s.folder_env]).resolve()
        for s in REGISTERED
        if s.folder_env and env.get(s.folder_env)
    }
    if folders:
        values["source_folders"] = folders
    as_of_dates = {
        s.name: date.fromisoformat(env[s.as_of_env])
        for s in REGISTERED
        if s.as_of_env and env.get(s.as_of_env)
    }
    if as_of_dates:
        values["source_as_of_dates"] = as_of_dates
    if "FINKPI_RAW_FORMAT" in env:
        values["raw_format"] = env["FINKPI_RAW_FORMAT"]
    if "FINKPI_WAREHOUSE_DIR" in env:
        values["warehouse_dir"] = Path(env["FINKPI_WAREHOUSE_DIR"]).resolve()
    if env.get("FINKPI_AS_OF_DATE"):
        values["as_of_date"] = date.fromisoformat(env["FINKPI_AS_OF_DATE"])
    if "FINKPI_FISCAL_YEAR_START_MONTH" in env:
        values["fiscal_year_start_month"] = int(env["FINKPI_FISCAL_YEAR_START_MONTH"])
    if "FINKPI_REPORTING_CURRENCY" in env:
        values["reporting_currency"] = env["FINKPI_REPORTING_CURRENCY"]
    if "FINKPI_KEEP_VERSIONS" in env:
        values["keep_versions"] = int(env["FINKPI_KEEP_VERSIONS"])
    if "FINKPI_API_KEYS" in env:
        values["api_keys"] = Path(env["FINKPI_API_KEYS"]).resolve()
    if env.get("OPENLINEAGE_URL"):
        values["openlineage_url"] = env["OPENLINEAGE_URL"]
    if env.get("OPENLINEAGE_ENDPOINT"):
        values["openlineage_endpoint"] = env["OPENLINEAGE_ENDPOINT"]
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        values["openlineage_disabled"] = True
    if "FINKPI_INCREMENTAL" in env:
        values["incremental"] = env["FINKPI_INCREMENTAL"].strip().lower() in ("1", "true", "yes")
    if "FINKPI_INCREMENTAL_LOOKBACK_DAYS" in env:
        values["incremental_lookback_days"] = int(env["FINKPI_INCREMENTAL_LOOKBACK_DAYS"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    if settings.raw_format not in ("csv", "parquet"):
        raise ValueError(f"FINKPI_RAW_FORMAT must be csv or parquet, not {settings.raw_format!r}")
    if not 1 <= settings.fiscal_year_start_month <= 12:
        raise ValueError("FINKPI_FISCAL_YEAR_START_MONTH must be 1..12")
    if settings.keep_versions < 1:
        raise ValueError("FINKPI_KEEP_VERSIONS must be at least 1")
    if settings.incremental_lookback_days < 0:
        raise ValueError("FINKPI_INCREMENTAL_LOOKBACK_DAYS must be 0 or more")
    settings.dbt_target  # noqa: B018 - validates env early, with a clear message
    return settings


def resolve_as_of_date(settings: Settings) -> date:
    """The run's business date: the as-of date of the source that sets it (the sample ERP: the
    last day with a booked sales order). A business date, not a load date: it moves only when the
    source books something new."""
    return resolve_source_as_of_date(settings, run_date_source(), override_env="FINKPI_AS_OF_DATE")


def resolve_source_as_of_date(
    settings: Settings, source: SourceSystem, override_env: str | None = None
) -> date:
    """A source's business date: the newest date in its as-of column (the first ten characters,
    so a timestamp counts by its day). Each company's freshness and date rules are judged
    against its own date."""
    override = override_env or source.as_of_env or "its as-of date"
    table = source.table(source.as_of.table)
    path, *deliveries = settings.table_files(source.name, table.name)
    if not path.exists():
        raise FileNotFoundError(
            f"cannot infer the as-of date of source {source.name}: {path} does not exist "
            f"(set {source.folder_env or 'FINKPI_DATA_DIR'} to its folder, or {override})"
        )
    reader = raw_reader_sql(settings.source_format(source.name), [path, *deliveries])
    with duckdb.connect() as con:  # the newest date across the base file and its deliveries
        (latest,) = con.execute(
            f"select max({business_day_sql(source.as_of.column)}) from {reader}"
        ).fetchone()
    if latest is None:
        raise ValueError(
            f"cannot infer the as-of date of source {source.name}: {path} has no date in "
            f"{source.as_of.column} (set {override})"
        )
    return latest


def raw_reader_sql(file_format: str, files) -> str:
    """DuckDB's reader of raw files (a list), every column as text: how finkpi's own Python reads
    a source's files (the as-of date, the incremental plan's late-delivery check, the simulated
    delivery). dbt's reader of the same files is var `raw_readers` in dbt_project.yml."""
    listed = ", ".join("'" + str(file).replace("'", "''") + "'" for file in files)
    if file_format == "parquet":
        return f"read_parquet([{listed}])"
    return f"read_csv([{listed}], all_varchar = true, header = true, quote = '\"', escape = '\"')"


def business_day_sql(column: str, alias: str | None = None) -> str:
    """The business day of a raw column (SQL): its first ten characters as an ISO date, so a
    timestamp (CRM) counts by its day; NULL where it is not a date."""
    quoted = '"' + column.replace('"', '""') + '"'
    return f"try_cast(left(trim(cast({alias + '.' if alias else ''}{quoted} as varchar)), 10) as date)"

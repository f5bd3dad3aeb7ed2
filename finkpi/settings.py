"""Environment -> dbt target, paths and business settings, in one place (the ground floor).

Everything else asks `load_settings()` instead of reading environment variables itself, so a new
environment or path is one change here. Defaults need no configuration: a fresh clone runs the
bundled sample company on the embedded DuckDB under `warehouse/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Environment name -> dbt target in profiles.yml. `ci` is `local` with CI's paths; `spark` is the
# scale-out target (dbt-spark session, an optional extra).
DBT_TARGETS = {"local": "local", "ci": "local", "spark": "spark"}

DEFAULT_SOURCES = ("erp", "crm")


@dataclass(frozen=True)
class Settings:
    env: str = "local"
    project_dir: Path = PROJECT_DIR
    # Raw extracts: <data_dir>/<source>/<table>.<raw_format>
    data_dir: Path = PROJECT_DIR / "data" / "sample"
    # The second ERP: SAP's SHINE EPM sample (real data, vendored; README "Adding a source system")
    sap_dir: Path = PROJECT_DIR / "data" / "reference" / "sap"
    # None: the SAP company's own business date, its latest sales order (date rules are per company)
    sap_as_of_date: date | None = None
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

    def source_path(self, source: str, table: str) -> Path:
        return self.data_dir / source / f"{table}.{self.raw_format}"

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    def resolved(self) -> Settings:
        """These settings with the as-of dates resolved from the raw files (where not set). A run
        pins them once at its start: every stage, dbt call and child process then sees the same
        dates, and none reads the files again for them."""
        return replace(
            self,
            as_of_date=self.as_of_date or resolve_as_of_date(self),
            sap_as_of_date=self.sap_as_of_date or resolve_sap_as_of_date(self),
        )

    def dbt_environment(self) -> dict[str, str]:
        """Environment variables profiles.yml and the source definitions read (absolute paths, so a
        copy of the project, as Dagster makes, still finds the data)."""
        return {
            "FINKPI_DBT_TARGET": self.dbt_target,
            "FINKPI_WAREHOUSE_DIR": str(self.warehouse_dir.resolve()),
            "FINKPI_DATA_DIR": str(self.data_dir.resolve()),
            "FINKPI_SAP_DIR": str(self.sap_dir.resolve()),
            "FINKPI_DBT_THREADS": str(self.dbt_threads),
        }

    def dbt_vars(self) -> dict:
        as_of = self.as_of_date or resolve_as_of_date(self)
        return {
            "as_of_date": as_of.isoformat(),
            "fiscal_year_start_month": self.fiscal_year_start_month,
            "reporting_currency": self.reporting_currency,
            "raw_format": self.raw_format,
            "closed_periods": self.closed_periods,
            "sap_as_of_date": (self.sap_as_of_date or resolve_sap_as_of_date(self)).isoformat(),
            "incremental_lookback_days": self.incremental_lookback_days,
            "sources": self.source_vars(),
            **self.extra_vars,
        }


    def source_vars(self) -> dict:
        """Per source system, what its dbt models need to know of it (macros/sources.sql): the
        business date its data reaches (date rules and published periods are judged per company)
        and, for a source whose rows carry no company, the company its data belongs to."""
        as_of = (self.as_of_date or resolve_as_of_date(self)).isoformat()
        sap_as_of = (self.sap_as_of_date or resolve_sap_as_of_date(self)).isoformat()
        return {
            "erp": {"as_of_date": as_of, "company_code": None},
            "crm": {"as_of_date": as_of, "company_code": "DE01"},
            "sap": {"as_of_date": sap_as_of, "company_code": "EPM1"},
        }


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
    if env.get("FINKPI_SAP_DIR"):
        values["sap_dir"] = Path(env["FINKPI_SAP_DIR"]).resolve()
    if env.get("FINKPI_SAP_AS_OF_DATE"):
        values["sap_as_of_date"] = date.fromisoformat(env["FINKPI_SAP_AS_OF_DATE"])
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
    """The latest business date in the data: the last day with a booked sales order.

    A business date, not a load date: it moves only when the ERP books something new.
    """
    import duckdb

    path = settings.source_path("erp", "sales_orders")
    if not path.exists():
        raise FileNotFoundError(f"cannot infer as_of_date: {path} does not exist (set FINKPI_AS_OF_DATE)")
    reader = "read_csv" if settings.raw_format == "csv" else "read_parquet"
    options = ", all_varchar = true" if settings.raw_format == "csv" else ""
    with duckdb.connect() as con:
        (latest,) = con.execute(
            f"select max(cast(order_date as date)) from {reader}(?{options})", [str(path)]
        ).fetchone()
    if latest is None:
        raise ValueError(f"cannot infer as_of_date: {path} has no orders (set FINKPI_AS_OF_DATE)")
    return latest


def resolve_sap_as_of_date(settings: Settings) -> date:
    """The SAP company's business date: its latest sales order (`HISTORY.CREATEDAT`).

    The SAP extract is a company of its own with its own history (2014-2022), so its freshness and
    "future date" rules are judged against its own date, not the sample company's.
    """
    import duckdb

    path = settings.sap_dir / "salesOrder.csv"
    if not path.exists():
        raise FileNotFoundError(
            f"the SAP source needs {path}: set FINKPI_SAP_DIR to the folder of the SAP extract "
            "(the bundled copy is data/reference/sap) or FINKPI_SAP_AS_OF_DATE"
        )
    with duckdb.connect() as con:
        (latest,) = con.execute(
            'select max(try_cast("HISTORY.CREATEDAT" as date)) from read_csv(?, all_varchar = true)',
            [str(path)],
        ).fetchone()
    if latest is None:
        raise ValueError(f"cannot infer the SAP as-of date: {path} has no orders (set FINKPI_SAP_AS_OF_DATE)")
    return latest

"""finkpi's settings as a Dagster resource: the same `load_settings` as the CLI (FINKPI_*
environment variables), with optional per-run overrides (the landing sensor points a run at the
folder that arrived; tests point it at a temporary warehouse)."""

from datetime import date
from pathlib import Path

import dagster as dg

from finkpi.settings import Settings, load_settings


class FinkpiSettings(dg.ConfigurableResource):
    data_dir: str | None = None  # default: FINKPI_DATA_DIR or data/sample
    raw_format: str | None = None  # csv | parquet
    warehouse_dir: str | None = None  # default: FINKPI_WAREHOUSE_DIR or warehouse/
    as_of_date: str | None = None  # YYYY-MM-DD; default: latest business date in the data

    def settings(self) -> Settings:
        return load_settings(
            data_dir=Path(self.data_dir).resolve() if self.data_dir else None,
            raw_format=self.raw_format,
            warehouse_dir=Path(self.warehouse_dir).resolve() if self.warehouse_dir else None,
            as_of_date=date.fromisoformat(self.as_of_date) if self.as_of_date else None,
        )

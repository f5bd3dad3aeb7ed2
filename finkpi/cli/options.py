"""What several commands share: the run options and how they become `Settings`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from finkpi.settings import Settings, load_settings


def settings_from(args) -> Settings:
    """The settings a command's options ask for; as-of dates stay unresolved until a step needs
    them (resolving one reads the raw files)."""
    return load_settings(
        as_of_date=date.fromisoformat(args.as_of_date) if getattr(args, "as_of_date", None) else None,
        data_dir=Path(args.data_dir).resolve() if getattr(args, "data_dir", None) else None,
        raw_format=getattr(args, "raw_format", None),
        warehouse_dir=Path(args.warehouse_dir).resolve() if getattr(args, "warehouse_dir", None) else None,
        fiscal_year_start_month=getattr(args, "fiscal_year_start_month", None),
        # only `run --incremental` sets it; otherwise FINKPI_INCREMENTAL or the default (full)
        incremental=True if getattr(args, "incremental", False) else None,
    )


def split_list(value: str | None) -> list[str]:
    """A comma-separated option as a list, blanks dropped."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of-date", help="business date to report up to (default: latest in the data)")
    parser.add_argument("--data-dir", help="raw extracts folder holding erp/ and crm/ (default data/sample)")
    parser.add_argument("--raw-format", choices=["csv", "parquet"], help="raw file format (default csv)")
    parser.add_argument("--warehouse-dir", help="where the build warehouse lives (default warehouse/)")
    parser.add_argument("--fiscal-year-start-month", type=int, help="1..12 (default 1)")

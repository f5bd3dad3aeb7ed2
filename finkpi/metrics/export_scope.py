"""Which metric values an incremental run recomputes, and which it keeps from the last build.

An incremental run (settings.incremental_start, finkpi/incremental.py) changes no fact dated
before its window. The metric values of the periods that end before the window are then
yesterday's, as long as nothing else they were computed with changed. The exports recompute every
period from `ExportScope.start`, the first day of the fiscal year holding the window start (so
the month, its fiscal quarter and its fiscal year are whole, and a fiscal period rolled up from
months has all its months), and keep every row of `metrics.metric_values` whose period starts
before it. The kept rows go through the same densifying as the new ones (a series' first value
and its gaps span both), year-on-year growth of a recomputed period reads the kept period a year
earlier (growth of a kept period is evaluated again from kept rows alone: the same values), and
completeness reads only rows of its own period (finkpi.metrics.exports.completeness).

They recompute everything instead (and say why) when:
- there is no earlier export to keep (no metric_values, or no record of what it was computed
  with: `EXPORT_STATE`);
- the definitions changed: the semantic manifest (its SHA-256, what the plan cache is keyed by),
  or a metric's definition hash in metric_catalog (computed metrics included), or this module's
  `STATE_FORMAT`;
- a dimension row that existed changed or disappeared in the build (`dimensions_changed`, from
  finkpi.incremental.changed_dimensions): an earlier period's slices would change.
An as-of date that moved (the run's, or a company's) changes the completeness and the last period
of the series it governs from the earlier of its two values on: the recomputed periods then start
at the fiscal year holding that day, if it is before the window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from finkpi.metrics.plan_cache import manifest_hash

# In the build warehouse: what its metric values were computed with (one row)
EXPORT_STATE = "build_state.export_state"
STATE_FORMAT = 1  # bump when what the exports compute changes for the same definitions and data


@dataclass(frozen=True)
class ExportState:
    """What one build's metric values were computed with."""

    semantic_manifest_sha256: str
    # "as_of_date" -> the run's; "<dimension>=<value>" -> a company's slice's (slice_as_of_dates)
    as_of_dates: dict[str, str]
    format: int = STATE_FORMAT

    @classmethod
    def of(cls, settings, as_of: date, slice_as_of: dict[tuple[str, str], date]) -> ExportState:
        dates = {"as_of_date": as_of.isoformat()} | {
            f"{dimension}={value}": day.isoformat() for (dimension, value), day in slice_as_of.items()
        }
        return cls(manifest_hash(settings.project_dir), dates)

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        schema = EXPORT_STATE.split(".")[0]
        con.execute(f"create schema if not exists {schema}")
        con.execute(
            f"create or replace table {EXPORT_STATE}"
            " (format integer, semantic_manifest_sha256 varchar, as_of_dates varchar)"
        )
        con.execute(
            f"insert into {EXPORT_STATE} values (?, ?, ?)",
            [self.format, self.semantic_manifest_sha256, json.dumps(self.as_of_dates, sort_keys=True)],
        )


@dataclass
class ExportScope:
    """The periods an export recomputes: from `start` on, keeping `kept` (yesterday's rows of the
    periods before it); `start` None: every period (`full_because` says why, in an incremental
    run)."""

    start: date | None = None
    kept: pd.DataFrame | None = None
    full_because: str | None = None

    def describe(self) -> str:
        if self.start is not None:
            return (
                f"metric values recomputed from {self.start.isoformat()} on;"
                f" {len(self.kept):,} rows of earlier periods kept from the last build"
            )
        if self.full_because:
            return f"every metric value recomputed although the run is incremental: {self.full_because}"
        return "every metric value recomputed"


def decide(
    settings,
    state: ExportState,
    definition_hashes: dict[str, str],
    calendar: pd.DataFrame,
    previous: Previous | str,
    dimensions_changed: str | None = None,
) -> ExportScope:
    """The scope of this run's export: `state` is what it computes with, `definition_hashes` its
    metric_catalog's (metric -> hash), `calendar` marts.dim_dates (read_calendar), `previous` the
    last export (`read_previous`)."""
    window_start = settings.incremental_start
    if window_start is None:
        return ExportScope()
    if dimensions_changed:
        return ExportScope(full_because=f"dimension rows changed ({dimensions_changed})")
    if isinstance(previous, str):
        return ExportScope(full_because=previous)
    earlier_state, earlier_hashes, values = previous
    if earlier_state.format != state.format:
        return ExportScope(full_because="the last build's metric values were computed by another version")
    if earlier_state.semantic_manifest_sha256 != state.semantic_manifest_sha256:
        return ExportScope(full_because="the semantic manifest changed since the last build's export")
    changed = sorted(
        name
        for name in set(earlier_hashes) | set(definition_hashes)
        if earlier_hashes.get(name) != definition_hashes.get(name)
    )
    if changed:
        return ExportScope(full_because=f"metric definitions changed: {', '.join(changed)}")
    # the earliest day whose periods' values, completeness or publication may differ
    first_day = window_start
    for key in set(earlier_state.as_of_dates) | set(state.as_of_dates):
        days = {earlier_state.as_of_dates.get(key), state.as_of_dates.get(key)}
        if len(days) > 1:  # moved, appeared or went
            first_day = min(first_day, *(date.fromisoformat(day) for day in days if day))
    year_starts = calendar.loc[calendar["date_day"] == first_day, "fiscal_year_start"]
    if year_starts.empty:
        return ExportScope(full_because=f"{first_day} is outside marts.dim_dates")
    start = year_starts.iloc[0]
    return ExportScope(start=start, kept=values[values["period_start"] < start].reset_index(drop=True))


# the last export: what it was computed with, its metric_catalog's definition hashes, its values
Previous = tuple[ExportState, dict[str, str], pd.DataFrame]


def read_previous(database) -> Previous | str:
    """The last export in the build warehouse `database`, or why there is none to keep. (Read
    before the exports' engine opens the file: DuckDB refuses a second connection of another
    configuration.)"""
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            row = con.execute(
                f"select format, semantic_manifest_sha256, as_of_dates from {EXPORT_STATE}"
            ).fetchone()
            hashes = dict(
                con.execute("select metric_name, definition_hash from metrics.metric_catalog").fetchall()
            )
            values = con.execute("select * from metrics.metric_values").df()
    except duckdb.CatalogException:
        return f"the build warehouse holds no earlier export to keep ({EXPORT_STATE}, metrics.metric_values)"
    if row is None:
        return f"the build warehouse holds no earlier export to keep ({EXPORT_STATE} is empty)"
    state = ExportState(format=row[0], semantic_manifest_sha256=row[1], as_of_dates=json.loads(row[2]))
    values["period_start"] = pd.to_datetime(values["period_start"]).dt.date
    values["is_complete"] = values["is_complete"].astype(bool)
    return state, hashes, values

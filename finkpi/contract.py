"""The published contract: which tables a published version holds, at least which columns, where
each comes from, and which files make a version.

BI tools, the HTTP API, lineage, the audit report and the Dagster checks rely on what a version
holds (ARCHITECTURE, "Published interface"), so it is declared once, here: publish writes the
tables listed here, close/reopen builds the ones it owns under these names, and every reader takes
names, columns and paths from this module instead of keeping its own list. Columns are the
minimum: a table may carry more (they are welcome), a rename is a breaking change.

The module sits on the ground floor (it imports nothing of finkpi): the audit store, lineage and
the API read it without importing publish's machinery (publish imports the audit store).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Where a published table comes from.
BUILD = "build"  # a relation of the build warehouse, published as it is (run_id: the publishing run)
CLOSE = "close"  # built by publish from the build's metric_values and the closed periods (publish/close.py)
SCORECARD = "scorecard"  # the scorecard step's relation, published when the step wrote it
AUDIT = "audit"  # a copy of the audit store as of the publish (written by publish itself)

# The step that writes a table's relation in the build warehouse (schema `metrics`).
EXPORT_STEP = "export"
SCORECARD_STEP = "scorecards"


@dataclass(frozen=True)
class PublishedTable:
    """One table of a published version."""

    name: str
    one_row_per: str
    columns: tuple[str, ...]  # at least these (ARCHITECTURE's table for the BI interface)
    source: str  # BUILD | CLOSE | SCORECARD | AUDIT
    # the build warehouse relation it is made from, and the step that writes that relation
    build_relation: str | None = None
    written_by: str | None = None
    audit_table: str | None = None  # AUDIT: the audit store's table it copies
    interface: bool = True  # listed in ARCHITECTURE's "Published interface" (what BI tools rely on)
    description: str = ""  # what a reader finds in it (Dagster's asset descriptions)
    # the columns that identify a row, in the order the HTTP API serves rows (finkpi/api/query.py)
    order_by: tuple[str, ...] = ()


def _columns(text: str) -> tuple[str, ...]:
    """Columns written as in ARCHITECTURE's table: "a, b, c"."""
    return tuple(name.strip() for name in text.split(","))


def _table(name, one_row_per, columns, source, order_by: str = "", **kwargs) -> PublishedTable:
    order = _columns(order_by) if order_by else ()
    return PublishedTable(name, one_row_per, _columns(columns), source, order_by=order, **kwargs)


_VALUES = "metric_name, grain, period_start, period_label, is_complete, dimension, dimension_value, value"

# In the order publish writes them (the close tables, the build tables, the scorecard step's, then
# the audit copies); filtering keeps that order (Dagster's specs list the tables in it).
_TABLES = (
    _table(
        "metric_values",
        "metric × grain × period × dimension value",
        f"{_VALUES}, run_id",  # dimension = 'total', dimension_value = 'all': the whole company
        CLOSE,
        build_relation="metrics.metric_values",
        written_by=EXPORT_STEP,
        description="Every published metric at month, fiscal quarter and fiscal year, for the company "
        "total and each slice, computed by MetricFlow (schema metrics of the build warehouse).",
        order_by="metric_name, grain, dimension, dimension_value, period_start",
    ),
    _table(
        "metric_catalog",
        "metric",
        "metric_name, label, description, perspective, metric_type, unit, direction, owner, department,"
        " certified, definition_sql, definition_hash,"
        # what it counts, so that an outsider can recompute it (finkpi.metrics.definition)
        " source_documents, period_date, includes, excludes, rounding, slice_behavior",
        BUILD,
        build_relation="metrics.metric_catalog",
        written_by=EXPORT_STEP,
        description="One row per metric: label, description, what it counts (source documents, period "
        "date, inclusions, exclusions, rounding, slice behavior), owner, department, unit, direction, "
        "definition SQL and its hash, certification.",
        order_by="metric_name",
    ),
    _table(
        "metric_definition_history",
        "metric × definition version",
        "metric_name, definition_hash, valid_from, valid_to, certified_by, certified_at, change_note",
        BUILD,
        build_relation="metrics.metric_definition_history",
        written_by=EXPORT_STEP,
        description="Every certified version of each metric definition, and an uncertified "
        "current one if the definition changed since its sign-off.",
        order_by="metric_name, valid_from",
    ),
    # the frozen month rows of periods reopened since, with when they were closed and why reopened
    _table(
        "metric_values_as_reported",
        "reopened close × metric × period × dimension value",
        f"{_VALUES}, value_run_id, closed_from_version, closed_at, reopened_at, reopen_reason, run_id",
        CLOSE,
        interface=False,
    ),
    # recomputed month rows of closed periods that differ from the frozen ones
    _table(
        "metric_restatement_candidates",
        "closed period × metric × dimension value that differs",
        "period, metric_name, grain, period_start, dimension, dimension_value, as_reported_value,"
        " recomputed_value, difference, run_id",
        CLOSE,
        interface=False,
    ),
    _table(
        "closed_periods",
        "close of a month",
        "period, status, closed_at, closed_by, closed_from_version, frozen_rows, reopened_at, reopened_by,"
        " reopen_reason, run_id",
        CLOSE,
        interface=False,
    ),
    _table(
        "scorecard_lines",
        "scorecard × org unit × grain × period × metric",
        "scorecard, org_unit, grain, period_start, metric_name, perspective, weight, actual, target, floor,"
        " stretch, attainment, score, weighted_score, run_id",
        SCORECARD,
        build_relation="metrics.scorecard_lines",
        written_by=SCORECARD_STEP,
        description="Per scorecard, org unit, grain, complete period and metric: weight, actual, "
        "floor/target/stretch, attainment and score (targets and weights from seeds/targets/).",
        order_by="scorecard, org_unit, grain, period_start, metric_name",
    ),
    _table(
        "scorecard_summary",
        "scorecard × org unit × grain × period",
        "scorecard, org_unit, grain, period_start, total_score, result_score, process_score, coverage,"
        " run_id",
        SCORECARD,
        build_relation="metrics.scorecard_summary",
        written_by=SCORECARD_STEP,
        description="Total, result and process score and coverage per scorecard, org unit and period.",
        order_by="scorecard, org_unit, grain, period_start",
    ),
    _table(
        "driver_attribution",
        "metric × driver × grain × period",
        "metric_name, driver_metric, grain, period_start, comparison_period_start, change, contribution,"
        " method, run_id",
        SCORECARD,
        build_relation="metrics.driver_attribution",
        written_by=SCORECARD_STEP,
        description="Each driver's contribution to a metric's change (metrics with an exact driver_formula).",
        order_by="metric_name, grain, period_start, comparison, driver_metric",
    ),
    _table(
        "driver_associations",
        "metric × driver × lag",
        "metric_name, driver_metric, grain, lag_periods, n, estimate, ci_low, ci_high, method, run_id",
        SCORECARD,
        build_relation="metrics.driver_associations",
        written_by=SCORECARD_STEP,
        description="Measured associations (Pearson r, lags 0-3) of the non-arithmetic drivers.",
        order_by="metric_name, driver_metric, grain, lag_periods",
    ),
    _table(
        "metric_forecast",
        "metric × org unit × grain × open period",
        "metric_name, org_unit, grain, period_start, as_of, projected_value, target, projected_attainment,"
        " at_risk, run_id",
        SCORECARD,
        build_relation="metrics.metric_forecast",
        written_by=SCORECARD_STEP,
        description="Forecasts: the projected period-end value, attainment and at-risk flag of each "
        "scored metric for the open periods.",
        order_by="org_unit, metric_name, grain, period_start",
    ),
    # copies of the audit store as of this publish (ARCHITECTURE names no columns for them)
    _table(
        "audit_runs",
        "run (its start and its end record)",
        "run_id, started_at, ended_at, status, code_version, definitions_hash, input_files, message,"
        " start_seq, end_seq",
        AUDIT,
        audit_table="runs",
        order_by="run_id",
    ),
    _table(
        "audit_validations",
        "rule or expectation result",
        "seq, run_id, check_id, check_type, target, severity, status, record_hash",
        AUDIT,
        audit_table="validations",
        order_by="run_id",
    ),
    _table(
        "audit_quarantine",
        "quarantined row group",
        "seq, run_id, source, model, rule_id, rows_quarantined, rows_total, record_hash",
        AUDIT,
        audit_table="quarantine",
    ),
    _table(
        "audit_events",
        "audit event (publish, rollback, close, reopen, restatement candidates)",
        "seq, run_id, kind, version, previous_version, period, reason, actor, record_hash",
        AUDIT,
        audit_table="events",
        interface=False,
    ),
)

TABLES: dict[str, PublishedTable] = {table.name: table for table in _TABLES}
AUDIT_PREFIX = "audit_"  # names publish keeps for its own audit copies


def names(*, source: str | None = None, written_by: str | None = None) -> tuple[str, ...]:
    """Names of the published tables, in publish order, optionally of one source or build step."""
    return tuple(
        t.name
        for t in _TABLES
        if (source is None or t.source == source) and (written_by is None or t.written_by == written_by)
    )


BUILD_TABLES = names(source=BUILD)  # published as they are from the build warehouse
CLOSE_TABLES = names(source=CLOSE)  # built by publish with the closed periods
SCORECARD_TABLES = names(source=SCORECARD)  # the scorecard step's, when it wrote them
AUDIT_TABLES = names(source=AUDIT)  # copies of the audit store
EXPORT_TABLES = names(written_by=EXPORT_STEP)  # the relations the metric export step writes
INTERFACE_TABLES = tuple(t.name for t in _TABLES if t.interface)


def exactly(expected: tuple[str, ...], tables: dict) -> dict:
    """`tables` (keyed by table name) in contract order, checked to be exactly the `expected`
    names: a table added to or renamed in the contract cannot be forgotten by the step that
    writes it."""
    if set(tables) != set(expected):
        raise ValueError(f"expected the tables {sorted(expected)}, not {sorted(tables)}")
    return {name: tables[name] for name in expected}


def step_tables(step: str, **frames):
    """The build tables of `step` (EXPORT_STEP, SCORECARD_STEP), checked against the contract."""
    return exactly(names(written_by=step), frames)


# -- the layout of the published state under the warehouse folder ------------------------------
#   versions/<run_id>/published.duckdb     every published table (DuckDB storage version v1.0.0)
#   versions/<run_id>/<table>.parquet      one Parquet file per table
#   versions/<run_id>/manifest.json        run_id, table -> rows and columns, file -> SHA-256
#   current -> versions/<run_id>           a relative symlink, switched by an atomic rename
#   published.duckdb -> current/published.duckdb
VERSIONS = "versions"
CURRENT = "current"
DATABASE = "published.duckdb"
MANIFEST = "manifest.json"
STORAGE_VERSION = "v1.0.0"  # DuckDB 1.x clients can read the published file


def versions_dir(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir) / VERSIONS


def version_dir(warehouse_dir: Path, version: str) -> Path:
    return versions_dir(warehouse_dir) / version


def current_link(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir) / CURRENT


def current_target(version: str) -> str:
    """What `current` points at (relative, so the warehouse folder can move)."""
    return f"{VERSIONS}/{version}"


def published_path(warehouse_dir: Path) -> Path:
    """Where BI tools open the published DuckDB file (a symlink through `current`)."""
    return Path(warehouse_dir) / DATABASE


PUBLISHED_TARGET = f"{CURRENT}/{DATABASE}"  # what published.duckdb points at


def database_file(directory: Path) -> Path:
    """A version directory's DuckDB file."""
    return Path(directory) / DATABASE


def manifest_file(directory: Path) -> Path:
    """A version directory's manifest (its presence marks a complete version)."""
    return Path(directory) / MANIFEST


def parquet_file(directory: Path, table: str) -> Path:
    return Path(directory) / f"{table}.parquet"


def version_files(tables) -> set[str]:
    """The files of a version holding `tables`: the DuckDB file, one Parquet per table, the manifest."""
    return {DATABASE, MANIFEST} | {f"{name}.parquet" for name in tables}


# The grains of metric_values -> marts.dim_dates' columns of their periods: the first day, the
# label (the metric exports fill them; a period's rows are found by them)
PERIOD_COLUMNS = {
    "month": ("month_start", "month_label"),
    "quarter": ("fiscal_quarter_start", "fiscal_quarter_label"),
    "year": ("fiscal_year_start", "fiscal_year_label"),
}

"""What a key may read, written again in pandas over the published Parquet files (independent of
the API's SQL): the rows each role should receive, for comparison with what it does receive."""

from __future__ import annotations

import pandas as pd


def metrics_of(published: dict[str, pd.DataFrame], scope: set[str]) -> set[str]:
    catalog = published["metric_catalog"]
    return set(catalog.loc[catalog["department"].isin(scope), "metric_name"])


def allowed_values(published, scope: set[str] | None) -> pd.DataFrame:
    values = published["metric_values"]
    if scope is None:
        return values
    full = metrics_of(published, scope)
    mask = values["metric_name"].isin(full) | (
        (values["dimension"] == "department") & values["dimension_value"].isin(scope)
    )
    return values[mask]


def allowed_org_unit_rows(published, table: str, scope: set[str] | None) -> pd.DataFrame:
    frame = published[table]
    return frame if scope is None else frame[frame["org_unit"].isin(scope)]


def allowed_metric_rows(published, table: str, scope: set[str] | None) -> pd.DataFrame:
    """driver_attribution, driver_associations: the metrics of the scope only."""
    frame = published[table]
    return frame if scope is None else frame[frame["metric_name"].isin(metrics_of(published, scope))]


def visible_catalog(published, scope: set[str] | None) -> set[str]:
    """The catalog a key is shown: metrics with at least one row it may read."""
    return set(allowed_values(published, scope)["metric_name"]) | (
        set(published["metric_catalog"]["metric_name"]) if scope is None else metrics_of(published, scope)
    )


def row_in_scope(resource: str, row: dict, published, scope: set[str] | None) -> bool:
    """Whether one row an API answer holds is one the key may read."""
    if scope is None:
        return True
    full, catalog = _sets(published, frozenset(scope))
    if resource == "metric_values":
        return row["metric_name"] in full or (
            row["dimension"] == "department" and row["dimension_value"] in scope
        )
    if resource in ("scorecard_summary", "scorecard_lines", "metric_forecast"):
        return row["org_unit"] in scope
    if resource in ("driver_attribution", "driver_associations"):
        return row["metric_name"] in full
    if resource in ("metric_catalog", "metric_definition_history"):
        return row["metric_name"] in catalog
    return False  # audit tables: never for a viewer


_cache: dict[tuple[int, frozenset], tuple[set[str], set[str]]] = {}


def _sets(published, scope: frozenset) -> tuple[set[str], set[str]]:
    key = (id(published), scope)
    if key not in _cache:
        _cache[key] = (metrics_of(published, set(scope)), visible_catalog(published, set(scope)))
    return _cache[key]

"""MetricFlow, in-process, behind one small class.

MetricFlow's Python entry point that loads a dbt project (dbt-metricflow's CLIConfiguration) is
not a documented API; this module is the only place that touches it, so an upgrade changes one
file. Building the engine costs a few seconds; each warm query then costs ~50-70 ms, against
~3 s for one `mf query` command line (BENCHMARKS.md: 56x at scale 1, 44x at scale 10).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from finkpi.dbt_runner import dbt_environment, release_duckdb
from finkpi.settings import Settings

# MetricFlow logs every query at INFO with its full SQL; keep the console for finkpi's own output.
for _name in ("metricflow", "metricflow_semantics", "dbt_metricflow"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class Dimension:
    qualified_name: str  # what MetricFlow's group-by wants, e.g. customer__company__company_code
    name: str  # the dimension's own name, e.g. company_code
    entity_path: tuple[str, ...] = ()  # the entities joined through, e.g. (customer, company)
    is_time: bool = False


class MetricEngine:
    """A MetricFlow engine over the build warehouse of `settings`. Close it (or use `with`) to
    release the DuckDB file for other processes."""

    def __init__(self, settings: Settings):
        from dbt_metricflow.cli.cli_configuration import CLIConfiguration

        self.settings = settings
        self._config = CLIConfiguration()
        with dbt_environment(settings):  # the profile is rendered here, once
            self._config.setup(
                dbt_profiles_path=settings.project_dir,
                dbt_project_path=settings.project_dir,
                configure_file_logging=False,
            )
            self._engine = self._config.mf

    # -- discovery -------------------------------------------------------------------------
    def metric_names(self) -> list[str]:
        return sorted(metric.name for metric in self._engine.list_metrics(include_dimensions=False))

    def dimensions(self, metric_names: list[str], include_time: bool = False) -> list[Dimension]:
        """Categorical dimensions (and with `include_time`, time dimensions other than
        metric_time) every one of these metrics can be grouped by, through any join path."""
        kinds = {"categorical", "time"} if include_time else {"categorical"}
        found = self._engine.simple_dimensions_for_metrics(metric_names)
        return sorted(
            {
                Dimension(
                    dimension.dunder_name,
                    dimension.name,
                    tuple(link.element_name for link in dimension.entity_links),
                    dimension.type.value == "time",
                )
                for dimension in found
                if dimension.type.value in kinds and dimension.entity_links  # metric_time has none
            },
            key=lambda d: d.qualified_name,
        )

    # -- queries ---------------------------------------------------------------------------
    def _request(self, metrics, group_by, where=None, order_by=None, limit=None):
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        return MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=list(group_by),
            where_constraints=list(where) if where else None,
            order_by_names=list(order_by) if order_by else None,
            limit=limit,
        )

    def query(self, metrics, group_by, where=None, order_by=None, limit=None) -> pd.DataFrame:
        result = self._engine.query(self._request(metrics, group_by, where, order_by, limit))
        table = result.result_df
        return pd.DataFrame(list(table.rows), columns=list(table.column_names))

    def explain(self, metrics, group_by, where=None) -> str:
        """The SQL MetricFlow would run (DuckDB dialect)."""
        return self._engine.explain(self._request(metrics, group_by, where)).sql_statement.sql

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        release_duckdb()

    def __enter__(self) -> MetricEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

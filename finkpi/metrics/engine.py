"""MetricFlow, in-process, behind one small class.

MetricFlow's Python entry point that loads a dbt project (dbt-metricflow's CLIConfiguration) is
not a documented API; this module is the only place that touches it, so an upgrade changes one
file. Building the engine costs a few seconds, so it is built on first use: a caller whose every
plan is cached (finkpi.metrics.plan_cache) never builds it.

Planning and running are apart: `compile` asks MetricFlow for a request's SQL (DuckDB dialect,
~40 ms), `run_sql` runs SQL on the build warehouse (DuckDB; the Spark target's engine runs it on
Spark instead). `query` is both.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import duckdb
import pandas as pd

from finkpi.dbt_runner import dbt_environment, release_duckdb
from finkpi.settings import Settings

# MetricFlow logs every query at INFO with its full SQL; keep the console for finkpi's own output.
for _name in ("metricflow", "metricflow_semantics", "dbt_metricflow"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# the SQL dialect MetricFlow plans in (the local target's adapter; Spark plans on DuckDB too)
PLANNING_DIALECT = "duckdb"


@dataclass(frozen=True)
class Dimension:
    qualified_name: str  # what MetricFlow's group-by wants, e.g. customer__company__company_code
    name: str  # the dimension's own name, e.g. company_code
    entity_path: tuple[str, ...] = ()  # the entities joined through, e.g. (customer, company)
    is_time: bool = False


@dataclass(frozen=True)
class MetricRequest:
    """One MetricFlow query: what `compile` plans and the plan cache is keyed by."""

    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    where: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ()
    limit: int | None = None

    @classmethod
    def of(cls, metrics, group_by, where=None, order_by=None, limit=None) -> MetricRequest:
        return cls(tuple(metrics), tuple(group_by), tuple(where or ()), tuple(order_by or ()), limit)

    def canonical(self) -> str:
        """The request as one JSON text (a cache key): the same request, the same text."""
        return json.dumps(
            {
                "metrics": list(self.metrics),
                "group_by": list(self.group_by),
                "where": list(self.where),
                "order_by": list(self.order_by),
                "limit": self.limit,
            },
            sort_keys=True,
        )


def metricflow_versions() -> dict[str, str]:
    """The installed versions of what plans the SQL, read without importing MetricFlow."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("metricflow", "metricflow-semantics", "dbt-metricflow", "dbt-semantic-interfaces"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


def integers_as_metricflow_gave_them(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """A DuckDB result as pandas with integers as MetricFlow's own results had them (it ran the
    SQL through dbt): int64, or float64 where a NULL is among them. A sum of integers is HUGEINT,
    which pandas has no type for (DuckDB would make it a float, and `finkpi query` print 3.0); it
    is cast to BIGINT, and a sum beyond BIGINT fails the cast rather than lose digits."""
    columns, types = relation.columns, [str(kind) for kind in relation.types]
    if any(kind in ("HUGEINT", "UHUGEINT") for kind in types):
        quoted = ['"' + column.replace('"', '""') + '"' for column in columns]
        relation = relation.project(
            ", ".join(
                f"cast({name} as bigint) as {name}" if kind in ("HUGEINT", "UHUGEINT") else name
                for name, kind in zip(quoted, types, strict=True)
            )
        )
    frame = relation.df()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.Int64Dtype | pd.Int32Dtype | pd.Int16Dtype | pd.Int8Dtype):
            has_null = frame[column].isna().any()
            frame[column] = frame[column].astype("float64" if has_null else "int64")
    return frame


class MetricEngine:
    """A MetricFlow engine over the build warehouse of `settings`. Close it (or use `with`) to
    release the DuckDB file for other processes."""

    dialect = PLANNING_DIALECT

    def __init__(self, settings: Settings):
        self.settings = settings
        self._mf = None  # MetricFlow's engine, built on first use (`_engine`)
        self._connection: duckdb.DuckDBPyConnection | None = None

    @property
    def _engine(self):
        self.build()
        return self._mf

    def build(self) -> None:
        """Build MetricFlow's engine now, if not yet (else the first plan or discovery does)."""
        if self._mf is None:
            self._mf = self._build_metricflow()

    def _build_metricflow(self):
        # imported here: MetricFlow and dbt take seconds to import, and a cached plan needs neither
        from dbt_metricflow.cli.cli_configuration import CLIConfiguration

        config = CLIConfiguration()
        with dbt_environment(self.settings):  # the profile is rendered here, once
            config.setup(
                dbt_profiles_path=self.settings.project_dir,
                dbt_project_path=self.settings.project_dir,
                configure_file_logging=False,
            )
            return config.mf

    @property
    def is_built(self) -> bool:
        """True once MetricFlow's engine has been built (planning or discovery needed it)."""
        return self._mf is not None

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

    # -- planning ----------------------------------------------------------------------------
    def compile(self, request: MetricRequest) -> str:
        """The SQL MetricFlow would run for `request` (DuckDB dialect)."""
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest  # see _build_metricflow

        mf_request = MetricFlowQueryRequest.create(
            metric_names=list(request.metrics),
            group_by_names=list(request.group_by),
            where_constraints=list(request.where) or None,
            order_by_names=list(request.order_by) or None,
            limit=request.limit,
        )
        return self._engine.explain(mf_request).sql_statement.sql

    def explain(self, metrics, group_by, where=None) -> str:
        """The SQL MetricFlow would run (DuckDB dialect)."""
        return self.compile(MetricRequest.of(metrics, group_by, where))

    # -- running -----------------------------------------------------------------------------
    def run_sql(self, sql: str) -> pd.DataFrame:
        """Run compiled SQL on the build warehouse (one connection, held until `close`)."""
        if self._connection is None:
            # MetricFlow's own connection (dbt-duckdb's, opened when it ran a query) would hold the
            # file with dbt's configuration; it plans without one, but release it to be sure
            release_duckdb()
            self._connection = duckdb.connect(str(self.settings.build_database), read_only=True)
        return integers_as_metricflow_gave_them(self._connection.sql(sql))

    def query(self, metrics, group_by, where=None, order_by=None, limit=None) -> pd.DataFrame:
        return self.run_sql(self.compile(MetricRequest.of(metrics, group_by, where, order_by, limit)))

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        release_duckdb()

    def __enter__(self) -> MetricEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""`finkpi query`: a question to the metric layer, answered on the build warehouse.

A module of its own, importing no more than the question needs: a question asked before is
answered from the plan cache (finkpi.metrics.plan_cache) without dbt or MetricFlow, so that a
fresh process answers in well under a second; only a new question builds MetricFlow's engine.
"""

from __future__ import annotations

from finkpi.cli.options import settings_from, split_list
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.plan_cache import PlanCache
from finkpi.metrics.query import QueryError, render, run_query


def cmd_query(args) -> int:
    settings = settings_from(args)
    if settings.dbt_target == "spark":
        raise QueryError(
            "finkpi query runs on the DuckDB build warehouse only (MetricFlow has no Spark adapter);"
            " on Spark, read the exported table metrics.metric_values, or unset FINKPI_ENV"
        )
    if not settings.build_database.exists():
        raise QueryError(f"no build warehouse at {settings.build_database}: run `finkpi run` first")
    cache = PlanCache.for_settings(settings)  # FileNotFoundError (exit 2) before any build
    with MetricEngine(settings) as engine:
        frame = run_query(
            engine,
            metrics=split_list(args.metrics),
            group_by=split_list(args.group_by),
            where=args.where,
            order_by=split_list(args.order_by) if args.order_by else None,
            limit=args.limit,
            cache=cache,
        )
    cache.save()
    print(render(frame, args.format))
    return 0

"""Commands on the metric definitions: `metrics check`, `metrics certify`, `metrics docs` and
`lineage`."""

from __future__ import annotations

import json

from finkpi.cli.options import settings_from, split_list
from finkpi.lineage.columns import ColumnLineage
from finkpi.lineage.published import published_lineage
from finkpi.metrics.catalog import load_catalog
from finkpi.metrics.certification import (
    append_certification,
    certification_status,
    field_hashes,
    load_certifications,
)
from finkpi.metrics.definitions_doc import DOC_FILE, definitions_markdown
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.exports import Planner, definition_sql, feeding_columns, published_dimensions
from finkpi.metrics.governance import check_catalog, definition_hash
from finkpi.metrics.query import _suggest


def cmd_metrics_check(args) -> int:
    settings = settings_from(args)
    catalog = load_catalog(settings.project_dir)
    with MetricEngine(settings) as engine:
        hashes = {m.name: definition_hash(definition_sql(engine, m), m.name) for m in catalog.published}
        dimensions = published_dimensions(Planner(engine, None), catalog)
    result = check_catalog(catalog, hashes, dimensions)
    for problem in result.problems:
        print(f"PROBLEM {problem}")
    print(
        f"{len(catalog.metrics)} metrics ({len(catalog.published)} published): "
        + ("ok" if result.ok else f"{len(result.problems)} problem(s)")
    )
    return 0 if result.ok else 1


def cmd_metrics_certify(args) -> int:
    settings = settings_from(args)
    catalog = load_catalog(settings.project_dir)
    names = [m.name for m in catalog.published] if args.all else split_list(",".join(args.metric or []))
    unknown = [name for name in names if name not in catalog.metrics]
    if unknown or not names:
        raise ValueError(f"name metrics to certify (--metric NAME or --all); unknown: {unknown}")
    certifications = load_certifications(settings.project_dir)
    with MetricEngine(settings) as engine:
        metrics = [catalog[name] for name in names]
        sqls = {metric.name: definition_sql(engine, metric) for metric in metrics}
        feeding, untraced = feeding_columns(settings, metrics, sqls)
        if untraced:
            raise ValueError(f"cannot certify: {untraced}")
        for metric in metrics:
            digest = definition_hash(sqls[metric.name], metric.name)
            fields = field_hashes(metric.definition_fields())
            status = certification_status(
                metric.name, digest, feeding[metric.name], True, certifications, fields
            )
            if status.certified:  # signing the same identity twice would say nothing new
                print(f"{metric.name} {status.identity[:12]} is certified already")
                continue
            row = append_certification(
                settings.project_dir, metric.name, digest, feeding[metric.name], args.by, args.note, fields
            )
            print(
                f"certified {metric.name} {row['certified_identity'][:12]} ({status.reason}) by"
                f" {row['certified_by']} at {row['certified_at']}"
            )
    return 0


def cmd_metrics_docs(args) -> int:
    """docs/metric-definitions.md from the catalog (target/semantic_manifest.json: `finkpi dbt parse`)."""
    settings = settings_from(args)
    catalog = load_catalog(settings.project_dir)
    with MetricEngine(settings) as engine:
        text = definitions_markdown(catalog, published_dimensions(Planner(engine, None), catalog))
    path = settings.project_dir / DOC_FILE
    if args.check:
        if path.exists() and path.read_text() == text:
            print(f"{DOC_FILE} is up to date")
            return 0
        print(f"{DOC_FILE} differs from what the catalog generates: run `finkpi metrics docs` (make docs)")
        return 1
    path.write_text(text)
    print(f"wrote {DOC_FILE}")
    return 0


def cmd_lineage(args) -> int:
    settings = settings_from(args)
    if "." in args.metric:  # a published column, e.g. scorecard_lines.actual
        table, column = args.metric.split(".", 1)
        tree = published_lineage(settings).of_column(table, column)
        print(json.dumps(tree.to_dict(), indent=2) if args.format == "json" else tree.render())
        return 0
    catalog = load_catalog(settings.project_dir)
    if args.metric not in catalog.metrics:
        raise ValueError(f"unknown metric {args.metric!r}{_suggest(args.metric, sorted(catalog.metrics))}")
    metric = catalog[args.metric]
    if metric.is_computed:
        print(
            f"{metric.name} is computed from exported {metric.base_metric} (metric_catalog.definition_sql):"
        )
        args.metric = metric.base_metric
        metric = catalog[args.metric]
    with MetricEngine(settings) as engine:
        sql = definition_sql(engine, metric)
    tree = ColumnLineage.for_project(settings).of_metric(metric.name, sql)
    print(json.dumps(tree.to_dict(), indent=2) if args.format == "json" else tree.render())
    return 0

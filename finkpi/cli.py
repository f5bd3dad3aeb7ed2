"""The `finkpi` command line: a thin face over the core modules (no logic of its own)."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import date
from pathlib import Path

from finkpi import dbt_runner, pipeline
from finkpi.api.access import KeyRing, departments, key_entry_yaml, new_key
from finkpi.api.app import create_app
from finkpi.audit import AuditStore
from finkpi.audit.report import write_report
from finkpi.dbt_runner import DbtBuildError
from finkpi.generate import write_sample, write_scaled
from finkpi.lineage.columns import ColumnLineage
from finkpi.lineage.published import published_lineage
from finkpi.metrics.catalog import load_catalog
from finkpi.metrics.certification import append_certification, certification_status, load_certifications
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.exports import MetricGovernanceError, definition_sql, feeding_columns
from finkpi.metrics.governance import check_catalog, definition_hash
from finkpi.metrics.query import QueryError, _suggest, metricflow_errors, render, run_query
from finkpi.pipeline import QualityGateError
from finkpi.publish import PublishError, rollback
from finkpi.publish.close import close_period, reopen_period
from finkpi.quality.preflight import PreflightError
from finkpi.scorecards.report import render_scorecard
from finkpi.scorecards.run import ScorecardError
from finkpi.settings import PROJECT_DIR, load_settings
from finkpi.sources.registry import KINDS
from finkpi.sources.scaffold import Scaffold


def _settings(args):
    return load_settings(
        as_of_date=date.fromisoformat(args.as_of_date) if getattr(args, "as_of_date", None) else None,
        data_dir=Path(args.data_dir).resolve() if getattr(args, "data_dir", None) else None,
        raw_format=getattr(args, "raw_format", None),
        warehouse_dir=Path(args.warehouse_dir).resolve() if getattr(args, "warehouse_dir", None) else None,
        fiscal_year_start_month=getattr(args, "fiscal_year_start_month", None),
        # only `run --incremental` sets it; otherwise FINKPI_INCREMENTAL or the default (full)
        incremental=True if getattr(args, "incremental", False) else None,
    )


def cmd_generate(args) -> int:
    if args.scale and args.scale > 1:
        out = Path(args.out or PROJECT_DIR / "data" / "landing" / f"scale{args.scale}")

        def progress(done: int, total: int) -> None:
            print(f"  shard {done}/{total}", flush=True)

        counts = write_scaled(out, scale=args.scale, seed=args.seed, progress=progress)
    else:
        out = Path(args.out or PROJECT_DIR / "data" / "sample")
        counts = write_sample(out, seed=args.seed)
    for name, rows in sorted(counts.items()):
        print(f"{name:<40} {rows:>10,}")
    print(f"written to {out}")
    return 0


def cmd_build(args) -> int:
    dbt_runner.build(_settings(args), select=args.select)
    return 0


def cmd_run(args) -> int:
    summary = pipeline.run(_settings(args), from_stage=args.from_stage)
    print(summary.describe())
    return 0


def cmd_publish(args) -> int:
    settings = _settings(args)
    if args.rollback:
        before, after = rollback(settings)
        print(f"rolled back: current is now {after} (was {before})")
        return 0
    summary = pipeline.run(settings, from_stage="publish")
    print(f"published version {summary.published_version}")
    return 0


def cmd_audit_verify(args) -> int:
    result = AuditStore(_settings(args).warehouse_dir).verify()
    if not result.ok:
        print(f"audit store BROKEN at {result.broken} ({result.records} records)", file=sys.stderr)
        return 1
    print(f"audit store ok: {result.records} records, hash chain intact")
    return 0


def cmd_close(args) -> int:
    close = close_period(_settings(args), args.period, actor=args.by)
    print(f"closed {close.period}: {close.rows} month values frozen from version {close.version}")
    return 0


def cmd_reopen(args) -> int:
    settings = _settings(args)
    close = reopen_period(settings, args.period, args.reason, actor=args.by)
    print(f"reopened {close.period} (closed {close.closed_at}); as-reported values kept")
    if args.no_run:
        print("the next run publishes the recomputed values")
        return 0
    summary = pipeline.run(settings)
    print(f"recomputed and published version {summary.published_version}")
    return 0


def cmd_query(args) -> int:
    settings = _settings(args)
    if settings.dbt_target == "spark":
        raise QueryError(
            "finkpi query runs on the DuckDB build warehouse only (MetricFlow has no Spark adapter);"
            " on Spark, read the exported table metrics.metric_values, or unset FINKPI_ENV"
        )
    with metricflow_errors():  # loading the semantic manifest can fail too (no build yet)
        engine = MetricEngine(settings)
    with engine:
        frame = run_query(
            engine,
            metrics=_split(args.metrics),
            group_by=_split(args.group_by),
            where=args.where,
            order_by=_split(args.order_by) if args.order_by else None,
            limit=args.limit,
        )
    print(render(frame, args.format))
    return 0


def cmd_metrics_check(args) -> int:
    settings = _settings(args)
    catalog = load_catalog(settings.project_dir)
    with MetricEngine(settings) as engine:
        hashes = {m.name: definition_hash(definition_sql(engine, m), m.name) for m in catalog.published}
    result = check_catalog(catalog, hashes)
    for problem in result.problems:
        print(f"PROBLEM {problem}")
    print(
        f"{len(catalog.metrics)} metrics ({len(catalog.published)} published): "
        + ("ok" if result.ok else f"{len(result.problems)} problem(s)")
    )
    return 0 if result.ok else 1


def cmd_metrics_certify(args) -> int:
    settings = _settings(args)
    catalog = load_catalog(settings.project_dir)
    names = [m.name for m in catalog.published] if args.all else _split(",".join(args.metric or []))
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
            status = certification_status(metric.name, digest, feeding[metric.name], True, certifications)
            if status.certified:  # signing the same identity twice would say nothing new
                print(f"{metric.name} {status.identity[:12]} is certified already")
                continue
            row = append_certification(
                settings.project_dir, metric.name, digest, feeding[metric.name], args.by, args.note
            )
            print(
                f"certified {metric.name} {row['certified_identity'][:12]} ({status.reason}) by"
                f" {row['certified_by']} at {row['certified_at']}"
            )
    return 0


def cmd_lineage(args) -> int:
    import json

    settings = _settings(args)
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


def cmd_report(args) -> int:
    path = write_report(_settings(args), args.run_id)
    print(f"audit report: {path}\nall runs: {path.parent.parent / 'index.html'}")
    return 0


def cmd_scorecard(args) -> int:
    print(render_scorecard(_settings(args).build_database, args.org_unit, args.period, args.scorecard))
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    settings = _settings(args)
    keyring = KeyRing.load(settings.api_keys, departments(settings.project_dir))
    print(f"finkpi API on http://{args.host}:{args.port}/ (dashboard /dashboard/, spec /openapi.json)")
    print(f"  reads {settings.warehouse_dir}/current; {len(keyring.entries)} key(s) from {keyring.source}")
    uvicorn.run(create_app(settings, keyring), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_api_key(args) -> int:
    scope = _split(args.departments)
    known = departments(_settings(args).project_dir)
    wrong = [d for d in scope if d not in known]
    if wrong or (args.role == "viewer") != bool(scope):
        raise ValueError(f"a viewer needs --departments from {known} (others none); got {scope}")
    key = new_key()
    print(f"key (shown once, give it to {args.name}): {key}")
    print("entry for the key file (FINKPI_API_KEYS), under `keys:`:")
    print(key_entry_yaml(args.name, key, args.role, scope), end="")
    return 0


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def cmd_source_new(args) -> int:
    project = load_settings().project_dir
    scaffold = Scaffold(
        project,
        args.name,
        args.kind,
        data_from=Path(args.data_from).resolve() if args.data_from else None,
        company_code=args.company,
    )
    for path in scaffold.write():
        print(f"wrote {path}")
    print()
    print(scaffold.checklist())
    return 0


def cmd_dbt(args) -> int:
    result = dbt_runner.invoke(_settings(args), args.dbt_args)
    return 0 if result.success else 1


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of-date", help="business date to report up to (default: latest in the data)")
    parser.add_argument("--data-dir", help="raw extracts folder holding erp/ and crm/ (default data/sample)")
    parser.add_argument("--raw-format", choices=["csv", "parquet"], help="raw file format (default csv)")
    parser.add_argument("--warehouse-dir", help="where the build warehouse lives (default warehouse/)")
    parser.add_argument("--fiscal-year-start-month", type=int, help="1..12 (default 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finkpi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write the deterministic sample company")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", type=int, default=1, help="N x the volume, as Parquet into data/landing/")
    p.add_argument("--out", help="output folder (default data/sample, or data/landing/scaleN)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("build", help="dbt build: staging, intermediate, marts and their tests")
    _add_run_options(p)
    p.add_argument("--select", nargs="+", help="dbt node selection")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="the whole pipeline on the configured data")
    _add_run_options(p)
    p.add_argument(
        "--from-stage",
        choices=["build", "export", "publish"],
        default="build",
        help="skip the stages before it and reuse the existing build warehouse (default: build)",
    )
    p.add_argument(
        "--incremental",
        action="store_true",
        help="rebuild only the recent days of the largest facts (README: Incremental runs)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("publish", help="publish the existing build again, or --rollback")
    _add_run_options(p)
    p.add_argument("--rollback", action="store_true", help="switch back to the previous version")
    p.set_defaults(func=cmd_publish)

    audit = sub.add_parser("audit", help="the audit store")
    audit = audit.add_subparsers(dest="audit_command", required=True)
    p = audit.add_parser("verify", help="check the hash chain; exit 1 naming the first broken record")
    _add_run_options(p)
    p.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("close", help="freeze a month's published values")
    _add_run_options(p)
    p.add_argument("--period", required=True, help="the month, YYYY-MM")
    p.add_argument("--by", help="who closes (default: the login name)")
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("reopen", help="reopen a closed month and recompute it")
    _add_run_options(p)
    p.add_argument("--period", required=True, help="the month, YYYY-MM")
    p.add_argument("--reason", required=True, help="why it is reopened (recorded in the audit store)")
    p.add_argument("--by", help="who reopens (default: the login name)")
    p.add_argument("--no-run", action="store_true", help="only record the reopen; the next run recomputes")
    p.set_defaults(func=cmd_reopen)

    p = sub.add_parser("query", help="query the metric layer (MetricFlow, one process)")
    _add_run_options(p)
    p.add_argument("--metrics", required=True, help="comma-separated metric names")
    p.add_argument("--group-by", default="metric_time__month", help="comma-separated; short names allowed")
    p.add_argument("--where", help="a filter over dimension names, e.g. \"region = 'DACH'\"")
    p.add_argument(
        "--order-by",
        help="comma-separated metrics or group-bys, - first for descending (--order-by=-revenue)",
    )
    p.add_argument("--limit", type=int)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_query)

    metrics = sub.add_parser("metrics", help="govern the metric definitions").add_subparsers(
        dest="metrics_command", required=True
    )
    p = metrics.add_parser("check", help="meta, descriptions, unique names and definitions, driver graph")
    _add_run_options(p)
    p.set_defaults(func=cmd_metrics_check)
    p = metrics.add_parser(
        "certify", help="sign off what metrics mean now: their definition and the source columns feeding them"
    )
    _add_run_options(p)
    p.add_argument("--metric", action="append", help="metric to certify (repeatable, or comma-separated)")
    p.add_argument("--all", action="store_true", help="every published metric")
    p.add_argument("--by", required=True, help="who certifies (name and role)")
    p.add_argument("--note", required=True, help="what changed and why")
    p.set_defaults(func=cmd_metrics_certify)

    p = sub.add_parser(
        "lineage", help="column lineage of a metric or a scorecard column down to the raw source columns"
    )
    _add_run_options(p)
    p.add_argument("metric", help="a metric (revenue) or a published column (scorecard_lines.actual)")
    p.add_argument("--format", choices=["tree", "json"], default="tree")
    p.set_defaults(func=cmd_lineage)

    p = sub.add_parser("report", help="write the HTML audit report of a run and the index of all runs")
    _add_run_options(p)
    p.add_argument("--run-id", help="the run (default: the latest in the audit store)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("scorecard", help="an org unit's scorecard for one period, with the reasons")
    _add_run_options(p)
    p.add_argument("--org-unit", required=True, help="Company or a department, e.g. Sales")
    p.add_argument("--period", required=True, help="a period label: FY2025-Q3, 2025-08 or FY2024")
    p.add_argument("--scorecard", help="scorecard name when an org unit has several (default: its only one)")
    p.set_defaults(func=cmd_scorecard)

    p = sub.add_parser("serve", help="the HTTP API and dashboard over the published version")
    p.add_argument("--warehouse-dir", help="whose published versions to serve (default warehouse/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("api-key", help="make a new API key and print its entry for the key file")
    p.add_argument("--name", required=True, help="who holds the key")
    p.add_argument("--role", required=True, choices=["admin", "auditor", "viewer"])
    p.add_argument("--departments", help="a viewer's departments, comma-separated (e.g. Sales,Finance)")
    p.set_defaults(func=cmd_api_key)

    source = sub.add_parser("source", help="source systems (finkpi/sources/)").add_subparsers(
        dest="source_command", required=True
    )
    p = source.add_parser(
        "new", help="the files of a new ERP or CRM source, and the checklist of what is left"
    )
    p.add_argument("name", help="the source's name: lower case, e.g. acme_crm")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument(
        "--from",
        dest="data_from",
        help="a folder of its CSV extracts: the contract is read from their headers",
    )
    p.add_argument("--company", help="the company code its rows belong to (a source whose rows carry none)")
    p.set_defaults(func=cmd_source_new)

    p = sub.add_parser("dbt", help="any dbt command, in-process, with finkpi's paths and vars")
    _add_run_options(p)
    p.add_argument("dbt_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_dbt)
    return parser


def main(argv: list[str] | None = None) -> int:
    # `finkpi query ... | head` should stop quietly, not with a BrokenPipeError
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (
        DbtBuildError,
        MetricGovernanceError,
        ScorecardError,
        PublishError,
        PreflightError,
        QualityGateError,
    ) as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1
    except QueryError as exc:
        print(f"finkpi: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"finkpi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The `finkpi` command line: a thin face over the core modules (no logic of its own).

This module only parses arguments. Each command's function lives in a module of this package by
topic and is imported when that command runs (`Handler`): `finkpi query --help` or a cached query
should not pay for importing dbt, MetricFlow, Great Expectations' helpers and the HTTP stack,
which the other commands need (`tests/test_cli.py` checks what importing this module loads).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from dataclasses import dataclass

from finkpi.cli.options import add_run_options
from finkpi.errors import FinkpiError
from finkpi.sources.registry import KINDS


@dataclass(frozen=True)
class Handler:
    """A command's function, named by its module in this package; imported on first call."""

    module: str
    function: str

    def resolve(self):
        # the one lazy import of the command line (see the module docstring: start-up time)
        return getattr(importlib.import_module(f"finkpi.cli.{self.module}"), self.function)

    def __call__(self, args) -> int:
        return self.resolve()(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finkpi", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write the deterministic sample company")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", type=int, default=1, help="N x the volume, as Parquet into data/landing/")
    p.add_argument("--out", help="output folder (default data/sample, or data/landing/scaleN)")
    p.set_defaults(func=Handler("pipeline_commands", "cmd_generate"))

    p = sub.add_parser("build", help="dbt build: staging, intermediate, marts and their tests")
    add_run_options(p)
    p.add_argument("--select", nargs="+", help="dbt node selection")
    p.set_defaults(func=Handler("pipeline_commands", "cmd_build"))

    p = sub.add_parser("run", help="the whole pipeline on the configured data")
    add_run_options(p)
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
    p.set_defaults(func=Handler("pipeline_commands", "cmd_run"))

    p = sub.add_parser("publish", help="publish the existing build again, or --rollback")
    add_run_options(p)
    p.add_argument("--rollback", action="store_true", help="switch back to the previous version")
    p.set_defaults(func=Handler("pipeline_commands", "cmd_publish"))

    audit = sub.add_parser("audit", help="the audit store")
    audit = audit.add_subparsers(dest="audit_command", required=True)
    p = audit.add_parser("verify", help="check the hash chain; exit 1 naming the first broken record")
    add_run_options(p)
    p.set_defaults(func=Handler("pipeline_commands", "cmd_audit_verify"))

    p = sub.add_parser("close", help="freeze a month's published values")
    add_run_options(p)
    p.add_argument("--period", required=True, help="the month, YYYY-MM")
    p.add_argument("--by", help="who closes (default: the login name)")
    p.set_defaults(func=Handler("pipeline_commands", "cmd_close"))

    p = sub.add_parser("reopen", help="reopen a closed month and recompute it")
    add_run_options(p)
    p.add_argument("--period", required=True, help="the month, YYYY-MM")
    p.add_argument("--reason", required=True, help="why it is reopened (recorded in the audit store)")
    p.add_argument("--by", help="who reopens (default: the login name)")
    p.add_argument("--no-run", action="store_true", help="only record the reopen; the next run recomputes")
    p.set_defaults(func=Handler("pipeline_commands", "cmd_reopen"))

    p = sub.add_parser("query", help="query the metric layer (MetricFlow, one process)")
    add_run_options(p)
    p.add_argument("--metrics", required=True, help="comma-separated metric names")
    p.add_argument("--group-by", default="metric_time__month", help="comma-separated; short names allowed")
    p.add_argument("--where", help="a filter over dimension names, e.g. \"region = 'DACH'\"")
    p.add_argument(
        "--order-by",
        help="comma-separated metrics or group-bys, - first for descending (--order-by=-revenue)",
    )
    p.add_argument("--limit", type=int)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=Handler("query_command", "cmd_query"))

    metrics = sub.add_parser("metrics", help="govern the metric definitions").add_subparsers(
        dest="metrics_command", required=True
    )
    p = metrics.add_parser("check", help="meta, descriptions, unique names and definitions, driver graph")
    add_run_options(p)
    p.set_defaults(func=Handler("metric_commands", "cmd_metrics_check"))
    p = metrics.add_parser(
        "certify", help="sign off what metrics mean now: their definition and the source columns feeding them"
    )
    add_run_options(p)
    p.add_argument("--metric", action="append", help="metric to certify (repeatable, or comma-separated)")
    p.add_argument("--all", action="store_true", help="every published metric")
    p.add_argument("--by", required=True, help="who certifies (name and role)")
    p.add_argument("--note", required=True, help="what changed and why")
    p.set_defaults(func=Handler("metric_commands", "cmd_metrics_certify"))
    p = metrics.add_parser(
        "docs", help="write docs/metric-definitions.md from the catalog (--check: fail if it is stale)"
    )
    add_run_options(p)
    p.add_argument("--check", action="store_true", help="compare only; exit 1 if the file differs")
    p.set_defaults(func=Handler("metric_commands", "cmd_metrics_docs"))

    p = sub.add_parser(
        "lineage", help="column lineage of a metric or a scorecard column down to the raw source columns"
    )
    add_run_options(p)
    p.add_argument("metric", help="a metric (revenue) or a published column (scorecard_lines.actual)")
    p.add_argument("--format", choices=["tree", "json"], default="tree")
    p.set_defaults(func=Handler("metric_commands", "cmd_lineage"))

    p = sub.add_parser("report", help="write the HTML audit report of a run and the index of all runs")
    add_run_options(p)
    p.add_argument("--run-id", help="the run (default: the latest in the audit store)")
    p.set_defaults(func=Handler("pipeline_commands", "cmd_report"))

    p = sub.add_parser("scorecard", help="an org unit's scorecard for one period, with the reasons")
    add_run_options(p)
    p.add_argument("--org-unit", required=True, help="Company or a department, e.g. Sales")
    p.add_argument("--period", required=True, help="a period label: FY2025-Q3, 2025-08 or FY2024")
    p.add_argument("--scorecard", help="scorecard name when an org unit has several (default: its only one)")
    p.set_defaults(func=Handler("pipeline_commands", "cmd_scorecard"))

    p = sub.add_parser("serve", help="the HTTP API and dashboard over the published version")
    p.add_argument("--warehouse-dir", help="whose published versions to serve (default warehouse/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(func=Handler("api_commands", "cmd_serve"))

    p = sub.add_parser("api-key", help="make a new API key and print its entry for the key file")
    p.add_argument("--name", required=True, help="who holds the key")
    p.add_argument("--role", required=True, choices=["admin", "auditor", "viewer"])
    p.add_argument("--departments", help="a viewer's departments, comma-separated (e.g. Sales,Finance)")
    p.set_defaults(func=Handler("api_commands", "cmd_api_key"))

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
    p.set_defaults(func=Handler("source_commands", "cmd_source_new"))

    p = sub.add_parser("dbt", help="any dbt command, in-process, with finkpi's paths and vars")
    add_run_options(p)
    p.add_argument("dbt_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=Handler("pipeline_commands", "cmd_dbt"))
    return parser


def main(argv: list[str] | None = None) -> int:
    # `finkpi query ... | head` should stop quietly, not with a BrokenPipeError
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FinkpiError as exc:  # a failed build, gate, publish, ...: its message says what and where
        print(f"\n{exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:  # a wrong argument or name (QueryError too)
        print(f"finkpi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

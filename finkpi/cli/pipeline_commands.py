"""Commands that build, run, publish and report: `generate`, `build`, `run`, `publish`, `close`,
`reopen`, `audit verify`, `report`, `scorecard` and `dbt`."""

from __future__ import annotations

import sys
from pathlib import Path

from finkpi import dbt_runner, pipeline
from finkpi.audit import AuditStore
from finkpi.audit.report import write_report
from finkpi.cli.options import settings_from
from finkpi.generate import write_sample, write_scaled
from finkpi.publish import rollback
from finkpi.publish.close import close_period, reopen_period
from finkpi.scorecards.report import render_scorecard
from finkpi.settings import PROJECT_DIR


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
    dbt_runner.build(settings_from(args), select=args.select)
    return 0


def cmd_run(args) -> int:
    summary = pipeline.run(settings_from(args), from_stage=args.from_stage)
    print(summary.describe())
    return 0


def cmd_publish(args) -> int:
    settings = settings_from(args)
    if args.rollback:
        before, after = rollback(settings)
        print(f"rolled back: current is now {after} (was {before})")
        return 0
    summary = pipeline.run(settings, from_stage="publish")
    print(f"published version {summary.published_version}")
    return 0


def cmd_audit_verify(args) -> int:
    result = AuditStore(settings_from(args).warehouse_dir).verify()
    if not result.ok:
        print(f"audit store BROKEN at {result.broken} ({result.records} records)", file=sys.stderr)
        return 1
    print(f"audit store ok: {result.records} records, hash chain intact")
    return 0


def cmd_close(args) -> int:
    close = close_period(settings_from(args), args.period, actor=args.by)
    print(f"closed {close.period}: {close.rows} month values frozen from version {close.version}")
    return 0


def cmd_reopen(args) -> int:
    settings = settings_from(args)
    close = reopen_period(settings, args.period, args.reason, actor=args.by)
    print(f"reopened {close.period} (closed {close.closed_at}); as-reported values kept")
    if args.no_run:
        print("the next run publishes the recomputed values")
        return 0
    summary = pipeline.run(settings)
    print(f"recomputed and published version {summary.published_version}")
    return 0


def cmd_report(args) -> int:
    path = write_report(settings_from(args), args.run_id)
    print(f"audit report: {path}\nall runs: {path.parent.parent / 'index.html'}")
    return 0


def cmd_scorecard(args) -> int:
    print(render_scorecard(settings_from(args).build_database, args.org_unit, args.period, args.scorecard))
    return 0


def cmd_dbt(args) -> int:
    result = dbt_runner.invoke(settings_from(args), args.dbt_args)
    return 0 if result.success else 1

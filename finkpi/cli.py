"""The `finkpi` command line: a thin face over the core modules (no logic of its own)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from finkpi.settings import PROJECT_DIR, load_settings


def _settings(args):
    return load_settings(
        as_of_date=date.fromisoformat(args.as_of_date) if getattr(args, "as_of_date", None) else None,
        data_dir=Path(args.data_dir).resolve() if getattr(args, "data_dir", None) else None,
        raw_format=getattr(args, "raw_format", None),
        warehouse_dir=Path(args.warehouse_dir).resolve() if getattr(args, "warehouse_dir", None) else None,
        fiscal_year_start_month=getattr(args, "fiscal_year_start_month", None),
    )


def cmd_generate(args) -> int:
    from finkpi.generate import write_sample, write_scaled

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
    from finkpi import dbt_runner

    dbt_runner.build(_settings(args), select=args.select)
    return 0


def cmd_run(args) -> int:
    from finkpi import pipeline

    summary = pipeline.run(_settings(args))
    print(summary.describe())
    return 0


def cmd_dbt(args) -> int:
    from finkpi import dbt_runner

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
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("dbt", help="any dbt command, in-process, with finkpi's paths and vars")
    _add_run_options(p)
    p.add_argument("dbt_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_dbt)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from finkpi.dbt_runner import DbtBuildError

    try:
        return args.func(args)
    except DbtBuildError as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        print(f"finkpi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Commands on source systems: `source new`."""

from __future__ import annotations

from pathlib import Path

from finkpi.settings import load_settings
from finkpi.sources.scaffold import Scaffold


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

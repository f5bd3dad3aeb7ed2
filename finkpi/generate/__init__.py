"""Deterministic sample company for finkpi: "Finkpi Pumpen & Antriebe GmbH" (see docs/sample-company.md).

    write_sample(out_dir, seed=42)          -> CSV files, ~30k sales-order lines (the committed sample)
    write_scaled(out_dir, scale, seed=42)   -> Parquet files, `scale` times the volume

Both write `<out_dir>/erp/<table>` and `<out_dir>/crm/<Table>` for every table of the sample's
registry entries (finkpi/sources/erp.py, crm.py), with exactly its columns in its order, every
value as text, and return the row count per `source/table`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .shard import make_master, shard_tables, shared_tables
from .writer import Writer

__all__ = ["write_sample", "write_scaled"]


def write_sample(out_dir: Path, seed: int = 42) -> dict[str, int]:
    """Write the scale-1 sample as CSV (UTF-8, header, `\\n` line ends). Same seed, same bytes."""
    master = make_master(seed)
    w = Writer(Path(out_dir), "csv")
    tables = shared_tables(master)
    tables.update(shard_tables(seed, master, shard=0, tag=""))
    for (src, tbl), cols in tables.items():
        w.write(src, tbl, cols)
    return w.finish()


def write_scaled(
    out_dir: Path, scale: int, seed: int = 42, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Write `scale` independent customer shards as Parquet (all columns VARCHAR).

    Shards share the company, exchange rates, products, standard costs, suppliers, accounts and
    cost centers; every shard-level id carries a shard number (C005000123, SO005000017, ...). Shards
    are generated and written one at a time, so memory stays bounded whatever the scale.
    """
    if scale < 1:
        raise ValueError("scale must be >= 1")
    master = make_master(seed)
    w = Writer(Path(out_dir), "parquet")
    for (src, tbl), cols in shared_tables(master).items():
        w.write(src, tbl, cols)
    width = max(3, len(str(scale - 1)))
    for k in range(scale):
        for (src, tbl), cols in shard_tables(seed, master, shard=k, tag=f"{k:0{width}d}").items():
            w.write(src, tbl, cols, part=k)
        if progress is not None:
            progress(k + 1, scale)
    return w.finish()

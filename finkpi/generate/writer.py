"""Turn typed numpy columns into text files: CSV for the sample, Parquet (all VARCHAR) at scale.

The generator keeps every value as an integer (day numbers, cents, 1e-4 prices, sequence numbers)
and describes how to print it with a `Col`. DuckDB does the formatting and the writing: it is
vectorized C++ (millions of rows per second, which the 10M-line scale run needs) and prints integers
and dates exactly, so no float formatting can make two runs differ. Empty cells are NULL, which
DuckDB's CSV writer prints as an empty field, exactly as DuckDB's CSV reader reads it back.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from finkpi.sources import crm, erp

from . import calendar as cal

# The sample company's two sources, whose files this generator writes (their contracts live in
# their registry entries; a test checks the files against them).
SAMPLE_SOURCES = {source.name: source for source in (erp.SOURCE, crm.SOURCE)}


def columns(source: str, table: str) -> list[str]:
    """The raw column names of one sample table, in file order."""
    return SAMPLE_SOURCES[source].table(table).column_names


NA = np.int64(-(2**62))  # empty numeric cell


@dataclass
class Col:
    kind: str  # id | pid | str | cat | date | fix | int | bool | ts
    v: Any
    a: Any = None  # id: prefix; pid: prefixes; cat: labels; fix: decimals
    b: Any = None  # id: width; pid: widths
    c: Any = None  # pid: prefix codes; ts: UTC offset minutes


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _list(items) -> str:
    return "[" + ", ".join(_lit(x) if isinstance(x, str) else str(int(x)) for x in items) + "]"


def _fixed(x: str, k: int) -> str:
    p = 10**k
    return (
        f"CASE WHEN {x} = {NA} THEN NULL ELSE (CASE WHEN {x} < 0 THEN '-' ELSE '' END) || "
        f"(abs({x}) // {p})::VARCHAR || '.' || lpad((abs({x}) % {p})::VARCHAR, {k}, '0') END"
    )


def _expr(col: Col, x: str, y: str) -> str:
    k = col.kind
    if k == "id":
        return f"CASE WHEN {x} < 0 THEN NULL ELSE {_lit(col.a)} || lpad({x}::VARCHAR, {int(col.b)}, '0') END"
    if k == "pid":
        return (
            f"CASE WHEN {x} < 0 THEN NULL ELSE ({_list(col.a)})[{y} + 1] || "
            f"lpad({x}::VARCHAR, ({_list(col.b)})[{y} + 1], '0') END"
        )
    if k == "str":
        return f"CASE WHEN {x} = '' THEN NULL ELSE {x} END"
    if k == "cat":
        return f"CASE WHEN {x} < 0 THEN NULL ELSE ({_list(col.a)})[{x} + 1] END"
    if k == "date":
        return (
            f"CASE WHEN {x} = {cal.NO_DATE} THEN NULL ELSE "
            f"strftime(DATE '{cal.START.isoformat()}' + {x}::INTEGER, '%Y-%m-%d') END"
        )
    if k == "fix":
        return _fixed(x, int(col.a))
    if k == "int":
        return f"CASE WHEN {x} = {NA} THEN NULL ELSE {x}::VARCHAR END"
    if k == "bool":
        return f"CASE WHEN {x} THEN 'true' ELSE 'false' END"
    if k == "ts":
        return (
            f"CASE WHEN {x} = {NA} THEN NULL ELSE "
            f"strftime(TIMESTAMP '1970-01-01 00:00:00' + to_minutes({x}), '%Y-%m-%dT%H:%M:%S') || "
            f"(CASE WHEN {y} < 0 THEN '-' ELSE '+' END) || lpad((abs({y}) // 60)::VARCHAR, 2, '0') || ':' "
            f"|| lpad((abs({y}) % 60)::VARCHAR, 2, '0') END"
        )
    raise ValueError(k)


def _frame(cols: dict[str, Col]) -> tuple[pd.DataFrame, list[str]]:
    data: dict[str, Any] = {}
    exprs = []
    n = None
    for i, (name, col) in enumerate(cols.items()):
        x, y = f"x{i}", f"y{i}"
        v = col.v
        if col.kind == "str":
            v = np.asarray(v, dtype=object)
        elif col.kind == "bool":
            v = np.asarray(v, dtype=bool)
        else:
            v = np.asarray(v, dtype=np.int64)
        data[x] = v
        if col.c is not None:
            data[y] = np.asarray(col.c, dtype=np.int64)
        n = len(v) if n is None else n
        if len(v) != n:
            raise ValueError(f"column {name} has {len(v)} rows, expected {n}")
        exprs.append(f'{_expr(col, x, y)} AS "{name}"')
    data["rn"] = np.arange(n or 0, dtype=np.int64)
    return pd.DataFrame(data), exprs


class Writer:
    """Writes tables of one data set. `fmt` is 'csv' (sample) or 'parquet' (scale, per shard)."""

    def __init__(self, out_dir: Path, fmt: str):
        self.out = Path(out_dir)
        self.fmt = fmt
        self.con = duckdb.connect()
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET memory_limit = '2GB'")
        self.counts: dict[str, int] = {}
        self.parts: dict[str, list[Path]] = {}
        for src in SAMPLE_SOURCES:
            (self.out / src).mkdir(parents=True, exist_ok=True)

    def write(self, source: str, table: str, cols: dict[str, Col], part: int | None = None) -> int:
        if list(cols) != columns(source, table):
            raise ValueError(f"{source}.{table}: columns {list(cols)} != schema {columns(source, table)}")
        df, exprs = _frame(cols)
        self.con.register("t", df)
        select = f"SELECT {', '.join(exprs)} FROM t ORDER BY rn"
        if self.fmt == "csv":
            path = self.out / source / f"{table}.csv"
            self.con.execute(f"COPY ({select}) TO '{path}' (FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"')")
        else:
            if part is None:
                path = self.out / source / f"{table}.parquet"
            else:
                d = self.out / ".parts" / source / table
                d.mkdir(parents=True, exist_ok=True)
                path = d / f"{part:05d}.parquet"
                self.parts.setdefault(f"{source}/{table}", []).append(path)
            self.con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
        self.con.unregister("t")
        key = f"{source}/{table}"
        self.counts[key] = self.counts.get(key, 0) + len(df)
        return len(df)

    def finish(self) -> dict[str, int]:
        """Merge the per-shard Parquet parts into one file per table (shard order kept)."""
        for key, files in self.parts.items():
            source, table = key.split("/")
            lst = "[" + ", ".join(_lit(str(f)) for f in files) + "]"
            out = self.out / source / f"{table}.parquet"
            self.con.execute(
                f"COPY (SELECT * FROM read_parquet({lst})) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
            )
        if self.parts:
            shutil.rmtree(self.out / ".parts", ignore_errors=True)
        self.con.close()
        order = [f"{name}/{table}" for name, source in SAMPLE_SOURCES.items() for table in source.table_names]
        return {k: self.counts[k] for k in order if k in self.counts}

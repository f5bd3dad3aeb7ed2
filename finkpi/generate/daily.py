"""A daily delivery, simulated: split generated extracts at a business day.

`write_history(src, dst, cutoff)` writes the extracts as they stood at the end of `cutoff`: every
transactional table keeps the rows dated up to that day, in file order. `write_with_delivery`
writes the extracts one delivery later: the same base files, and beside them a delivery folder
`<source>/deliveries/<batch>/<table>.<format>` (README, "Incremental runs"; the folder name is
`DELIVERIES_FOLDER` in finkpi/sources/registry.py) holding only the rows dated after `cutoff`,
with the base file's header. The files already loaded do not change, so their rows keep their
file and line (`_source_file`, `_source_row`), and a delivered row names its delivery file and
its line there. `yesterday_build` makes the build warehouse such a delivery finds: a full build
with the incremental facts' rows after `cutoff` and the staging rows of the delivery's files taken
out. Used by the incremental-run test and the benchmarks.

Tables without a business date of their own (master data, rates, accounts) are copied whole;
so are the two whose files are not in date order (customers by created date, production orders
by start date). A table with no row after `cutoff` has no file in the delivery.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

from finkpi.contract import PERIOD_COLUMNS
from finkpi.incremental import (
    INCREMENTAL_FACTS,
    INCREMENTAL_SNAPSHOTS,
    LOADED_FILES,
    WINDOWED_MODELS,
)
from finkpi.settings import business_day_sql, raw_reader_sql
from finkpi.sources import DELIVERIES_FOLDER, REGISTERED

# (source, table) -> the row's business date: a column, or (parent table, key) for lines whose
# date is their header's. The tables a delivery appends to (the registry's SourceTable.dated_by).
DATED_TABLES: dict[tuple[str, str], str | tuple[str, str]] = {
    (source.name, table.name): table.dated_by
    for source in REGISTERED
    for table in source.tables
    if table.appends
}

# What yesterday_build writes into the metric values of the periods that end after its cutoff:
# far from any real value, so a value kept instead of recomputed cannot pass for a right one
POISON = 1.0e15
# the tables yesterday_build poisons the later periods of -> the value column it poisons
POISONED = {
    "metric_values": "value",
    "scorecard_lines": "actual",
    "scorecard_summary": "total_score",
    "driver_attribution": "contribution",
}


def _reader(path: Path) -> str:
    return raw_reader_sql(path.suffix.lstrip("."), [path])


def _dated_rows_sql(src: Path, source: str, table: str, fmt: str) -> str:
    """Every row of a raw file with its position (`_pos`) and business date (`_day`)."""
    path = src / source / f"{table}.{fmt}"
    rule = DATED_TABLES[(source, table)]
    rows = f"select *, ordinality as _pos from {_reader(path)} with ordinality"
    if isinstance(rule, str):
        return f"select * exclude (ordinality), {business_day_sql(rule)} as _day from ({rows})"
    parent, key = rule
    parent_date = DATED_TABLES[(source, parent)]
    parent_path = src / source / f"{parent}.{fmt}"
    return (
        f"select child_rows.* exclude (ordinality), parent_days._day from ({rows}) as child_rows"
        f" left join (select distinct {key} as _key, {business_day_sql(parent_date)} as _day"
        f" from {_reader(parent_path)}) as parent_days on child_rows.{key} = parent_days._key"
    )


def _copy_rows(con, query: str, path: Path, fmt: str) -> None:
    options = "format csv, header true, quote '\"'" if fmt == "csv" else "format parquet"
    con.execute(f"copy ({query}) to '{path}' ({options})")


def _write(src: Path, dst: Path, cutoff: date, batch: str | None) -> dict[str, int]:
    """The history into `dst`'s base files; with a `batch`, the rows after `cutoff` into its
    delivery folder. Returns, per dated table, the rows after `cutoff`."""
    import duckdb

    fmt = "csv" if any(src.glob("erp/*.csv")) else "parquet"
    counts: dict[str, int] = {}
    with duckdb.connect() as con:
        for path in sorted(src.glob(f"*/*.{fmt}")):
            source, table = path.parent.name, path.stem
            out = dst / source / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            if (source, table) not in DATED_TABLES:
                shutil.copyfile(path, out)
                continue
            # a row without a date (or an orphan line) counts as history: it was there before
            is_new = f"coalesce(_day > date '{cutoff.isoformat()}', false)"
            header = con.execute(f"select * from {_reader(path)} limit 0").description
            select_list = ", ".join(f'"{column[0]}"' for column in header)
            dated = _dated_rows_sql(src, source, table, fmt)
            con.execute(f"create or replace temp table split as select *, {is_new} as _new from ({dated})")
            _copy_rows(con, f"select {select_list} from split where not _new order by _pos", out, fmt)
            (counts[f"{source}.{table}"],) = con.execute("select count(*) from split where _new").fetchone()
            if batch and counts[f"{source}.{table}"]:
                delivered = dst / source / DELIVERIES_FOLDER / batch / path.name
                delivered.parent.mkdir(parents=True, exist_ok=True)
                _copy_rows(con, f"select {select_list} from split where _new order by _pos", delivered, fmt)
    return counts


def write_history(src: Path, dst: Path, cutoff: date) -> dict[str, int]:
    """The extracts of `src` as they stood at the end of `cutoff`, into `dst`. Returns, per dated
    table, how many rows were left out (the later deliveries)."""
    return _write(Path(src), Path(dst), cutoff, batch=None)


def delivery_batch(cutoff: date) -> str:
    """The name of the delivery folder of the days after `cutoff`: its first day, ISO (batches
    are read in name order)."""
    return (cutoff + timedelta(days=1)).isoformat()


def write_with_delivery(src: Path, dst: Path, cutoff: date, batch: str | None = None) -> dict[str, int]:
    """The history of `src` into `dst` (`write_history`), and the rows dated after `cutoff` as a
    delivery: new files in `<source>/deliveries/<batch>/` (default batch: the day after
    `cutoff`). Returns, per dated table, the rows of the delivery."""
    return _write(Path(src), Path(dst), cutoff, batch=batch or delivery_batch(cutoff))


def rows_after(src: Path, cutoff: date) -> dict[str, int]:
    """Per dated table, the rows dated after `cutoff`: what a delivery of those days holds."""
    import duckdb

    src = Path(src)
    fmt = "csv" if any(src.glob("erp/*.csv")) else "parquet"
    with duckdb.connect() as con:
        return {
            f"{source}.{table}": con.execute(
                f"select count(*) from ({_dated_rows_sql(src, source, table, fmt)})"
                f" where _day > date '{cutoff.isoformat()}'"
            ).fetchone()[0]
            for (source, table) in DATED_TABLES
            if (src / source / f"{table}.{fmt}").exists()
        }


def cutoff_for_share(src: Path, share: float) -> date:
    """The last history day such that the sales order lines dated after it are about `share` of
    all (at least one order day is left to deliver)."""
    import duckdb

    src = Path(src)
    fmt = "csv" if any(src.glob("erp/*.csv")) else "parquet"
    lines = _dated_rows_sql(src, "erp", "sales_order_lines", fmt)
    with duckdb.connect() as con:
        (cutoff,) = con.execute(
            f"""
            with per_day as (select _day, count(*) as n from ({lines}) where _day is not null group by _day),
            later as (select _day, sum(n) over (order by _day desc) - n as after, sum(n) over () as total
                      from per_day)
            select min(_day) from later where after <= {share} * total and after > 0
            """
        ).fetchone()
    if cutoff is None:
        raise ValueError(f"{src}: too few order days to leave {share:.1%} of the lines to a delivery")
    return cutoff


def yesterday_build(full_build: Path, target: Path, cutoff: date) -> None:
    """The build warehouse as yesterday's run left it, made from today's full build: a copy of
    `full_build` at `target` with the incremental facts' and `WINDOWED_MODELS`' rows dated after
    `cutoff` taken out (and the month-end snapshots of months ending after it stale or gone,
    the rows the windowed models always recompute stale or gone), every staging row read from
    the delivery of the days after `cutoff` (its `_source_file` in
    `deliveries/<delivery_batch(cutoff)>/`), and that delivery out of its record of the files
    loaded (an incremental run loads them as new). Its metric values and scorecards of every
    period that ends after `cutoff` are `POISON` (`POISONED`; their keys kept): yesterday's run
    could not have had today's values, so an incremental run must recompute each of them, and a
    value it kept instead shows.

    That is the state an incremental run reads (the newest date of each fact and the rows before
    its window; the files each incremental staging model has loaded, so it loads the delivery's);
    every other table it rebuilds whatever it held. A full build of the history
    (`write_history`) holds the same fact rows up to `cutoff` as long as no row older than the
    lookback window depends on a later delivery, the condition of incremental runs at all (README,
    "Incremental runs"). It saves a second full build, in the tests and the benchmarks."""
    import duckdb

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(full_build, target)
    with duckdb.connect(str(target)) as con:
        for table, column in INCREMENTAL_FACTS.items():
            con.execute(f"delete from marts.{table} where {column} > date '{cutoff.isoformat()}'")
        # the snapshots of months ending after `cutoff`: yesterday's run had none of the later
        # months and dated the cutoff's month at its own as-of day; stale, so an incremental run
        # that does not recompute them differs from the full run
        month = f"date_trunc('month', date '{cutoff.isoformat()}')"
        for table, column in INCREMENTAL_SNAPSHOTS.items():
            con.execute(f"delete from marts.{table} where {column} > {month}")
            con.execute(
                f"update marts.{table} set snapshot_date = date '{cutoff.isoformat()}'"
                f" where {column} = {month} and snapshot_date > date '{cutoff.isoformat()}'"
            )
        for relation, column in WINDOWED_MODELS.items():
            con.execute(f"delete from {relation} where {column} > date '{cutoff.isoformat()}'")
        # the lines still undelivered: yesterday's status is stale today, so the run must
        # recompute them whatever their dates (a status no run writes)
        con.execute("update marts.fct_deliveries set delivery_status = 'stale' where actual_date is null")
        con.execute("delete from intermediate.int_invoices_validated where invoice_date is null")
        delivered = f"%/{DELIVERIES_FOLDER}/{delivery_batch(cutoff)}/%"
        for (table,) in con.execute(
            "select table_name from duckdb_columns() where database_name = current_database()"
            " and schema_name = 'staging' and column_name = '_source_file'"
        ).fetchall():
            con.execute(f'delete from staging."{table}" where _source_file like ?', [delivered])
        con.execute(f"delete from {LOADED_FILES} where file_key like ?", [delivered])
        # the metric values and the scorecards of every period that ends after `cutoff`: poisoned
        present = {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'metrics'"
            ).fetchall()
        }
        for table, column in POISONED.items():
            if table not in present:  # no scorecards: a fiscal calendar without targets
                continue
            later = " or ".join(
                f"({table}.grain = '{grain}' and dates.{start} = {table}.period_start)"
                for grain, (start, _label) in PERIOD_COLUMNS.items()
            )
            con.execute(
                f"update metrics.{table} set {column} = {POISON} where exists (select 1 from"
                f" marts.dim_dates as dates where dates.date_day > date '{cutoff.isoformat()}' and ({later}))"
            )
        con.execute("checkpoint")

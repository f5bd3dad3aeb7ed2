"""The audit store `<warehouse>/audit.duckdb`: append-only and hash-chained.

Four tables hold the records; one chain runs through all of them in the order of `seq`:

- `runs`: one record when a run starts and one when it ends (status `success` or `failed`); a run
  with a start and no end was killed (shown as `interrupted` in `audit_runs`);
- `validations`: each rule and expectation result (the quality gate calls `record_validations`);
- `quarantine`: quarantined row counts per source and rule (`record_quarantine`);
- `events`: publishes, rollbacks, closes, reopens and restatement candidates.

Each record carries `prev_hash` (the hash of the record before it) and `record_hash`, the SHA-256
of a canonical JSON of its table name and every other column. `verify` recomputes the chain. The
code only ever inserts; each append takes an exclusive `fcntl` lock on `audit.lock`, so two
processes never interleave (DuckDB itself would refuse the second writer instead of waiting), and
readers take a shared lock so they never meet a writer holding the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from finkpi import contract

GENESIS = "0" * 64

# table -> columns after (seq, prev_hash) and before record_hash, with their types
SCHEMA: dict[str, dict[str, str]] = {
    "runs": {
        "run_id": "VARCHAR",
        "event": "VARCHAR",  # start | end
        "recorded_at": "TIMESTAMP",
        "started_at": "TIMESTAMP",
        "ended_at": "TIMESTAMP",
        "status": "VARCHAR",  # running | success | failed
        "code_version": "VARCHAR",
        "definitions_hash": "VARCHAR",
        "input_files": "VARCHAR",  # JSON: {path: sha256}
        "message": "VARCHAR",
    },
    "validations": {
        "run_id": "VARCHAR",
        "recorded_at": "TIMESTAMP",
        "check_id": "VARCHAR",  # rule id or expectation name
        "check_type": "VARCHAR",  # rule | dbt_test | expectation | ...
        "target": "VARCHAR",  # model, table or suite
        "severity": "VARCHAR",  # quarantine | warn | fail
        "status": "VARCHAR",  # pass | warn | fail | error
        "observed": "VARCHAR",
        "threshold": "VARCHAR",
        "message": "VARCHAR",
        "details": "VARCHAR",  # JSON of any other keys
    },
    "quarantine": {
        "run_id": "VARCHAR",
        "recorded_at": "TIMESTAMP",
        "source": "VARCHAR",
        "model": "VARCHAR",
        "rule_id": "VARCHAR",
        "rows_quarantined": "BIGINT",
        "rows_total": "BIGINT",
        "share": "DOUBLE",
        "details": "VARCHAR",
    },
    "events": {
        "run_id": "VARCHAR",
        "recorded_at": "TIMESTAMP",
        "kind": "VARCHAR",  # publish | rollback | close | reopen | restatement_candidates
        "version": "VARCHAR",
        "previous_version": "VARCHAR",
        "period": "VARCHAR",
        "reason": "VARCHAR",
        "actor": "VARCHAR",
        "details": "VARCHAR",
    },
}
TABLES = tuple(SCHEMA)


class AuditError(RuntimeError):
    pass


@dataclass
class VerifyResult:
    records: int
    broken: str | None = None  # "<table> seq <n>: <why>" of the first broken record

    @property
    def ok(self) -> bool:
        return self.broken is None


def now() -> datetime:
    """UTC, naive, to the microsecond (what a TIMESTAMP column stores and gives back)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _canonical_value(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else repr(value)
    if isinstance(value, bool | int | str):
        return value
    return str(value)


def record_hash(table: str, record: dict) -> str:
    """SHA-256 over a canonical JSON of the table name and every column but record_hash."""
    content = {"table": table, **{k: _canonical_value(v) for k, v in record.items() if k != "record_hash"}}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def to_json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class AuditStore:
    def __init__(self, warehouse_dir: Path):
        self.warehouse_dir = Path(warehouse_dir)
        self.path = self.warehouse_dir / "audit.duckdb"
        self.lock_path = self.warehouse_dir / "audit.lock"

    # -- locking and connections -----------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.warehouse_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only connection under the shared lock (None while the store does not exist)."""
        with self._locked(exclusive=False):
            if not self.path.exists():
                yield None
                return
            con = duckdb.connect(str(self.path), read_only=True)
            try:
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def locked_for_copy(self) -> Iterator[Path | None]:
        """Hold the shared lock while someone else attaches the file read-only (a publish copy)."""
        with self._locked(exclusive=False):
            yield self.path if self.path.exists() else None

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        for table, columns in SCHEMA.items():
            body = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            con.execute(
                f"create table if not exists {table} (seq BIGINT PRIMARY KEY, prev_hash VARCHAR NOT NULL, "
                f"{body}, record_hash VARCHAR NOT NULL)"
            )

    # -- appending -------------------------------------------------------------------------
    def append(self, table: str, records: Iterable[dict]) -> int:
        """Append records to one table as one transaction; returns how many were written."""
        if table not in SCHEMA:
            raise AuditError(f"unknown audit table {table!r}")
        columns = list(SCHEMA[table])
        records = list(records)
        if not records:
            return 0
        with self._locked(exclusive=True):
            con = duckdb.connect(str(self.path))
            try:
                self._ensure_schema(con)
                con.execute("begin transaction")
                seq, prev = self._head(con)
                for record in records:
                    unknown = set(record) - set(columns)
                    if unknown:
                        raise AuditError(f"audit table {table} has no column(s) {sorted(unknown)}")
                    seq += 1
                    row = {"seq": seq, "prev_hash": prev, **{c: record.get(c) for c in columns}}
                    row["record_hash"] = record_hash(table, row)
                    placeholders = ", ".join("?" for _ in row)
                    con.execute(f"insert into {table} values ({placeholders})", list(row.values()))
                    prev = row["record_hash"]
                con.execute("commit")
            finally:
                con.close()
        return len(records)

    @staticmethod
    def _head(con) -> tuple[int, str]:
        union = " union all ".join(f"select seq, record_hash from {t}" for t in TABLES)
        row = con.execute(f"select seq, record_hash from ({union}) order by seq desc limit 1").fetchone()
        return (0, GENESIS) if row is None else (row[0], row[1])

    # -- the API the pipeline and the quality gate call ------------------------------------
    def record_run_start(self, run_id: str, started_at: datetime, code_version: str, input_files: dict):
        self.append(
            "runs",
            [
                {
                    "run_id": run_id,
                    "event": "start",
                    "recorded_at": now(),
                    "started_at": started_at,
                    "status": "running",
                    "code_version": code_version,
                    "input_files": to_json(input_files),
                }
            ],
        )

    def record_run_end(
        self,
        run_id: str,
        started_at: datetime,
        status: str,
        code_version: str,
        definitions_hash: str | None = None,
        message: str | None = None,
    ):
        self.append(
            "runs",
            [
                {
                    "run_id": run_id,
                    "event": "end",
                    "recorded_at": now(),
                    "started_at": started_at,
                    "ended_at": now(),
                    "status": status,
                    "code_version": code_version,
                    "definitions_hash": definitions_hash,
                    "message": message,
                }
            ],
        )

    def record_validations(self, run_id: str, rows: Iterable[dict]) -> int:
        """Rule and expectation results. Known keys fill their columns (`check_id`, `check_type`,
        `target`, `severity`, `status`, `observed`, `threshold`, `message`); any other key goes
        into the `details` JSON."""
        known = set(SCHEMA["validations"]) - {"run_id", "recorded_at", "details"}
        records = []
        for row in rows:
            extra = {k: v for k, v in row.items() if k not in known}
            record = {k: (None if row.get(k) is None else str(row[k])) for k in known}
            record.update(run_id=run_id, recorded_at=now(), details=to_json(extra) if extra else None)
            records.append(record)
        return self.append("validations", records)

    def record_quarantine(self, run_id: str, rows: Iterable[dict]) -> int:
        """Quarantine counts: one row per source and rule with `source`, `rule_id`,
        `rows_quarantined` and optionally `model`, `rows_total`, `share`; other keys -> details."""
        known = {"source", "model", "rule_id", "rows_quarantined", "rows_total", "share"}
        records = []
        for row in rows:
            extra = {k: v for k, v in row.items() if k not in known}
            record = {k: row.get(k) for k in known}
            if record["share"] is None and record["rows_total"]:
                record["share"] = record["rows_quarantined"] / record["rows_total"]
            record.update(run_id=run_id, recorded_at=now(), details=to_json(extra) if extra else None)
            records.append(record)
        return self.append("quarantine", records)

    def record_event(self, kind: str, run_id: str | None = None, details: dict | None = None, **fields):
        record = {"kind": kind, "run_id": run_id, "recorded_at": now(), "details": to_json(details), **fields}
        self.append("events", [record])

    # -- reading ---------------------------------------------------------------------------
    def run_records(self, run_id: str) -> dict[str, dict]:
        """A run's records by event (`start`, `end`): what a run resumed in another process (a
        later Dagster step) continues from, and how it knows it has ended."""
        with self.reading() as con:
            if con is None or not _has_table(con, "runs"):
                return {}
            cursor = con.execute("select * from runs where run_id = ? order by seq", [run_id])
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return {row["event"]: row for row in rows}

    def events(self, kinds: Iterable[str] | None = None) -> list[dict]:
        with self.reading() as con:
            if con is None or not _has_table(con, "events"):
                return []
            cursor = con.execute("select * from events order by seq")
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        kinds = set(kinds) if kinds is not None else None
        return [row for row in rows if kinds is None or row["kind"] in kinds]

    def verify(self) -> VerifyResult:
        """Recompute the chain: seq without gaps from 1, each prev_hash equal to the hash before,
        each record_hash equal to the hash of the record's content."""
        with self.reading() as con:
            if con is None:
                return VerifyResult(records=0)
            records = []
            for table in TABLES:
                if not _has_table(con, table):
                    continue
                cursor = con.execute(f"select * from {table}")
                names = [column[0] for column in cursor.description]
                records += [(table, dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
        records.sort(key=lambda item: item[1]["seq"])
        prev = GENESIS
        for expected_seq, (table, record) in enumerate(records, start=1):
            where = f"{table} seq {record['seq']}"
            if record["seq"] != expected_seq:
                why = f"expected seq {expected_seq} (a record is missing)"
                return VerifyResult(len(records), f"{where}: {why}")
            if record["prev_hash"] != prev:
                return VerifyResult(len(records), f"{where}: prev_hash does not match the record before")
            if record_hash(table, record) != record["record_hash"]:
                return VerifyResult(len(records), f"{where}: content does not match its record_hash")
            prev = record["record_hash"]
        return VerifyResult(len(records))


def _has_table(con, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?",
            [table],
        ).fetchone()[0]
    )


# Published copies: SQL over the attached store (alias `audit`) for each audit_* table of the
# published contract; `None` when the store does not exist yet gives empty tables with the same columns.
def published_audit_sql(alias: str | None, publishing_run_id: str = "") -> dict[str, str]:
    def source(table: str) -> str:
        if alias is None:
            columns = ", ".join(
                f"cast(null as {kind}) as {name}"
                for name, kind in {"seq": "BIGINT", "prev_hash": "VARCHAR", **SCHEMA[table]}.items()
            )
            return f"(select {columns}, cast(null as VARCHAR) as record_hash where false)"
        return f"{alias}.main.{table}"

    runs = source("runs")
    publishing = publishing_run_id.replace("'", "''")
    special = {
        # one row per run: its start and (if any) its end; a start without an end is `interrupted`
        # (killed), except the run publishing this version (`publishing`)
        "runs": f"""
            select s.run_id, s.started_at, e.ended_at,
                   coalesce(e.status, case when s.run_id = '{publishing}'
                                           then 'publishing' else 'interrupted' end) as status,
                   s.code_version, e.definitions_hash, s.input_files, e.message,
                   s.seq as start_seq, e.seq as end_seq
            from {runs} as s
            left join {runs} as e on e.run_id = s.run_id and e.event = 'end'
            where s.event = 'start'
            order by s.seq""",
    }
    copies = {name: contract.TABLES[name].audit_table for name in contract.AUDIT_TABLES}
    # every other table as it is
    return {
        name: special.get(table) or f"select * from {source(table)} order by seq"
        for name, table in copies.items()
    }

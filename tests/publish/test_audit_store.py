"""The audit store: append-only, hash-chained, verified; concurrent writers never interleave;
every run recorded, failed ones too."""

from __future__ import annotations

import multiprocessing

import duckdb
import pytest
from tests_publish_helpers import published_state

from finkpi import pipeline
from finkpi.audit import AuditStore
from finkpi.audit.store import now
from finkpi.cli import main
from finkpi.publish import publish_run


def _filled(tmp_path) -> AuditStore:
    store = AuditStore(tmp_path)
    store.record_run_start("r1", now(), "abc123", {"erp/invoices.csv": "00ff"})
    store.record_validations(
        "r1",
        [
            {"check_id": "unique_invoice_id", "check_type": "rule", "severity": "fail", "status": "pass"},
            {"check_id": "revenue_reconciles", "status": "fail", "observed": 12.5, "month": "2025-06"},
        ],
    )
    store.record_quarantine(
        "r1", [{"source": "erp", "rule_id": "negative_qty", "rows_quarantined": 3, "rows_total": 300}]
    )
    store.record_run_end("r1", now(), "success", "abc123", definitions_hash="d" * 64)
    return store


def test_chain_verifies_and_keeps_everything(tmp_path):
    store = _filled(tmp_path)
    result = store.verify()
    assert result.ok and result.records == 5
    with duckdb.connect(str(store.path), read_only=True) as con:
        details, observed = con.execute(
            "select details, observed from validations where check_id = 'revenue_reconciles'"
        ).fetchone()
        share = con.execute("select share from quarantine").fetchone()[0]
    assert details == '{"month":"2025-06"}' and observed == "12.5"
    assert share == pytest.approx(0.01)
    assert main(["audit", "verify", "--warehouse-dir", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    "tamper, why",
    [
        ("update validations set status = 'pass' where check_id = 'revenue_reconciles'", "content"),
        ("delete from validations where check_id = 'unique_invoice_id'", "missing"),
        ("update runs set prev_hash = repeat('1', 64) where event = 'end'", "prev_hash"),
    ],
)
def test_tampering_is_found_and_named(tmp_path, capsys, tamper, why):
    store = _filled(tmp_path)
    with duckdb.connect(str(store.path)) as con:
        con.execute(tamper)
    result = store.verify()
    assert not result.ok and why in result.broken
    assert main(["audit", "verify", "--warehouse-dir", str(tmp_path)]) == 1
    assert "BROKEN at" in capsys.readouterr().err


def test_rehashing_a_tampered_record_breaks_the_next_link(tmp_path):
    """Rewriting a record and its own hash still breaks the chain at the record after it."""
    from finkpi.audit.store import record_hash

    store = _filled(tmp_path)
    with duckdb.connect(str(store.path)) as con:
        cursor = con.execute("select * from validations where seq = 2")
        row = dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))
        row["status"] = "fail"
        con.execute(
            "update validations set status = 'fail', record_hash = ? where seq = 2",
            [record_hash("validations", row)],
        )
    result = store.verify()
    assert not result.ok and result.broken.startswith("validations seq 3: prev_hash")


def _append_many(path, worker: int, count: int) -> None:
    store = AuditStore(path)
    for i in range(count):
        store.record_event("test", run_id=f"w{worker}", details={"i": i})


def test_two_processes_appending_never_interleave(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(tmp_path, w, 40)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    store = AuditStore(tmp_path)
    assert store.verify().ok and store.verify().records == 80
    assert len(store.events(["test"])) == 80


def test_a_failed_run_is_recorded_and_publishes_nothing(fresh_warehouse, monkeypatch):
    settings = fresh_warehouse
    publish_run(settings, "20250101T000000Z-dddd0001")
    before = published_state(settings)

    def broken(*args, **kwargs):
        raise RuntimeError("gate said no")

    monkeypatch.setattr("finkpi.publish.publish_run", broken)
    with pytest.raises(RuntimeError, match="gate said no"):
        pipeline.run(settings, progress=lambda _m: None, from_stage="publish")
    assert published_state(settings) == before
    store = AuditStore(settings.warehouse_dir)
    assert store.verify().ok
    with duckdb.connect(str(store.path), read_only=True) as con:
        rows = con.execute(
            "select event, status, message, code_version, input_files from runs order by seq"
        ).fetchall()
    assert [(event, status) for event, status, *_ in rows] == [("start", "running"), ("end", "failed")]
    assert "gate said no" in rows[1][2]
    assert rows[0][3] and "erp/invoices.csv" in rows[0][4] and "sap/salesOrder.csv" in rows[0][4]

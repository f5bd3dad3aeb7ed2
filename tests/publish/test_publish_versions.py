"""Write–audit–publish: complete versions, the atomic switch, the storage version, pruning,
rollback, and a failed publish leaving the current version byte-for-byte as it was."""

from __future__ import annotations

import hashlib
import json
import os

import duckdb
import pytest
from tests_publish_helpers import RUN_TABLES, published_state, run_ids

from finkpi import contract
from finkpi.audit import AuditStore
from finkpi.publish import PublishError, current_version, list_versions, publish, publish_run, rollback


def test_a_version_is_complete_and_current_points_at_it(fresh_warehouse):
    settings = fresh_warehouse
    result = publish_run(settings, "20250101T000000Z-aaaa0001")
    warehouse = settings.warehouse_dir
    assert os.readlink(warehouse / "current") == "versions/20250101T000000Z-aaaa0001"
    assert os.readlink(warehouse / "published.duckdb") == "current/published.duckdb"
    folder = warehouse / "versions" / "20250101T000000Z-aaaa0001"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["run_id"] == result.run_id
    # the contract's tables but the scorecard step's (publish_run alone publishes no scorecards)
    expected = set(contract.TABLES) - set(contract.SCORECARD_TABLES)
    assert set(manifest["tables"]) == expected
    # every file hashed in the manifest, hashes right; one Parquet per table with the same rows
    assert set(manifest["files"]) == contract.version_files(expected) - {contract.MANIFEST}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    with duckdb.connect(str(settings.build_database), read_only=True) as build:
        build_rows = {
            t: build.execute(f"select count(*) from metrics.{t}").fetchone()[0]
            for t in contract.EXPORT_TABLES
        }
    with duckdb.connect() as con:
        for table, info in manifest["tables"].items():
            parquet_rows = con.execute(f"select count(*) from read_parquet('{folder / info['parquet']}')")
            assert parquet_rows.fetchone()[0] == info["rows"], table
    for table, rows in build_rows.items():
        assert manifest["tables"][table]["rows"] == rows, table
    # one run_id across the tables: the publishing run's
    assert run_ids(warehouse / "published.duckdb") == {t: {result.run_id} for t in RUN_TABLES}
    assert not (folder / "published.duckdb.wal").exists()


def test_published_file_has_storage_version_for_duckdb_1x(fresh_warehouse, tmp_path):
    publish_run(fresh_warehouse, "20250101T000000Z-aaaa0002")
    path = fresh_warehouse.warehouse_dir / "published.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        (tags,) = con.execute("select tags from duckdb_databases() where path is not null").fetchone()
    assert tags["storage_version"].startswith(contract.STORAGE_VERSION), tags
    # the check discriminates: a file written by default by duckdb 2.x reports a newer version
    with duckdb.connect(str(tmp_path / "default.duckdb")) as con:
        con.execute("create table t as select 1 as a")
        (default_tags,) = con.execute("select tags from duckdb_databases() where path is not null").fetchone()
    assert not default_tags.get("storage_version", "").startswith(contract.STORAGE_VERSION), default_tags


def test_without_audit_records_the_audit_tables_are_empty_with_columns(fresh_warehouse):
    publish(fresh_warehouse, "20250101T000000Z-aaaa0003", {"metric_catalog": "metrics.metric_catalog"})
    with duckdb.connect(str(fresh_warehouse.warehouse_dir / "published.duckdb"), read_only=True) as con:
        for table in contract.AUDIT_TABLES:
            assert con.execute(f"select count(*) from {table}").fetchone()[0] == 0
        columns = {row[0] for row in con.execute("describe audit_validations").fetchall()}
    assert {"run_id", "check_id", "severity", "status", "prev_hash", "record_hash"} <= columns


def test_last_n_versions_kept_and_rollback_walks_back(fresh_warehouse):
    settings = fresh_warehouse.with_(keep_versions=2)
    ids = [f"20250101T00000{i}Z-bbbb000{i}" for i in range(4)]
    for run_id in ids:
        publish_run(settings, run_id)
    assert list_versions(settings) == ids[-2:]
    assert rollback(settings, actor="tester") == (ids[3], ids[2])
    assert current_version(settings) == ids[2]
    with pytest.raises(PublishError, match="no earlier version"):
        rollback(settings)  # ids[1] and ids[0] were pruned
    # a new publish never prunes the current version and rollback history is in the audit store
    events = AuditStore(settings.warehouse_dir).events(["publish", "rollback"])
    assert [e["kind"] for e in events] == ["publish"] * 4 + ["rollback"]
    assert events[-1]["version"] == ids[2] and events[-1]["previous_version"] == ids[3]
    assert events[-1]["actor"] == "tester"


def test_versions_within_one_second_keep_their_publish_order(fresh_warehouse):
    """Run ids sort by the second only: versions published within one second (here named so that
    their names sort against their publish order) are kept, pruned and rolled back by when they
    were published, as the audit store recorded it."""
    settings = fresh_warehouse.with_(keep_versions=2)
    ids = [f"20250101T000000Z-{suffix}" for suffix in ("ffff0001", "cccc0002", "aaaa0003", "bbbb0004")]
    for run_id in ids:
        publish_run(settings, run_id)
    assert list_versions(settings) == ids[-2:]  # by name it would keep ids[1] and ids[0]
    assert rollback(settings) == (ids[3], ids[2])
    with pytest.raises(PublishError, match="no earlier version"):
        rollback(settings)


def test_a_version_without_a_publish_record_sorts_first_and_is_pruned_first(fresh_warehouse):
    settings = fresh_warehouse.with_(keep_versions=2)
    publish_run(settings, "20250101T000000Z-bbbb0001")
    # a complete version directory whose publish was never recorded (killed after the rename)
    orphan = settings.warehouse_dir / "versions" / "20250101T000009Z-zzzz0009"
    orphan.mkdir()
    (orphan / "manifest.json").write_text("{}")
    assert list_versions(settings) == [orphan.name, "20250101T000000Z-bbbb0001"]
    publish_run(settings, "20250101T000000Z-aaaa0002")
    assert list_versions(settings) == ["20250101T000000Z-bbbb0001", "20250101T000000Z-aaaa0002"]


def test_a_failed_publish_leaves_the_current_version_byte_for_byte(fresh_warehouse):
    settings = fresh_warehouse
    publish_run(settings, "20250101T000000Z-cccc0001")
    before = published_state(settings)
    with pytest.raises(duckdb.Error):
        publish(settings, "20250101T000000Z-cccc0002", {"broken": "select * from build.metrics.nope"})
    assert published_state(settings) == before
    assert list_versions(settings) == ["20250101T000000Z-cccc0001"]
    assert not list((settings.warehouse_dir / "versions").glob(".tmp-*"))
    with pytest.raises(PublishError, match="exists already"):
        publish_run(settings, "20250101T000000Z-cccc0001")
    assert published_state(settings) == before


@pytest.mark.skipif(
    not os.environ.get("FINKPI_DUCKDB1_PATH"),
    reason="set FINKPI_DUCKDB1_PATH to a folder holding duckdb 1.x (pip install --target DIR duckdb==1.1.3)",
)
def test_a_duckdb_1x_client_opens_the_published_file(fresh_warehouse):
    import subprocess
    import sys

    publish_run(fresh_warehouse, "20250101T000000Z-aaaa0004")
    script = (
        "import duckdb, sys; assert duckdb.__version__.startswith('1.'), duckdb.__version__;"
        " con = duckdb.connect(sys.argv[1], read_only=True);"
        " print(con.execute('select count(*) from metric_values').fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(fresh_warehouse.warehouse_dir / "published.duckdb")],
        env={**os.environ, "PYTHONPATH": os.environ["FINKPI_DUCKDB1_PATH"]},
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) > 0

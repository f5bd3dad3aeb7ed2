"""Certification follows meaning: a metric's certified identity covers its MetricFlow definition
and the source columns that feed it (its full lineage: values, filters, dates, join keys).

Unit tests on hand-made certifications first; then, on the session build, the feeding set against
the compiled SQL, a hand-made change to the compiled models that makes a certified metric
uncertified (naming the source), re-certifying, and the published catalog and history."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from finkpi.cli import main as cli
from finkpi.lineage.columns import ColumnLineage, registered_sources
from finkpi.metrics.catalog import load_catalog
from finkpi.metrics.certification import (
    CERTIFICATIONS_FILE,
    FIELDS,
    CertificationError,
    append_certification,
    certification_status,
    certified_identity,
    definition_history,
    field_hashes,
    load_certifications,
)
from finkpi.metrics.definition import DEFINITION_FIELDS
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.exports import catalog_frame

SIGNED_AT = pd.Timestamp("2026-11-26T04:58:26Z")
ERP_ONLY = ["erp.sales_orders.order_date", "erp.sales_orders.status", "erp.sales_order_lines.net_amount"]


def _certifications(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{field: "" for field in FIELDS} | row for row in rows], columns=FIELDS)
    frame["certified_at"] = pd.to_datetime(frame["certified_at"], utc=True)
    return frame


def _signed(metric: str, digest: str, feeding: list[str], when=SIGNED_AT, fields=None) -> dict:
    return {
        "metric_name": metric,
        "definition_hash": digest,
        "feeding_columns": " ".join(sorted(feeding)),
        "certified_identity": certified_identity(digest, feeding, fields),
        "certified_by": "CFO",
        "certified_at": when,
        "change_note": "signed",
        "definition_fields": " ".join(f"{k}={v}" for k, v in sorted((fields or {}).items())),
    }


# the definition fields of a metric as MetricDefinition.definition_fields gives them
TEXTS = {
    "source_documents": "invoices.csv, invoice_lines.csv", "period_date": "the invoice date",
    "includes": "accepted invoice lines", "excludes": "quarantined invoices",
    "rounding": "cents per line", "slice_behavior": "all: additive: one customer per line",
}  # fmt: skip


def test_the_identity_is_the_hash_of_definition_and_sorted_feeding_columns():
    expected = hashlib.sha256(b"h1\na.x.1\nb.y.2").hexdigest()
    assert certified_identity("h1", ["b.y.2", "a.x.1"]) == expected
    assert certified_identity("h1", ["a.x.1"]) != certified_identity("h1", ["a.x.1", "b.y.2"])
    assert certified_identity("h2", ["a.x.1"]) != certified_identity("h1", ["a.x.1"])


def test_a_new_source_feeding_a_certified_metric_uncertifies_it_naming_source_and_columns():
    signed = _certifications(_signed("orders_booked", "h1", ERP_ONLY))
    assert certification_status("orders_booked", "h1", ERP_ONLY, True, signed).certified
    with_sap = [*ERP_ONLY, "sap.salesOrder.changedAt", "sap.salesOrder.netAmount"]
    status = certification_status("orders_booked", "h1", with_sap, True, signed)
    assert not status.certified
    assert status.reason == (
        "source sap now feeds it (columns salesOrder.changedAt, salesOrder.netAmount)"
        " (last signed off by CFO on 2026-11-26)"
    )


def test_reasons_for_a_changed_definition_swapped_columns_and_legacy_or_missing_sign_offs():
    signed = _certifications(_signed("revenue", "aaaaaaaaaaaa1111", ERP_ONLY))
    changed = certification_status("revenue", "bbbbbbbbbbbb2222", ERP_ONLY, True, signed)
    assert not changed.certified and changed.reason.startswith(
        "its definition changed (MetricFlow SQL hash bbbbbbbbbbbb, certified aaaaaaaaaaaa)"
    )
    swapped = [*ERP_ONLY[:1], "erp.sales_orders.requested_date", *ERP_ONLY[2:]]
    status = certification_status("revenue", "aaaaaaaaaaaa1111", swapped, True, signed)
    assert "more erp columns feed it (columns sales_orders.requested_date)" in status.reason
    assert "erp columns no longer feed it (sales_orders.status)" in status.reason
    legacy = _certifications({"metric_name": "revenue", "definition_hash": "h1", "certified_by": "CFO",
                              "certified_at": SIGNED_AT})  # fmt: skip
    assert certification_status("revenue", "h1", ERP_ONLY, True, legacy).reason == (
        "it was signed off on its definition hash only, not on the source columns feeding it"
        " (last signed off by CFO on 2026-11-26)"
    )
    assert "never certified" in certification_status("cogs", "h1", ERP_ONLY, True, signed).reason
    declared = certification_status("revenue", "aaaaaaaaaaaa1111", ERP_ONLY, False, signed)
    assert not declared.certified and "meta certified: false" in declared.reason


def test_the_definition_fields_are_part_of_the_identity_each_by_the_hash_of_its_text():
    hashes = field_hashes(TEXTS)
    assert set(hashes) == set(DEFINITION_FIELDS)
    assert hashes["rounding"] == hashlib.sha256(b"cents per line").hexdigest()[:16]
    entries = "\n".join(f"{field}={hashes[field]}" for field in sorted(hashes))
    expected = hashlib.sha256(f"h1\na.x.1\n\n{entries}".encode()).hexdigest()
    assert certified_identity("h1", ["a.x.1"], hashes) == expected
    assert certified_identity("h1", ["a.x.1"], hashes) != certified_identity("h1", ["a.x.1"])


def test_changing_one_definition_field_of_a_certified_metric_uncertifies_it_naming_the_field():
    signed = _certifications(_signed("revenue", "h1", ERP_ONLY, fields=field_hashes(TEXTS)))
    assert certification_status("revenue", "h1", ERP_ONLY, True, signed, field_hashes(TEXTS)).certified
    rounded_per_document = field_hashes(TEXTS | {"rounding": "cents per document"})
    status = certification_status("revenue", "h1", ERP_ONLY, True, signed, rounded_per_document)
    assert not status.certified
    assert status.reason == (
        "its definition fields changed (rounding) (last signed off by CFO on 2026-11-26)"
    )
    two = field_hashes(TEXTS | {"excludes": "nothing", "slice_behavior": "all: ratio: x"})
    assert certification_status("revenue", "h1", ERP_ONLY, True, signed, two).reason.startswith(
        "its definition fields changed (excludes, slice_behavior)"
    )


def test_a_sign_off_from_before_the_definition_fields_certifies_nothing_and_says_so():
    """Rows signed on definition hash and feeding columns alone (definition_fields empty) keep
    their identity (load_certifications verifies them), but a metric with fields is not certified
    by them, and the reason names the new fields."""
    signed = _certifications(_signed("revenue", "h1", ERP_ONLY))
    assert signed.loc[0, "certified_identity"] == certified_identity("h1", ERP_ONLY)
    status = certification_status("revenue", "h1", ERP_ONLY, True, signed, field_hashes(TEXTS))
    assert not status.certified
    assert status.reason == (
        "it was signed off before its definition fields existed (excludes, includes, period_date,"
        " rounding, slice_behavior, source_documents) (last signed off by CFO on 2026-11-26)"
    )


def test_certify_records_the_field_hashes_and_a_hand_edited_field_hash_is_refused(tmp_path):
    (tmp_path / CERTIFICATIONS_FILE).parent.mkdir()
    row = append_certification(tmp_path, "revenue", "h1", ERP_ONLY, "CFO", "fields", field_hashes(TEXTS))
    assert row["definition_fields"].split(" ") == [
        f"{field}={digest}" for field, digest in sorted(field_hashes(TEXTS).items())
    ]
    signed = load_certifications(tmp_path)
    assert certification_status("revenue", "h1", ERP_ONLY, True, signed, field_hashes(TEXTS)).certified
    path = tmp_path / CERTIFICATIONS_FILE
    digest = field_hashes(TEXTS)["rounding"]
    path.write_text(path.read_text().replace(f"rounding={digest}", f"rounding={'0' * 16}"))
    with pytest.raises(CertificationError, match=r"line 2 \(revenue\).*definition_fields"):
        load_certifications(tmp_path)


def test_the_repositorys_sign_offs_still_verify():
    """Adding the definition_fields column left every existing row's identity as it was (loading
    verifies each row), and each metric's latest sign-off covers its definition fields."""
    signed = load_certifications(Path(__file__).resolve().parents[2])
    assert (signed["definition_fields"] == "").sum() > 30  # signed before the fields existed
    latest = signed.groupby("metric_name").tail(1)
    assert len(latest) > 30 and (latest["definition_fields"] != "").all()


def test_an_older_certified_identity_stays_certified_and_the_reason_compares_with_the_last():
    later = SIGNED_AT + pd.Timedelta(days=30)
    signed = _certifications(
        _signed("revenue", "h1", ERP_ONLY), _signed("revenue", "h1", [*ERP_ONLY, "sap.x.y"], later)
    )
    assert certification_status("revenue", "h1", ERP_ONLY, True, signed).certified  # a revert
    status = certification_status("revenue", "h1", [*ERP_ONLY, "sap.x.z"], True, signed)
    assert status.reason.startswith(
        "more sap columns feed it (columns x.z); sap columns no longer feed it (x.y)"
    )


def test_a_hand_edited_identity_is_refused_naming_file_line_and_metric(tmp_path):
    (tmp_path / CERTIFICATIONS_FILE).parent.mkdir()
    append_certification(tmp_path, "revenue", "h1", ERP_ONLY, "CFO", "initial")
    append_certification(tmp_path, "cogs", "h2", ERP_ONLY, "CFO", "initial")
    assert len(load_certifications(tmp_path)) == 2
    path = tmp_path / CERTIFICATIONS_FILE
    path.write_text(path.read_text().replace(" erp.sales_orders.status", ""))  # a column dropped
    with pytest.raises(CertificationError, match=r"metric_certifications.csv, line 2 \(revenue\)"):
        load_certifications(tmp_path)


def test_definition_history_versions_are_identities_and_an_unsigned_one_carries_the_reason():
    t1, t2, now = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 6, 9))
    certifications = _certifications(
        _signed("revenue", "h1", ERP_ONLY, t1), _signed("revenue", "h1", [*ERP_ONLY, "sap.x.y"], t2)
    )
    current = certified_identity("h1", [*ERP_ONLY, "sap.x.y"])
    catalog_rows = pd.DataFrame(
        {
            "metric_name": ["revenue", "cogs"],
            "definition_hash": ["h1", "c1"],
            "certified_identity": [current, "c-identity"],
            "uncertified_reason": [None, "never certified"],
        }
    )
    history = definition_history(catalog_rows, certifications, now)
    revenue = history[history["metric_name"] == "revenue"].reset_index(drop=True)
    assert list(revenue["definition_hash"]) == ["h1", "h1"]  # same SQL, two meanings
    assert list(revenue["is_current"]) == [False, True] and revenue.loc[0, "valid_to"] == t2
    cogs = history[history["metric_name"] == "cogs"].reset_index(drop=True)
    assert len(cogs) == 1 and pd.isna(cogs.loc[0, "certified_by"])
    assert cogs.loc[0, "change_note"] == "not certified: never certified"


# -- on the session build ------------------------------------------------------------------------
# A metric the sample's SAP extract does not feed (CRM opportunities), and the hand-made change that
# makes it: its mart joined to SAP's business partners, as a model change would
UNFED_BY_SAP = "win_rate"
JOINED_MART = "fct_opportunities"
SAP_JOIN = (
    'select opportunities.* from ({sql}) as opportunities inner join "{database}"."staging".'
    '"stg_sap__business_partners" as sap_partners on sap_partners.partner_id = opportunities.customer_key'
)


@pytest.fixture(scope="module")
def catalog_table(warehouse) -> pd.DataFrame:
    return warehouse.execute("select * from metrics.metric_catalog order by metric_name").df()


@pytest.fixture(scope="module")
def lineage(built, sample_settings) -> ColumnLineage:
    manifest = built.artifacts["manifest"]
    return ColumnLineage(manifest, sample_settings.build_database, *registered_sources(sample_settings))


def _row(catalog_table: pd.DataFrame, metric: str) -> pd.Series:
    return catalog_table.set_index("metric_name").loc[metric]


def _compiled(manifest: dict, model: str) -> str:
    (node,) = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == model]
    return node["compiled_code"]


def _labels(pairs) -> set[str]:
    return {f"{relation}.{column}" for relation, column in pairs}


def test_the_date_a_metric_is_dated_by_feeds_it_though_projection_lineage_misses_it(
    catalog_table, lineage, manifest
):
    """orders_booked counts orders by their order date: MetricFlow's SQL truncates `order_date` to
    the month. The staging models read that date from ERP's order_date and SAP's HISTORY.CREATEDAT,
    so both feed the metric; the metric's own column does not come from them."""
    sql = _row(catalog_table, "orders_booked")["definition_sql"]
    assert "DATE_TRUNC('month', order_date) AS metric_time__month" in sql
    assert "try_cast(nullif(trim(\"HISTORY.CREATEDAT\"), '') as date) as order_date" in _compiled(
        manifest, "stg_sap__sales_orders"
    )
    assert "order_date" in _compiled(manifest, "stg_erp__sales_orders")
    projection = _labels(lineage.of_metric("orders_booked", sql).sources())
    feeding = _labels(lineage.feeding_of_metric("orders_booked", sql))
    for date in ("erp.sales_orders.order_date", "sap.salesOrder.HISTORY.CREATEDAT"):
        assert date in feeding and date not in projection, date
    assert {c for c in projection if not c.startswith(("seeds.", "reference."))} <= feeding


def test_a_filter_column_feeds_a_metric_though_projection_lineage_misses_it(catalog_table, lineage, manifest):
    """Deliveries of cancelled orders are dropped by a WHERE in fct_deliveries; an ERP order is
    cancelled by its status (fct_sales_order_lines): that status feeds on_time_delivery_rate without
    flowing into any of its values."""
    assert "where not is_cancelled" in _compiled(manifest, "fct_deliveries")
    assert "orders.status = 'cancelled' as is_cancelled" in _compiled(manifest, "fct_sales_order_lines")
    sql = _row(catalog_table, "on_time_delivery_rate")["definition_sql"]
    projection = _labels(lineage.of_metric("on_time_delivery_rate", sql).sources())
    feeding = _labels(lineage.feeding_of_metric("on_time_delivery_rate", sql))
    assert "erp.sales_orders.status" in feeding
    assert "erp.sales_orders.status" not in projection


def test_the_published_catalog_certifies_exactly_the_signed_identities(
    catalog_table, lineage, sample_settings
):
    """Recomputed here from the seed file and hashlib, not with the module's own functions: a
    metric is certified iff it is declared certified and the hash of its definition hash, its
    feeding columns and its published definition fields is an identity signed for it; otherwise it
    says why."""
    with (sample_settings.project_dir / CERTIFICATIONS_FILE).open() as handle:
        signed = {(row["metric_name"], row["certified_identity"]) for row in csv.DictReader(handle)}
    declared = {m.name: m.meta["certified"] for m in load_catalog(sample_settings.project_dir).published}
    for row in catalog_table.itertuples():
        feeding = list(row.feeding_columns)
        if row.metric_type != "computed":
            assert set(feeding) == _labels(lineage.feeding_of_metric(row.metric_name, row.definition_sql)), (
                row.metric_name
            )
        fields = sorted(
            f"{field}={hashlib.sha256(getattr(row, field).encode()).hexdigest()[:16]}"
            for field in DEFINITION_FIELDS
        )
        text = "\n".join([row.definition_hash, *sorted(feeding), "", *fields])
        identity = hashlib.sha256(text.encode()).hexdigest()
        assert row.certified_identity == identity, row.metric_name
        assert row.certified == (declared[row.metric_name] and (row.metric_name, identity) in signed)
        assert pd.isna(row.uncertified_reason) == row.certified, (row.metric_name, row.uncertified_reason)


def test_the_published_history_has_one_current_version_signed_iff_certified(warehouse, catalog_table):
    history = warehouse.execute("select * from metrics.metric_definition_history").df()
    current = history[history["is_current"]].set_index("metric_name")
    assert sorted(current.index) == sorted(catalog_table["metric_name"])  # one each
    for row in catalog_table.itertuples():
        version = current.loc[row.metric_name]
        assert version["certified_identity"] == row.certified_identity
        assert pd.notna(version["certified_by"]) == row.certified, row.metric_name
        if not row.certified:
            assert version["change_note"] == f"not certified: {row.uncertified_reason}"


@pytest.fixture
def changed_project(built, sample_settings, tmp_path, catalog_table):
    """A copy of the project (links) whose compiled mart under win_rate joins SAP's business
    partners, with a copy of the certification seed in which win_rate's published identity is
    signed (so the test does not depend on which metrics the repository's seed certifies)."""
    project = tmp_path / "project"
    project.mkdir()
    for entry in sample_settings.project_dir.iterdir():
        if entry.name not in ("target", "seeds"):
            (project / entry.name).symlink_to(entry.resolve())
    (project / "seeds").mkdir()
    for entry in sample_settings.seeds_dir.iterdir():
        if entry.name != CERTIFICATIONS_FILE.name:
            (project / "seeds" / entry.name).symlink_to(entry)
    shutil.copy(sample_settings.seeds_dir / CERTIFICATIONS_FILE.name, project / CERTIFICATIONS_FILE)
    published = _row(catalog_table, UNFED_BY_SAP)
    assert not any(column.startswith("sap.") for column in published["feeding_columns"])
    if not published["certified"]:
        append_certification(
            project, UNFED_BY_SAP, published["definition_hash"], list(published["feeding_columns"]),
            "Test board", "the published identity, signed for this test",
            field_hashes({field: published[field] for field in DEFINITION_FIELDS}),
        )  # fmt: skip
    (project / "target").mkdir()
    shutil.copy(sample_settings.project_dir / "target" / "semantic_manifest.json", project / "target")
    manifest = json.loads(json.dumps(built.artifacts["manifest"]))
    (node,) = [
        n
        for n in manifest["nodes"].values()
        if n.get("name") == JOINED_MART and n["resource_type"] == "model"
    ]
    node["compiled_code"] = SAP_JOIN.format(sql=node["compiled_code"], database=node["database"])
    (project / "target" / "manifest.json").write_text(json.dumps(manifest))
    return sample_settings.with_(project_dir=project)


def test_a_new_source_feeding_a_certified_metric_uncertifies_it_until_signed_again(
    changed_project, catalog_table, capsys, monkeypatch
):
    certifications = load_certifications(changed_project.project_dir)
    published = _row(catalog_table, UNFED_BY_SAP)
    fields = field_hashes({field: published[field] for field in DEFINITION_FIELDS})
    before = certification_status(
        UNFED_BY_SAP, published["definition_hash"], list(published["feeding_columns"]), True, certifications,
        fields,
    )  # fmt: skip
    assert before.certified  # signed as published
    catalog = load_catalog(changed_project.project_dir)
    with MetricEngine(changed_project) as engine:
        rows = catalog_frame(engine, catalog, "test-run", certifications).set_index("metric_name")
    changed = rows.loc[UNFED_BY_SAP]
    assert changed["definition_hash"] == published["definition_hash"]  # the same MetricFlow SQL
    assert "sap.businessPartner.PARTNERID" in changed["feeding_columns"]
    assert not changed["certified"]
    assert changed["uncertified_reason"].startswith("source sap now feeds it (columns businessPartner.")
    assert "businessPartner.PARTNERID" in changed["uncertified_reason"]
    # metrics the mart does not feed keep their identity and their certification
    unchanged = [
        name for name in rows.index if JOINED_MART not in _row(catalog_table, name)["definition_sql"]
    ]
    assert "revenue" in unchanged
    for name in unchanged:
        assert rows.loc[name, "certified_identity"] == _row(catalog_table, name)["certified_identity"], name
        assert rows.loc[name, "certified"] == _row(catalog_table, name)["certified"], name

    # signing again (the CLI, as a reviewer would) certifies the new identity
    monkeypatch.setenv("FINKPI_PROJECT_DIR", str(changed_project.project_dir))
    argv = [
        "metrics",
        "certify",
        "--metric",
        UNFED_BY_SAP,
        "--by",
        "Test board",
        "--note",
        "SAP partners join",
    ]
    assert cli([*argv, "--warehouse-dir", str(changed_project.warehouse_dir)]) == 0
    assert "source sap now feeds it" in capsys.readouterr().out
    signed = load_certifications(changed_project.project_dir)
    last = signed[signed["metric_name"] == UNFED_BY_SAP].iloc[-1]
    assert last["certified_identity"] == changed["certified_identity"]
    assert "sap.businessPartner.PARTNERID" in last["feeding_columns"].split(" ")
    after = certification_status(
        UNFED_BY_SAP, changed["definition_hash"], list(changed["feeding_columns"]), True, signed, fields
    )
    assert after.certified and after.reason is None
    # and a second sign-off of the same identity adds nothing
    assert cli([*argv, "--warehouse-dir", str(changed_project.warehouse_dir)]) == 0
    assert "is certified already" in capsys.readouterr().out
    assert len(load_certifications(changed_project.project_dir)) == len(signed)


def test_a_changed_definition_field_uncertifies_the_published_metric_naming_the_field(
    built, sample_settings, catalog_table
):
    """The export's catalog (catalog_frame) on the session build: win_rate signed as published,
    then its `excludes` text changed in the catalog (as an edit of metrics/*.yml would): the same
    SQL and source columns, but no longer certified, and the reason names the field."""
    published = _row(catalog_table, UNFED_BY_SAP)
    texts = {field: published[field] for field in DEFINITION_FIELDS}
    signed = _certifications(
        _signed(UNFED_BY_SAP, published["definition_hash"], list(published["feeding_columns"]),
                fields=field_hashes(texts))
    )  # fmt: skip
    catalog = load_catalog(sample_settings.project_dir)
    with MetricEngine(sample_settings) as engine:
        as_signed = catalog_frame(engine, catalog, "test-run", signed).set_index("metric_name")
        metric = catalog[UNFED_BY_SAP]
        changed_meta = metric.meta | {"excludes": metric.meta["excludes"] + "; and lost deals under 1 EUR"}
        catalog.metrics[UNFED_BY_SAP] = dataclasses.replace(metric, meta=changed_meta)
        changed = catalog_frame(engine, catalog, "test-run", signed).set_index("metric_name")
    assert as_signed.loc[UNFED_BY_SAP, "certified"]
    row = changed.loc[UNFED_BY_SAP]
    assert row["definition_hash"] == published["definition_hash"]
    assert row["excludes"].endswith("; and lost deals under 1 EUR")
    assert not row["certified"]
    reason = row["uncertified_reason"]
    assert reason.startswith("its definition fields changed (excludes) (last signed off by")


def test_the_exports_feeding_walk_leaves_the_published_lineage_cached_under_the_same_key(
    built, sample_settings
):
    """The exports walk every metric's full lineage (projection included) and write the published
    lineage's cache with it, so the lineage step after them does not walk again."""
    files = (sample_settings.project_dir / "target" / "finkpi-lineage").glob("*.json")
    cached = [path.stem.split("-", 1) for path in files]
    keys = {kind: {key for k, key in cached if k == kind} for kind in ("feeding", "metrics")}
    assert keys["feeding"] and keys["feeding"] <= keys["metrics"]

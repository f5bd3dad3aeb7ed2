"""The HTML audit report: written by every run; its numbers checked against the published files
and the audit store (read directly here); a definition changed between two runs shows up in the
diff; a failed run's report says so; and headless Chromium opens it from file:// and finds every
section with no console error."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from markupsafe import escape

from finkpi import pipeline
from finkpi.audit.report import SECTIONS, definition_changes, report_path, reports_dir
from finkpi.cli import main as cli
from finkpi.metrics.definition import DEFINITION_FIELDS
from finkpi.publish import rollback
from finkpi.quality.data_docs import SITE_VENDOR_DIR, remote_resources
from finkpi.quality.preflight import PreflightError
from finkpi.settings import load_settings


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report(built, sample_settings) -> str:
    path = report_path(sample_settings, built.run_id)
    assert path.exists(), "the run did not write its report"
    return _html(path)


def test_the_run_writes_its_report_and_the_index(built, sample_settings, report):
    index = _html(reports_dir(sample_settings) / "index.html")
    assert f'<a href="{built.run_id}/index.html">{built.run_id}</a>' in index
    for section in SECTIONS:
        assert f'<section id="{section}">' in report, section


def test_published_row_counts_are_those_of_the_published_tables(built, sample_settings, report):
    shown = dict(re.findall(r'<tr data-table="([^"]+)">.*?data-rows="(\d+)"', report))
    published = sample_settings.warehouse_dir / "versions" / built.published_version / "published.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        tables = [name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()]
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    assert {t: int(n) for t, n in shown.items()} == counts
    assert counts["metric_values"] > 10_000


def test_catalog_lists_every_published_metric_with_owner_and_certification(built, sample_settings, report):
    published = sample_settings.warehouse_dir / "versions" / built.published_version / "published.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        catalog = con.execute(
            "select metric_name, owner, certified from metric_catalog order by 1"
        ).fetchall()
    rows = re.findall(r'<tr data-metric="([^"]+)">(.*?)</tr>', report, flags=re.S)
    assert [name for name, _cells in rows] == [name for name, _o, _c in catalog]
    for (_name, cells), (_n, owner, certified) in zip(rows, catalog, strict=True):
        assert f"<td>{owner}</td>" in cells
        assert ("not certified" not in cells) == certified


def test_catalog_shows_what_each_metric_counts(built, sample_settings, report):
    """Each metric's row lists its definition fields as published (slice_behavior one line each)."""
    published = sample_settings.warehouse_dir / "versions" / built.published_version / "published.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        catalog = con.execute(
            f"select metric_name, {', '.join(DEFINITION_FIELDS)} from metric_catalog order by 1"
        ).fetchall()
    rows = dict(re.findall(r'<tr data-metric="([^"]+)">(.*?)</tr>', report, flags=re.S))
    for name, *texts in catalog:
        shown = dict(re.findall(r'<dd data-field="([a-z_]+)">(.*?)</dd>', rows[name], flags=re.S))
        assert list(shown) == list(DEFINITION_FIELDS), name
        for field, text in zip(DEFINITION_FIELDS, texts, strict=True):
            assert text.strip(), (name, field)
            assert shown[field] == "<br>".join(str(escape(line)) for line in text.split("\n")), (name, field)


def test_expectation_results_are_those_of_the_audit_store(built, sample_settings, report):
    with duckdb.connect(str(sample_settings.warehouse_dir / "audit.duckdb"), read_only=True) as con:
        stored = con.execute(
            "select count(*), count(*) filter (where status = 'passed') from validations where run_id = ?",
            [built.run_id],
        ).fetchone()
    assert f"{stored[0]} expectation result(s): {stored[1]} passed" in report
    assert report.count('<td class="passed">passed</td>') == stored[1] > 100


def test_the_gate_built_this_runs_data_docs_beside_the_report(built, sample_settings, report):
    (link,) = re.findall(r'<a id="gx-docs" href="([^"]+)"', report)
    assert link == "gx/index.html"
    docs = reports_dir(sample_settings) / built.run_id / "gx"
    pages = list((docs / "validations").rglob("*.html"))
    assert len(pages) >= 10  # one per suite validated
    assert all(built.run_id in str(page.relative_to(docs)) for page in pages)
    # styled offline: every page loads the copies beside it, nothing from a CDN (test_data_docs.py)
    remote = [(p.name, url) for p in [docs / "index.html", *pages] for url in remote_resources(_html(p))]
    assert not remote, remote[:5]
    assert (docs / SITE_VENDOR_DIR / "NOTICE.md").is_file()


def test_quarantine_and_audit_chain_sections_follow_the_audit_store(built, sample_settings, report):
    with duckdb.connect(str(sample_settings.warehouse_dir / "audit.duckdb"), read_only=True) as con:
        quarantined = con.execute(
            "select count(*) from quarantine where run_id = ?", [built.run_id]
        ).fetchone()
        (end_seq,) = con.execute(
            "select seq from runs where run_id = ? and event = 'end'", [built.run_id]
        ).fetchone()
    if quarantined[0] == 0:
        assert "No row was quarantined or warned in this run." in report
    (records,) = re.findall(r"The hash chain verifies: (\d+) record", report)
    assert int(records) >= end_seq


def test_a_changed_definition_field_shows_in_the_diff_one_slice_line_each():
    """Hand-made catalogs: revenue's slice behavior for product_category changes, nothing else."""
    before = {
        "metric_name": "revenue", "definition_hash": "h1", "definition_sql": "select 1",
        "rounding": "cents per line",
        "slice_behavior": "all: additive: one customer per line\nproduct_category: allocated: pro rata",
    }  # fmt: skip
    after = before | {
        "slice_behavior": "all: additive: one customer per line\nproduct_category: not_sliced: no"
    }
    (change,) = definition_changes([before], [after])
    assert change.metric_name == "revenue" and change.change == "changed" and not change.sql_diff
    assert [line for line in change.definition_diff if line[:1] in "+-" and line[:2] not in ("++", "--")] == [
        "-slice_behavior: product_category: allocated: pro rata",
        "+slice_behavior: product_category: not_sliced: no",
    ]
    assert definition_changes([before], [before]) == []


def test_the_ledger_reconciliations_are_those_of_the_runs_build(built, warehouse, report):
    rows = warehouse.execute(
        "select strftime(period_start, '%Y-%m'), company_code, reconciliation, computed_amount,"
        " ledger_amount, difference from marts.fct_ledger_reconciliations"
        " order by period_start, company_code, reconciliation"
    ).fetchall()
    (table,) = re.findall(r'<table id="reconciliations-table">(.*?)</table>', report, flags=re.S)
    shown = re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>\s*"
        r'<td class="num">([^<]+)</td><td>[^<]*</td><td class="num">([^<]+)</td>\s*<td>[^<]*</td>\s*'
        r'<td class="num (?:ok|failed)">([^<]+)</td>',
        table,
    )
    assert shown == [tuple(str(value) for value in row) for row in rows]
    assert len(shown) == 174 and f"{len(shown)} reconciliation(s):" in report
    assert '<span class="ok">0 not tied to the cent</span>' in report


# -- a definition change between two runs ---------------------------------------------------------
NOTE = "-- restated: credit notes by credit date"
UNCERTIFIED = "its definition changed (MetricFlow SQL hash 0123456789ab, certified ba9876543210)"


@pytest.fixture(scope="module")
def changed(built, sample_settings, tmp_path_factory):
    """The session's warehouse copied, revenue's definition changed in its build, published again."""
    warehouse = tmp_path_factory.mktemp("changed") / "warehouse"
    shutil.copytree(sample_settings.warehouse_dir, warehouse, symlinks=True)
    settings = sample_settings.with_(warehouse_dir=warehouse)
    with duckdb.connect(str(settings.build_database)) as con:
        (old,) = con.execute(
            "select definition_hash from metrics.metric_catalog where metric_name = 'revenue'"
        ).fetchone()
        new = hashlib.sha256(f"{old}{NOTE}".encode()).hexdigest()
        con.execute(
            "update metrics.metric_catalog set definition_sql = definition_sql || ?,"
            " description = description || ' Restated.', definition_hash = ?, certified = false,"
            " uncertified_reason = ? where metric_name = 'revenue'",
            ["\n" + NOTE, new, UNCERTIFIED],
        )
        # the export lists the current definition in the history (the gate checks it)
        con.execute(
            "update metrics.metric_definition_history set definition_hash = ?"
            " where metric_name = 'revenue' and definition_hash = ?",
            [new, old],
        )
    summary = pipeline.run(settings, progress=lambda _m: None, from_stage="publish")
    return settings, summary


def test_a_definition_change_shows_in_the_diff(changed, built):
    settings, summary = changed
    html = _html(report_path(settings, summary.run_id))
    assert f"changed since version <code>{built.published_version}</code>" in html
    assert re.findall(r'<div class="change" data-metric="([^"]+)">', html) == ["revenue"]
    change = html.split('<div class="change" data-metric="revenue">', 1)[1].split("</div>", 1)[0]
    assert f'<span class="add">+{NOTE}</span>' in change  # the compiled SQL
    assert re.search(r'<span class="add">\+description: .* Restated\.</span>', change)  # the text
    assert re.search(r'<span class="del">-description: (?!.*Restated).*</span>', change)


def test_an_uncertified_metric_shows_why_in_the_catalog(changed):
    settings, summary = changed
    html = _html(report_path(settings, summary.run_id))
    rows = dict(re.findall(r'<tr data-metric="([^"]+)">(.*?)</tr>', html, flags=re.S))
    assert f'not certified<br><span class="uncertified-reason">{UNCERTIFIED}</span>' in rows["revenue"]
    for cells in rows.values():  # the others: a reason exactly where not certified
        assert ("uncertified-reason" in cells) == ("not certified" in cells)


def test_the_previous_runs_report_has_no_changes(report):
    assert "No earlier published version to compare with." in report


def test_report_command_rewrites_a_runs_report_and_shows_a_rollback(changed, built, capsys):
    settings, summary = changed
    rollback(settings, actor="test auditor")
    warehouse = ["--warehouse-dir", str(settings.warehouse_dir)]
    assert cli(["report", *warehouse]) == 0
    assert str(report_path(settings, summary.run_id)) in capsys.readouterr().out
    html = _html(report_path(settings, summary.run_id))
    assert re.search(r"<td>rollback</td><td></td><td><code>" + built.published_version, html)
    assert "test auditor" in html
    assert cli(["report", "--run-id", "no-such-run", *warehouse]) == 2
    assert "run 'no-such-run' is not in the audit store" in capsys.readouterr().err


def test_a_failed_runs_report_says_nothing_was_published(empty_invoices, tmp_path):
    settings = load_settings(warehouse_dir=tmp_path / "warehouse", data_dir=empty_invoices)
    with pytest.raises(PreflightError):
        pipeline.run(settings, progress=lambda _m: None)
    (run_dir,) = [p for p in reports_dir(settings).iterdir() if p.is_dir()]
    html = _html(run_dir / "index.html")
    assert '<td class="failed">failed</td>' in html
    assert "Nothing was published by this run" in html
    assert "empty_file" in html and "invoices.csv" in html
    assert "No metric catalog: the run stopped before the metric exports." in html


# -- in a real browser --------------------------------------------------------------------------------
def test_chromium_renders_every_section_without_console_errors(changed, browser_page, tmp_path):
    settings, summary = changed
    page = browser_page.page
    page.goto(report_path(settings, summary.run_id).as_uri())
    for section, heading in SECTIONS.items():
        title = page.locator(f"section#{section} > h2")
        assert title.is_visible() and title.inner_text() == heading, section
    assert page.locator("#published-tables tr[data-table='metric_values']").is_visible()
    assert page.locator("section#changes .change[data-metric='revenue']").is_visible()
    picture = page.locator("#lineage-revenue svg")
    assert not picture.is_visible()  # folded until opened
    page.locator("#lineage-revenue summary").click()
    assert picture.is_visible() and picture.bounding_box()["width"] > 500
    labels = picture.locator("text").all_text_contents()
    assert "erp.invoice_lines.net_amount" in labels and "metric revenue" in labels
    page.screenshot(path=str(tmp_path / "audit-report.png"), full_page=True)
    page.locator("a", has_text="All runs").click()
    page.wait_for_load_state()
    runs = page.locator("#runs tr[data-run]")
    assert runs.count() == 2 and runs.first.get_attribute("data-run") == summary.run_id
    page.screenshot(path=str(tmp_path / "audit-index.png"))
    assert (tmp_path / "audit-report.png").stat().st_size > 10_000
    assert not browser_page.errors, browser_page.errors

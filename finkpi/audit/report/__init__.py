"""The audit report: a static HTML site per run, and an index over all runs.

`<warehouse>/reports/<run_id>/index.html` says, for one run: what was published and how many rows
each table has; the metric catalog (definitions, owners, certification); which definitions changed
since the version published before (a diff of the definition text and of the compiled SQL); a
lineage picture per metric (inline SVG); the ledger reconciliations (revenue, COGS at standard,
bad debt and operating cash flow against the general ledger, per month and company, with their
reconciling items and differences); every rule and expectation result with a link to the Great Expectations
Data Docs; the quarantine summary; closes, reopens and rollbacks; and whether the
audit store's hash chain verifies. `<warehouse>/reports/index.html` lists every run.

Everything comes from records that outlive the run: the audit store (runs, results, quarantine,
events), the published version's files and, because old versions are pruned, a snapshot of the
run's metric catalog, lineage and reconciliations written beside its report (`catalog.json`,
`lineage.json`, `reconciliations.json`), which
the next run's diff falls back on. The pages use no script and no network: they open from file://.

Written at the end of every pipeline run (about a second with the lineage cached) and by
`finkpi report [--run-id ID]`.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from finkpi import contract
from finkpi.audit.provenance import definitions_hash
from finkpi.audit.report.svg import lineage_svg
from finkpi.audit.store import AuditStore
from finkpi.lineage.columns import LineageNode
from finkpi.lineage.published import published_lineage
from finkpi.metrics.definition import DEFINITION_FIELDS as METRIC_DEFINITION_FIELDS
from finkpi.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
SECTIONS = {  # id -> heading, in page order (the browser test looks for each)
    "run": "Run",
    "published": "Published tables",
    "catalog": "Metric catalog",
    "changes": "Definition changes since the previous version",
    "lineage": "Lineage per metric",
    "reconciliations": "Ledger reconciliations",
    "quality": "Rules and expectations",
    "quarantine": "Quarantine",
    "publishing": "Publishes, closes, reopens and rollbacks",
    "audit-chain": "Audit chain",
}
# what the definition diff compares: the governance meta and what the metric counts
DEFINITION_FIELDS = (
    "label", "description", "metric_type", "perspective", "unit", "direction", "owner", "department",
    "drivers", "driver_formula", *METRIC_DEFINITION_FIELDS,
)  # fmt: skip


def reports_dir(settings: Settings) -> Path:
    return settings.warehouse_dir / "reports"


def report_path(settings: Settings, run_id: str) -> Path:
    return reports_dir(settings) / run_id / "index.html"


@dataclass
class MetricChange:
    metric_name: str
    change: str  # added | removed | changed
    definition_diff: list[str] = field(default_factory=list)
    sql_diff: list[str] = field(default_factory=list)


# -- reading the records -------------------------------------------------------------------------
def _rows(con, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has(con, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?",
            [table],
        ).fetchone()[0]
    )


def audit_records(audit: AuditStore) -> dict[str, list[dict]]:
    """Every record of the store, per table, in chain order."""
    found: dict[str, list[dict]] = {"runs": [], "validations": [], "quarantine": [], "events": []}
    with audit.reading() as con:
        if con is None:
            return found
        for table in found:
            if _has(con, table):
                found[table] = _rows(con, f"select * from {table} order by seq")
    return found


def runs_of(records: dict[str, list[dict]]) -> list[dict]:
    """One row per run (start joined with its end), oldest first; no end = running or killed."""
    runs: dict[str, dict] = {}
    for record in records["runs"]:
        run = runs.setdefault(record["run_id"], {"run_id": record["run_id"]})
        if record["event"] == "start":
            run.update(
                started_at=record["started_at"],
                code_version=record["code_version"],
                input_files=json.loads(record["input_files"] or "{}"),
                status="interrupted",
                start_seq=record["seq"],
            )
        else:
            run.update(
                ended_at=record["ended_at"],
                status=record["status"],
                definitions_hash=record["definitions_hash"],
                message=record["message"],
                end_seq=record["seq"],
            )
    for event in records["events"]:
        if event["kind"] == "publish" and event["run_id"] in runs:
            runs[event["run_id"]]["published_version"] = event["version"]
    return sorted(runs.values(), key=lambda run: run.get("start_seq", 0))


def _catalog_rows(settings: Settings, run_id: str) -> list[dict] | None:
    """The metric catalog a run published (its version, else the snapshot beside its report), or
    for a run that did not publish, the build warehouse's catalog if this run exported it."""
    parquet = contract.parquet_file(contract.version_dir(settings.warehouse_dir, run_id), "metric_catalog")
    snapshot = reports_dir(settings) / run_id / "catalog.json"
    if parquet.exists():
        with duckdb.connect() as con:
            return _rows(con, "select * from read_parquet(?) order by metric_name", [str(parquet)])
    if snapshot.exists():
        return json.loads(snapshot.read_text())
    if settings.build_database.exists():
        try:
            with duckdb.connect(str(settings.build_database), read_only=True) as con:
                rows = _rows(con, "select * from metrics.metric_catalog order by metric_name")
        except duckdb.Error:
            return None
        if rows and rows[0]["run_id"] == run_id:
            return rows
    return None


def _plain(rows: list[dict]) -> list[dict]:
    return json.loads(json.dumps(rows, default=lambda v: list(v) if hasattr(v, "tolist") else str(v)))


def _definition_text(row: dict) -> list[str]:
    lines = []
    for name in DEFINITION_FIELDS:
        value = row.get(name)
        if isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        # slice_behavior is one line per entry: one diff line each
        lines += [f"{name}: {line}" for line in ("" if value is None else str(value)).split("\n")]
    # the source columns feeding it are part of what it means (certification.py), one a line
    lines += [f"fed by: {column}" for column in row.get("feeding_columns") or []]
    return lines


def definition_changes(previous: list[dict] | None, current: list[dict]) -> list[MetricChange]:
    """Metrics added, removed or changed (definition hash, definition text or the source columns
    feeding them) between two catalogs."""
    if previous is None:
        return []
    before = {row["metric_name"]: row for row in previous}
    after = {row["metric_name"]: row for row in current}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changes.append(MetricChange(name, "added" if old is None else "removed"))
            continue
        if "feeding_columns" not in old:  # a catalog from before feeding columns were recorded
            new = {key: value for key, value in new.items() if key != "feeding_columns"}
        definition = list(
            difflib.unified_diff(
                _definition_text(old), _definition_text(new), "previous", "this run", lineterm=""
            )
        )
        sql = list(
            difflib.unified_diff(
                (old.get("definition_sql") or "").splitlines(),
                (new.get("definition_sql") or "").splitlines(),
                f"previous ({(old.get('definition_hash') or '')[:12]})",
                f"this run ({(new.get('definition_hash') or '')[:12]})",
                lineterm="",
            )
        )
        if definition or sql or old.get("definition_hash") != new.get("definition_hash"):
            changes.append(MetricChange(name, "changed", definition, sql))
    return changes


RECONCILIATIONS = "marts.fct_ledger_reconciliations"  # the gate's ledger reconciliations


def _reconciliations(settings: Settings, latest: bool, out: Path) -> tuple[list[dict] | None, str | None]:
    """The ledger reconciliations of a run: the snapshot beside its report, else (the latest run
    only: the build warehouse holds its build) read from the build warehouse and kept beside the
    report. Returns (rows, note when there are none)."""
    snapshot = out / "reconciliations.json"
    if snapshot.exists():
        return json.loads(snapshot.read_text()), None
    if not latest or not settings.build_database.exists():
        return None, "this run's reconciliations were not kept"
    try:
        with duckdb.connect(str(settings.build_database), read_only=True) as con:
            rows = _rows(
                con,
                f"select * from {RECONCILIATIONS} order by period_start, company_code, reconciliation",
            )
    except duckdb.Error:
        return None, "no ledger reconciliations in this run's build (it stopped before them)"
    rows = _plain(rows)
    _write(snapshot, json.dumps(rows, indent=1))
    return rows, None


def _gx_docs(settings: Settings, run_id: str) -> Path | None:
    per_run = reports_dir(settings) / run_id / "gx" / "index.html"
    shared = settings.warehouse_dir / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return per_run if per_run.exists() else (shared if shared.exists() else None)


# -- the pages -----------------------------------------------------------------------------------
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), trim_blocks=True
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(settings: Settings, run_id: str | None = None) -> Path:
    """Write the report of one run (default: the latest) and the index; returns the run's page."""
    audit = AuditStore(settings.warehouse_dir)
    records = audit_records(audit)
    runs = runs_of(records)
    if not runs:
        raise ValueError(f"no runs in the audit store {audit.path}")
    by_id = {run["run_id"]: run for run in runs}
    run_id = run_id or runs[-1]["run_id"]
    if run_id not in by_id:
        raise ValueError(f"run {run_id!r} is not in the audit store {audit.path}")
    run = by_id[run_id]
    out = reports_dir(settings) / run_id

    publish = next((e for e in records["events"] if e["kind"] == "publish" and e["run_id"] == run_id), None)
    published = None
    if publish is not None:
        details = json.loads(publish["details"] or "{}")
        manifest_path = contract.manifest_file(contract.version_dir(settings.warehouse_dir, run_id))
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        published = {
            "version": publish["version"],
            "previous_version": publish["previous_version"],
            "recorded_at": publish["recorded_at"],
            "tables": details.get("tables", {}),
            "columns": {t: len(i["columns"]) for t, i in (manifest or {}).get("tables", {}).items()},
            "on_disk": manifest is not None,
            "manifest_sha256": details.get("manifest_sha256"),
        }

    catalog = _catalog_rows(settings, run_id)
    if catalog is not None:
        catalog = _plain(catalog)
        _write(out / "catalog.json", json.dumps(catalog, indent=1))
    previous_catalog = None
    if published and published["previous_version"]:
        previous_catalog = _catalog_rows(settings, published["previous_version"])
        previous_catalog = _plain(previous_catalog) if previous_catalog is not None else None
    changes = definition_changes(previous_catalog, catalog or [])

    lineage_pictures, lineage_note = _lineage(settings, run, catalog, out)
    pictures = {name: lineage_svg(tree, f"lineage of {name}") for name, tree in lineage_pictures.items()}

    validations = [v for v in records["validations"] if v["run_id"] == run_id]
    quarantine = [q for q in records["quarantine"] if q["run_id"] == run_id]
    for row in quarantine:
        row["details"] = json.loads(row["details"] or "{}")
    events = [
        e for e in records["events"] if e["kind"] in ("close", "reopen", "rollback", "restatement_candidates")
    ]
    since = _previous_run_end(runs, run)
    upto = run.get("end_seq") or float("inf")
    for event in events:
        event["this_run"] = since < event["seq"] <= upto
        event["details"] = json.loads(event["details"] or "{}")
    verification = audit.verify()
    docs = _gx_docs(settings, run_id)
    reconciliations, reconciliations_note = _reconciliations(settings, run is runs[-1], out)

    page = (
        _environment()
        .get_template("run.html.j2")
        .render(
            run=run,
            sections=SECTIONS,
            published=published,
            catalog=catalog,
            definition_fields=METRIC_DEFINITION_FIELDS,
            changes=changes,
            previous_version=published and published["previous_version"],
            previous_catalog_found=previous_catalog is not None,
            pictures=pictures,
            sources={name: sorted(tree.sources()) for name, tree in lineage_pictures.items()},
            lineage_note=lineage_note,
            expectations=[v for v in validations if v["check_type"] == "expectation"],
            rules=[v for v in validations if v["check_type"] != "expectation"],
            quarantine=quarantine,
            events=events,
            verification=verification,
            gx_docs=os.path.relpath(docs, out) if docs else None,
            reconciliations=reconciliations,
            reconciliations_note=reconciliations_note,
        )
    )
    _write(out / "index.html", page)
    write_index(settings, runs)
    return out / "index.html"


def _previous_run_end(runs: list[dict], run: dict) -> int:
    earlier = [r for r in runs if r.get("start_seq", 0) < run.get("start_seq", 0)]
    return max((r.get("end_seq") or r.get("start_seq") or 0 for r in earlier), default=0)


def _lineage(settings: Settings, run: dict, catalog, out: Path):
    """Per metric: the lineage tree of this run (snapshot beside the report, else computed now
    from the build warehouse when it holds this run's exports)."""
    snapshot = out / "lineage.json"
    if snapshot.exists():
        data = json.loads(snapshot.read_text())
        return {name: LineageNode.from_dict(tree) for name, tree in data.items()}, None
    if catalog is None:
        return {}, "no metric catalog for this run (it stopped before the metric exports)"

    if definitions_hash(settings.build_database) != run.get("definitions_hash"):
        return {}, "the build warehouse now holds other definitions; this run's lineage was not kept"

    lineage = published_lineage(settings)
    _write(snapshot, json.dumps({name: tree.to_dict() for name, tree in lineage.metrics.items()}))
    return lineage.metrics, None


def write_index(settings: Settings, runs: list[dict] | None = None) -> Path:
    runs = runs if runs is not None else runs_of(audit_records(AuditStore(settings.warehouse_dir)))
    root = reports_dir(settings)
    rows = [{**run, "has_report": (root / run["run_id"] / "index.html").exists()} for run in reversed(runs)]
    page = _environment().get_template("index.html.j2").render(runs=rows, warehouse=settings.warehouse_dir)
    _write(root / "index.html", page)
    return root / "index.html"


def write_run_report(settings: Settings, run_id: str, progress=print) -> Path | None:
    """The pipeline's hook: the run's report, or a warning (a report never fails a run)."""
    try:
        path = write_report(settings, run_id)
    except Exception as exc:
        progress(f"  warning: audit report not written: {type(exc).__name__}: {exc}")
        return None
    progress(f"  audit report: {path}")
    return path

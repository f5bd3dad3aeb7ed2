"""OpenLineage run events: the session's run wrote START and COMPLETE to the warehouse with the raw
files as inputs and the published tables as outputs (schema, row counts, column lineage); a run
failing pre-flight writes FAIL with the error; the HTTP transport posts the same events to a server
(a tiny one in the test); a server that is down only costs a warning."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import jsonschema
import pytest
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset

from finkpi import pipeline
from finkpi.lineage import openlineage
from finkpi.quality.preflight import PreflightError
from finkpi.settings import PROJECT_DIR, load_settings
from finkpi.sources import REGISTERED

# The parts of the OpenLineage 2-0-2 RunEvent schema (openlineage.io/spec/2-0-2/OpenLineage.json)
# every event must meet. openlineage-python does not ship the JSON schema and the tests run
# offline, so its required fields are written out here.
_FACETS = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["_producer", "_schemaURL"],
        "properties": {"_producer": {"type": "string", "format": "uri"}, "_schemaURL": {"type": "string"}},
    },
}
_DATASET = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}, "facets": _FACETS},
}
RUN_EVENT_SCHEMA = {
    "type": "object",
    "required": ["eventTime", "producer", "schemaURL", "run", "job"],
    "properties": {
        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": {"type": "string", "format": "uri"},
        "schemaURL": {"type": "string", "format": "uri"},
        "run": {
            "type": "object",
            "required": ["runId"],
            "properties": {"runId": {"type": "string", "format": "uuid"}, "facets": _FACETS},
        },
        "job": {
            "type": "object",
            "required": ["namespace", "name"],
            "properties": {"facets": _FACETS},
        },
        "inputs": {"type": "array", "items": _DATASET},
        "outputs": {
            "type": "array",
            "items": {**_DATASET, "properties": {**_DATASET["properties"], "outputFacets": _FACETS}},
        },
    },
}


def check_event(event: dict) -> None:
    """Against the schema, and rebuilt through openlineage-python's own facet classes (which
    reject missing or unknown fields)."""
    jsonschema.validate(event, RUN_EVENT_SCHEMA, format_checker=jsonschema.FormatChecker())
    uuid.UUID(event["run"]["runId"])
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        facets = dataset.get("facets", {})
        if "schema" in facets:
            schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(f["name"], f.get("type"), f.get("description"))
                    for f in facets["schema"]["fields"]
                ]
            )
        if "columnLineage" in facets:
            column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    name: column_lineage_dataset.Fields(
                        inputFields=[
                            column_lineage_dataset.InputField(i["namespace"], i["name"], i["field"])
                            for i in spec["inputFields"]
                        ],
                        transformationDescription=spec.get("transformationDescription"),
                    )
                    for name, spec in facets["columnLineage"]["fields"].items()
                }
            )


@pytest.fixture(scope="module")
def events(built, sample_settings):
    return openlineage.read_events(sample_settings, built.run_id)


def test_a_run_writes_start_and_complete_to_the_warehouse(events, built):
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        check_event(event)
        assert event["job"] == {**event["job"], "namespace": "finkpi", "name": "finkpi.run"}
        facet = event["run"]["facets"]["finkpi_run"]
        assert facet["runId"] == built.run_id and facet["asOfDate"] == built.as_of_date
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]
    assert events[1]["run"]["facets"]["finkpi_run"]["publishedVersion"] == built.published_version


def test_inputs_are_every_raw_file_with_its_contract_schema_and_hash(events, sample_settings):
    inputs = {d["name"]: d for d in events[0]["inputs"]}
    for source in REGISTERED:  # every registered source, SAP's own folder included
        for table in source.tables:
            path = sample_settings.source_path(source.name, table.name)
            dataset = inputs[str(path.absolute())]
            assert dataset["namespace"] == "file"
            assert [(f["name"], f["type"]) for f in dataset["facets"]["schema"]["fields"]] == [
                (c.name, c.type) for c in table.columns
            ]
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert dataset["facets"]["version"]["datasetVersion"] == digest
    targets = inputs[str(PROJECT_DIR / "seeds" / "targets" / "scorecard_targets.csv")]
    assert "target" in [f["name"] for f in targets["facets"]["schema"]["fields"]]


def test_outputs_are_the_published_tables_with_their_schema_and_rows(events, sample_settings, built):
    outputs = {d["name"]: d for d in events[1]["outputs"]}
    published = sample_settings.warehouse_dir / "versions" / built.published_version / "published.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        tables = [name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()]
        assert sorted(outputs) == sorted(f"main.{t}" for t in tables)
        for table in tables:
            dataset = outputs[f"main.{table}"]
            columns = con.execute(
                "select column_name from duckdb_columns() where table_name = ? order by column_index", [table]
            ).fetchall()
            assert [f["name"] for f in dataset["facets"]["schema"]["fields"]] == [c for (c,) in columns]
            (rows,) = con.execute(f'select count(*) from "{table}"').fetchone()
            assert dataset["outputFacets"]["outputStatistics"]["rowCount"] == rows
            # the namespace of the warehouse the session's run published to (this is a copy)
            assert dataset["namespace"] == openlineage.published_namespace(built.settings)


def test_column_lineage_facets_name_raw_columns(events, sample_settings):
    outputs = {d["name"]: d for d in events[1]["outputs"]}
    value = outputs["main.metric_values"]["facets"]["columnLineage"]["fields"]["value"]["inputFields"]
    raw = {(i["name"], i["field"]) for i in value}
    lines = str(sample_settings.source_path("erp", "invoice_lines").absolute())
    cases = str(sample_settings.source_path("crm", "Case").absolute())
    assert {(lines, "net_amount"), (lines, "quantity"), (cases, "Type")} <= raw
    per_metric = outputs["main.metric_values"]["facets"]["finkpi_metricLineage"]["metrics"]
    assert set(per_metric["win_rate"]) == {"crm.Opportunity.IsClosed", "crm.Opportunity.IsWon"}
    target = outputs["main.scorecard_lines"]["facets"]["columnLineage"]["fields"]["target"]["inputFields"]
    assert [(i["name"], i["field"]) for i in target] == [
        (str(PROJECT_DIR / "seeds" / "targets" / "scorecard_targets.csv"), "target")
    ]
    actual = outputs["main.scorecard_lines"]["facets"]["columnLineage"]["fields"]["actual"]["inputFields"]
    assert (str(sample_settings.source_path("erp", "deliveries").absolute()), "actual_date") in {
        (i["name"], i["field"]) for i in actual
    }


def _fail_run(settings):
    with pytest.raises(PreflightError):
        pipeline.run(settings, progress=lambda _m: None)
    return _latest_run(settings)


def _latest_run(settings) -> str:
    from finkpi.audit.report import audit_records, runs_of
    from finkpi.audit.store import AuditStore

    return runs_of(audit_records(AuditStore(settings.warehouse_dir)))[-1]["run_id"]


def test_a_failing_run_writes_fail_with_the_error(empty_invoices, tmp_path):
    settings = load_settings(warehouse_dir=tmp_path / "warehouse", data_dir=empty_invoices)
    run_id = _fail_run(settings)
    events = openlineage.read_events(settings, run_id)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    for event in events:
        check_event(event)
    error = events[1]["run"]["facets"]["errorMessage"]
    assert error["programmingLanguage"] == "python"
    assert "PreflightError" in error["message"] and "empty_file" in error["message"]
    assert "invoices.csv" in error["message"] and "Traceback" in error["stackTrace"]
    assert events[1]["outputs"] == [] and len(events[1]["inputs"]) == len(events[0]["inputs"])


class _Recorder(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def lineage_server():
    """A local HTTP server recording what is posted to it (a stand-in for Marquez)."""

    class Recorder(_Recorder):
        received = []

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Recorder.received
    server.shutdown()
    server.server_close()


def test_openlineage_url_posts_the_events_instead(lineage_server, empty_invoices, tmp_path, monkeypatch):
    url, received = lineage_server
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    settings = load_settings(warehouse_dir=tmp_path / "warehouse", data_dir=empty_invoices)
    assert settings.openlineage_url == url
    run_id = _fail_run(settings)
    assert [event["eventType"] for _path, _type, event in received] == ["START", "FAIL"]
    assert {path for path, _type, _event in received} == {"/api/v1/lineage"}
    assert all(content_type == "application/json" for _p, content_type, _e in received)
    assert received[1][2]["run"]["facets"]["finkpi_run"]["runId"] == run_id
    assert not openlineage.events_file(settings, run_id).exists()


def test_a_complete_event_over_http_carries_the_same_facets(lineage_server, built, events):
    url, received = lineage_server
    # emitted again for the warehouse the session's run published to (sample_settings is a copy)
    settings = built.settings.with_(openlineage_url=url, openlineage_endpoint="api/v1/lineage")
    openlineage.emit_end(settings, built, "success", progress=lambda _m: None)
    ((path, _type, event),) = received
    check_event(event)
    assert event["eventType"] == "COMPLETE" and event["run"]["runId"] == events[1]["run"]["runId"]
    assert [d["name"] for d in event["outputs"]] == [d["name"] for d in events[1]["outputs"]]
    assert event["outputs"] == events[1]["outputs"]


def test_a_lineage_server_that_is_down_costs_a_warning_not_the_run(built, sample_settings):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = sample_settings.with_(openlineage_url=f"http://127.0.0.1:{port}")
    messages: list[str] = []
    openlineage.emit_start(settings, built, progress=messages.append)
    assert len(messages) == 1 and "warning: OpenLineage event not written" in messages[0]

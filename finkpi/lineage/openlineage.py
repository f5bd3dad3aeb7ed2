"""OpenLineage run events for every pipeline run (openlineage-python).

- START when the run starts: the raw extract files and the seeds as input datasets, each with a
  schema facet (the source contract's columns, types and descriptions) and its SHA-256 as the
  dataset version.
- COMPLETE when it published: the published tables as output datasets with schema, row-count and
  column-lineage facets (`metric_values.value` and every scorecard column down to the raw columns,
  from `finkpi.lineage.published`), plus a `finkpi_metricLineage` facet on `metric_values` naming
  each metric's own raw columns.
- FAIL when it failed, with the error in the errorMessage facet (and the inputs).

Where they go: by default one JSON line per event in `<warehouse>/openlineage/<run_id>.jsonl`
(the client's file transport); with `OPENLINEAGE_URL` (e.g. Marquez, `http://localhost:5000`) they
are POSTed to `<url>/<OPENLINEAGE_ENDPOINT>` (default `api/v1/lineage`); `OPENLINEAGE_DISABLED=true`
turns them off. Emitting never fails a run: a transport error is printed as a warning.

Names (OpenLineage naming): files are namespace `file`, name = absolute path; a published table is
namespace `duckdb://<warehouse>/published.duckdb`, name `main.<table>`. The run id is a UUID derived
from finkpi's run id (uuid5), which is also in the `finkpi_run` run facet.
"""

from __future__ import annotations

import csv
import json
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path

import attr
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    column_lineage_dataset,
    dataset_version_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
    set_producer,
)
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport

from finkpi import __version__, contract
from finkpi.audit.provenance import source_file_key
from finkpi.files import file_sha256
from finkpi.lineage.published import published_lineage, raw_file
from finkpi.settings import Settings

JOB_NAMESPACE = "finkpi"
JOB_NAME = "finkpi.run"
PRODUCER = f"https://pypi.org/project/finkpi/{__version__}"
FACET_SCHEMA = "https://finkpi.invalid/spec/facets/1-0-0/{}.json"  # finkpi's own facets
_RUN_NAMESPACE = uuid.UUID("5c0f6f0e-8d7b-4c55-9a43-6b1f1a0e7d21")
set_producer(PRODUCER)  # the facets' `_producer` (the client library's URL otherwise)


@attr.define
class FinkpiRunFacet(RunFacet):
    """finkpi's own run id and what the run reported up to."""

    runId: str  # noqa: N815
    asOfDate: str  # noqa: N815
    status: str
    definitionsHash: str | None = None  # noqa: N815
    publishedVersion: str | None = None  # noqa: N815
    # each registered source's own business date (finkpi/sources/)
    sourceAsOfDates: dict | None = None  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA.format("FinkpiRunFacet")


@attr.define
class FinkpiMetricLineageFacet(DatasetFacet):
    """Each published metric -> its raw source columns (`<source>.<table>.<column>`)."""

    metrics: dict[str, list[str]]

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA.format("FinkpiMetricLineageFacet")


def events_file(settings: Settings, run_id: str) -> Path:
    return settings.warehouse_dir / "openlineage" / f"{run_id}.jsonl"


def openlineage_run_id(run_id: str) -> str:
    return str(uuid.uuid5(_RUN_NAMESPACE, run_id))


def published_namespace(settings: Settings) -> str:
    return f"duckdb://{contract.published_path(settings.warehouse_dir).absolute()}"


def _client(settings: Settings, run_id: str) -> OpenLineageClient | None:
    if settings.openlineage_disabled:
        return None
    if settings.openlineage_url:
        config = HttpConfig(
            url=settings.openlineage_url,
            endpoint=settings.openlineage_endpoint,
            timeout=5.0,
            # a lineage server that is down must not hold the run up for long
            retry={"total": 2, "connect": 2, "read": 2, "backoff_factor": 0.2, "allowed_methods": ["POST"]},
        )
        return OpenLineageClient(transport=HttpTransport(config))
    path = events_file(settings, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(path), append=True)))


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- datasets ----------------------------------------------------------------------------------
def input_datasets(settings: Settings, file_hashes: dict[str, str] | None = None) -> list[InputDataset]:
    """The raw files of the registered sources that exist (finkpi/sources/; each delivery file
    too), and the seed files."""
    hashes = file_hashes or {}
    datasets = []
    for source, table, path in settings.raw_files():
        if not path.exists():
            continue
        fields = [
            schema_dataset.SchemaDatasetFacetFields(c.name, c.type, c.description) for c in table.columns
        ]
        sha256 = hashes.get(source_file_key(settings, source.name, path)) or file_sha256(path)
        datasets.append(_file_dataset(path, fields, sha256))
    for path in sorted(settings.seeds_dir.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        fields = [schema_dataset.SchemaDatasetFacetFields(name, "varchar") for name in header]
        datasets.append(_file_dataset(path, fields, file_sha256(path)))
    return datasets


def _file_dataset(path: Path, fields, sha256: str | None) -> InputDataset:
    facets = {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}
    if sha256:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=sha256)
    return InputDataset(namespace="file", name=str(path.absolute()), facets=facets)


def output_datasets(settings: Settings, version: str) -> list[OutputDataset]:
    """The published tables of a version: schema and row counts from its manifest, column lineage
    from the published lineage."""
    import duckdb

    version_dir = contract.version_dir(settings.warehouse_dir, version)
    manifest = json.loads(contract.manifest_file(version_dir).read_text())
    # columns in table order (the manifest's JSON is key-sorted)
    with duckdb.connect(str(contract.database_file(version_dir)), read_only=True) as con:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in con.execute(
            "select table_name, column_name, data_type from duckdb_columns()"
            " order by table_name, column_index"
        ).fetchall():
            columns.setdefault(table, []).append((column, data_type))
    lineage = published_lineage(settings)
    with_lineage = lineage.tables()
    namespace = published_namespace(settings)
    datasets = []
    for table, info in sorted(manifest["tables"].items()):
        facets: dict = {
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(n, t) for n, t in columns[table]]
            ),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version),
        }
        if table in with_lineage:
            facets["columnLineage"] = _column_lineage(settings, lineage, table, with_lineage[table])
        if table == "metric_values":
            facets["finkpi_metricLineage"] = FinkpiMetricLineageFacet(
                metrics={
                    name: sorted(f"{relation}.{column}" for relation, column in tree.sources())
                    for name, tree in sorted(lineage.metrics.items())
                }
            )
        stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=info["rows"])
        datasets.append(
            OutputDataset(
                namespace=namespace,
                name=f"main.{table}",
                facets=facets,
                outputFacets={"outputStatistics": stats},
            )
        )
    return datasets


def _column_lineage(settings, lineage, table: str, columns: list[str]):
    namespace = published_namespace(settings)
    fields = {}
    for column in columns:
        node = lineage.of_column(table, column)
        inputs = [
            column_lineage_dataset.InputField(
                namespace="file", name=str(raw_file(settings, relation).absolute()), field=name
            )
            for relation, name in sorted(node.sources())
        ]
        # published columns it reads that end there (catalog definitions, the export's periods)
        inputs += [
            column_lineage_dataset.InputField(namespace=namespace, name=f"main.{table_name}", field=name)
            for table_name, name in sorted(
                {
                    (n.relation.split(".")[-1], n.column)
                    for n in _walk(node)
                    if n.kind in ("definition", "model")
                    and not n.upstream
                    and n.relation.startswith("metrics.")
                }
            )
        ]
        if not inputs:
            continue  # stamped by the run (run_id) or a constant
        via = ", ".join(upstream.label for upstream in node.upstream)
        fields[column] = column_lineage_dataset.Fields(
            inputFields=inputs, transformationDescription=f"finkpi: {table}.{column} from {via}"
        )
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)


def _walk(node):
    yield node
    for child in node.upstream:
        yield from _walk(child)


# -- events ------------------------------------------------------------------------------------
def run_event(settings: Settings, summary, state: RunState, status: str, inputs, outputs, error=None):
    run_facets: dict = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=__version__, name="finkpi", openlineageAdapterVersion=_openlineage_version()
        ),
        "finkpi_run": FinkpiRunFacet(
            runId=summary.run_id,
            asOfDate=summary.as_of_date,
            status=status,
            definitionsHash=summary.definitions_hash,
            publishedVersion=summary.published_version,
            sourceAsOfDates=summary.source_as_of_dates or None,
        ),
    }
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error[0], programmingLanguage="python", stackTrace=error[1]
        )
    job_facets = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="FINKPI", jobType="JOB"),
        "documentation": documentation_job.DocumentationJobFacet(
            description="One finkpi run: pre-flight and dbt build, metric exports (MetricFlow), "
            "scorecards, the quality gate (Great Expectations) and write-audit-publish."
        ),
    }
    return RunEvent(
        eventType=state,
        eventTime=_now(),
        run=Run(runId=openlineage_run_id(summary.run_id), facets=run_facets),
        job=Job(namespace=JOB_NAMESPACE, name=JOB_NAME, facets=job_facets),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


def _openlineage_version() -> str:
    from importlib.metadata import version

    return version("openlineage-python")


def emit_start(settings: Settings, summary, file_hashes: dict | None = None, progress=print) -> None:
    _emit(
        settings,
        summary.run_id,
        lambda: run_event(
            settings, summary, RunState.START, "running", input_datasets(settings, file_hashes), []
        ),
        progress,
    )


def emit_end(
    settings: Settings,
    summary,
    status: str,
    error: BaseException | None = None,
    file_hashes: dict | None = None,
    progress=print,
) -> None:
    """COMPLETE with the published outputs, or FAIL with the error."""

    def event():
        inputs = input_datasets(settings, file_hashes)
        if status == "success" and summary.published_version:
            outputs = output_datasets(settings, summary.published_version)
            return run_event(settings, summary, RunState.COMPLETE, status, inputs, outputs)
        message = f"{type(error).__name__}: {error}"[:4000] if error is not None else status
        stack = "".join(traceback.format_exception(error))[-8000:] if error is not None else None
        return run_event(settings, summary, RunState.FAIL, "failed", inputs, [], (message, stack))

    _emit(settings, summary.run_id, event, progress)


def _emit(settings: Settings, run_id: str, make_event, progress) -> None:
    try:
        client = _client(settings, run_id)
        if client is None:
            return
        client.emit(make_event())
    except Exception as exc:  # lineage is a report: it never fails or hides the run's own outcome
        where = settings.openlineage_url or events_file(settings, run_id)
        progress(f"  warning: OpenLineage event not written to {where}: {type(exc).__name__}: {exc}")


def read_events(settings: Settings, run_id: str) -> list[dict]:
    """The events of a run written by the file transport."""
    path = events_file(settings, run_id)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

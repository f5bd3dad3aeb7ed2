"""One result, three wire formats: JSON (default), CSV and an Arrow IPC stream.

The format comes from the `format` parameter if given, else from the Accept header
(`text/csv`, `application/vnd.apache.arrow.stream`), else JSON.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from fastapi import Response

FORMATS = {"json": "application/json", "csv": "text/csv", "arrow": "application/vnd.apache.arrow.stream"}


def negotiate(format_param: str | None, accept: str | None) -> str:
    if format_param:
        return format_param
    accept = (accept or "").lower()
    for name, media_type in (("arrow", FORMATS["arrow"]), ("csv", FORMATS["csv"])):
        if media_type in accept:
            return name
    return "json"


def records(table: pa.Table) -> list[dict]:
    """Rows as JSON-ready dicts. Dates and times become ISO text and non-finite floats null
    (JSON has neither) column by column in Arrow, which is ~10x faster than per value in Python."""
    columns = []
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if pa.types.is_timestamp(field.type):
            column = pc.replace_substring(pc.cast(column, pa.string()), " ", "T", max_replacements=1)
        elif pa.types.is_temporal(field.type):
            column = pc.cast(column, pa.string())
        elif pa.types.is_floating(field.type):
            column = pc.if_else(pc.is_finite(column), column, pa.scalar(None, field.type))
        columns.append(column)
    return pa.table(columns, names=table.column_names).to_pylist()


def render(table: pa.Table, fmt: str, run_id: str, resource: str) -> Response:
    headers = {"X-Finkpi-Run-Id": run_id}
    if fmt == "csv":
        buffer = io.BytesIO()
        # list columns (metric_catalog.drivers) become text: CSV has no nesting
        table = _lists_as_text(table)
        pa_csv.write_csv(table, buffer)
        headers["Content-Disposition"] = f'inline; filename="{resource}.csv"'
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    if fmt == "arrow":
        sink = pa.BufferOutputStream()
        schema = table.schema.with_metadata({"finkpi.run_id": run_id, "finkpi.resource": resource})
        with pa.ipc.new_stream(sink, schema) as writer:
            writer.write_table(table.replace_schema_metadata(schema.metadata))
        return Response(sink.getvalue().to_pybytes(), media_type=FORMATS["arrow"], headers=headers)
    body = {
        "run_id": run_id,
        "resource": resource,
        "rows": table.num_rows,
        "columns": table.column_names,
        "data": records(table),
    }
    return json_response(body, headers)


def json_response(body, headers: dict | None = None, status_code: int = 200) -> Response:
    return Response(
        json.dumps(body, default=str, allow_nan=False, separators=(",", ":")),
        status_code=status_code,
        media_type="application/json",
        headers=headers or {},
    )


def _lists_as_text(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            joined = [None if v is None else ";".join(map(str, v)) for v in table.column(index).to_pylist()]
            table = table.set_column(index, field.name, pa.array(joined, pa.string()))
    return table

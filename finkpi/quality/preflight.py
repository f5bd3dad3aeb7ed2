"""Pre-flight: the structure of every raw file, checked in Python before dbt reads it.

DuckDB's CSV reader stops at the first bad byte or record with a message about its own buffers;
this check names the rule (expectations/rules.yml, layer `raw`), the file and the line instead:
an empty file, bytes that are not UTF-8, a header that lacks or renames a column of the source's
contract (its registry entry, finkpi/sources/), a record with the wrong number of fields or an
unterminated quote, a value that does not parse as its column's type (with the same casts as
staging), and a file whose records repeat as a block (the same extract appended twice).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from finkpi.errors import FinkpiError
from finkpi.settings import Settings
from finkpi.sources import REGISTERED, SourceSystem

MAX_PROBLEMS_PER_FILE = 5


@dataclass(frozen=True)
class Problem:
    rule_id: str
    file: Path
    line: int | None  # 1-based; the header is line 1
    message: str

    def describe(self) -> str:
        where = f"{self.file}" + (f" line {self.line}" if self.line else "")
        return f"FAILED rule {self.rule_id}: {where}: {self.message}"


class PreflightError(FinkpiError):
    """Raw files the build cannot read; the message names rule, file and line of each problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = [f"pre-flight check of the raw files failed: {len(problems)} problem(s)"]
        lines += [problem.describe() for problem in problems]
        lines.append("Fix the extract (or export it again) and run again; nothing was built.")
        super().__init__("\n".join(lines))


def check(settings: Settings) -> None:
    """Check every registered source's raw files; raise PreflightError on problems."""
    problems = find_problems(settings)
    if problems:
        raise PreflightError(problems)


def find_problems(settings: Settings, sources: tuple[SourceSystem, ...] = REGISTERED) -> list[Problem]:
    """The problems of every file of `sources` (default: every registered source), each against
    its registry contract: a table's base file and each of its delivery files
    (`<folder>/deliveries/<batch>/`). Parquet files are typed by their writer: only that a base
    file exists is checked here."""
    problems: list[Problem] = []
    for source in sources:
        folder = settings.source_folder(source.name)
        if not folder.is_dir():
            setting = source.folder_env or "FINKPI_DATA_DIR"
            message = f"the folder of source {source.name} does not exist; set {setting}"
            problems.append(Problem("empty_file", folder, None, message))
            continue
        csv_files = settings.source_format(source.name) == "csv"
        for table in source.tables:
            columns = [(column.name, column.type, column.description) for column in table.columns]
            # the base file, then each delivery file: every one against the same contract
            base, *deliveries = settings.table_files(source.name, table.name)
            if not csv_files:
                if not base.exists():  # the reader skips a missing file (deliveries may be none)
                    problems.append(Problem("empty_file", base, None, "the file does not exist"))
                continue
            for path in (base, *deliveries):
                problems += check_csv(path, columns)
    return problems


def check_csv(path: Path, columns: list[tuple[str, str, str]]) -> list[Problem]:
    """The problems of one CSV file against its columns (name, DuckDB type, description)."""
    if not path.exists():
        return [Problem("empty_file", path, None, "the file does not exist")]
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        return [
            Problem(
                "bad_encoding",
                path,
                line,
                f"byte 0x{byte} at offset {exc.start} is not valid UTF-8 (export the file as UTF-8)",
            )
        ]
    # Excel writes an empty sheet as a byte-order mark alone: that is an empty file too
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return [Problem("empty_file", path, None, "the file is empty (no header, no record)")]

    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        for record in reader:
            records.append((reader.line_num, record))
    except csv.Error as exc:
        return [Problem("malformed_row", path, reader.line_num, f"cannot parse the record: {exc}")]

    problems = _check_header(path, header, [name for name, _, _ in columns])
    if problems:
        return problems
    if not records:
        return [Problem("empty_file", path, None, "the file has a header but no record")]

    twice = _loaded_twice(path, header, records)
    if twice:
        return [twice]

    for line, record in records:
        if len(record) != len(header):
            problems.append(
                Problem(
                    "malformed_row",
                    path,
                    line,
                    f"{len(record)} field(s), the header has {len(header)} (a stray delimiter or quote?)",
                )
            )
            if len(problems) >= MAX_PROBLEMS_PER_FILE:
                return problems
    if problems:
        return problems
    return _check_types(path, header, records, columns)


def _check_header(path: Path, header: list[str], expected: list[str]) -> list[Problem]:
    present = [name.strip() for name in header]
    missing = [name for name in expected if name not in present]
    unexpected = [name for name in present if name not in expected]
    problems = []
    if unexpected:
        hint = f"; missing {', '.join(missing)} (renamed?)" if missing else ""
        problems.append(
            Problem(
                "unexpected_column",
                path,
                1,
                f"column(s) {', '.join(unexpected)} not in the source contract{hint}",
            )
        )
    elif missing:
        problems.append(Problem("missing_column", path, 1, f"column(s) {', '.join(missing)} missing"))
    return problems


def _loaded_twice(path: Path, header: list[str], records: list[tuple[int, list[str]]]) -> Problem | None:
    values = [record for _, record in records]
    # the whole file appended again, header included: the header comes back as a record
    for index, record in enumerate(values):
        if record == header and values[:index] == values[index + 1 :]:
            return Problem(
                "file_loaded_twice",
                path,
                records[index][0],
                f"the header and all {index} records repeat from here: the same extract loaded twice",
            )
    half, odd = divmod(len(values), 2)
    if half and not odd and values[:half] == values[half:]:
        return Problem(
            "file_loaded_twice",
            path,
            records[half][0],
            f"all {half} records repeat from here: the same extract loaded twice",
        )
    return None


def _check_types(
    path: Path, header: list[str], records: list[tuple[int, list[str]]], columns: list[tuple[str, str, str]]
) -> list[Problem]:
    """Values that the staging cast would reject, found with DuckDB's own try_cast."""
    import duckdb
    import pandas as pd

    typed = [(name, kind) for name, kind, _ in columns if kind != "varchar"]
    if not typed:
        return []
    positions = {name.strip(): index for index, name in enumerate(header)}
    frame = pd.DataFrame(
        {
            "line": [line for line, _ in records],
            **{name: [record[positions[name]] for _, record in records] for name, _ in typed},
        }
    )
    checks = " union all ".join(
        f"""select line, '{name}' as col, "{name}" as value, '{kind}' as kind from frame
            where nullif(trim("{name}"), '') is not null
            and try_cast(trim("{name}") as {kind}) is null"""
        for name, kind in typed
    )
    with duckdb.connect() as con:
        con.register("frame", frame)
        bad = con.execute(f"select * from ({checks}) order by line limit {MAX_PROBLEMS_PER_FILE}").fetchall()
    return [
        Problem("wrong_type", path, line, f"column {column}: {value!r} is not a {kind}")
        for line, column, value, kind in bad
    ]

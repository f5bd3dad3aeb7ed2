"""Metric certification and definition history.

A certification is a person's sign-off on what a metric means: a row in
`seeds/metric_certifications.csv` (kept in git and reviewed like code) naming the metric, its
certified identity, who certified it, when, and why it changed.

The certified identity covers both halves of a metric's meaning (`certified_identity`):

- its definition: the hash of its compiled MetricFlow SQL (governance.definition_hash), and
- the columns of the registered sources that feed it (`feeding_columns`, finkpi.lineage): its full
  lineage, the columns whose values flow into it and the ones that decide its rows (a status
  filter, the date it is dated by, a join key), as `<source>.<file>.<column>`.

A new source feeding the metric (a SAP extract whose orders have no creation date, so another date
is used), a column swapped in a staging model or a changed definition all change the identity: the
metric stays uncertified, with a reason naming what changed since its last sign-off
(`certification_status`), until someone signs the new identity (`finkpi metrics certify`). Each
row keeps the definition hash and the feeding columns it signed, so the reason can name them and a
reviewer reads in the diff which source columns were signed off; `load_certifications` checks
that every row's identity is the one its hash and columns make.

- what it counts: its definition fields (source_documents, period_date, includes, excludes,
  rounding, slice_behavior; finkpi.metrics.definition.DEFINITION_FIELDS), each by the hash of its
  text (`field_hashes`), so a changed rounding or exclusion needs a new sign-off like changed SQL,
  and the reason names the fields that changed.

Rows signed before the identity covered the source columns have an empty identity: they stay as
history and certify nothing. Rows signed before it covered the definition fields have empty
`definition_fields`: their identity is the one of definition hash and feeding columns alone, which
no metric with definition fields has, so they certify nothing either (the reason says so).

`metric_definition_history` is read from the same file: each certified identity is one version,
valid from its certification until the next one; a current identity nobody has certified yet is
the last, open version with an empty `certified_by` and the reason as its change note.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

CERTIFICATIONS_FILE = Path("seeds") / "metric_certifications.csv"
FIELDS = [
    "metric_name", "definition_hash", "feeding_columns", "certified_identity", "certified_by",
    "certified_at", "change_note", "definition_fields",
]  # fmt: skip
HISTORY_COLUMNS = [
    "metric_name", "definition_hash", "certified_identity", "valid_from", "valid_to", "certified_by",
    "certified_at", "change_note", "is_current",
]  # fmt: skip
COLUMN_SEPARATOR = " "  # between the feeding columns of one row (source column names have no blanks)
# and between the `field=hash` entries of definition_fields (field names have no blanks)
FIELD_HASH_LENGTH = 16  # hex digits of a field text's SHA-256 kept per field
MAX_NAMED_COLUMNS = 8  # a reason names at most this many columns of one source


class CertificationError(ValueError):
    """The certification file contradicts itself (an identity its row does not make)."""


def certified_identity(
    definition_hash: str, feeding_columns: list[str] | set[str], field_hashes: dict[str, str] | None = None
) -> str:
    """What a sign-off certifies: the definition hash, the sorted source columns feeding it and,
    after an empty line, the sorted `field=hash` of its definition fields (none: rows signed
    before the fields existed)."""
    lines = [definition_hash, *sorted(feeding_columns)]
    if field_hashes:
        lines += ["", *_field_entries(field_hashes)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def field_hashes(fields: dict[str, str]) -> dict[str, str]:
    """field -> the first FIELD_HASH_LENGTH hex digits of the SHA-256 of its published text
    (MetricDefinition.definition_fields: blanks already normalized)."""
    return {
        field: hashlib.sha256(text.encode()).hexdigest()[:FIELD_HASH_LENGTH] for field, text in fields.items()
    }


def _field_entries(hashes: dict[str, str]) -> list[str]:
    return [f"{field}={digest}" for field, digest in sorted(hashes.items())]


def _fields(text: str) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in text.split(COLUMN_SEPARATOR) if entry)


def load_certifications(project_dir: Path) -> pd.DataFrame:
    path = project_dir / CERTIFICATIONS_FILE
    if not path.exists():
        return pd.DataFrame(columns=FIELDS)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [field for field in FIELDS if field not in frame.columns]
    if missing:
        raise CertificationError(f"{path}: columns {missing} are missing (expected {', '.join(FIELDS)})")
    for line, row in enumerate(frame.itertuples(), start=2):
        if row.certified_identity and row.certified_identity != certified_identity(
            row.definition_hash, _columns(row.feeding_columns), _fields(row.definition_fields)
        ):
            raise CertificationError(
                f"{path}, line {line} ({row.metric_name}): certified_identity is not the hash of its"
                " definition_hash, feeding_columns and definition_fields: the row was edited by hand;"
                " sign off with `finkpi metrics certify` instead"
            )
    frame["certified_at"] = pd.to_datetime(frame["certified_at"], utc=True)
    return frame.sort_values(["metric_name", "certified_at"], kind="stable", ignore_index=True)


def _columns(text: str) -> list[str]:
    return [column for column in text.split(COLUMN_SEPARATOR) if column]


@dataclass(frozen=True)
class CertificationStatus:
    certified: bool
    identity: str
    reason: str | None  # why it is not certified (None when it is)


def certification_status(
    metric: str,
    definition_hash: str,
    feeding_columns: list[str],
    declared_certified: bool,
    certifications: pd.DataFrame,
    fields: dict[str, str] | None = None,
) -> CertificationStatus:
    """Whether a metric's current identity has a sign-off, and if not, what changed since.
    `fields`: its definition fields' hashes (field_hashes)."""
    identity = certified_identity(definition_hash, feeding_columns, fields)
    signed = certifications[certifications["metric_name"] == metric]
    if not declared_certified:
        return CertificationStatus(False, identity, "declared not certified (meta certified: false)")
    if identity in set(signed["certified_identity"]):
        return CertificationStatus(True, identity, None)
    if signed.empty:
        return CertificationStatus(False, identity, f"never certified (no sign-off in {CERTIFICATIONS_FILE})")
    last = signed.iloc[-1]
    changes = []
    if last["definition_hash"] != definition_hash:
        changes.append(
            f"its definition changed (MetricFlow SQL hash {definition_hash[:12]},"
            f" certified {last['definition_hash'][:12]})"
        )
    if last["certified_identity"]:
        changes += feeding_changes(_columns(last["feeding_columns"]), feeding_columns)
        changes += field_changes(_fields(last["definition_fields"]), fields or {})
    else:
        changes.append("it was signed off on its definition hash only, not on the source columns feeding it")
    last_sign_off = f"(last signed off by {last['certified_by']} on {last['certified_at']:%Y-%m-%d})"
    return CertificationStatus(False, identity, "; ".join(changes) + f" {last_sign_off}")


def feeding_changes(signed: list[str], current: list[str]) -> list[str]:
    """The source columns feeding a metric now and not at sign-off, and the reverse, by source:
    ["source sap now feeds it (columns salesOrder.creationDate, ...)", ...]."""
    added, removed = set(current) - set(signed), set(signed) - set(current)
    signed_sources = {column.split(".", 1)[0] for column in signed}
    changes = []
    for source, columns in _by_source(added).items():
        new = source not in signed_sources
        verb = f"source {source} now feeds it" if new else f"more {source} columns feed it"
        changes.append(f"{verb} (columns {_named(columns)})")
    for source, columns in _by_source(removed).items():
        changes.append(f"{source} columns no longer feed it ({_named(columns)})")
    return changes


def field_changes(signed: dict[str, str], current: dict[str, str]) -> list[str]:
    """The definition fields whose text changed since the sign-off, or that it predates."""
    if not current:
        return []
    if not signed:
        return ["it was signed off before its definition fields existed (" + ", ".join(sorted(current)) + ")"]
    changed = sorted(
        field for field in signed.keys() | current.keys() if signed.get(field) != current.get(field)
    )
    return [f"its definition fields changed ({', '.join(changed)})"] if changed else []


def _by_source(columns: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for column in sorted(columns):
        source, _, rest = column.partition(".")
        found.setdefault(source, []).append(rest)
    return found


def _named(columns: list[str]) -> str:
    shown = ", ".join(columns[:MAX_NAMED_COLUMNS])
    more = len(columns) - MAX_NAMED_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def definition_history(
    catalog_rows: pd.DataFrame, certifications: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    """Every certified version of each metric, and an uncertified current one if its identity
    has no sign-off (catalog_rows: metric_name, definition_hash, certified_identity, certified,
    uncertified_reason)."""
    rows = []
    for current in catalog_rows.itertuples():
        versions = certifications[certifications["metric_name"] == current.metric_name]
        starts = list(versions["certified_at"])
        for index, version in enumerate(versions.itertuples()):
            rows.append(
                {
                    "metric_name": current.metric_name,
                    "definition_hash": version.definition_hash,
                    "certified_identity": version.certified_identity or None,
                    "valid_from": version.certified_at,
                    "valid_to": starts[index + 1] if index + 1 < len(starts) else None,
                    "certified_by": version.certified_by,
                    "certified_at": version.certified_at,
                    "change_note": version.change_note,
                    "is_current": version.certified_identity == current.certified_identity
                    and index == len(starts) - 1,
                }
            )
        if versions.empty or versions.iloc[-1]["certified_identity"] != current.certified_identity:
            if rows and rows[-1]["metric_name"] == current.metric_name:
                rows[-1]["valid_to"] = now
            rows.append(
                {
                    "metric_name": current.metric_name,
                    "definition_hash": current.definition_hash,
                    "certified_identity": current.certified_identity,
                    "valid_from": now,
                    "valid_to": None,
                    "certified_by": None,
                    "certified_at": None,
                    "change_note": "not certified: "
                    + (current.uncertified_reason if pd.notna(current.uncertified_reason) else "no sign-off"),
                    "is_current": True,
                }
            )
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    for column in ("valid_from", "valid_to", "certified_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def append_certification(
    project_dir: Path,
    metric: str,
    definition_hash: str,
    feeding_columns: list[str],
    by: str,
    note: str,
    fields: dict[str, str] | None = None,
) -> dict:
    """Record one sign-off (the file is then committed and reviewed like code); `fields`: the
    metric's definition fields' hashes (field_hashes)."""
    path = project_dir / CERTIFICATIONS_FILE
    row = {
        "metric_name": metric,
        "definition_hash": definition_hash,
        "feeding_columns": COLUMN_SEPARATOR.join(sorted(feeding_columns)),
        "certified_identity": certified_identity(definition_hash, feeding_columns, fields),
        "certified_by": by,
        "certified_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "change_note": note,
        "definition_fields": COLUMN_SEPARATOR.join(_field_entries(fields or {})),
    }
    new_file = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        if new_file:
            writer.writeheader()
        writer.writerow(row)
    return row

"""Metric certification and definition history.

A certification is a person's sign-off on one exact definition: a row in
`seeds/metric_certifications.csv` (kept in git and reviewed like code) naming the metric, the
definition hash it certifies, who certified it, when, and why it changed. A metric is certified
in the catalog only while its current definition hash has such a row; any change of meaning
changes the hash, and the metric stays uncertified until someone signs the new definition.

`metric_definition_history` is read from the same file: each certified hash is one version, valid
from its certification until the next one; a current definition nobody has certified yet is the
last, open version with an empty `certified_by`.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

CERTIFICATIONS_FILE = Path("seeds") / "metric_certifications.csv"
FIELDS = ["metric_name", "definition_hash", "certified_by", "certified_at", "change_note"]
HISTORY_COLUMNS = [
    "metric_name", "definition_hash", "valid_from", "valid_to", "certified_by", "certified_at",
    "change_note", "is_current",
]  # fmt: skip


def load_certifications(project_dir: Path) -> pd.DataFrame:
    path = project_dir / CERTIFICATIONS_FILE
    if not path.exists():
        return pd.DataFrame(columns=FIELDS)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["certified_at"] = pd.to_datetime(frame["certified_at"], utc=True)
    return frame.sort_values(["metric_name", "certified_at"], kind="stable", ignore_index=True)


def certified_hashes(certifications: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(certifications["metric_name"], certifications["definition_hash"], strict=True))


def definition_history(
    catalog_rows: pd.DataFrame, certifications: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    rows = []
    for metric, current_hash in zip(
        catalog_rows["metric_name"], catalog_rows["definition_hash"], strict=True
    ):
        versions = certifications[certifications["metric_name"] == metric]
        starts = list(versions["certified_at"])
        for index, version in enumerate(versions.itertuples()):
            rows.append(
                {
                    "metric_name": metric,
                    "definition_hash": version.definition_hash,
                    "valid_from": version.certified_at,
                    "valid_to": starts[index + 1] if index + 1 < len(starts) else None,
                    "certified_by": version.certified_by,
                    "certified_at": version.certified_at,
                    "change_note": version.change_note,
                    "is_current": version.definition_hash == current_hash and index == len(starts) - 1,
                }
            )
        if versions.empty or versions.iloc[-1]["definition_hash"] != current_hash:
            if rows and rows[-1]["metric_name"] == metric:
                rows[-1]["valid_to"] = now
            rows.append(
                {
                    "metric_name": metric,
                    "definition_hash": current_hash,
                    "valid_from": now,
                    "valid_to": None,
                    "certified_by": None,
                    "certified_at": None,
                    "change_note": "not certified: the definition differs from every certified one",
                    "is_current": True,
                }
            )
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    for column in ("valid_from", "valid_to", "certified_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def append_certification(project_dir: Path, metric: str, definition_hash: str, by: str, note: str) -> dict:
    """Record one sign-off (the file is then committed and reviewed like code)."""
    path = project_dir / CERTIFICATIONS_FILE
    row = {
        "metric_name": metric,
        "definition_hash": definition_hash,
        "certified_by": by,
        "certified_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "change_note": note,
    }
    new_file = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        if new_file:
            writer.writeheader()
        writer.writerow(row)
    return row

"""Who may read what through the HTTP API: API keys mapped to roles, from a YAML file.

A key file (path in FINKPI_API_KEYS; `config/api_keys.example.yml` shows the format) lists keys by
their SHA-256, never in plain text, so the file can be read by more people than the keys:

    keys:
      - name: finance-board        # who holds the key (shown in errors and logs, never the key)
        sha256: 5e884898da28...     # hashlib.sha256(key.encode()).hexdigest()
        role: admin                # admin | auditor | viewer
      - name: sales-team
        sha256: ...
        role: viewer
        departments: [Sales]       # a viewer's scope: one or more departments (the org_units seed)

Roles:
- admin and auditor read everything the API serves; the audit endpoints (run history, validation
  results) are theirs only.
- a viewer scoped to departments D reads the metrics whose catalog `department` is in D (all their
  rows), the `dimension = 'department'` rows of D for every other metric, and the scorecards and
  forecasts of the org units in D; nothing else (`Scope` below is that rule, in one place).

`finkpi api-key --name NAME --role viewer --departments Sales` prints a new random key once and the
YAML entry to paste into the file.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

ROLES = ("admin", "auditor", "viewer")
FULL_ACCESS_ROLES = ("admin", "auditor")


class KeyFileError(ValueError):
    """The key file is missing or malformed; the message names the file, the entry and the rule."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A random key: 32 bytes, URL-safe (what a BI tool puts into its X-API-Key header)."""
    return "fk_" + secrets.token_urlsafe(32)


def departments(project_dir: Path) -> list[str]:
    """The departments of the org_units seed: the only valid viewer scopes."""
    with open(project_dir / "seeds" / "org_units.csv", newline="", encoding="utf-8") as handle:
        return [row["org_unit"] for row in csv.DictReader(handle) if row["org_unit_type"] == "department"]


@dataclass(frozen=True)
class Principal:
    """The holder of one key: a name, a role and, for a viewer, its departments."""

    name: str
    role: str
    departments: frozenset[str] = frozenset()

    @property
    def full_access(self) -> bool:
        return self.role in FULL_ACCESS_ROLES

    def may_see_org_unit(self, org_unit: str) -> bool:
        return self.full_access or org_unit in self.departments

    def may_see_metric_fully(self, metric_department: str | None) -> bool:
        """All rows of a metric: full access, or the metric's department is in the scope."""
        return self.full_access or (metric_department is not None and metric_department in self.departments)


@dataclass(frozen=True)
class KeyEntry:
    sha256: str
    principal: Principal


class KeyRing:
    """The parsed key file. Lookups compare hashes in constant time."""

    def __init__(self, entries: list[KeyEntry], source: str):
        self.entries = entries
        self.source = source

    def authenticate(self, key: str | None) -> Principal | None:
        if not key:
            return None
        digest = hash_key(key)
        found = None
        for entry in self.entries:  # no early exit: the time does not tell which entry matched
            if hmac.compare_digest(entry.sha256, digest):
                found = entry.principal
        return found

    @classmethod
    def load(cls, path: Path, valid_departments: list[str]) -> KeyRing:
        if not path.exists():
            raise KeyFileError(
                f"API key file {path} does not exist: set FINKPI_API_KEYS to a key file"
                " (format: config/api_keys.example.yml; `finkpi api-key` makes entries)"
            )
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise KeyFileError(f"{path}: not valid YAML: {exc}") from None
        return cls.parse(document, valid_departments, str(path))

    @classmethod
    def parse(cls, document, valid_departments: list[str], source: str = "<keys>") -> KeyRing:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeyFileError(f"{source}: expected a mapping with a list under `keys:`")
        entries, seen_hashes, seen_names = [], set(), set()
        for index, item in enumerate(document["keys"], start=1):
            where = f"{source}: key entry {index}"
            if not isinstance(item, dict):
                raise KeyFileError(f"{where}: expected a mapping with name, sha256, role")
            unknown = set(item) - {"name", "sha256", "role", "departments"}
            if unknown:
                raise KeyFileError(f"{where}: unknown field(s) {sorted(unknown)}")
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                raise KeyFileError(f"{where}: `name` is required (who holds the key)")
            where = f"{source}: key entry {index} ({name})"
            digest = str(item.get("sha256") or "").lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise KeyFileError(
                    f"{where}: `sha256` must be the 64 hex digits of the key's SHA-256"
                    " (the file never holds a key in plain text)"
                )
            role = item.get("role")
            if role not in ROLES:
                raise KeyFileError(f"{where}: `role` must be one of {list(ROLES)}, not {role!r}")
            scope = item.get("departments") or []
            if isinstance(scope, str):
                scope = [scope]
            if role == "viewer":
                if not scope:
                    raise KeyFileError(f"{where}: a viewer needs `departments` (one or more)")
                wrong = [d for d in scope if d not in valid_departments]
                if wrong:
                    raise KeyFileError(f"{where}: unknown department(s) {wrong}; known: {valid_departments}")
            elif scope:
                raise KeyFileError(f"{where}: `departments` applies to viewers only ({role} sees everything)")
            if digest in seen_hashes:
                raise KeyFileError(f"{where}: the same key hash is listed twice")
            if name in seen_names:
                raise KeyFileError(f"{where}: the name {name!r} is used twice")
            seen_hashes.add(digest)
            seen_names.add(name)
            entries.append(KeyEntry(digest, Principal(name, role, frozenset(scope))))
        return cls(entries, source)


def key_entry_yaml(name: str, key: str, role: str, scope: list[str]) -> str:
    entry: dict = {"name": name, "sha256": hash_key(key), "role": role}
    if scope:
        entry["departments"] = scope
    return yaml.safe_dump([entry], sort_keys=False)

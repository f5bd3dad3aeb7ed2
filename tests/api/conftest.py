"""Fixtures for the HTTP API: a key file with one key per role, a TestClient over the session's
published version, a real uvicorn server on a free port, and the published tables read by pandas
straight from the version's Parquet files (the independent view the API's answers are checked
against)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from api_support import running_server

from finkpi.api.access import KeyRing, departments, hash_key, new_key
from finkpi.api.app import create_app
from finkpi.settings import PROJECT_DIR

ARTIFACTS = PROJECT_DIR / "test-artifacts"

# name -> (role, departments); each gets a fresh random key per test session
ROLES = {
    "admin": ("admin", []),
    "auditor": ("auditor", []),
    "sales": ("viewer", ["Sales"]),
    "operations": ("viewer", ["Logistics", "Production"]),
    "finance": ("viewer", ["Finance"]),
}


class Keys(dict):
    """name -> plain key, plus `.file` (the YAML key file holding only their hashes)."""

    file: Path
    ring: KeyRing

    def headers(self, name: str) -> dict[str, str]:
        return {"X-API-Key": self[name]}

    def scope(self, name: str) -> set[str] | None:
        role, scope = ROLES[name]
        return None if role != "viewer" else set(scope)


@pytest.fixture(scope="session")
def api_keys(tmp_path_factory) -> Keys:
    keys = Keys({name: new_key() for name in ROLES})
    entries = []
    for name, (role, scope) in ROLES.items():
        entry = {"name": name, "sha256": hash_key(keys[name]), "role": role}
        if scope:
            entry["departments"] = scope
        entries.append(entry)
    keys.file = tmp_path_factory.mktemp("api") / "api_keys.yml"
    keys.file.write_text(yaml.safe_dump({"keys": entries}, sort_keys=False))
    keys.ring = KeyRing.load(keys.file, departments(PROJECT_DIR))
    return keys


@pytest.fixture(scope="session")
def api_app(built, sample_settings, api_keys):
    return create_app(sample_settings, api_keys.ring)


@pytest.fixture(scope="session")
def client(api_app):
    from fastapi.testclient import TestClient

    with TestClient(api_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def published(built, sample_settings) -> dict[str, pd.DataFrame]:
    """Every published table of the current version, from its Parquet file (pandas, not DuckDB)."""
    version = sample_settings.warehouse_dir / "versions" / built.published_version
    return {path.stem: pd.read_parquet(path) for path in version.glob("*.parquet")}


@pytest.fixture(scope="session")
def server_url(api_app):
    with running_server(api_app) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave files for people to look at (gitignored): screenshots."""
    path = Path(os.environ.get("FINKPI_TEST_ARTIFACTS", ARTIFACTS))
    path.mkdir(parents=True, exist_ok=True)
    return path

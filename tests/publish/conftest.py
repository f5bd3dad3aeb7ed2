"""Fixtures for publish, audit and close tests: fresh warehouses holding a copy of the session's
build (so publishing never touches the shared build and each test starts from no published state)."""

from __future__ import annotations

import shutil

import pytest
from tests_publish_helpers import SAMPLE_DIR

from finkpi.settings import load_settings


@pytest.fixture
def fresh_warehouse(built, sample_settings, tmp_path):
    """Settings whose warehouse holds a copy of the built finkpi.duckdb and nothing published."""
    target = tmp_path / "warehouse"
    target.mkdir()
    shutil.copy2(sample_settings.build_database, target / "finkpi.duckdb")
    return load_settings(warehouse_dir=target, data_dir=SAMPLE_DIR)

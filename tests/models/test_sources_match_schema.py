"""The raw layout has one definition (finkpi/generate/schema.py); the dbt sources must mirror it."""

from pathlib import Path

import yaml

from finkpi.generate.schema import SOURCES
from finkpi.settings import PROJECT_DIR


def _declared_sources() -> dict[str, dict[str, list[str]]]:
    declared = {}
    for path in Path(PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            declared[source["name"]] = {
                table["name"]: [column["name"] for column in table.get("columns", [])]
                for table in source["tables"]
            }
    return declared


def test_every_raw_table_is_a_source_with_the_same_columns():
    declared = _declared_sources()
    for source, tables in SOURCES.items():
        assert source in declared, f"source {source} is not declared"
        assert set(declared[source]) == set(tables), f"tables of {source} differ"
        for table, columns in tables.items():
            assert declared[source][table] == [name for name, _t, _d in columns], f"{source}.{table}"


def test_every_raw_table_has_a_staging_model():
    for source, tables in SOURCES.items():
        for table in tables:
            staging = list((PROJECT_DIR / "models" / "staging" / source).glob("stg_*.sql"))
            assert any(f"raw_source('{source}', '{table}')" in path.read_text() for path in staging), table

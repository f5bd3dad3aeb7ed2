"""No check is dropped, moved or loosened without it showing: the project's data tests against
their checked-in list (tests/models/data_tests.txt), and every one of them run and passed on the
session's full build; and no data test reads a view (a view re-scans its raw files for each
reader: README, "Why staging and intermediate are tables")."""

from __future__ import annotations

from pathlib import Path

import pytest

INVENTORY = Path(__file__).with_name("data_tests.txt")


def _inventory() -> dict[str, tuple[str, str | None]]:
    """test name -> (where it runs, its row filter or None), from the checked-in list."""
    listed = {}
    for line in INVENTORY.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            test, _, row_filter = line.partition(" | where ")
            place, name = test.split()
            assert name not in listed, f"{INVENTORY.name}: {name} listed twice"
            listed[name] = (place, row_filter or None)
    return listed


def _where(test: dict) -> str:
    """The model (or source table) a test is attached to; for a singular test, what it reads."""
    if test.get("attached_node"):
        return test["attached_node"].split(".")[-1]
    return "+".join(
        sorted(
            ".".join(node.split(".")[-2:]) if node.startswith("source.") else node.split(".")[-1]
            for node in test["depends_on"]["nodes"]
        )
    )


@pytest.fixture(scope="module")
def data_tests(manifest) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node["package_name"] == "finkpi"
    }


def test_the_data_tests_are_the_listed_ones_in_the_listed_places(data_tests):
    listed = _inventory()
    assert len(listed) > 300  # the list is the project's, not an empty file
    dropped = sorted(set(listed) - set(data_tests))
    added = sorted(set(data_tests) - set(listed))
    moved = sorted(
        f"{name}: listed on {listed[name][0]}, runs on {_where(test)}"
        for name, test in data_tests.items()
        if name in listed and _where(test) != listed[name][0]
    )
    assert not dropped, (
        f"data tests in {INVENTORY.name} that the project no longer has (a dropped check needs its"
        f" replacement, and docs/testing.md says where it lives): {dropped}"
    )
    assert not added, f"data tests missing from {INVENTORY.name} (add them): {added}"
    assert not moved, f"data tests that moved (update {INVENTORY.name} and docs/testing.md): {moved}"


def test_no_data_test_is_loosened(data_tests):
    """Every data test fails the build (the project's `+severity: error`) and checks every row but
    those its listed filter leaves out (e.g. header = lines on the invoices not quarantined)."""
    listed = _inventory()
    loosened = sorted(
        f"{name}: severity {test['config']['severity']}, where {test['config'].get('where')!r}"
        f" (listed: {listed.get(name, (None, None))[1]!r})"
        for name, test in data_tests.items()
        if test["config"]["severity"].lower() != "error"
        or test["config"].get("where") != listed.get(name, (None, None))[1]
    )
    assert not loosened, loosened


def test_every_data_test_ran_and_passed_on_the_full_build(data_tests, run_results):
    status = {result["unique_id"]: result["status"] for result in run_results["results"]}
    not_passed = sorted(
        f"{name}: {status.get(test['unique_id'], 'did not run')}"
        for name, test in data_tests.items()
        if status.get(test["unique_id"]) != "pass"
    )
    assert not not_passed, not_passed


def test_no_data_test_reads_a_view(data_tests, manifest):
    """Tests read tables: a test on a view would re-run the view's chain down to the raw files."""
    on_views = sorted(
        f"{name} reads the view {manifest['nodes'][node]['name']}"
        for name, test in data_tests.items()
        for node in test["depends_on"]["nodes"]
        if node.startswith("model.") and manifest["nodes"][node]["config"]["materialized"] == "view"
    )
    assert not on_views, on_views


def test_staging_and_intermediate_are_tables_in_the_warehouse(warehouse, manifest):
    """What the build made, not only what the configuration says."""
    expected = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"].endswith(("staging", "intermediate"))
    }
    kinds = dict(
        warehouse.execute(
            "select table_name, table_type from information_schema.tables"
            " where table_schema in ('staging', 'intermediate')"
        ).fetchall()
    )
    assert expected and expected == set(kinds), expected ^ set(kinds)
    assert {kind for kind in kinds.values()} == {"BASE TABLE"}, kinds

"""The layering rules of CONVENTIONS.md (dbt-project-evaluator's defaults), checked over the real
manifest of the project, since the evaluator package cannot be installed here."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest


def _models(manifest):
    return {
        node_id: node
        for node_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == "finkpi"
    }


def _layer(node) -> str:
    return node["original_file_path"].split("/")[1]  # models/<layer>/...


def _tests_by_model(manifest):
    tests = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        attached = node.get("attached_node")
        if attached:
            tests[attached].append(node)
    return tests


def test_every_model_is_in_a_known_layer(manifest):
    layers = {_layer(node) for node in _models(manifest).values()}
    # quarantine: the rows quality rules took out of the flow (build warehouse only)
    assert layers <= {"staging", "intermediate", "marts", "quarantine"}, layers


def test_names_follow_their_folder(manifest):
    wrong = []
    for node in _models(manifest).values():
        path = node["original_file_path"]
        name = node["name"]
        layer = _layer(node)
        if layer == "staging":
            source = path.split("/")[2]
            ok = re.fullmatch(rf"stg_{source}__[a-z0-9_]+s", name)
        elif layer == "intermediate":
            ok = re.fullmatch(r"int_[a-z0-9_]+s_[a-z]+ed", name)
        elif layer == "quarantine":
            ok = re.fullmatch(r"[a-z_]+", name)
        else:
            ok = re.fullmatch(r"(fct|dim)_[a-z0-9_]+", name)
        if not ok:
            wrong.append(path)
    assert not wrong, f"models named against CONVENTIONS.md: {wrong}"


def test_staging_reads_only_sources(manifest):
    wrong = {}
    for node in _models(manifest).values():
        if _layer(node) != "staging":
            continue
        upstream = node["depends_on"]["nodes"]
        if not upstream or any(not dep.startswith("source.") for dep in upstream):
            wrong[node["name"]] = upstream
    assert not wrong, f"staging must depend on sources only: {wrong}"


def test_only_staging_reads_sources(manifest):
    wrong = {
        node["name"]: node["depends_on"]["nodes"]
        for node in _models(manifest).values()
        if _layer(node) != "staging" and any(dep.startswith("source.") for dep in node["depends_on"]["nodes"])
    }
    assert not wrong, f"intermediate and marts must not read sources: {wrong}"


def test_marts_do_not_depend_on_marts_of_other_layers_backwards(manifest):
    """Dependencies point one way: staging <- intermediate <- marts."""
    models = _models(manifest)
    order = {"staging": 0, "intermediate": 1, "quarantine": 1, "marts": 2}
    wrong = []
    for node in models.values():
        for dep in node["depends_on"]["nodes"]:
            if dep in models and order[_layer(models[dep])] > order[_layer(node)]:
                wrong.append(f"{node['name']} -> {models[dep]['name']}")
    assert not wrong, wrong


HARD_CODED = re.compile(
    r"\b(from|join)\s+(\"?[a-z_]+\"?\.\"?[a-z_]+\"?)(?!\s*\()|read_csv|read_parquet", re.IGNORECASE
)


def test_no_hard_coded_relations(manifest):
    wrong = {}
    for node in _models(manifest).values():
        code = re.sub(r"--[^\n]*", "", node["raw_code"])
        found = [match.group(0) for match in HARD_CODED.finditer(code)]
        if found:
            wrong[node["name"]] = found
    assert not wrong, f"use ref()/source(), not relation names: {wrong}"


def test_every_model_has_primary_key_tests(manifest):
    tests = _tests_by_model(manifest)
    missing = []
    for node_id, node in _models(manifest).items():
        names = {t["test_metadata"]["name"] for t in tests[node_id] if t.get("test_metadata")}
        if not names & {"unique_key", "unique"} or "not_null" not in names:
            missing.append(node["name"])
    assert not missing, f"models without unique + not_null key tests: {missing}"


def test_every_fact_has_relationship_tests(manifest):
    tests = _tests_by_model(manifest)
    missing = [
        node["name"]
        for node_id, node in _models(manifest).items()
        if node["name"].startswith("fct_")
        and not any(t.get("test_metadata", {}).get("name") == "relationships" for t in tests[node_id])
    ]
    assert not missing, f"facts without relationship tests: {missing}"


def test_every_fact_carries_its_own_company_and_source(manifest):
    """company_code and source_system on every fact, tested not null, the company in
    dim_companies: the company and source slices of the metric layer never need a join."""
    tests = _tests_by_model(manifest)
    facts = {node_id: node for node_id, node in _models(manifest).items() if node["name"].startswith("fct_")}
    assert facts
    problems = []
    for node_id, node in facts.items():
        by_column = defaultdict(set)
        for test in tests[node_id]:
            metadata = test.get("test_metadata") or {}
            kwargs = metadata.get("kwargs", {})
            target = kwargs.get("to", "") if metadata.get("name") == "relationships" else ""
            by_column[test.get("column_name")].add(metadata.get("name") + target)
        for column, wanted in (
            ("company_code", {"not_null", "relationships" + "ref('dim_companies')"}),
            ("source_system", {"not_null"}),
        ):
            if column not in node["columns"]:
                problems.append(f"{node['original_file_path']}: no column {column}")
            elif not wanted <= by_column[column]:
                problems.append(
                    f"{node['name']}.{column}: tests {sorted(by_column[column])}, wanted {wanted}"
                )
    assert not problems, "\n".join(problems)


def test_every_fact_semantic_model_has_the_company_and_its_own_source(built):
    """Each fact's semantic model joins to the company by its own company_code and has its own
    source_system (metrics/_semantic_models.yml): the slices never go through the customer."""
    problems = []
    facts = [
        model
        for model in built.artifacts["semantic_manifest"]["semantic_models"]
        if model["node_relation"]["alias"].startswith("fct_")
    ]
    assert facts
    for model in facts:
        entities = {e["name"]: (e["type"], e["expr"] or e["name"]) for e in model["entities"]}
        dimensions = {d["name"]: (d["type"], d["expr"] or d["name"]) for d in model["dimensions"]}
        if entities.get("company") != ("foreign", "company_code"):
            problems.append(f"{model['name']}: company entity {entities.get('company')}")
        if dimensions.get("source_system") != ("categorical", "source_system"):
            problems.append(f"{model['name']}: source_system dimension {dimensions.get('source_system')}")
    # the company's books system is no slice: it is not where a fact's rows came from
    companies = next(
        m for m in built.artifacts["semantic_manifest"]["semantic_models"] if m["name"] == "companies"
    )
    if any(d["name"] == "source_system" for d in companies["dimensions"]):
        problems.append("companies: a source_system dimension would make the slice ambiguous")
    assert not problems, "\n".join(problems)


def test_every_source_has_a_freshness_rule(manifest):
    sources = {node["source_name"] for node in manifest["sources"].values()}
    fresh = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata", {}).get("name") == "fresh_as_of":
            for dep in node["depends_on"]["nodes"]:
                fresh.add(manifest["sources"][dep]["source_name"])
    assert sources, "no sources found"
    assert sources == fresh, f"sources without a fresh_as_of rule: {sorted(sources - fresh)}"


@pytest.fixture(scope="module")
def public_models(manifest):
    return [node for node in _models(manifest).values() if node.get("access") == "public"]


def test_marts_are_public_with_enforced_contracts(manifest, public_models):
    marts = [node for node in _models(manifest).values() if _layer(node) == "marts"]
    assert marts
    assert {n["name"] for n in marts} == {n["name"] for n in public_models}
    not_enforced = [n["name"] for n in marts if not n["config"]["contract"]["enforced"]]
    assert not not_enforced, not_enforced


def test_public_models_are_fully_documented(public_models):
    undocumented = []
    for node in public_models:
        if not node["description"].strip():
            undocumented.append(node["name"])
        undocumented += [
            f"{node['name']}.{name}"
            for name, column in node["columns"].items()
            if not column["description"].strip()
        ]
        if not node["columns"]:
            undocumented.append(f"{node['name']} (no columns)")
    assert not undocumented, f"public models and columns without a description: {undocumented}"

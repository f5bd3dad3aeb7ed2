"""`finkpi source new` writes a new source's files from its extract's headers (no build: the
whole onboarding, with a pipeline run, is tests/sources/test_onboarding.py)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from finkpi.settings import PROJECT_DIR
from finkpi.sources import SourceSystem, get
from finkpi.sources.scaffold import ENTITIES, Scaffold


@pytest.fixture
def project(tmp_path):
    """The models the templates are copied from, in a throw-away project folder."""
    shutil.copytree(PROJECT_DIR / "models", tmp_path / "models")
    return tmp_path


@pytest.fixture
def export(tmp_path):
    """An extract with the bundled CRM's layout except one renamed column."""
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("Opportunity", "Case"):
        text = (PROJECT_DIR / "data" / "sample" / "crm" / f"{name}.csv").read_text().splitlines()[:4]
        (folder / f"{name}.csv").write_text("\n".join(text).replace("StageName", "Stage") + "\n")
    return folder


def _entry(path) -> SourceSystem:
    spec = importlib.util.spec_from_file_location("entry", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SOURCE


def test_a_crm_gets_its_entry_models_rules_and_test_in_its_own_places(project, export):
    written = Scaffold(project, "acme_crm", "crm", data_from=export, company_code="MVN1").write()
    assert all("acme_crm" in str(path) for path in written)
    entry = _entry(project / "finkpi" / "sources" / "acme_crm.py")
    assert (entry.name, entry.kind, entry.company_code) == ("acme_crm", "crm", "MVN1")
    assert entry.folder_env == "FINKPI_ACME_CRM_DIR" and entry.as_of_env == "FINKPI_ACME_CRM_AS_OF_DATE"
    opportunity = entry.table("Opportunity")
    assert opportunity.column_names[:4] == ["Id", "AccountId", "Name", "Stage"]
    # types come from the bundled source where the column is the same, text where it is new
    types = {column.name: column.type for column in opportunity.columns}
    assert types["Amount"] == "decimal(18,2)" and types["Stage"] == "varchar"
    assert (entry.as_of.table, entry.as_of.column) == ("Opportunity", "CreatedDate")

    # the dbt source is the entry (the same check as for every registered source)
    (declared,) = yaml.safe_load((project / "models/staging/acme_crm/_acme_crm__sources.yml").read_text())[
        "sources"
    ]
    assert {t["name"]: [c["name"] for c in t["columns"]] for t in declared["tables"]} == {
        t.name: t.column_names for t in entry.tables
    }
    staging = (project / "models/staging/acme_crm/stg_acme_crm__opportunities.sql").read_text()
    assert "raw_source('acme_crm', 'Opportunity')" in staging
    assert "'acme_crm' as source_system" in staging and "'crm'" not in staging
    validated = (
        project / "models/intermediate/acme_crm/int_acme_crm_opportunities_validated.sql"
    ).read_text()
    for rule in ("acme_crm_missing_key", "acme_crm_future_date", "unconvertible_amount"):
        assert f"rule('{rule}'" in validated
    assert "join_rate(" in validated and "'acme_crm'" in validated
    rules = yaml.safe_load((project / "expectations/rules/acme_crm.yml").read_text())["rules"]
    assert {rule["id"] for rule in rules} == {"acme_crm_missing_key", "acme_crm_future_date"}
    _lint_clean(project / "finkpi" / "sources" / "acme_crm.py", project / "tests")


def _lint_clean(*paths):
    """The written Python passes the project's own ruff rules and format."""
    ruff = str(Path(sys.executable).parent / "ruff")
    config = ["--config", str(PROJECT_DIR / "pyproject.toml")]
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run([ruff, *command, *config, *map(str, paths)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_checklist_names_every_union_branch(project, export):
    scaffold = Scaffold(project, "acme_crm", "crm", data_from=export, company_code="MVN1")
    checklist = scaffold.checklist()
    for entity in ENTITIES["crm"]:
        assert entity.union_into in checklist
        assert f"accepted('int_acme_crm_{entity.name}_validated')" in checklist
        assert f"rule_violations('int_acme_crm_{entity.name}_validated'" in checklist


def test_an_erp_without_files_takes_the_bundled_layout(project):
    Scaffold(project, "acme_erp", "erp").write()
    entry = _entry(project / "finkpi" / "sources" / "acme_erp.py")
    assert entry.table_names == [table.name for table in get("erp").tables]
    assert entry.company_code is None  # an ERP's rows carry their company
    _lint_clean(project / "finkpi" / "sources" / "acme_erp.py")
    for entity in ENTITIES["erp"]:
        assert (project / f"models/staging/acme_erp/stg_acme_erp__{entity.name}.sql").exists()


def test_it_refuses_a_registered_name_a_bad_name_and_existing_files(project, export):
    with pytest.raises(ValueError, match="registered already"):
        Scaffold(project, "sap", "erp")
    with pytest.raises(ValueError, match="lower-case letters"):
        Scaffold(project, "Acme-CRM", "crm")
    with pytest.raises(ValueError, match="kind must be one of"):
        Scaffold(project, "acme", "wms")
    (project / "models/staging/acme_crm").mkdir(parents=True)
    (project / "models/staging/acme_crm/stg_acme_crm__cases.sql").write_text("-- mine")
    with pytest.raises(FileExistsError, match="nothing written"):
        Scaffold(project, "acme_crm", "crm", data_from=export).write()
    assert not (project / "finkpi").exists()

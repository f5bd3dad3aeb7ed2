"""Onboarding a new CRM the way docs/adding-a-source.md says: `finkpi source new`, the templates
filled in, the union branches added, one pipeline run; then its numbers, lineage, provenance,
OpenLineage inputs and own as-of date are checked against the files it came from.

The throw-away source, `acme_crm`, is a CRM of a company finkpi does not know yet (MVN1) whose
data ends on its own date (2024-06-27), long before the sample ERP's; its export names one column
differently from the bundled CRM (`Stage` for `StageName`), so the staging template needs a
real edit. Everything happens in a copy of the repository; the repository is not touched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from finkpi.audit.store import AuditStore
from finkpi.settings import PROJECT_DIR

pytestmark = [pytest.mark.build, pytest.mark.slow]

NAME = "acme_crm"
COMPANY = "MVN1"
AS_OF = date(2024, 6, 27)  # the newest CreatedDate of its opportunities
# what a source's onboarding may edit outside its own folders: the union branches
UNION_BRANCHES = (
    "models/intermediate/unions/int_opportunities_unioned.sql",
    "models/intermediate/unions/int_cases_unioned.sql",
    "models/quarantine/rule_violations.sql",
)
COPIED = ("finkpi", "models", "macros", "metrics", "seeds", "expectations", "config", "tests/dbt")
COPIED_FILES = ("dbt_project.yml", "profiles.yml", "pyproject.toml")


# --- the throw-away extract -------------------------------------------------------------------
def _opportunities() -> list[dict]:
    """20 opportunities from 2023-02 to 2024-06: every third lost, every fourth still open."""
    rows = []
    for n in range(20):
        created = datetime(2023, 2, 1, 9, 30) + timedelta(days=25 * n)
        is_open = n % 4 == 3
        is_won = not is_open and n % 3 != 0
        close = (created + timedelta(days=10 + 3 * n)).date()
        rows.append(
            {
                "Id": f"006ACME{n:05d}",
                "AccountId": f"001ACME{n % 5:05d}",
                "Name": f"Acme deal {n}",
                "Stage": "Prospecting" if is_open else ("Closed Won" if is_won else "Closed Lost"),
                "Amount": f"{1000 + 137 * n}.50",
                "CurrencyIsoCode": "EUR",
                "Probability": "10.00" if is_open else ("100.00" if is_won else "0.00"),
                "IsClosed": "false" if is_open else "true",
                "IsWon": "true" if is_won else "false",
                "CreatedDate": created.strftime("%Y-%m-%dT%H:%M:%S+02:00"),
                "CloseDate": close.isoformat(),
            }
        )
    rows[-1]["CreatedDate"] = f"{AS_OF.isoformat()}T11:00:00+02:00"  # the source's as-of date
    rows[-1]["CloseDate"] = (AS_OF + timedelta(days=40)).isoformat()  # an open deal's expected close
    return rows


def _cases() -> list[dict]:
    rows = []
    for n in range(8):
        created = datetime(2023, 3, 1, 8, 0) + timedelta(days=45 * n)
        rows.append(
            {
                "Id": f"500ACME{n:05d}",
                "CaseNumber": f"A-{n:04d}",
                "AccountId": f"001ACME{n % 5:05d}",
                "ContactId": "",
                "Type": "Complaint" if n % 2 == 0 else "Question",
                "Reason": "Late delivery",
                "Priority": "Medium",
                "Status": "Closed",
                "Origin": "Email",
                "ERP_Order_Number__c": "",
                "TimeZoneSidKey": "Europe/Berlin",
                "CreatedDate": created.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
                "First_Response_Date__c": (created + timedelta(hours=2 + n)).strftime(
                    "%Y-%m-%dT%H:%M:%S+01:00"
                ),
                "ClosedDate": (created + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S+01:00"),
            }
        )
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# --- the onboarding -----------------------------------------------------------------------------
def _copy_repository(target: Path) -> None:
    for folder in COPIED:
        shutil.copytree(PROJECT_DIR / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for file in COPIED_FILES:
        shutil.copy(PROJECT_DIR / file, target / file)
    (target / "data").mkdir()
    for folder in ("sample", "reference"):  # read only: the bundled sources' files
        (target / "data" / folder).symlink_to(PROJECT_DIR / "data" / folder)


def _finkpi(project: Path, env: dict, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "finkpi.cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"finkpi {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def _branch(validated_model: str) -> str:
    return f"\nunion all\n\nselect * from ({{{{ accepted('{validated_model}') }}}}) as {NAME}\n"


def _add_branch(path: Path, after: str, branch: str) -> None:
    text = path.read_text()
    assert text.count(after) == 1, f"{path}: the anchor {after!r} is not there once"
    path.write_text(text.replace(after, after + branch))


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory):
    root = tmp_path_factory.mktemp("onboarding")
    project, extract, warehouse = root / "project", root / "acme-export", root / "warehouse"
    project.mkdir()
    extract.mkdir()
    _copy_repository(project)
    _write_csv(extract / "Opportunity.csv", _opportunities())
    _write_csv(extract / "Case.csv", _cases())
    env = {
        **os.environ,
        "PYTHONPATH": str(project),
        "FINKPI_PROJECT_DIR": str(project),
        "FINKPI_WAREHOUSE_DIR": str(warehouse),
        "FINKPI_DATA_DIR": str(PROJECT_DIR / "data" / "sample"),
        f"FINKPI_{NAME.upper()}_DIR": str(extract),
        "DO_NOT_TRACK": "1",
    }
    before = {path: (project / path).read_text() for path in UNION_BRANCHES}

    scaffold = _finkpi(
        project, env, "source", "new", NAME, "--kind", "crm", "--from", str(extract), "--company", COMPANY
    )

    # the filled-in templates: the company's attributes, and the one column named differently
    entry = project / "finkpi" / "sources" / f"{NAME}.py"
    entry.write_text(
        entry.read_text()
        .replace('name="TODO", country="TODO"', 'name="Acme Maven Ltd", country="GB"')
        .replace('description="TODO: what this system is and what it holds"', 'description="Acme\'s CRM"')
    )
    staging = project / "models" / "staging" / NAME / f"stg_{NAME}__opportunities.sql"
    staging.write_text(staging.read_text().replace("adapter.quote('StageName')", "adapter.quote('Stage')"))
    # the union branches, as the checklist prints them
    _add_branch(
        project / UNION_BRANCHES[0],
        "select * from ({{ accepted('int_crm_opportunities_validated') }}) as crm\n",
        _branch(f"int_{NAME}_opportunities_validated"),
    )
    _add_branch(
        project / UNION_BRANCHES[1],
        "select * from {{ ref('stg_crm__cases') }}\n",
        _branch(f"int_{NAME}_cases_validated"),
    )
    violations = project / UNION_BRANCHES[2]
    violations.write_text(
        violations.read_text().rstrip()
        + "\n\nunion all\n\n"
        + f"{{{{ rule_violations('int_{NAME}_opportunities_validated', 'stg_{NAME}__opportunities',"
        " 'flagged.opportunity_id') }}\n\nunion all\n\n"
        + f"{{{{ rule_violations('int_{NAME}_cases_validated', 'stg_{NAME}__cases',"
        " 'flagged.case_id') }}\n"
    )

    run = _finkpi(project, env, "run", timeout=1200)
    return {
        "project": project,
        "extract": extract,
        "warehouse": warehouse,
        "env": env,
        "scaffold": scaffold.stdout,
        "run": run.stdout,
        "edited": [path for path in UNION_BRANCHES if (project / path).read_text() != before[path]],
    }


def _values(onboarded, metric: str, dimension: str, value: str, grain: str = "year") -> dict[str, float]:
    with duckdb.connect(str(onboarded["warehouse"] / "finkpi.duckdb"), read_only=True) as con:
        rows = con.execute(
            # fiscal years are labelled by the calendar year they end in (FY2024); January start
            "select replace(period_label, 'FY', ''), value from metrics.metric_values"
            " where metric_name = ? and dimension = ? and dimension_value = ? and grain = ?",
            [metric, dimension, value, grain],
        ).fetchall()
    return dict(rows)


# --- what it gives ------------------------------------------------------------------------------
def test_the_scaffold_writes_only_the_sources_own_files_and_prints_the_checklist(onboarded):
    out = onboarded["scaffold"]
    written = [line.removeprefix("wrote ") for line in out.splitlines() if line.startswith("wrote ")]
    assert len(written) >= 8
    for path in written:
        assert NAME in path, f"{path} is not in the source's own place"
    for branch in UNION_BRANCHES:
        assert Path(branch).stem in out, f"the checklist does not name {branch}"
    assert sorted(onboarded["edited"]) == sorted(UNION_BRANCHES)  # and nothing else existing


def test_its_metric_values_equal_a_computation_over_its_files(onboarded):
    frame = pd.read_csv(onboarded["extract"] / "Opportunity.csv", dtype=str)
    frame["close_year"] = frame["CloseDate"].str[:4]
    closed = frame[frame["IsClosed"] == "true"]
    expected_win_rate = (closed["IsWon"] == "true").groupby(closed["close_year"]).mean().to_dict()
    won = closed[closed["IsWon"] == "true"]
    days = pd.to_datetime(won["CloseDate"]) - pd.to_datetime(won["CreatedDate"].str[:10])
    expected_cycle = days.dt.days.groupby(won["close_year"]).mean().to_dict()

    for dimension, value in (("company_code", COMPANY), ("source_system", NAME)):
        win_rate = _values(onboarded, "win_rate", dimension, value)
        cycle = _values(onboarded, "sales_cycle_days", dimension, value)
        for year, rate in expected_win_rate.items():
            assert win_rate[year] == pytest.approx(rate, abs=1e-9), (dimension, year)
        for year, average in expected_cycle.items():
            assert cycle[year] == pytest.approx(average, abs=1e-9), (dimension, year)


def test_no_period_after_its_own_as_of_date_is_published_for_its_company(onboarded):
    with duckdb.connect(str(onboarded["warehouse"] / "finkpi.duckdb"), read_only=True) as con:
        (latest,) = con.execute(
            "select max(period_start) from metrics.metric_values"
            " where dimension = 'company_code' and dimension_value = ? and grain = 'month'",
            [COMPANY],
        ).fetchone()
        (incomplete,) = con.execute(
            "select bool_and(not is_complete) from metrics.metric_values where dimension = 'company_code'"
            " and dimension_value = ? and grain = 'month' and period_start = ?",
            [COMPANY, AS_OF.replace(day=1)],
        ).fetchone()
    assert latest == AS_OF.replace(day=1)
    assert incomplete  # its data ends inside June 2024


def test_its_own_as_of_date_is_resolved_from_its_files_and_recorded(onboarded):
    events = sorted((onboarded["warehouse"] / "openlineage").glob("*.jsonl"))
    event = json.loads(events[-1].read_text().splitlines()[-1])
    facet = event["run"]["facets"]["finkpi_run"]
    assert facet["sourceAsOfDates"][NAME] == AS_OF.isoformat()
    assert facet["asOfDate"] != AS_OF.isoformat()  # the run's own date is the sample ERP's
    assert f"{NAME} {AS_OF.isoformat()}" in onboarded["run"]


def test_its_files_are_hashed_in_provenance_and_openlineage_inputs(onboarded):
    events = sorted((onboarded["warehouse"] / "openlineage").glob("*.jsonl"))
    start = json.loads(events[-1].read_text().splitlines()[0])
    run_id = start["run"]["facets"]["finkpi_run"]["runId"]
    hashes = json.loads(AuditStore(onboarded["warehouse"]).run_records(run_id)["start"]["input_files"])
    inputs = {d["name"]: d for d in start["inputs"]}
    for file in ("Opportunity.csv", "Case.csv"):
        path = onboarded["extract"] / file
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert hashes[f"{NAME}/{file}"] == digest
        assert inputs[str(path)]["facets"]["version"]["datasetVersion"] == digest


def test_its_metric_lineage_reaches_its_raw_columns(onboarded):
    result = _finkpi(onboarded["project"], onboarded["env"], "lineage", "win_rate", "--format", "json")
    leaves = set()

    def walk(node):
        if not node.get("upstream"):
            leaves.add((node["relation"], node["column"]))
        for child in node.get("upstream", []):
            walk(child)

    walk(json.loads(result.stdout))
    assert (f"{NAME}.Opportunity", "IsWon") in leaves
    assert ("crm.Opportunity", "IsWon") in leaves


def test_the_certified_metrics_it_feeds_wait_for_a_sign_off(onboarded):
    with duckdb.connect(str(onboarded["warehouse"] / "finkpi.duckdb"), read_only=True) as con:
        rows = dict(
            con.execute(
                "select metric_name, uncertified_reason from metrics.metric_catalog"
                " where metric_name in ('win_rate', 'revenue') and not certified"
            ).fetchall()
        )
    assert "win_rate" in rows and f"source {NAME} now feeds it" in rows["win_rate"]
    assert "revenue" not in rows  # it does not read the CRM

"""Access control of the HTTP API: keys, roles, department scopes, and what never leaves."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import api_scope as expected
import pandas as pd
import pytest

from finkpi.api.access import KeyFileError, KeyRing, departments, hash_key
from finkpi.settings import PROJECT_DIR

V = "/api/v1"
DATA_ENDPOINTS = [
    f"{V}/me",
    f"{V}/version",
    f"{V}/catalog",
    f"{V}/catalog/history",
    f"{V}/metrics/values?metrics=revenue",
    f"{V}/scorecards/summary",
    f"{V}/scorecards/lines",
    f"{V}/forecasts",
    f"{V}/attribution",
    f"{V}/associations",
    f"{V}/lineage/revenue",
    f"{V}/audit/runs",
    f"{V}/audit/validations",
]


# -- no key, a bad key ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", DATA_ENDPOINTS)
def test_no_key_and_a_bad_key_get_401_and_no_data(client, api_keys, path):
    for headers in ({}, {"X-API-Key": "not-a-key"}, {"Authorization": "Bearer not-a-key"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (path, headers, response.text)
        assert set(response.json()) == {"detail"}
        assert "X-Finkpi-Run-Id" not in response.headers


def test_a_valid_key_in_either_header_is_accepted(client, api_keys):
    assert client.get(f"{V}/me", headers=api_keys.headers("sales")).json()["role"] == "viewer"
    bearer = {"Authorization": f"Bearer {api_keys['auditor']}"}
    assert client.get(f"{V}/me", headers=bearer).json()["role"] == "auditor"


def test_the_key_file_holds_only_hashes(api_keys):
    text = api_keys.file.read_text()
    for key in api_keys.values():
        assert key not in text
        assert hash_key(key) in text


# -- the wrong department --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        f"{V}/scorecards/summary?org_unit=Finance",
        f"{V}/scorecards/lines?org_unit=Sales,Finance",
        f"{V}/forecasts?org_unit=Company",
        f"{V}/metrics/values?metrics=dso",  # a Finance metric without department rows
        f"{V}/metrics/values?metrics=operating_expense&dimension=region",
        f"{V}/metrics/values?metrics=operating_expense&dimension=department&dimension_value=Finance",
        f"{V}/attribution?metrics=gross_margin_pct",
        f"{V}/associations?metrics=complaint_rate",
        f"{V}/catalog?metrics=cogs",
        f"{V}/lineage/cogs",
        f"{V}/audit/runs",
        f"{V}/audit/validations",
    ],
)
def test_the_wrong_department_gets_403_and_no_data(client, api_keys, path):
    response = client.get(path, headers=api_keys.headers("sales"))
    assert response.status_code == 403, response.text
    assert set(response.json()) == {"detail"}
    assert "sales" in response.json()["detail"] or "admins" in response.json()["detail"]


def test_the_same_requests_are_answered_for_the_right_department(client, api_keys):
    finance = api_keys.headers("finance")
    assert client.get(f"{V}/scorecards/summary?org_unit=Finance", headers=finance).json()["rows"] > 0
    assert client.get(f"{V}/metrics/values?metrics=dso&grain=month", headers=finance).json()["rows"] > 0
    auditor = api_keys.headers("auditor")
    assert client.get(f"{V}/audit/runs", headers=auditor).json()["rows"] >= 1


# -- a scoped viewer receives exactly its rows ------------------------------------------------------
def _key_columns(frame: pd.DataFrame) -> set[tuple]:
    columns = ["metric_name", "grain", "period_start", "dimension", "dimension_value"]
    frame = frame[columns].astype(str)
    return set(frame.itertuples(index=False, name=None))


@pytest.mark.parametrize("who", ["sales", "operations", "finance", "admin"])
def test_metric_values_are_exactly_the_rows_in_scope(client, api_keys, published, who):
    response = client.get(f"{V}/metrics/values", headers=api_keys.headers(who))
    assert response.status_code == 200
    body = response.json()
    got = pd.DataFrame(body["data"])
    want = expected.allowed_values(published, api_keys.scope(who))
    assert body["rows"] == len(want) > 0
    assert _key_columns(got) == _key_columns(want.assign(period_start=want["period_start"].astype(str)))
    if who != "admin":  # of other departments' metrics: only the department rows of its own
        others = got[~got["metric_name"].isin(expected.metrics_of(published, api_keys.scope(who)))]
        assert set(others["dimension"]) <= {"department"}
        assert set(others["dimension_value"]) <= api_keys.scope(who)


@pytest.mark.parametrize("who", ["sales", "operations"])
@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("scorecards/summary", "scorecard_summary"),
        ("scorecards/lines", "scorecard_lines"),
        ("forecasts", "metric_forecast"),
    ],
)
def test_scorecards_and_forecasts_of_its_org_units_only(client, api_keys, published, who, path, table):
    body = client.get(f"{V}/{path}", headers=api_keys.headers(who)).json()
    want = expected.allowed_org_unit_rows(published, table, api_keys.scope(who))
    assert body["rows"] == len(want) > 0
    assert {row["org_unit"] for row in body["data"]} == api_keys.scope(who)


@pytest.mark.parametrize("who", ["sales", "finance"])
def test_catalog_attribution_and_associations_follow_the_scope(client, api_keys, published, who):
    scope = api_keys.scope(who)
    catalog = client.get(f"{V}/catalog", headers=api_keys.headers(who)).json()
    assert {row["metric_name"] for row in catalog["data"]} == expected.visible_catalog(published, scope)
    for path, table in (("attribution", "driver_attribution"), ("associations", "driver_associations")):
        body = client.get(f"{V}/{path}", headers=api_keys.headers(who)).json()
        assert body["rows"] == len(expected.allowed_metric_rows(published, table, scope))


def test_me_describes_the_scope(client, api_keys, published):
    me = client.get(f"{V}/me", headers=api_keys.headers("sales")).json()
    assert me["org_units"] == ["Sales"]
    assert set(me["metrics_all_rows"]) == expected.metrics_of(published, {"Sales"})
    assert set(me["metrics_department_rows_only"]) == {
        "operating_expense",
        "net_operating_cash_flow",
        "cogs_variances",
    }


# -- personal data never leaves --------------------------------------------------------------------
def _personal_values() -> set[str]:
    """E-mail addresses, phone numbers and "First Last" names of the CRM's contacts and leads."""
    found = set()
    for table in ("Contact", "Lead"):
        frame = pd.read_csv(PROJECT_DIR / "data" / "sample" / "crm" / f"{table}.csv", dtype=str)
        for column in ("Email", "Phone"):
            found |= set(frame[column].dropna())
        found |= set((frame["FirstName"] + " " + frame["LastName"]).dropna())
    return found


EMAIL = re.compile(r"[\w.+-]+@[\w.-]+")
PHONE = re.compile(r"\+\d[\d ()-]*\d")
WORD = re.compile(r"[^\W\d_][\w'-]*")


def leaks(text: str, personal: set[str]) -> set[str]:
    """The personal values in `text`: addresses, phone numbers (inside any run of digits that
    starts with +) and "First Last" among the pairs of consecutive words."""
    words = WORD.findall(text)
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    found = (set(EMAIL.findall(text)) | pairs) & personal
    phones = [v for v in personal if v.startswith("+")]
    for run in PHONE.findall(text):
        found |= {phone for phone in phones if phone in run}
    return found


def test_no_personal_data_in_any_answer(client, api_keys):
    personal = _personal_values()
    assert len(personal) > 100  # the sample has contacts; the check below is not vacuous
    # the check finds each kind where there is one: an address, a phone number, a name
    kinds = [min(v for v in personal if "@" in v), min(v for v in personal if v.startswith("+"))]
    kinds.append(min(v for v in personal if " " in v and not v.startswith("+")))
    assert leaks(f'"x": ["{kinds[0]}", "{kinds[1]}"], "y": "{kinds[2]},"', personal) == set(kinds)
    for path in DATA_ENDPOINTS:
        tabular = not path.endswith(("/me", "/version")) and "lineage" not in path
        for fmt in ("json", "csv") if tabular else ("json",):
            url = f"{path}{'&' if '?' in path else '?'}format={fmt}" if tabular else path
            response = client.get(url, headers=api_keys.headers("admin"))
            assert response.status_code == 200, (url, response.text)
            assert not leaks(response.text, personal), url


# -- the key file ---------------------------------------------------------------------------------
GOOD = "a" * 64


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "sha256": GOOD, "role": "owner"}, "role"),
        ({"name": "x", "sha256": "plain-key", "role": "admin"}, "64 hex digits"),
        ({"name": "x", "sha256": GOOD, "role": "viewer"}, "needs `departments`"),
        ({"name": "x", "sha256": GOOD, "role": "viewer", "departments": ["Marketing"]}, "unknown department"),
        ({"name": "x", "sha256": GOOD, "role": "admin", "departments": ["Sales"]}, "viewers only"),
        ({"sha256": GOOD, "role": "admin"}, "`name` is required"),
        ({"name": "x", "sha256": GOOD, "role": "admin", "scope": "all"}, "unknown field"),
    ],
)
def test_a_bad_key_file_names_the_file_the_entry_and_the_rule(tmp_path, entry, message):
    path = tmp_path / "keys.yml"
    path.write_text(json.dumps({"keys": [{"name": "ok", "sha256": "b" * 64, "role": "admin"}, entry]}))
    with pytest.raises(KeyFileError) as error:
        KeyRing.load(path, departments(PROJECT_DIR))
    assert str(path) in str(error.value) and "entry 2" in str(error.value) and message in str(error.value)


def test_a_missing_key_file_says_how_to_make_one(tmp_path):
    with pytest.raises(KeyFileError, match="FINKPI_API_KEYS"):
        KeyRing.load(tmp_path / "absent.yml", departments(PROJECT_DIR))


def test_the_example_key_file_loads():
    ring = KeyRing.load(PROJECT_DIR / "config" / "api_keys.example.yml", departments(PROJECT_DIR))
    assert ring.authenticate("example-sales-key").departments == {"Sales"}
    assert ring.authenticate("example-sales-key ") is None


def test_serve_refuses_to_start_without_a_key_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "finkpi.cli", "serve", "--port", "1"],
        cwd=PROJECT_DIR,
        env={**os.environ, "FINKPI_API_KEYS": str(tmp_path / "absent.yml")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"API key file {tmp_path / 'absent.yml'} does not exist" in result.stderr

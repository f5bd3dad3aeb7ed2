"""Customer identity across ERP and CRM, checked against an independent matcher in plain Python
over the raw files (not over the models)."""

from __future__ import annotations

import re

from tests.conftest import read_raw


def _number(identifier: str) -> int | None:
    digits = re.search(r"[0-9]+", identifier or "")
    return int(digits.group(0)) if digits else None


def _prefix(identifier: str) -> str:
    return re.sub(r"[^A-Za-z]", "", identifier or "").upper()


def _name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9äöüß]", "", (name or "").lower())


def expected_matches() -> dict[str, tuple[str | None, str]]:
    customers = read_raw("erp", "customers")
    accounts = read_raw("crm", "Account")
    ids = {c.strip() for c in customers["customer_id"]}
    by_number: dict[tuple[int, str], str] = {}
    for cid in ids:
        by_number[(_number(cid), _prefix(cid))] = cid
    names: dict[str, list[str]] = {}
    for cid, name in zip(customers["customer_id"], customers["customer_name"], strict=True):
        names.setdefault(_name_key(name.strip()), []).append(cid.strip())
    expected = {}
    for account_id, raw_number, name in zip(
        accounts["Id"], accounts["ERP_Customer_Number__c"], accounts["Name"], strict=True
    ):
        raw = raw_number.strip()
        if raw in ids:
            expected[account_id] = (raw, "erp_number_exact")
            continue
        number, prefix = _number(raw), _prefix(raw)
        candidates = [
            cid
            for (n, p), cid in by_number.items()
            if number is not None and n == number and prefix in ("", p)
        ]
        if len(candidates) == 1:
            expected[account_id] = (candidates[0], "erp_number_normalized")
            continue
        same_name = names.get(_name_key(name.strip()), [])
        if len(same_name) == 1:
            expected[account_id] = (same_name[0], "name_normalized")
        else:
            expected[account_id] = (None, "unmatched")
    return expected


def test_every_crm_account_matches_as_an_independent_matcher_says(warehouse):
    got = {
        account: (customer, method)
        for account, customer, method in warehouse.execute(
            "select crm_account_id, customer_id, match_method from intermediate.int_customers_matched"
        ).fetchall()
    }
    expected = expected_matches()
    assert got.keys() == expected.keys()
    wrong = {
        account: (got[account], expected[account]) for account in got if got[account] != expected[account]
    }
    assert not wrong, f"{len(wrong)} accounts matched differently, e.g. {list(wrong.items())[:5]}"


def test_all_match_methods_occur_in_the_sample(warehouse):
    methods = {
        row[0]
        for row in warehouse.execute(
            "select distinct match_method from intermediate.int_customers_matched"
        ).fetchall()
    }
    assert methods == {"erp_number_exact", "erp_number_normalized", "name_normalized", "unmatched"}


def test_dim_customers_has_every_erp_customer_once_and_crm_only_accounts(warehouse):
    customers = read_raw("erp", "customers")
    rows = warehouse.execute(
        "select customer_key, customer_id, match_method from marts.dim_customers"
        " where source_system in ('erp', 'crm')"  # the SAP source's customers are its own
    ).fetchall()
    erp_ids = sorted(r[1] for r in rows if r[1] is not None)
    assert erp_ids == sorted(customers["customer_id"].str.strip())
    crm_only = [r for r in rows if r[2] == "crm_only"]
    assert crm_only and all(r[0].startswith("CRM-") for r in crm_only)

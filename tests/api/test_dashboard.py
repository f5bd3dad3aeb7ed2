"""The dashboard in headless Chromium against a real uvicorn server: it renders an org unit's
scorecard with its charts from the API, loads nothing from outside, logs no console error, and
leaves a screenshot per role in test-artifacts/ (gitignored)."""

from __future__ import annotations

import re

import pytest

READY = "body[data-ready=true]"


def _open(browser_page, server_url, key, outside: list[str]):
    page = browser_page.page
    # every request must go to the API itself: the page works offline (no CDN)
    page.on("request", lambda r: r.url.startswith((server_url, "data:")) or outside.append(r.url))
    page.goto(f"{server_url}/dashboard/#key={key}")
    page.wait_for_selector(READY, timeout=30_000)
    return page


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_dashboard_renders_scorecard_and_charts(browser_page, server_url, client, api_keys, artifacts, who):
    outside: list[str] = []
    page = _open(browser_page, server_url, api_keys[who], outside)
    headers = api_keys.headers(who)
    me = client.get("/api/v1/me", headers=headers).json()
    org_unit, period = page.locator("#org-unit").input_value(), page.locator("#period").input_value()
    assert org_unit == me["org_units"][0]
    assert page.locator("#org-unit option").all_inner_texts() == me["org_units"]

    # the scorecard: one row with an attainment bar per line of the API's answer for that period
    lines = client.get(
        "/api/v1/scorecards/lines",
        params={"org_unit": org_unit, "grain": "quarter", "period_from": period, "period_to": period},
        headers=headers,
    ).json()["data"]
    assert len(lines) >= 3
    assert page.locator("#lines tbody tr").count() == len(lines)
    assert page.locator("#lines svg.attainment-bar").count() == len(lines)
    assert page.locator("#summary .tile").count() == 4
    summary = client.get(
        "/api/v1/scorecards/summary", params={"org_unit": org_unit, "grain": "quarter"}, headers=headers
    ).json()["data"]
    shown = next(row for row in summary if row["period_start"] == period)
    assert page.locator("#summary .tile .value").first.inner_text() == f"{shown['total_score']:.1f}"

    # a trend chart per metric, with an actual line drawn through the points
    metrics = {line["metric_name"] for line in lines}
    assert page.locator("svg.trend-chart").count() == len(metrics)
    assert page.locator("svg.trend-chart path.actual-line").count() == len(metrics)
    assert page.locator("svg.trend-chart circle").count() > 5 * len(metrics)

    # the driver tree: each scorecard metric is a root; attributed drivers carry contribution bars
    assert page.locator("#driver-tree > .tree > ul > li.tree-node").count() == len(lines)
    assert page.locator("#driver-tree svg.contribution-bar").count() >= 2

    # the open periods: one row per forecast of the org unit, at-risk ones marked
    forecasts = client.get(
        "/api/v1/forecasts", params={"org_unit": org_unit, "grain": "quarter"}, headers=headers
    ).json()["data"]
    assert page.locator("#forecasts tbody tr").count() == len(forecasts) > 0
    assert page.locator("#forecasts .badge.risk").count() == sum(f["at_risk"] for f in forecasts)

    page.screenshot(path=str(artifacts / f"dashboard-{who}.png"), full_page=True)
    assert not outside, outside
    assert not browser_page.errors, browser_page.errors


def test_dashboard_switches_org_unit_and_grain(browser_page, server_url, api_keys):
    page = _open(browser_page, server_url, api_keys["operations"], [])
    assert page.locator("#org-unit option").all_inner_texts() == ["Logistics", "Production"]
    before = page.locator("#lines tbody tr").all_inner_texts()
    page.evaluate("document.body.dataset.ready = ''")
    page.select_option("#org-unit", "Production")
    page.wait_for_selector(READY)
    assert page.locator("#lines tbody tr").all_inner_texts() != before
    page.evaluate("document.body.dataset.ready = ''")
    page.select_option("#grain", "month")
    page.wait_for_selector(READY)
    assert re.fullmatch(r"\d{4}-\d{2}", page.locator("#period option").first.inner_text())  # 2025-10
    assert not browser_page.errors, browser_page.errors


def test_dashboard_without_a_valid_key_shows_the_key_form_and_no_data(browser_page, server_url):
    page = browser_page.page
    page.goto(f"{server_url}/dashboard/")
    page.wait_for_selector("#key-form:not([hidden])")
    assert page.locator("#dashboard").is_hidden()
    page.fill("#key-input", "wrong-key")
    page.click("#key-form button")
    page.wait_for_selector("#message:not([hidden])")
    assert "not accepted" in page.locator("#message").inner_text()
    assert page.locator("#dashboard").is_hidden()
    # the browser logs the refused request (401) itself; nothing else may fail
    assert all("401" in error for error in browser_page.errors), browser_page.errors

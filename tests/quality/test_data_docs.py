"""Great Expectations Data Docs render styled offline (finkpi/quality/data_docs.py): the vendored
files are those GX's templates name, each listed in NOTICE.md with its licence and checksum; after
a real validation no page loads anything from the network; and headless Chromium, with the network
cut, finds the styles only the vendored CSS gives (and misses them once that CSS is gone)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from finkpi.quality import data_docs, gx_runner
from finkpi.quality.data_docs import ASSETS_DIR, LOCAL_COPIES, SITE_VENDOR_DIR, DataDocsError
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR
from tests.quality.test_gx_duckdb import SUITE

GX_TEMPLATES = (
    Path(importlib.util.find_spec("great_expectations").submodule_search_locations[0])
    / "render"
    / "view"
    / "templates"
)
NOTICE_ROW = re.compile(
    r"^\| `([^`]+)` \| `([^`]+)` \| ([^|]+) \| (https://\S+) \| `([0-9a-f]{64})` \|$", re.M
)
BOOTSTRAP_CSS = "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"


def _notice_rows() -> dict[str, tuple[str, str]]:
    """NOTICE.md's file table: path under ASSETS_DIR -> (licence, sha256)."""
    rows = NOTICE_ROW.findall((ASSETS_DIR / "NOTICE.md").read_text(encoding="utf-8"))
    return {f"{package}/{path}": (licence.strip(), sha) for path, package, licence, _src, sha in rows}


def test_every_vendored_file_is_in_the_notice_with_its_licence_and_checksum():
    rows = _notice_rows()
    vendored = {
        str(path.relative_to(ASSETS_DIR))
        for path in ASSETS_DIR.rglob("*")
        if path.is_file() and path.name != "NOTICE.md" and not path.name.startswith("LICENSE")
    }
    assert vendored and set(rows) == vendored
    for path, (licence, sha) in rows.items():
        assert licence, path
        assert hashlib.sha256((ASSETS_DIR / path).read_bytes()).hexdigest() == sha, path
    # every file a page is pointed at is vendored, and every vendored file is used by a page or
    # by a vendored stylesheet (Font Awesome's fonts)
    assert set(LOCAL_COPIES.values()) <= vendored
    assert {p for p in vendored if not p.endswith(".woff2")} == set(LOCAL_COPIES.values())


def test_every_cdn_url_in_gx_templates_has_a_local_copy():
    """A GX upgrade that loads another file from a CDN fails here, before any site is built."""
    templates = sorted(GX_TEMPLATES.glob("*.j2"))
    named = {
        url
        for template in templates
        for url in data_docs.remote_resources(template.read_text(encoding="utf-8"))
    }
    assert len(named) >= 15 and named <= set(LOCAL_COPIES)
    for template in templates:
        localized = data_docs.localize(template.read_text(encoding="utf-8"), to_site_root="")
        assert not data_docs.remote_resources(localized), template


def test_vendored_scripts_are_byte_identical_to_the_integrity_hashes_gx_names():
    imports = (GX_TEMPLATES / "js_script_imports.j2").read_text(encoding="utf-8")
    pinned = re.findall(r'src="([^"]+)" integrity="sha384-([^"]+)"', imports)
    assert len(pinned) == 2  # Popper and Bootstrap's script
    for url, expected in pinned:
        digest = hashlib.sha384((ASSETS_DIR / LOCAL_COPIES[url]).read_bytes()).digest()
        assert base64.b64encode(digest).decode() == expected, url


def test_remote_resources_lists_what_a_page_loads_and_not_its_links():
    page = """<html><head>
      <link rel="stylesheet" href="https://cdn.example/a.css">
      <link rel="icon" href="static/images/favicon.ico">
      <script src="//cdn.example/b.js"></script><script>var x = "https://not.loaded/";</script>
      <style>@import "https://cdn.example/c.css"; .x { background: url('https://img.example/d.png') }
        .y { background: url(static/e.png) }</style>
    </head><body style="background: url(http://img.example/f.png)">
      <a href="https://greatexpectations.io">a link is not loaded</a>
      <img src="static/images/logo-long.png" srcset="https://img.example/g.png 2x, local.png 1x">
    </body></html>"""
    assert data_docs.remote_resources(page) == [
        "https://cdn.example/a.css",
        "//cdn.example/b.js",
        "https://cdn.example/c.css",
        "https://img.example/d.png",
        "http://img.example/f.png",
        "https://img.example/g.png",
    ]


def test_localize_points_at_the_site_root_and_drops_integrity():
    url = "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js"
    tag = f'<script src="{url}" integrity="sha384-abc" crossorigin="anonymous"></script>'
    assert data_docs.localize(tag, "../../") == (
        f'<script src="../../{SITE_VENDOR_DIR}/bootstrap@4.3.1/dist/js/bootstrap.min.js"></script>'
    )
    # GX's favicon link on a validation page (four folders deep) counts three
    favicon = '<link rel="shortcut icon" href="../../../static/images/favicon.ico" type="image/x-icon"/>'
    assert 'href="../../../../static/images/favicon.ico"' in data_docs.localize(favicon, "../../../../")


def test_a_page_still_loading_from_a_cdn_fails_naming_page_and_url(tmp_path):
    (tmp_path / "validations").mkdir()
    (tmp_path / "index.html").write_text(f'<link rel="stylesheet" href="{BOOTSTRAP_CSS}">')
    (tmp_path / "validations" / "run.html").write_text('<script src="https://cdn.example/new.js"></script>')
    with pytest.raises(DataDocsError, match=r"validations/run\.html: https://cdn\.example/new\.js") as raised:
        data_docs.make_offline(tmp_path)
    assert "index.html" not in str(raised.value)  # its one CDN file was replaced by the local copy
    assert (tmp_path / SITE_VENDOR_DIR / "NOTICE.md").exists()


# -- sites built by a real GX validation ----------------------------------------------------------
RUN_ID = "run-offline"


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Path]:
    """The two sites one validation builds (gx_runner.validate): the shared one and the run's own."""
    warehouse = tmp_path_factory.mktemp("data-docs")
    settings = load_settings(data_dir=SAMPLE_DIR, warehouse_dir=warehouse)
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute("create schema marts; create table marts.toy as select * from range(3) as t(a)")
    result = gx_runner.validate(settings, suites=SUITE, run_id=RUN_ID, docs_dir=warehouse / "run-docs")
    assert result.success, result.describe()
    return {
        "shared": warehouse / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site",
        "run": warehouse / "run-docs",
    }


def test_no_data_docs_page_loads_anything_from_the_network(sites):
    for name, site in sites.items():
        pages = sorted(site.rglob("*.html"))
        kinds = {page.relative_to(site).parts[0] for page in pages}
        assert {"index.html", "validations"} <= kinds, name
        for page in pages:
            html = page.read_text(encoding="utf-8")
            assert not data_docs.remote_resources(html), page
            assert "static/vendor/bootstrap@4.3.1/dist/css/bootstrap.min.css" in html, page
        for copy in LOCAL_COPIES.values():
            assert (site / SITE_VENDOR_DIR / copy).is_file(), (name, copy)


# What the page reads back, once its scripts ran and its fonts loaded.
COMPUTED = """async () => {
  await document.fonts.ready;
  const style = (selector) => getComputedStyle(document.querySelector(selector));
  const cell = style("table.table td");
  return {
    bodyFont: style("body").fontFamily,
    navbarDisplay: style("nav.navbar").display,
    navbarPosition: style("nav.navbar").position,
    cellBorderTop: `${cell.borderTopWidth} ${cell.borderTopStyle} ${cell.borderTopColor}`,
    cellPadding: cell.paddingTop,
    badgeRadius: style(".badge").borderRadius,
    iconFont: style("i.fas").fontFamily,
    iconFontLoaded: [...document.fonts].some(
      (f) => f.family.includes("Font Awesome 6 Free") && f.weight === "900" && f.status === "loaded"),
    scripts: {
      jquery: typeof window.jQuery, bootstrap: typeof (window.jQuery && jQuery.fn.modal),
      table: typeof (window.jQuery && jQuery.fn.bootstrapTable),
      datepicker: typeof (window.jQuery && jQuery.fn.datepicker),
      popper: typeof window.Popper, vegaEmbed: typeof window.vegaEmbed,
    },
  };
}"""
BOOTSTRAP_STYLES = {
    "navbarDisplay": "flex",  # .navbar
    "navbarPosition": "sticky",  # .sticky-top
    "cellBorderTop": "1px solid rgb(222, 226, 230)",  # .table td
    "cellPadding": "4.8px",  # .table-sm td: .3rem
    "badgeRadius": "4px",  # .badge: .25rem
}


def _open_offline(browser, page_path: Path, color_scheme: str = "light") -> tuple[dict, list[str], list[str]]:
    """The page's computed values, its console errors and every non-file request it made, in a
    browser context with the network cut."""
    context = browser.new_context(offline=True, color_scheme=color_scheme)
    try:
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} ({m.location['url']})"))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: r.url.startswith(("file:", "data:")) or requests.append(r.url))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        values = page.evaluate(COMPUTED)
        if color_scheme == "dark":
            values["bodyBackground"] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        return values, errors, requests
    finally:
        context.close()


@pytest.mark.build  # headless Chromium, which `make test-quick` does not install
def test_chromium_renders_the_run_data_docs_styled_with_the_network_cut(sites, browser, tmp_path):
    site = sites["run"]
    (validation,) = (site / "validations").rglob("*.html")
    values, errors, requests = _open_offline(browser, validation)
    assert not requests and not errors, (requests, errors)
    assert {key: values[key] for key in BOOTSTRAP_STYLES} == BOOTSTRAP_STYLES
    assert values["bodyFont"].startswith("-apple-system")  # Bootstrap's reboot, not Chromium's serif
    assert '"Font Awesome 6 Free"' in values["iconFont"] and values["iconFontLoaded"]
    assert set(values["scripts"].values()) == {"function"}, values["scripts"]
    # the dark theme GX adds on top (bootstrap-prefers-dark): its body background
    dark, errors, requests = _open_offline(browser, validation, color_scheme="dark")
    assert dark["bodyBackground"] == "rgb(25, 29, 33)" and not errors and not requests

    # the same page without the vendored Bootstrap CSS: none of its styles apply (the assertions
    # above would fail), so they measure the vendored file, not Chromium's defaults
    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    (broken / SITE_VENDOR_DIR / LOCAL_COPIES[BOOTSTRAP_CSS]).unlink()
    unstyled, _errors, requests = _open_offline(browser, broken / validation.relative_to(site))
    assert not requests
    assert unstyled["navbarDisplay"] == "block" and unstyled["navbarPosition"] == "static"
    assert unstyled["cellBorderTop"].startswith("0px none") and unstyled["badgeRadius"] == "0px"
    assert not unstyled["bodyFont"].startswith("-apple-system")


@pytest.mark.build  # headless Chromium, which `make test-quick` does not install
def test_chromium_renders_the_shared_site_index_styled_with_the_network_cut(sites, browser):
    index = sites["shared"] / "index.html"
    context = browser.new_context(offline=True, color_scheme="light")
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: r.url.startswith(("file:", "data:")) or requests.append(r.url))
        page.goto(index.as_uri())
        navbar = page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).display")
        logo = page.evaluate("document.querySelector('.navbar-brand img').naturalWidth")
    finally:
        context.close()
    assert not requests, requests
    assert navbar == "flex" and logo > 0  # GX's own logo, from the site, not GX's web host

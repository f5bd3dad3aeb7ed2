"""Great Expectations Data Docs that render styled offline.

GX's page templates (great_expectations/render/view/templates: page.j2, index_page.j2,
js_script_imports.j2, top_navbar.j2) load Bootstrap, bootstrap-table, the datepicker, Font Awesome,
jQuery, Popper and Vega from public CDNs, and GX's logo from GX's web host; without the network
the pages show unstyled. GX's site builder cannot be pointed at local copies (a site's
`custom_views_directory` is searched after GX's own templates, so it cannot replace them). So after
GX builds a site, `make_offline` copies the files in data_docs_assets/ (each taken unchanged from
the npm package and version GX's template names; NOTICE.md there lists package, version, licence,
source and checksum) into the site's `static/vendor/`, points every page at them by a relative
path, and fails if a page still loads a stylesheet, script, font or image from the network.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from finkpi.errors import FinkpiError

ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
SITE_VENDOR_DIR = "static/vendor"  # in a site, beside GX's own static/ files

# every URL GX 1.24's templates load -> the vendored file (under ASSETS_DIR) that replaces it
LOCAL_COPIES: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap@4.3.1/dist/css/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap@4.3.1/dist/js/bootstrap.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table@1.19.1/dist/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table@1.19.1/dist/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (  # noqa: E501
        "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    # the index page names the minified file, the other pages the plain one: one copy serves both
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (  # noqa: E501
        "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (  # noqa: E501
        "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker@1.9.0/dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker@1.9.0/dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.min.css"
    ),
    # its CSS loads the fonts from ../webfonts/, vendored beside it
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "@fortawesome/fontawesome-free@6.6.0/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js@1.12.9/dist/umd/popper.min.js"
    ),
    # GX names only the major versions: the newest of each when vendored (NOTICE.md)
    "https://cdn.jsdelivr.net/npm/vega@5": "vega@5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite@5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed@6.29.0/build/vega-embed.min.js",
}
# GX's logo, from GX's web host with a cache-busting query; every site has GX's own copy of the
# light one (static/images/), which also stands in for the dark-mode logo GX does not ship
_GX_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
    r"(?:logo-long|full_logo_dark)\.png[^\"')\s]*"
)
LOCAL_LOGO = "static/images/logo-long.png"
# GX's relative links to the site's static/ folder; its favicon.j2 counts one level short on
# validation pages (a missing favicon, a console error): each is recomputed from the page's depth
_SITE_STATIC = re.compile(r"""(["'(])(?:\./|(?:\.\./)+)static/""")
# Subresource-integrity attributes need a CORS fetch, which a file:// page cannot make: with
# `integrity` or `crossorigin` Chromium blocks the local script. The vendored files are
# byte-identical to the hashes GX names (tests/quality/test_data_docs.py checks them).
_INTEGRITY = re.compile(r'\s(?:integrity="sha(?:256|384|512)-[^"]*"|crossorigin="anonymous")')


class DataDocsError(FinkpiError):
    """A Data Docs page would still load something from the network."""


def make_offline(site: Path) -> list[Path]:
    """Copy the vendored files into `site` and point each of its pages at them; returns the pages.
    Raises DataDocsError naming each page and URL still loaded from the network (a GX upgrade that
    adds a CDN file: vendor it and add it to LOCAL_COPIES)."""
    shutil.copytree(ASSETS_DIR, site / SITE_VENDOR_DIR, dirs_exist_ok=True)
    pages = sorted(site.rglob("*.html"))
    remote: list[str] = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        offline = localize(text, to_site_root="../" * (len(page.relative_to(site).parts) - 1))
        if offline != text:
            page.write_text(offline, encoding="utf-8")
        remote += [f"{page.relative_to(site)}: {url}" for url in remote_resources(offline)]
    if remote:
        raise DataDocsError(
            f"Data Docs in {site} still load from the network (vendor each file, add it to "
            "LOCAL_COPIES in finkpi/quality/data_docs.py):\n  " + "\n  ".join(remote)
        )
    return pages


def localize(html: str, to_site_root: str) -> str:
    """`html` with GX's CDN and logo URLs replaced by paths relative to its page, `to_site_root`
    ("../" once per folder between the page and the site's root)."""
    for url, copy in LOCAL_COPIES.items():
        html = html.replace(f'"{url}"', f'"{to_site_root}{SITE_VENDOR_DIR}/{copy}"')
    html = _GX_LOGO.sub(to_site_root + LOCAL_LOGO, html)
    html = _SITE_STATIC.sub(lambda m: f"{m.group(1)}{to_site_root}static/", html)
    return _INTEGRITY.sub("", html)


def remote_resources(html: str) -> list[str]:
    """The http(s) URLs a page loads by itself: stylesheets and other <link>s, scripts, images,
    frames, and CSS url()/@import in <style> blocks and style attributes. Links a reader follows
    (<a href>) are not loaded, so not listed."""
    finder = _ResourceFinder()
    finder.feed(html)
    finder.close()
    return [url for url in finder.urls if _REMOTE.match(url)]


_REMOTE = re.compile(r"\s*(?:https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
_LOADED = {  # tag -> the attributes whose URL the browser fetches without a click
    "link": ("href",),
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
}


class _ResourceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "srcset" and name in _LOADED.get(tag, ()):  # "url 1x, url 2x"
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name in _LOADED.get(tag, ()):
                self.urls.append(value)
            elif name == "style":
                self._css(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css(data)

    def _css(self, css: str) -> None:
        self.urls += [url or imported for url, imported in _CSS_URL.findall(css)]

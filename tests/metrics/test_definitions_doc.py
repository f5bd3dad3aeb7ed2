"""docs/metric-definitions.md is generated from the catalog (finkpi.metrics.definitions_doc): the
rendering on a hand-made catalog, and on the session build the committed file equals what the
project's catalog generates, so it cannot go stale (`make docs` regenerates it)."""

from __future__ import annotations

from pathlib import Path

from finkpi.cli import main as cli
from finkpi.metrics.catalog import Catalog, Measure, load_catalog
from finkpi.metrics.definition import DEFINITION_FIELDS, MetricDefinition
from finkpi.metrics.definitions_doc import DOC_FILE, definitions_markdown
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.exports import Planner, published_dimensions

REPOSITORY = Path(__file__).resolve().parents[2]
FIELDS = {
    "source_documents": "invoices.csv and invoice_lines.csv",
    "period_date": "the invoice date",
    "includes": "accepted invoice lines",
    "excludes": "quarantined invoices",
    "rounding": "cents per line",
    "slice_behavior": {"all": "additive: one customer per line", "product_category": "allocated: pro rata"},
}


def _meta(**extra) -> dict:
    return {
        "owner": "CFO", "department": "Finance", "perspective": "financial", "unit": "currency",
        "direction": "higher_is_better", "drivers": [], "driver_formula": None, "certified": True, **FIELDS,
        **extra,
    }  # fmt: skip


def _catalog() -> Catalog:
    measures = {
        "revenue_amount": Measure("revenue_amount", "invoice_lines", "sum", "net_amount_reporting", None,
                                  "revenue_date"),
        "stock_amount": Measure("stock_amount", "inventory", "sum", "closing_value", "max", "snapshot_date"),
    }  # fmt: skip
    metrics = {
        "revenue": MetricDefinition(
            "revenue", "Revenue", "Net invoiced.", "simple", _meta(), measure="revenue_amount"
        ),
        "stock": MetricDefinition(
            "stock", "Stock", "Stock at the end.", "simple", _meta(published=False), measure="stock_amount"
        ),
        "turns": MetricDefinition(
            "turns", "Turns", "Revenue over stock.", "derived",
            _meta(drivers=["revenue"], driver_formula="revenue"), expr="sales / nullif(stock, 0)",
            inputs=(("revenue", "sales"), ("stock", "stock")),
        ),
        "growth": MetricDefinition(
            "growth", "Growth", "Revenue growth.", "computed", _meta(), computed_sql="select 1",
            base_metric="revenue",
        ),
    }  # fmt: skip
    return Catalog(metrics=metrics, measures=measures)


def test_one_section_per_published_metric_with_formula_drivers_and_fields():
    text = definitions_markdown(_catalog(), {"revenue": ["region", "product_category"], "turns": []})
    sections = text.split("\n## ")[1:]
    assert [section.split("\n", 1)[0] for section in sections] == ["growth", "revenue", "turns"]  # not stock
    turns = dict((s.split("\n", 1)[0], s) for s in sections)["turns"]
    assert "**Turns** (financial, currency, higher_is_better; owner CFO, department Finance" in turns
    assert "Revenue over stock." in turns
    assert "- `turns` = `sales / nullif(stock, 0)`" in turns
    assert (
        "  - `sales` (metric `revenue`) = sum of `net_amount_reporting` over semantic model `invoice_lines`"
        " (measure `revenue_amount`), dated by `revenue_date`"
    ) in turns
    assert (
        "  - `stock` = sum of `closing_value` over semantic model `inventory` (measure `stock_amount`),"
        in turns
    )
    assert "a balance: the last date in the period" in turns
    assert "Drivers: `revenue`\n(driver formula: `turns = revenue`)" in turns
    assert "Published for the company total only." in turns
    revenue = dict((s.split("\n", 1)[0], s) for s in sections)["revenue"]
    assert "Published for the company total and by `region`, `product_category`." in revenue
    assert "- **Rounding**: cents per line" in turns
    assert "  - `product_category`: `allocated`: pro rata" in turns
    for title in ("Source documents", "Period date", "Includes", "Excludes", "Rounding", "Slice behavior"):
        assert f"- **{title}**:" in turns
    growth = dict((s.split("\n", 1)[0], s) for s in sections)["growth"]
    assert "computed by finkpi from the exported `revenue` values" in growth
    assert "  - `revenue` = sum of `net_amount_reporting`" in growth


def test_the_committed_file_is_what_the_catalog_generates(built, sample_settings, capsys):
    """Regenerate with `make docs` (finkpi metrics docs) after changing metrics/*.yml. The
    command's --check reads the test's project copy, whose docs/ is the repository's."""
    catalog = load_catalog(sample_settings.project_dir)
    with MetricEngine(sample_settings) as engine:
        dimensions = published_dimensions(Planner(engine, None), catalog)
    expected = definitions_markdown(catalog, dimensions)
    assert (REPOSITORY / DOC_FILE).read_text() == expected, "stale: run `make docs`"
    for metric in catalog.published:
        assert f"\n## {metric.name}\n" in expected
        for field in DEFINITION_FIELDS:
            if field != "slice_behavior":
                assert metric.definition_fields()[field] in expected, (metric.name, field)
    assert (sample_settings.project_dir / DOC_FILE).resolve() == (REPOSITORY / DOC_FILE).resolve()
    assert cli(["metrics", "docs", "--check"]) == 0
    assert "is up to date" in capsys.readouterr().out

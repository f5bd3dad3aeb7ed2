"""A metric's column lineage as an inline SVG picture, drawn in Python (no JavaScript, no CDN:
the report works from file:// on a machine without network).

Layout: columns left to right by distance from the metric (the longest path, so a column always
sits right of everything that reads it), one row per node in each column; each edge is a curve
from a node to the column it reads. Colours by kind: metric, model, source file, seed.
"""

from __future__ import annotations

from html import escape

from finkpi.lineage.columns import LineageNode

ROW = 20
PAD = 12
CHAR = 6.4  # average width of a character at 11px monospace
COLOURS = {
    "metric": "#1f4e79",
    "table": "#1f4e79",
    "model": "#5b6b7a",
    "definition": "#7a5b8a",
    "source": "#2e7d32",
    "seed": "#b26a00",
}


def lineage_svg(root: LineageNode, title: str = "") -> str:
    """The DAG under `root` (each column once), as an <svg> element."""
    depth: dict[str, int] = {}
    kinds: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()

    def visit(node: LineageNode, level: int) -> None:
        kinds[node.label] = node.kind
        if depth.get(node.label, -1) >= level:
            return  # already placed at least this far right, with its subtree
        depth[node.label] = level
        for child in node.upstream:
            edges.add((node.label, child.label))
            visit(child, level + 1)

    visit(root, 0)
    columns: dict[int, list[str]] = {}
    for label, level in depth.items():
        columns.setdefault(level, []).append(label)
    for labels in columns.values():
        labels.sort(key=lambda label: (kinds[label] in ("source", "seed"), label))

    widths = {
        level: max(len(label) for label in labels) * CHAR + 2 * PAD for level, labels in columns.items()
    }
    x_of, x = {}, PAD
    for level in sorted(columns):
        x_of[level] = x
        x += widths[level] + 40
    height = max(len(labels) for labels in columns.values()) * ROW + 2 * PAD
    position = {
        label: (x_of[level], PAD + index * ROW)
        for level, labels in columns.items()
        for index, label in enumerate(labels)
    }

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{x:.0f}" height="{height}"'
        f' viewBox="0 0 {x:.0f} {height}" role="img" aria-label="{escape(title or root.label)}">',
        f"<title>{escape(title or root.label)}</title>",
    ]
    for downstream, upstream in sorted(edges):
        x1 = position[downstream][0] + widths[depth[downstream]] - 2 * PAD + 8
        y1 = position[downstream][1] + ROW / 2 - 2
        x2 = position[upstream][0] - 4
        y2 = position[upstream][1] + ROW / 2 - 2
        middle = (x1 + x2) / 2
        parts.append(
            f'<path d="M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"'
            ' fill="none" stroke="#9aa5b1" stroke-width="1"/>'
        )
    for label, (left, top) in sorted(position.items()):
        colour = COLOURS.get(kinds[label], "#333")
        parts.append(
            f'<text x="{left}" y="{top + ROW / 2 + 2:.0f}" fill="{colour}" font-family="monospace"'
            f' font-size="11" data-kind="{kinds[label]}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)

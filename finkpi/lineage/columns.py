"""Column-level lineage with sqlglot over the compiled dbt SQL and the SQL MetricFlow generates.

For a column of a model, sqlglot's lineage walks the model's compiled SELECT to the columns of the
relations it reads; repeating that relation by relation ends at the raw source columns (the
extract files) or at seeds (hand-kept reference data). A metric starts one step earlier: its
compiled MetricFlow query, whose output column leads to mart columns.

What counts is projection lineage: the columns whose values flow into a column. Columns used only
to join or filter (a join key, a WHERE condition) are not listed; the compiled SQL in the catalog
shows those.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.lineage import lineage as sqlglot_lineage

from finkpi.settings import Settings

# A staging model reads its extract through raw_source(): `(select * from read_csv('<folder>/x.csv',
# ...) with ordinality)`. For lineage that subquery is the raw table `src_<source>.x`, the source
# being the registered one whose folder that is (finkpi/sources/).
_RAW_READ = re.compile(
    r"\(select \* from read_(?:csv|parquet)\('([^']*)/([^/']+)\.(?:csv|parquet)'[^)]*\) with ordinality\)",
    re.IGNORECASE,
)
SOURCE_SCHEMA_PREFIX = "src_"


class LineageError(ValueError):
    """A chain that cannot be resolved down to a registered source's column."""


@dataclass
class LineageNode:
    relation: str  # e.g. marts.fct_invoice_lines, erp.invoices (a source), metric revenue
    column: str
    kind: str  # metric | model | source | seed | table (published, written by Python) | definition
    upstream: list[LineageNode] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.relation}.{self.column}" if self.kind != "metric" else f"metric {self.relation}"

    def sources(self) -> set[tuple[str, str]]:
        """The raw (source, seed) columns at the end of every chain: {(relation, column)}."""
        if self.kind in ("source", "seed"):
            return {(self.relation, self.column)}
        found: set[tuple[str, str]] = set()
        for node in self.upstream:
            found |= node.sources()
        return found

    def to_dict(self) -> dict:
        return {
            "relation": self.relation,
            "column": self.column,
            "kind": self.kind,
            "upstream": [node.to_dict() for node in self.upstream],
        }

    @classmethod
    def from_dict(cls, data: dict) -> LineageNode:
        return cls(
            data["relation"], data["column"], data["kind"], [cls.from_dict(d) for d in data["upstream"]]
        )

    def edges(self) -> set[tuple[str, str]]:
        """Every (downstream label, upstream label) pair of the chain, each once."""
        found: set[tuple[str, str]] = set()
        for node in self.upstream:
            found.add((self.label, node.label))
            found |= node.edges()
        return found

    def render(self) -> str:
        """The chain as a tree; a subtree met again is shown once (`(as above)` the next times)."""
        lines = [self.label]
        shown: set[str] = set()

        def walk(node: LineageNode, prefix: str) -> None:
            for index, child in enumerate(node.upstream):
                last = index == len(node.upstream) - 1
                tag = f"  [{child.kind}]" if child.kind in ("source", "seed") else ""
                again = child.upstream and child.label in shown
                lines.append(
                    f"{prefix}{'└── ' if last else '├── '}{child.label}{tag}{'  (as above)' if again else ''}"
                )
                if not again:
                    shown.add(child.label)
                    walk(child, prefix + ("    " if last else "│   "))

        walk(self, "")
        return "\n".join(lines)


class ColumnLineage:
    """Lineage over one built project: dbt's manifest plus the warehouse's column lists."""

    def __init__(
        self,
        manifest: dict,
        database: Path,
        source_columns: dict[str, dict[str, list[str]]],
        source_folders: dict[str, str] | None = None,
    ):
        """`source_columns`: source -> file name (without extension) -> its columns;
        `source_folders`: the resolved folder of each source's files -> the source."""
        self.manifest = manifest
        self.source_folders = source_folders or {}
        self.models = {
            (node["schema"], node["name"]): node
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model"
        }
        self.seeds = {
            (node["schema"], node["name"])
            for node in manifest["nodes"].values()
            if node["resource_type"] == "seed"
        }
        self.database_name = next(iter(self.models.values()))["database"] if self.models else "finkpi"
        self.schema = self._schema(database, source_columns)

    @classmethod
    def for_project(cls, settings: Settings) -> ColumnLineage:
        """Over the built project of `settings`, its sources as the registry declares them."""
        manifest = json.loads((settings.project_dir / "target" / "manifest.json").read_text())
        return cls(manifest, settings.build_database, *registered_sources(settings))

    def _schema(self, database: Path, source_columns) -> dict:
        tables: dict[str, dict[str, dict[str, str]]] = {}
        with duckdb.connect(str(database), read_only=True) as con:
            rows = con.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns"
            ).fetchall()
        for schema_name, table, column, data_type in rows:
            tables.setdefault(schema_name, {}).setdefault(table, {})[column] = data_type
        for source, source_tables in source_columns.items():
            for table, columns in source_tables.items():
                raw = {column: "varchar" for column in columns}
                tables.setdefault(SOURCE_SCHEMA_PREFIX + source, {})[table] = {
                    **raw,
                    "filename": "varchar",
                    "ordinality": "bigint",
                }
        return {self.database_name: tables}

    # -- one step ----------------------------------------------------------------------------
    def _sql(self, schema_name: str, model: str) -> str:
        code = self.models[(schema_name, model)].get("compiled_code")
        if not code:
            raise ValueError(f"{schema_name}.{model} has no compiled SQL: build the project first")

        def raw_table(match: re.Match) -> str:
            folder, file = match.group(1), match.group(2)
            source = self.source_folders.get(str(Path(folder).resolve()))
            if source is None:
                raise LineageError(
                    f"{schema_name}.{model} reads {folder}/{file}, which is in no registered source's"
                    f" folder ({', '.join(sorted(self.source_folders.values())) or 'none'}): register the"
                    " source in finkpi/sources/ or check its folder setting"
                )
            return f'"{self.database_name}"."{SOURCE_SCHEMA_PREFIX}{source}"."{file}"'

        return _RAW_READ.sub(raw_table, code)

    def _inputs(self, sql: str, column: str, where: str) -> list[tuple[str, str, str]]:
        """(schema, table, column) of the relations' columns a query's output column comes from.
        `where` names the query in the error when a column cannot be traced."""
        try:
            root = sqlglot_lineage(column, sql, schema=self.schema, dialect="duckdb")
        except OptimizeError as exc:  # a column no relation (and no registry entry) declares
            sources = sorted(set(re.findall(rf'"{SOURCE_SCHEMA_PREFIX}(\w+)"', sql)))
            hint = (
                f" (it reads source {', '.join(sources)}: does its registry entry declare it?)"
                if sources
                else ""
            )
            raise LineageError(f"{where}: column {column!r} cannot be traced: {exc}{hint}") from None
        found = []
        for node in root.walk():
            if isinstance(node.source, exp.Table) and not node.downstream:
                table = node.source
                if table.db and table.name:  # not a table function or a constant
                    found.append((table.db, table.name, _column_name(node.name)))
        return sorted(set(found))

    # -- whole chains -------------------------------------------------------------------------
    def of_column(self, schema_name: str, relation: str, column: str) -> LineageNode:
        return self._node(schema_name, relation, column)

    @cache  # noqa: B019 - one instance per built project; chains share subtrees
    def _node(self, schema_name: str, relation: str, column: str) -> LineageNode:
        if schema_name.startswith(SOURCE_SCHEMA_PREFIX):
            # sqlglot lower-cases unquoted names; report the extract's own spelling (CRM: `Case.Type`)
            source = schema_name[len(SOURCE_SCHEMA_PREFIX) :]
            table, name = self._spelled(schema_name, relation, column)
            if name not in self.schema[self.database_name].get(schema_name, {}).get(table, {}):
                raise LineageError(
                    f"source {source}: the lineage reaches column {column!r} of {table}, which its"
                    " registry entry does not declare (finkpi/sources/): add the column to the contract"
                )
            return LineageNode(f"{source}.{table}", name, "source")
        if (schema_name, relation) in self.seeds:
            return LineageNode(f"{schema_name}.{relation}", column, "seed")
        node = LineageNode(f"{schema_name}.{relation}", column, "model")
        for upstream in self._inputs(self._sql(schema_name, relation), column, f"{schema_name}.{relation}"):
            node.upstream.append(self._node(*upstream))
        return node

    def _spelled(self, schema_name: str, relation: str, column: str) -> tuple[str, str]:
        tables = self.schema[self.database_name].get(schema_name, {})
        table = next((name for name in tables if name.lower() == relation.lower()), relation)
        name = next((c for c in tables.get(table, {}) if c.lower() == column.lower()), column)
        return table, name

    def of_metric(self, metric: str, metric_sql: str) -> LineageNode:
        """A metric's chain: its compiled MetricFlow query's output column down to the sources."""
        node = LineageNode(metric, metric, "metric")
        for upstream in self._inputs(metric_sql, metric, f"metric {metric}"):
            node.upstream.append(self._node(*upstream))
        return node


def _column_name(qualified: str) -> str:
    """The column of a lineage node's name: `raw."PARTNER.PARTNERID"` is column PARTNER.PARTNERID
    (SAP's dotted names), not PARTNERID"."""
    column = sqlglot.parse_one(qualified, dialect="duckdb")
    return column.name if isinstance(column, exp.Column) else qualified.split(".")[-1]


def registered_sources(settings: Settings) -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    """The registry, as lineage needs it: source -> file name -> columns, and folder -> source."""
    columns: dict[str, dict[str, list[str]]] = {}
    folders: dict[str, str] = {}
    for source, table, path in settings.raw_files():
        columns.setdefault(source.name, {})[table.file_stem] = table.column_names
        folders[str(path.parent.resolve())] = source.name
    return columns, folders

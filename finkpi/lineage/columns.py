"""Column-level lineage with sqlglot over the compiled dbt SQL and the SQL MetricFlow generates.

For a column of a model, sqlglot's lineage walks the model's compiled SELECT to the columns of the
relations it reads; repeating that relation by relation ends at the raw source columns (the
extract files) or at seeds (hand-kept reference data). A metric starts one step earlier: its
compiled MetricFlow query, whose output column leads to mart columns.

`of_metric`/`of_column` give projection lineage: the columns whose values flow into a column.
`feeding_of_metric` gives a metric's full lineage, what its certification covers (certification.py):
the projection lineage of every column its query outputs (the metric and its time column) plus, in
every model down the chain, the columns that decide which rows the model holds: those in WHERE,
JOIN ... ON, GROUP BY, HAVING and QUALIFY of any of its queries and every column a subquery in an
expression reads (a status filter, a join key, the date an order is dated by), each traced on to
the source columns it comes from. A model's row clauses count for all its columns (also a CTE's
that only one output column uses): a little more than the exact set, never less.
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
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema

from finkpi.settings import Settings
from finkpi.sources import DELIVERIES_FOLDER, REGISTERED

# A staging model reads its extract through raw_source(): `(select * from read_csv(['<folder>/x.csv',
# '<folder>/deliveries/*/x.csv'], ...) with ordinality)`, the base file and its deliveries (a
# single quoted path is read too; an incremental run's model reads only its new files, e.g.
# `['<folder>/deliveries/<batch>/x.csv']`). For lineage that subquery is the raw table
# `src_<source>.x`, the source being the registered one whose folder the first file is in
# (finkpi/sources/), or whose deliveries folder holds the batch it is in.
_RAW_READ = re.compile(
    r"\(select \* from read_(?:csv|parquet)\(\[?'([^']*)/([^/']+)\.(?:csv|parquet)'"
    r"(?:, '[^']*')*\]?[^)]*\) with ordinality\)",
    re.IGNORECASE,
)
SOURCE_SCHEMA_PREFIX = "src_"
# Columns lineage adds to every raw table (which file, which line): not columns of the extract
POSITION_COLUMNS = ("filename", "ordinality")
# Clauses whose columns decide which rows a query returns, not the values of a column
ROW_CLAUSES = (exp.Where, exp.Join, exp.Group, exp.Having, exp.Qualify)


class LineageError(ValueError):
    """A chain that cannot be resolved down to a registered source's column."""


class LineageUnavailable(LineageError):
    """Nothing to trace in: no built DuckDB project (the Spark target plans on an empty file), or
    a model the last dbt command did not compile (a partial build)."""


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
        # sqlglot normalizes a dict schema on every call (most of a walk's time): once, here
        self.sqlglot_schema = MappingSchema(self.schema, dialect="duckdb")

    @classmethod
    def for_project(cls, settings: Settings) -> ColumnLineage:
        """Over the built project of `settings`, its sources as the registry declares them."""
        manifest = json.loads((settings.project_dir / "target" / "manifest.json").read_text())
        return cls(manifest, settings.build_database, *registered_sources(settings))

    def _schema(self, database: Path, source_columns) -> dict:
        tables: dict[str, dict[str, dict[str, str]]] = {}
        try:
            con = duckdb.connect(str(database), read_only=True)
        except duckdb.ConnectionException:
            # this process holds the file open already (the metric exports' MetricFlow engine):
            # DuckDB then allows only that connection's configuration, and shares its instance
            con = duckdb.connect(str(database))
        with con:
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
            raise LineageUnavailable(
                f"{schema_name}.{model} has no compiled SQL (the last dbt command did not compile it):"
                " run `finkpi build`"
            )

        def raw_table(match: re.Match) -> str:
            folder, file = match.group(1), match.group(2)
            source = self.source_folders.get(str(Path(folder).resolve()))
            if source is None and Path(folder).parent.name == DELIVERIES_FOLDER:
                # `<source folder>/deliveries/<batch>`: a delivery file read on its own
                source = self.source_folders.get(str(Path(folder).parent.parent.resolve()))
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
            root = sqlglot_lineage(column, sql, schema=self.sqlglot_schema, dialect="duckdb")
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

    # -- full lineage: projection plus the columns that decide the rows ------------------------
    def feeding_of_metric(self, metric: str, metric_sql: str) -> set[tuple[str, str]]:
        """The source columns {(`<source>.<file>`, column)} that feed a metric: its full lineage
        (module docstring), from its compiled MetricFlow query down to the registered sources."""
        outputs = [select.alias_or_name for select in sqlglot.parse_one(metric_sql, read="duckdb").selects]
        inputs = {
            found for column in outputs for found in self._inputs(metric_sql, column, "a metric's query")
        }
        inputs |= set(self._row_inputs_of(metric_sql, f"metric {metric}"))
        fed: set[tuple[str, str]] = set()
        for upstream in inputs:
            fed |= self._feeding(*upstream)
        return fed

    @cache  # noqa: B019 - see _node
    def _feeding(self, schema_name: str, relation: str, column: str) -> frozenset[tuple[str, str]]:
        node = self._node(schema_name, relation, column)
        if node.kind == "source":
            position = node.column in POSITION_COLUMNS
            return frozenset() if position else frozenset({(node.relation, node.column)})
        if node.kind == "seed":  # reference data kept in git, reviewed there: not a source
            return frozenset()
        fed: set[tuple[str, str]] = set()
        for upstream in [self._address(upstream) for upstream in node.upstream]:
            fed |= self._feeding(*upstream)
        for upstream in self._row_inputs(schema_name, relation):
            if upstream[:2] != (schema_name, relation):  # an incremental model reads itself ({{ this }})
                fed |= self._feeding(*upstream)
        return frozenset(fed)

    def _address(self, node: LineageNode) -> tuple[str, str, str]:
        """(schema, relation, column) of a node, as `_node` takes them."""
        schema_name, _, relation = node.relation.partition(".")
        if node.kind == "source":
            schema_name = SOURCE_SCHEMA_PREFIX + schema_name
        return schema_name, relation, node.column

    @cache  # noqa: B019 - see _node
    def _row_inputs(self, schema_name: str, model: str) -> tuple[tuple[str, str, str], ...]:
        if (schema_name, model) not in self.models:  # a seed: no query
            return ()
        return self._row_inputs_of(self._sql(schema_name, model), f"{schema_name}.{model}")

    def _row_inputs_of(self, sql: str, where: str) -> tuple[tuple[str, str, str], ...]:
        """(schema, table, column) of the relations' columns used in any of a query's row clauses
        (ROW_CLAUSES), traced through its CTEs and subqueries to the relations it reads. `where`
        names the query in the error when a column cannot be traced."""
        tree = qualify(
            sqlglot.parse_one(sql, read="duckdb"),
            schema=self.sqlglot_schema,
            dialect="duckdb",
            validate_qualify_columns=False,
            identify=False,
        )
        found: set[tuple[str, str, str]] = set()
        for scope in build_scope(tree).traverse():
            for column in scope.columns:
                # a subquery in an expression (`where id in (select ...)`) decides rows by all it reads
                if not (scope.is_subquery or _in_row_clause(column, scope.expression)):
                    continue
                source = scope.sources.get(column.table)
                if isinstance(source, exp.Table):
                    if source.db and source.name:
                        found.add((source.db, source.name, column.name))
                elif isinstance(source, Scope) and column.name in source.expression.named_selects:
                    try:
                        root = sqlglot_lineage(
                            column.name,
                            source.expression,
                            self.sqlglot_schema,
                            dialect="duckdb",
                            scope=source,
                        )
                    except OptimizeError as exc:
                        raise LineageError(
                            f"{where}: column {column.name!r} of a row clause cannot be traced: {exc}"
                        ) from None
                    for node in root.walk():
                        table = node.source
                        if isinstance(table, exp.Table) and not node.downstream and table.db and table.name:
                            found.add((table.db, table.name, _column_name(node.name)))
        return tuple(sorted(found))

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


def _in_row_clause(column: exp.Column, query: exp.Expression) -> bool:
    """Whether a column of `query`'s own scope sits in one of its ROW_CLAUSES."""
    node = column.parent
    while node is not None and node is not query:
        if isinstance(node, ROW_CLAUSES):
            return True
        node = node.parent
    return False


def registered_sources(settings: Settings) -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    """The registry, as lineage needs it: source -> file name -> columns, and folder -> source."""
    columns: dict[str, dict[str, list[str]]] = {}
    folders: dict[str, str] = {}
    for source in REGISTERED:
        for table in source.tables:
            columns.setdefault(source.name, {})[table.file_stem] = table.column_names
        # a delivery file is in the source's folder too (`deliveries/<batch>/`): one folder each
        folders[str(settings.source_folder(source.name).resolve())] = source.name
    return columns, folders

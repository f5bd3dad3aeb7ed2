"""MetricFlow's SQL (DuckDB dialect) as Spark SQL.

MetricFlow plans every query for DuckDB; sqlglot transpiles it (functions, casts, date arithmetic,
quoting), and the relation names lose their first part: on DuckDB a table is
`<database file>.<schema>.<table>` ("finkpi"."marts"."fct_invoice_lines"), on Spark the same
model is `<schema>.<table>` in the session catalog (marts.fct_invoice_lines).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def to_spark_sql(duckdb_sql: str) -> str:
    """One DuckDB statement as Spark SQL, with relations named the way dbt-spark builds them."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    for table in tree.find_all(exp.Table):
        if table.args.get("catalog") is not None:
            table.set("catalog", None)
    return tree.sql(dialect="spark")

"""The scale-out target: the same dbt project and metric layer on Apache Spark (FINKPI_ENV=spark).

dbt builds the project through dbt-spark's `session` method (a local Spark in this process,
profiles.yml). MetricFlow has no Spark adapter, so metric queries are planned on DuckDB and run on
Spark after sqlglot transpiles them (`metric_sql`). Needs the optional extra `.[spark]`
(requirements-spark.lock, `make test-spark`).
"""

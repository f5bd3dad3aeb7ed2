"""The Spark session dbt-spark's `session` method runs in, for finkpi's own steps after dbt.

profiles.yml is the one place the Spark configuration lives (master, UI off, 127.0.0.1, warehouse
and Derby metastore under the warehouse folder). dbt-spark creates the session with it inside this
process; `spark_session` returns that session, or creates it with the same configuration when
dbt has not run in this process yet (e.g. `finkpi run --from-stage export`). A JVM takes its
configuration once: one warehouse folder per process.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from jinja2 import Template

from finkpi.settings import Settings


def spark_parameters(settings: Settings) -> dict[str, str]:
    """The `server_side_parameters` of the spark output in profiles.yml, rendered for `settings`."""
    profiles = yaml.safe_load((settings.project_dir / "profiles.yml").read_text())
    raw = profiles["finkpi"]["outputs"]["spark"]["server_side_parameters"]
    environment = {**os.environ, **settings.dbt_environment()}

    def env_var(name: str, default: str | None = None) -> str:
        if name in environment:
            return environment[name]
        if default is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return default

    return {str(key): Template(str(value)).render(env_var=env_var) for key, value in raw.items()}


def spark_session(settings: Settings):
    """The in-process Spark session of `settings` (created with profiles.yml's configuration)."""
    from pyspark.sql import SparkSession  # optional (`spark` extra): only the Spark target needs it

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    Path(settings.warehouse_dir, "spark").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_parameters(settings).items():
        builder = builder.config(key, value)
    # dbt-spark turns ANSI mode off for its session (Spark 3 compatibility); so does finkpi, so the
    # metric queries run with the semantics the models were built with
    builder = builder.config("spark.sql.ansi.enabled", "false")
    return builder.getOrCreate()

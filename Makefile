# finkpi: every command a newcomer needs. `make demo` and `make test` set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A stamp: sqlfluff (~40 s, it compiles the dbt project) runs again only when a .sql file or its
# configuration is newer than the last clean lint. A fresh clone has no stamp, so CI always lints.
SQL_LINTED := $(VENV)/.sql-linted
SQL_FILES := $(shell find models macros tests/dbt -name '*.sql' 2>/dev/null)
# A DuckDB 1.x client, beside the venv, for the test that opens a published file the way older BI
# tools do (published files are written with STORAGE_VERSION v1.0.0).
DUCKDB1 := $(VENV)/duckdb1
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

# Debian's Chromium for the browser tests (Playwright drives it; its own download needs the internet).
CHROMIUM := /usr/bin/chromium

.PHONY: help setup browser demo test test-quick test-slow test-spark check lint-python lint-sql generate docs clean dev

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m pip install --quiet --target $(DUCKDB1) "duckdb==1.1.3"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the pinned dependencies

browser: $(CHROMIUM)  ## Debian's headless Chromium for the browser tests (needs root or sudo)

$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q chromium chromium-driver

demo: setup  ## run the whole pipeline on the bundled sample company
	$(BIN)/finkpi run

# Two workers (-n 2), one test file per worker at a time (--dist loadfile: module fixtures and
# ordered assertions stay together), in the module order tests/conftest.py sets (the session
# build and the modules with builds of their own first); each worker has its own project copy and
# copy of the one session build. docs/testing.md says where the time goes.
PYTEST_PARALLEL := -n 2 --dist loadfile --no-loadscope-reorder

test: setup browser check  ## the CI gate: lint, then every test but the slow ones (~6 min)
	FINKPI_DUCKDB1_PATH=$(abspath $(DUCKDB1)) $(BIN)/python -m pytest -m "not slow" -q $(PYTEST_PARALLEL)

test-quick: setup lint-python $(SQL_LINTED)  ## ruff, sqlfluff if a .sql changed, the tests that need no warehouse build (<90 s)
	$(BIN)/python -m pytest -m "not slow and not build" -q $(PYTEST_PARALLEL)

test-slow: setup browser test-spark  ## long runs: a full pipeline per bad-input kind, soak, Spark parity
	$(BIN)/python -m pytest -m "slow and not spark" -q

# The Spark target lives in its own venv (pyspark is ~500 MB): the default .venv stays small.
SPARK_VENV ?= .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed

$(SPARK_STAMP): pyproject.toml requirements.lock requirements-spark.lock
	$(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(SPARK_VENV)/bin/python -m pip install --quiet -c requirements.lock -c requirements-spark.lock -e '.[dev,spark]'
	touch $(SPARK_STAMP)

test-spark: $(SPARK_STAMP)  ## the same project on Spark: every metric value equal to DuckDB's
	SPARK_LOCAL_IP=127.0.0.1 $(SPARK_VENV)/bin/python -m pytest -m spark -q tests/spark

check: lint-python $(SQL_LINTED)  ## ruff and sqlfluff, clean (sqlfluff again only when a .sql file changed)

lint-python: setup
	$(BIN)/ruff check finkpi tests benchmarks orchestration
	$(BIN)/ruff format --check finkpi tests benchmarks orchestration

lint-sql: setup
	$(BIN)/sqlfluff lint models macros tests/dbt --processes 2

$(SQL_LINTED): $(STAMP) $(SQL_FILES) .sqlfluff .sqlfluffignore dbt_project.yml
	$(BIN)/sqlfluff lint models macros tests/dbt --processes 2
	touch $@

generate: setup  ## rewrite data/sample/ (deterministic: seed 42)
	$(BIN)/finkpi generate

docs: setup  ## regenerate docs/metric-definitions.md from the metric catalog (dbt parse first)
	$(BIN)/finkpi dbt parse
	$(BIN)/finkpi metrics docs

clean:  ## remove the build warehouse and dbt's target/ (keeps .venv)
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal

.PHONY: bench bench-100 bench-full bench-metric-layer
bench: setup  ## quick benchmarks: the pipeline vs a raw-DuckDB baseline, cold, warm and incremental, scale 1 and 10 (~10 min; other scales' rows kept)
	$(BIN)/python benchmarks/bench_pipeline.py --scales 1,10 --merge

bench-100: setup  ## the same at scale 1, 10 and 100, the incremental day at 100 (~20 min; generates data/landing/scale100 first)
	$(BIN)/python benchmarks/bench_pipeline.py --scales 1,10,100 --incremental-scale 100 --merge

bench-full: setup  ## the same up to 10 million order lines (scale 385), long: generates data/landing/ first
	$(BIN)/python benchmarks/bench_pipeline.py --scales 1,10,100,385

bench-metric-layer: setup  ## metric-layer query latency (MetricEngine, mf query) at scale 1 and 10
	$(BIN)/python benchmarks/bench_metric_layer.py --scales 1,10

.PHONY: serve bench-api
serve: setup  ## the HTTP API and dashboard on 127.0.0.1:8000 (keys: FINKPI_API_KEYS or config/api_keys.yml)
	$(BIN)/finkpi serve

bench-api: setup  ## HTTP API throughput and latency at scale 10 beside DuckDB (~5 min) into BENCHMARKS.md
	$(BIN)/python benchmarks/bench_api.py --scale 10

# Dagster: storage in .dagster/ (gitignored; the instance settings are copied from the template
# orchestration/dagster.yaml: one run at a time, telemetry off). `env --default-signal` restores
# SIGINT/SIGTERM handling in case a parent ignores them, so Ctrl-C stops the UI and its daemon.
DAGSTER_HOME_DIR := $(abspath .dagster)
DAGSTER_PORT ?= 3000

.PHONY: dev
dev: setup  ## the Dagster UI and daemon on http://127.0.0.1:3000 (schedules, sensor, run queue); Ctrl-C stops
	mkdir -p $(DAGSTER_HOME_DIR)
	cp orchestration/dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) exec env --default-signal=INT,TERM \
		$(BIN)/dagster dev -h 127.0.0.1 -p $(DAGSTER_PORT) -w orchestration/workspace.yaml

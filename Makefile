# finkpi: every command a newcomer needs. `make demo` and `make test` set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A DuckDB 1.x client, beside the venv, for the test that opens a published file the way older BI
# tools do (published files are written with STORAGE_VERSION v1.0.0).
DUCKDB1 := $(VENV)/duckdb1
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

# Debian's Chromium for the browser tests (Playwright drives it; its own download needs the internet).
CHROMIUM := /usr/bin/chromium

.PHONY: help setup browser demo test test-slow check lint-python lint-sql generate clean

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

test: setup browser check  ## the CI gate: lint, then every test but the slow ones
	FINKPI_DUCKDB1_PATH=$(abspath $(DUCKDB1)) $(BIN)/python -m pytest -m "not slow" -q

test-slow: setup browser  ## long runs: a full pipeline per bad-input kind, soak
	$(BIN)/python -m pytest -m slow -q

check: lint-python lint-sql  ## ruff and sqlfluff, clean

lint-python: setup
	$(BIN)/ruff check finkpi tests benchmarks
	$(BIN)/ruff format --check finkpi tests benchmarks

lint-sql: setup
	$(BIN)/sqlfluff lint models macros tests/dbt --processes 2

generate: setup  ## rewrite data/sample/ (deterministic: seed 42)
	$(BIN)/finkpi generate

clean:  ## remove the build warehouse and dbt's target/ (keeps .venv)
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal

.PHONY: bench bench-full bench-metric-layer
bench: setup  ## quick benchmarks: the pipeline vs a raw-DuckDB baseline, full and incremental, scale 1 and 10 (~8 min)
	$(BIN)/python benchmarks/bench_pipeline.py --scales 1,10

bench-full: setup  ## the same up to 10 million order lines (scale 385), long: generates data/landing/ first
	$(BIN)/python benchmarks/bench_pipeline.py --scales 1,10,100,385

bench-metric-layer: setup  ## metric-layer query latency (MetricEngine, mf query) at scale 1 and 10
	$(BIN)/python benchmarks/bench_metric_layer.py --scales 1,10

# Chimera — see README.md. Every target uses the virtual environment in .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
# System packages a build needs (mysqlclient compiles against MariaDB's client library).
APT_PACKAGES := libmariadb-dev pkg-config build-essential redis-server maven chromium chromium-driver

.PHONY: install system-deps services services-stop cluster cluster-stop cluster-status cluster-demo superset test test-unit test-integration test-e2e bytecode demo demo-clean lock clean bench bench-parse bench-ingest bench-recovery bench-ui bench-run-cost bench-commits bench-memory bench-fleet

install: system-deps $(VENV)/.installed bytecode

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Reproducible: every version comes from requirements/lock.txt (resolved from PyPI by `make lock`).
# Installed with its bytecode compiled (docs/decisions/0039): every Airflow process and task
# otherwise compiles each module it imports from source, on every start, wherever
# PYTHONDONTWRITEBYTECODE is set.
$(VENV)/.installed: requirements/lock.txt setup.cfg Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements/lock.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

# The bytecode of the project's own modules (an editable install: uv compiles site-packages only);
# a module changed since is compiled again, in a second or two.
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q -j 0 airflow_provider_chimera dags plugins tests >/dev/null

lock:
	$(BIN)/uv pip compile setup.cfg --extra test --python-version 3.11 -o requirements/lock.txt
	$(BIN)/uv pip compile requirements/superset.in --python-version 3.11 -o requirements/superset.txt

services:
	@bash scripts/services.sh start

services-stop:
	@bash scripts/services.sh stop

# The whole suite in one pytest run (one exit code for CI), the unit tier first; the 25 slowest
# tests are listed at the end. The tiers alone, by marker (tests/conftest.py, README "Testing"):
test: install services superset
	$(BIN)/pytest tests --durations=25

test-unit: install
	$(BIN)/pytest -m unit

test-integration: install services superset
	$(BIN)/pytest -m integration

test-e2e: install services superset
	$(BIN)/pytest -m e2e

# A production-shaped stack on this machine (README "Running on a cluster"): CeleryExecutor, Redis,
# one Celery worker per team queue; state in .cluster/ (scripts/cluster.sh).
cluster: install system-deps
	@bash scripts/services.sh start postgres kafka
	@bash scripts/cluster.sh start

cluster-stop:
	@bash scripts/cluster.sh stop

cluster-status:
	@bash scripts/cluster.sh status

cluster-demo: cluster
	@bash scripts/cluster.sh demo

demo: install
	@bash scripts/services.sh start postgres kafka
	@bash scripts/demo.sh

demo-clean:
	rm -rf .demo

# Benchmarks (docs/benchmarks.md): Chimera side by side with its peers and the raw limit, in
# .bench/venv = the locked dependencies + Chimera + the peers pinned in bench/requirements.txt.
BENCH_VENV := .bench/venv

bench: bench-parse bench-ingest bench-ui

bench-parse: install $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/parse/run.py

# Sizes: BENCH_ROWS (10000000), BENCH_MESSAGES (5000000), BENCH_REPEAT (3), from the environment
# or the command line: make bench-ingest BENCH_ROWS=200000 BENCH_MESSAGES=100000 BENCH_REPEAT=1
bench-ingest: install services $(BENCH_VENV)/.installed
	BENCH_ROWS=$(BENCH_ROWS) BENCH_MESSAGES=$(BENCH_MESSAGES) BENCH_REPEAT=$(BENCH_REPEAT) \
	  $(BENCH_VENV)/bin/python bench/ingest/run.py

# Peak RSS of one Chimera run on a PostgreSQL table of BENCH_ROWS (10000000) against one of
# BENCH_BIG_ROWS (50000000): memory must not grow with the table (docs/benchmarks.md; ~20 min, ~6 GB).
bench-memory: install services $(BENCH_VENV)/.installed
	BENCH_ROWS=$(BENCH_ROWS) BENCH_BIG_ROWS=$(BENCH_BIG_ROWS) $(BENCH_VENV)/bin/python bench/ingest/memory.py

# The recovery planner against FIFO and priority_weight on generated scenarios (docs/recovery.md):
# pure simulation in .venv, no services, a few seconds.
# A pipeline run's task time over a no-op task, on a real Airflow (LocalExecutor), with and without
# airflow_provider_chimera.preload (docs/benchmarks.md); BENCH_RUNS runs per DAG (12).
bench-run-cost: install services
	$(BIN)/python bench/runcost/run.py --no-preload --runs $(or $(BENCH_RUNS),12)
	$(BIN)/python bench/runcost/run.py --runs $(or $(BENCH_RUNS),12)

bench-recovery:
	$(BIN)/python bench/recovery/run.py

# The UI's board with 5,000 seeded pipelines, in-process (docs/ui.md): p50/p95 ms, about 20 s.
bench-ui:
	$(BIN)/python bench/ui_board.py

# Commit latency as a table ages, plain fast appends against Chimera's table properties
# (docs/benchmarks.md): .venv, no services. BENCH_COMMITS (2000), BENCH_BEFORE_COMMITS (800: the
# 'before' table stops there; its commits grow slower with every one), e.g.
# make bench-commits BENCH_COMMITS=500
bench-commits: install
	BENCH_COMMITS=$(BENCH_COMMITS) BENCH_BEFORE_COMMITS=$(BENCH_BEFORE_COMMITS) $(BIN)/python bench/commits.py

# 500 pipelines of 10 teams on a real Airflow (LocalExecutor) against 500 bare tasks reading the same
# tables to Parquet (docs/benchmarks.md); not in `bench`: the full fleet takes most of an hour on
# 2 CPUs. BENCH_PIPELINES (500), BENCH_TEAMS (10), BENCH_MIN_ROWS/BENCH_MAX_ROWS (10000/100000),
# e.g. make bench-fleet BENCH_PIPELINES=40
bench-fleet: install services
	BENCH_PIPELINES=$(BENCH_PIPELINES) BENCH_TEAMS=$(BENCH_TEAMS) BENCH_MIN_ROWS=$(BENCH_MIN_ROWS) \
	  BENCH_MAX_ROWS=$(BENCH_MAX_ROWS) $(BIN)/python bench/fleet/run.py

$(BENCH_VENV)/.installed: $(VENV)/.installed requirements/lock.txt bench/requirements.txt setup.cfg
	test -x $(BENCH_VENV)/bin/python || $(BIN)/uv venv -q --python $(BIN)/python $(BENCH_VENV)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BENCH_VENV)/bin/python -r requirements/lock.txt -r bench/requirements.txt
	$(BIN)/uv pip install -q --python $(BENCH_VENV)/bin/python --no-deps -e .
	touch $@

# Apache Superset in its own environment (its pins clash with Airflow's): the discovery step's
# integration tests start a real Superset from it. Versions from requirements/superset.txt.
SUPERSET_VENV := .superset/venv

superset: system-deps $(SUPERSET_VENV)/.installed

$(SUPERSET_VENV)/.installed: $(VENV)/.installed requirements/superset.txt
	test -x $(SUPERSET_VENV)/bin/python || $(BIN)/uv venv -q --python $(BIN)/python $(SUPERSET_VENV)
	$(BIN)/uv pip install -q --compile-bytecode --python $(SUPERSET_VENV)/bin/python -r requirements/superset.txt
	touch $@

clean: demo-clean
	rm -rf $(VENV) .pytest_cache .bench .superset

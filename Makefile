# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: run test test-fast e2e lint lock clean check-chromium check-postgres bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip

# Stamps: reinstall only when the declared dependencies or their pins change.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $@ $(VENV)/.installed-run

# `make run` also starts localstripe (the dev extra) for the co-payment pages.
$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed-run

## run: install, migrate, load demo data, build the search index, then serve http://127.0.0.1:5000 with the worker and localstripe (Ctrl-C stops all)
run: $(VENV)/.installed-run $(VENV)/.installed-dev
	$(BIN)/hrdnet db upgrade
	$(BIN)/hrdnet demo load --runs 3000
	PAYMENT_BACKEND=local $(BIN)/hrdnet demo audit
	$(BIN)/hrdnet search reindex
	exec bin/dev-server

## test: install what the tests need, lint, and run the whole suite (SQLite, PostgreSQL and browser tests)
test: $(VENV)/.installed-test check-chromium check-postgres lint
	$(BIN)/pytest

## test-fast: everything but the browser journeys
test-fast: $(VENV)/.installed-test check-postgres
	$(BIN)/pytest -m "not e2e"

## e2e: only the browser journeys (screenshots land in tests/e2e/artifacts/)
e2e: $(VENV)/.installed-test check-chromium
	$(BIN)/pytest -m e2e

# Browser tests drive Debian's chromium package, never a downloaded browser.
check-chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  fi; \
	  command -v chromium >/dev/null 2>&1 || { \
	    echo "make test needs Debian's chromium package for the browser tests: run 'apt-get install chromium' as root" >&2; \
	    exit 1; }; }

check-postgres:
	@$(BIN)/python -c "import os, sqlalchemy as sa; sa.create_engine(os.environ.get('TEST_POSTGRES_URL', 'postgresql+psycopg://postgres@127.0.0.1:5432/test'), connect_args={'connect_timeout': 5}).connect().close()" \
	  || { echo "make test needs PostgreSQL on 127.0.0.1:5432 (database 'test', trust auth) for the tests marked both_dbs" >&2; exit 1; }

## bench: catalog import, feed parsers, search relevance, search speed, ledger, enrolment and audit console benchmarks (figures, not pass/fail; see bench/README.md). Scale down: make bench RUNS=12000
RUNS ?= 120000
bench: $(VENV)/.installed-run
	$(BIN)/python bench/catalog_import.py --runs $(RUNS)
	$(BIN)/python bench/feed_parsers.py
	$(BIN)/python bench/search_relevance.py
	$(BIN)/python bench/search_speed.py --runs $(RUNS)
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/enrolments.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/enrolments_http.py

## lint: ruff (lint and format check) and the import contracts (pyproject.toml [tool.importlinter])
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## lock: re-pin every installed version into constraints.txt after changing pyproject.toml
lock: | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) instance tests/e2e/artifacts .pytest_cache

# Firstline — the two commands: `make demo` and `make test`. Prerequisites: Python 3.11+, Node 18+ with npm, make.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
VENDOR := firstline/static/vendor/.copied
DEMO_PERSONS ?= 20000
DEMO_PASSWORD ?= firstline-demo-2021

.PHONY: demo serve test lint typecheck migrations-check pytest bench static messages clean help

help:
	@echo "make demo   - set up .venv, migrate SQLite, load the demo city, serve http://127.0.0.1:8000"
	@echo "make test   - lint, type check, migrations check and the whole test suite"
	@echo "make bench  - benchmarks (PostgreSQL: set DATABASE_URL, default postgres://postgres@127.0.0.1:5432/firstline_bench)"

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11+ is required ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(PIP) install --quiet -e ".[dev]"
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm (Node 18+) is required for the front-end packages"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR): node_modules/.package-lock.json scripts/vendor_static.py
	$(PY) scripts/vendor_static.py
	@touch $@

static: $(VENDOR)

messages: $(STAMP)
	cd firstline && ../$(MANAGE) compilemessages --ignore=.venv >/dev/null

demo: $(STAMP) $(VENDOR)
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --persons $(DEMO_PERSONS) --password $(DEMO_PASSWORD) --if-empty
	$(MANAGE) demo_logins --password $(DEMO_PASSWORD)
	$(MANAGE) runserver 127.0.0.1:8000

serve: $(STAMP) $(VENDOR)
	$(MANAGE) runserver 127.0.0.1:8000

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy firstline bench

migrations-check: $(DEV_STAMP)
	$(MANAGE) makemigrations --check --dry-run

pytest: $(DEV_STAMP) $(VENDOR)
	$(VENV)/bin/pytest

test: lint typecheck migrations-check pytest

bench: $(DEV_STAMP) $(VENDOR)
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules firstline/static/vendor staticfiles

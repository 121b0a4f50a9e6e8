# pairscope: `make run` serves the app on the demo catalog, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 5006

.PHONY: install system-deps run test test-fast bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip setuptools wheel
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

# Debian packages the tests need: chromium (browser tests), PostgreSQL + PostGIS (STAC API tests).
system-deps:
	bash scripts/system-deps.sh

run: install
	$(VENV)/bin/pairscope serve --port $(PORT)

test: install system-deps
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not browser and not pgstac"

bench: install
	$(PY) benchmarks/run.py

lint: install
	$(VENV)/bin/ruff check src tests benchmarks app
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

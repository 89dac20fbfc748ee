# The two commands of the README: `make up` and `make test`. Both install what
# they need on first use into .venv (re-installed when pyproject.toml changes).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

QUALITY := tests/quality/node_modules/.installed-$(shell sha1sum tests/quality/package-lock.json | cut -c1-12)

.PHONY: up test lint tools unit integration e2e drills clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

up: $(STAMP)
	$(VENV)/bin/newsroom up

test: $(STAMP) lint tools $(QUALITY)
	$(PY) -m pytest

# Lighthouse, html-validate and axe-core for the page quality tests (npm, pinned by the lock).
$(QUALITY): tests/quality/package-lock.json
	cd tests/quality && npm ci --no-audit --no-fund --loglevel=error
	touch $@

tools:
	scripts/ensure-debian-tools.sh

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

unit integration e2e: $(STAMP)
	$(PY) -m pytest -m $@

drills: $(STAMP)
	$(VENV)/bin/newsroom drills

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tests/quality/node_modules

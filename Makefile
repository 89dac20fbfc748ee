# The two commands of the README: `make up` and `make test`. Both install what
# they need on first use into .venv (re-installed when pyproject.toml changes).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: up test lint browser unit integration e2e drills clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

up: $(STAMP)
	$(VENV)/bin/newsroom up

test: $(STAMP) lint browser
	$(PY) -m pytest

browser:
	scripts/ensure-browser.sh

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

unit integration e2e: $(STAMP)
	$(PY) -m pytest -m $@

drills: $(STAMP)
	$(VENV)/bin/newsroom drills

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

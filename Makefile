# fleet: developer entry points. `make test` is what CI runs (via .ci/run).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test unit lint demo bench clean distclean

# Apt packages, debugfs/tracefs mounts, .venv with the project and ruff.
install:
	bash scripts/install-deps.sh

# pytest's own exit status fails the target (no pipes after it).
test: install
	$(PY) -m pytest -q tests

unit: install
	$(PY) -m pytest -q tests/unit

lint: install
	$(VENV)/bin/ruff check .

demo: install
	bash scripts/demo.sh

bench: install
	$(PY) bench/run_tax.py

# Build and test leftovers; keeps .venv and runs/ (use distclean for .venv).
clean:
	rm -rf .pytest_cache .ruff_cache build dist *.egg-info
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

# esctui — set-up, run, test. Every target installs what it needs first (a fresh machine needs
# only python3.11 with venv; pip finds the CPU torch wheel where the machine provides one).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test test-fast bench lint acceptance clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## Start the app on the default data folder (or $$ESCTUI_DATA).
run: setup
	$(VENV)/bin/esctui

## The whole lint (see lint), then the whole test suite: what CI runs (.ci/run).
test: lint
	$(PY) -m pytest -q

## Tests without the slow ones (kraken model loads, subprocess crash tests).
test-fast: setup
	$(PY) -m pytest -q -m "not slow"

## Benchmarks: each prints its ratio against a baseline measured in the same run. The PDF
## benchmark's baseline is poppler's pdfimages: installed here when missing and run as root
## (as CI runs); without it that benchmark says so and compares with a MuPDF raw-stream copy.
bench: setup
	@command -v pdfimages >/dev/null || [ "$$(id -u)" != 0 ] || \
		apt-get install -y -qq poppler-utils >/dev/null 2>&1 || true
	$(PY) bench/run_all.py

## The shared acceptance checks (../shared/acceptance) through the CLI.
acceptance: setup
	../shared/acceptance/run

## ruff (rules and formatting), the import contracts (lint-imports), mypy on esctui/.
lint: setup
	$(VENV)/bin/ruff check esctui tests bench
	$(VENV)/bin/ruff format --check esctui tests bench
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

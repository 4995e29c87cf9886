# Everything a fresh machine needs, from python3 and make alone: a project-local .venv,
# the package (editable, with every extra) and the dev tooling, installed once per pyproject change.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest

.PHONY: install lint format typecheck unit integration test bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# pip >= 25.1 reads [dependency-groups]; the machine's pip may be older.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[all]" --group dev
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check langchain_flexai tests examples
	$(BIN)/ruff format --check langchain_flexai tests examples

format: $(STAMP)
	$(BIN)/ruff format langchain_flexai tests examples
	$(BIN)/ruff check --fix langchain_flexai tests examples

typecheck: $(STAMP)
	$(BIN)/mypy

# Unit tests may not open a socket of any kind but unix ones (asyncio's self-pipe).
unit: $(STAMP)
	$(PYTEST) tests/unit_tests --disable-socket --allow-unix-socket -q

# Integration tests talk to the bundled emulator on loopback (or live FlexAI with FLEXAI_API_KEY).
integration: $(STAMP)
	$(PYTEST) tests/integration_tests -q

test: lint typecheck unit integration

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks

demo: $(STAMP)
	$(BIN)/flexai-vision describe examples/images --emulator

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

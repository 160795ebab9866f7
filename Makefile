PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test suite lint format install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,ladybug]'
	touch $(STAMP)

install: $(STAMP)

ARGS ?=

run: $(STAMP)
	$(BIN)/graphiam serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check graphiam tests benchmarks scripts
	$(BIN)/ruff format --check graphiam tests benchmarks scripts
	$(BIN)/mypy graphiam tests

format: $(STAMP)
	$(BIN)/ruff check --fix graphiam tests benchmarks scripts
	$(BIN)/ruff format graphiam tests benchmarks scripts

# the suite runs on the engine GRAPHIAM_ENGINE names (kuzu by default); `.ci/run` runs it on both
test: lint suite

suite: $(STAMP)
	$(BIN)/python -m pytest -n auto

clean:
	rm -rf $(VENV)

# Entry points a new user and CI run. `make deploy` deploys the local dev stack (no cluster);
# `make test` runs every test layer. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: venv deploy preview test unit lint typecheck golden clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(BIN)/activate

venv: $(BIN)/activate

deploy: venv
	scripts/pulumi.sh up --yes --stack $(STACK)

preview: venv
	scripts/pulumi.sh preview --diff --stack $(STACK)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy __main__.py involution components tests

unit: venv
	$(BIN)/python -m pytest -q --cov --cov-report=term tests
	$(BIN)/coverage report --include='components/*' --fail-under=90

test: lint typecheck unit

golden: venv
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_golden.py

clean:
	rm -rf rendered .pytest_cache .mypy_cache .ruff_cache .coverage

# The two commands of the README: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test lint install install-dev bench openapi clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,rl]'

serve: install  ## install, then serve on :8000 with embedded backends unless configured
	$(BIN)/agent-service serve

test: install-dev  ## install with the dev extra, then run every test (one process per core)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadgroup

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

openapi: install
	$(BIN)/agent-service openapi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

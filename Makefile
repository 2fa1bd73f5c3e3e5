# The two quickstart commands (`make bench`, `make test`) set everything up themselves:
# a virtualenv in .venv with the pinned packages, installed once and again only when
# pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: bench test unit integration images lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The side-by-side benchmark on the 400k-row fixture (legacy latency modelled like RDS).
bench: $(STAMP)
	$(BIN)/harness bench --profile rds $(ARGS)

## All tests: unit tests, then integration tests against real servers it starts itself
## (PostgreSQL; a Docker engine and the node image for the docker backend's tests).
test: $(STAMP)
	scripts/ensure-postgres
	PYTHON=$(BIN)/python scripts/ensure-docker
	$(BIN)/python -m pytest $(ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(ARGS)

integration: $(STAMP)
	scripts/ensure-postgres
	PYTHON=$(BIN)/python scripts/ensure-docker
	$(BIN)/python -m pytest -m integration $(ARGS)

## The docker backend's images (base, node, endpoint); cached, seconds when current.
images: $(STAMP)
	PYTHON=$(BIN)/python docker/build-images $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check harness tests benchmarks

clean:
	rm -rf $(VENV) .harness

# The two commands of the README: `make demo` and `make test`. Both create the
# virtualenv and install the project on first use, and make sure PostgreSQL and
# RabbitMQ answer (scripts/services.sh). `make test` also installs the AsyncAPI CLI
# and promtool the contract tests run (scripts/tools.sh); when it cannot, it says
# so and those tests fail naming the missing tool.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint install services tools contract bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

services:
	scripts/services.sh

tools:
	-scripts/tools.sh

# regenerate asyncapi.yaml and schemas/ from the event models
contract: install
	$(BIN)/rakuten-worker contract

demo: install services
	$(BIN)/rakuten-worker demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install services tools lint
	$(BIN)/rakuten-worker contract --check
	$(BIN)/pytest

bench: install services
	$(BIN)/python bench/run.py

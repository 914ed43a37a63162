# The README's commands: `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo test lint bench bench-attack fuzz clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/ms-cds serve --dev --host $(HOST) --port $(PORT)

# Development mode plus synthetic demo patients at /demo/fhir; prints a sandbox link each.
demo: install
	$(BIN)/ms-cds demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

# Not part of `make test`: ~4 minutes. Uses wrk when it can be installed, else a Python
# load generator. Writes bench/results.json.
bench: install
	@command -v wrk >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 && \
		{ apt-get install -y -qq wrk >/dev/null 2>&1 || \
		  (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1); }) || \
		echo "wrk not available: using the Python load generator"
	$(BIN)/python -m bench $(BENCH_ARGS)

# Issue 17 #3: a normal call's p50/p99 alone and while worst-case bodies arrive (~1 minute).
# Writes bench/attack_results.json.
bench-attack: install
	$(BIN)/python -m bench.attack $(BENCH_ARGS)

# Generated-input tests with the "fuzz" hypothesis profile: fixed seed, many examples.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:logging -m fuzz

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DB := data/shop.duckdb

.PHONY: setup run demo test lint typecheck format bench clean screenshots

setup: $(STAMP)

# Re-installs only when the dependencies change; safe to run any number of times.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(DEMO_DB): | $(STAMP)
	$(BIN)/segments demo --db $(DEMO_DB)

demo: $(STAMP)
	$(BIN)/segments demo --db $(DEMO_DB)

# serve.py runs app.py with the gate in front of uploads and downloads (ui/gate.py). The port is fixed so the
# address printed is the one in the README; when something else holds it, say so instead of moving on quietly.
PORT ?= 8501
run: $(STAMP) $(DEMO_DB)
	@$(BIN)/python -c "import socket, sys; sys.exit(socket.socket().connect_ex(('127.0.0.1', $(PORT))) == 0)" \
		|| { echo "Port $(PORT) is in use (another app, or the shop already running): open http://127.0.0.1:$(PORT), stop it, or run 'make run PORT=8502'."; exit 1; }
	SEGMENTS_DB=$(DEMO_DB) $(BIN)/streamlit run serve.py --server.address 127.0.0.1 --server.port $(PORT) \
		--browser.gatherUsageStats false

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy at its default strictness over the product's code (the files and settings are in pyproject.toml).
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks, not tests: the demo shop, sizes 10k,100k,1M and the real Online Retail file by default;
# BENCH_SIZES=demo,10k,100k,1M,10M,1M-customers,retail for the full table (about twenty minutes). The
# in-browser answer times take about a minute a size: BENCH_ARGS=--no-browser-answers leaves them out.
BENCH_SIZES ?= demo,10k,100k,1M,retail
bench: $(STAMP)
	$(BIN)/python bench/run.py --sizes $(BENCH_SIZES) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

# The README's pictures, taken in Debian's chromium on the demo shop by the same test `make test` runs.
screenshots: $(STAMP)
	SEGMENTS_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/test_screenshots.py

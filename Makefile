# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
# Server limits: connections at once (503 past them), idle keep-alive seconds.
UVICORN_LIMITS ?= --limit-concurrency 1000 --timeout-keep-alive 5
WORKERS ?= 1
# Test processes for `make test` (pytest-xdist): each test has its own servers, schema and key
# prefix, so they run side by side. TEST_PROCESSES=0 runs everything in one process.
TEST_PROCESSES ?= 2
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint fmt typecheck bench studio clean browser proxy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# WORKERS above 1 needs DATABASE_URL=postgresql://... and REDIS_URL=redis://... (refused otherwise,
# with exit code 3, as is any start that fails: `api/serve.py`).
run: $(STAMP)
	$(BIN)/python -m api.serve --host $(HOST) --port $(PORT) --workers $(WORKERS) $(UVICORN_LIMITS)

test: $(STAMP) browser proxy
	$(BIN)/pytest -q -n $(TEST_PROCESSES)

# The chat page's browser tests drive Debian's chromium; Playwright's own download cannot run here.
# It is installed with apt-get only where that is allowed without asking (root, or passwordless
# sudo); elsewhere the browser tests are skipped with a note saying how to get it (under CI=true
# they fail instead).
CHROMIUM ?= /usr/bin/chromium
APT_INSTALL := env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && $(APT_INSTALL); \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo $(APT_INSTALL); \
	else \
		echo "*** $(CHROMIUM) is missing and cannot be installed without a password:"; \
		echo "*** the browser tests (tests/page) will be SKIPPED. To run them:"; \
		echo "***     sudo apt-get install chromium"; \
	fi

# The scale-out tests put Debian's nginx in front of two Lex processes, installed the same way
# (skipped with a note where it cannot be; under CI=true they fail instead).
NGINX ?= /usr/sbin/nginx
APT_INSTALL_NGINX := env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx

proxy:
	@if [ -x $(NGINX) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && $(APT_INSTALL_NGINX); \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo $(APT_INSTALL_NGINX); \
	else \
		echo "*** $(NGINX) is missing and cannot be installed without a password:"; \
		echo "*** the test through nginx (tests/e2e/test_scale_out.py) will be SKIPPED."; \
	fi

# Everything CI checks before the tests, in seconds: lint, format and types.
check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

# One saved session in LangGraph Studio: `make studio SESSION=<id>` (`lex sessions` lists them)
# runs `lex studio`, which copies that session alone into a private file, serves it with
# langgraph dev on 127.0.0.1 for Studio's origin only, and deletes the copy when stopped (Ctrl-C).
studio: $(STAMP)
	@if [ -z "$(SESSION)" ]; then echo "usage: make studio SESSION=<session id>"; exit 2; fi
	$(BIN)/lex studio '$(SESSION)'

# Latency, throughput, storage and memory against a stand-in Groq server, beside `langgraph dev`:
# prints a table, writes bench/results/latest.json. BENCH_PROFILE=full runs the full counts.
BENCH_PROFILE ?= default
bench: $(STAMP)
	$(BIN)/python -m bench --profile $(BENCH_PROFILE)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
STUDIO_PORT ?= 2024
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench studio clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/uvicorn api.main:app --host $${HOST:-0.0.0.0} --port $(PORT)

test: $(STAMP) browser
	$(BIN)/pytest -q

# The chat page's browser tests drive Debian's chromium; Playwright's own download cannot run here.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq \
		&& $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# LangGraph Studio's dev server on the Studio copy of the database (`lex studio SESSION_ID` fills
# it), offline: no browser, no tunnel, no version check, no CLI analytics, no tracing.
studio: $(STAMP)
	LANGGRAPH_NO_VERSION_CHECK=true LANGGRAPH_CLI_NO_ANALYTICS=1 LANGSMITH_TRACING=false \
		$(BIN)/langgraph dev --no-browser --host 127.0.0.1 --port $(STUDIO_PORT)

# Latency, throughput, storage and memory against a stand-in Groq server, beside `langgraph dev`:
# prints a table, writes bench/results/latest.json. BENCH_PROFILE=full runs the issue's full counts.
BENCH_PROFILE ?= default
bench: $(STAMP)
	$(BIN)/python -m bench --profile $(BENCH_PROFILE)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The two set-up commands are `make demo` and `make test`; both create the environment if needed.
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif

export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup demo test test-fast lint format hexo

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

demo: setup
	$(UV) run arxiv-digest demo

test: setup hexo
	@command -v chromium >/dev/null || echo "note: no chromium, so the test that screenshots a run in the Prefect UI is skipped (Debian: apt-get install chromium)"
	$(UV) run pytest

# The unit tests alone (no Prefect server, no child process, no Hexo build): the fast loop.
test-fast: setup
	$(UV) run pytest -m "not slow"

# Issue 9's fault injection against the local fakes (also part of `make test`); prints the table.
.PHONY: faults
faults: setup
	$(UV) run pytest tests/system/test_faults.py

# The Hexo site tests/post/test_hexo.py builds posts with; npm ci again only when its lock changes.
hexo:
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm to build the Hexo site of tests/post/test_hexo.py (Debian: apt-get install nodejs npm)"; exit 1; }
	@[ tests/hexo/node_modules/.package-lock.json -nt tests/hexo/package-lock.json ] \
		|| (cd tests/hexo && npm ci --no-audit --no-fund)

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

format: setup
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

# Operating it: `make ui` in one shell; then `make deploy` + `make worker`, or `make serve`.
UI_PORT ?= 4200
UI_API := http://127.0.0.1:$(UI_PORT)/api
POOL ?= arxiv-digest
# Commands that talk to the server use the exported PREFECT_API_URL, else `make ui`'s address.
API_ENV = PREFECT_API_URL=$${PREFECT_API_URL:-$(UI_API)}

.PHONY: ui deploy worker serve ui-check

ui: setup
	@echo "Prefect UI at http://127.0.0.1:$(UI_PORT). For runs to appear in it, in other shells:"
	@echo "  export PREFECT_API_URL=$(UI_API)"
	PREFECT_UI_API_URL=$(UI_API) $(UV) run prefect server start --host 127.0.0.1 --port $(UI_PORT)

deploy: setup
	$(API_ENV) $(UV) run prefect work-pool inspect $(POOL) >/dev/null 2>&1 || \
	  $(API_ENV) $(UV) run prefect work-pool create $(POOL) --type process
	$(API_ENV) $(UV) run prefect --no-prompt deploy --prefect-file deploy/prefect.yaml --all

worker: setup
	$(API_ENV) $(UV) run prefect worker start --pool $(POOL)

serve: setup
	$(API_ENV) $(UV) run python -m flows.serve

# Screenshot the latest daily-digest run's page (or RUN=<flow run id>) and check it rendered.
ui-check: setup
	$(API_ENV) $(UV) run python -m flows.ui_check $(if $(RUN),--flow-run-id $(RUN)) \
	  --out $(PREFECT_HOME)/ui-check.png

# Keyword step alone vs keyword + judge on a labelled real day; writes bench/RELEVANCE.md.
# The judge answers from the day's verdicts file (a local fake Gemini); with GEMINI_API_KEY
# set, the real model is measured too.
.PHONY: relevance
relevance: setup
	$(UV) run python -m bench.relevance

# One synthetic day of 40 papers through the real flow against local fakes, run twice under a
# Prefect server of its own; prints the table and writes bench/RESULTS.md. Measures, never asserts.
# Then extraction speed, and the backfill (at least 5 more minutes on two cores; see RESULTS.md).
.PHONY: bench bench-backfill bench-pdf
bench: setup
	$(UV) run python -m bench.day
	$(UV) run python -m bench.extract
	$(MAKE) bench-pdf
	$(MAKE) bench-backfill

# Extraction on real arXiv PDFs against what a reader found in them (../shared/realpdfs, or
# REALPDFS=<folder with truth.json>): recall, crops, captions, affiliations, links, speed.
REALPDFS ?= $(CURDIR)/../shared/realpdfs
bench-pdf: setup
	$(UV) run python -m bench.pdf --folder $(REALPDFS)

# 20 synthetic labels × 40 papers through the real backfill flow under a Prefect server of its
# own: time, memory and arXiv requests per label, in bench/RESULTS.md's backfill section.
bench-backfill: setup
	$(UV) run python -m bench.backfill

# TENMON-ARK. `make run` and `make test` do all set-up on a fresh machine (system
# packages come from .ci/run). Builds share one target directory outside the clone.

CARGO_TARGET_DIR ?= $(HOME)/.cache/tenmon-ark/target
export CARGO_TARGET_DIR
VENV ?= $(HOME)/.cache/tenmon-ark/venv
PY := $(VENV)/bin/python
DEBUG_BIN := $(CARGO_TARGET_DIR)/debug/tenmon-ark
RELEASE_BIN := $(CARGO_TARGET_DIR)/release/tenmon-ark

.PHONY: run build web test test-rust test-python test-node test-web lint fmt bench eval venv clean

## Build the UI (when web/ exists) and the release binary, then serve on embedded
## SQLite at http://127.0.0.1:3000.
run: build
	$(RELEASE_BIN) serve

build: web
	cargo build --release --locked -p tenmon-ark

web:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

## Everything CI runs: lint, the Rust tests, then the Python contract tests against
## the real binary.
test: lint web test-rust test-python test-node test-web

## TENMON_REQUIRE_ALL: tests that need the venv's tools (moto's S3 server, the
## official stripe library) fail instead of skipping when those are missing.
test-rust: venv
	TENMON_REQUIRE_ALL=1 TENMON_MOTO_SERVER=$(VENV)/bin/moto_server TENMON_PYTHON=$(PY) \
		cargo test --workspace --locked --no-fail-fast

test-python: venv
	cargo build --locked -p tenmon-ark -p tenmon-test-support --bins
	TENMON_ARK_BIN=$(DEBUG_BIN) TENMON_FAKE_OPENAI_BIN=$(CARGO_TARGET_DIR)/debug/fake-openai \
		$(PY) -m pytest -q tests/python

## The web UI: API types regenerated from the server's OpenAPI document must match
## the committed ones, then Vitest, then the browser tests (headless Chromium against
## the real binary and the fake model; screenshots in web/e2e/artifacts/).
test-web:
	cargo build --locked -p tenmon-ark -p tenmon-test-support --bins
	$(DEBUG_BIN) openapi > web/openapi.json
	cd web && npm run gen:api --silent && git diff --exit-code -- src/api/schema.d.ts
	cd web && npm test
	cd web && TENMON_ARK_BIN=$(DEBUG_BIN) TENMON_FAKE_OPENAI_BIN=$(CARGO_TARGET_DIR)/debug/fake-openai npm run e2e

## Official Node clients (@line/bot-sdk, …) against the real binary and the fakes.
test-node:
	cargo build --locked -p tenmon-ark -p tenmon-test-support --bins
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error && npm test

venv: $(VENV)/.installed
$(VENV)/.installed: tests/python/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all

## Benchmarks: results with the machine and the command go to bench/results/.
## bench/scale.py runs on the venv's python: it imports the process helpers of
## tests/python/test_scale_out.py (which need pytest and prometheus_client), and its
## Socket.IO client is tests/node's socket.io-client.
bench: venv
	cargo build --release --locked -p tenmon-ark -p tenmon-test-support --bins
	bash bench/foundation.sh $(RELEASE_BIN)
	python3 bench/chat.py $(RELEASE_BIN) $(CARGO_TARGET_DIR)/release/fake-openai
	cargo bench --locked -p tenmon-kb --bench search
	python3 bench/privacy.py $(RELEASE_BIN) $(CARGO_TARGET_DIR)/release/fake-openai
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	$(PY) bench/scale.py $(RELEASE_BIN) $(CARGO_TARGET_DIR)/release/fake-openai
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build && \
		TENMON_ARK_BIN=$(RELEASE_BIN) TENMON_FAKE_OPENAI_BIN=$(CARGO_TARGET_DIR)/release/fake-openai node bench/budget.mjs

## Search quality of the knowledge base: hit@1, hit@3, MRR per set, then the off-topic
## set (questions the pack cannot answer: how many would be answered, should be 0).
## Every set but mnp-queries was written from the fact sheet without seeing the entries
## and labelled afterwards; each was measured once fresh, then used to find what kinds
## of query failed (fresh: heldout 0.918, blind2 0.797, blind3 0.873, blind4 0.842,
## blind5 0.858, blind6 0.825, blind7 0.858: about 0.85 on questions never seen; then
## sibling-telling phrasings and spouse/company-contract synonym groups: blind8 0.925,
## blind9 0.942; the target is 0.90). Sealed sets (bench/eval/sealed/) wait, unmeasured,
## for the next change.
## The newest set is the honest number until it has been looked at: then write another.
eval:
	cargo build --locked -p tenmon-ark
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-queries.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-heldout.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind2.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind3.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind4.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind5.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind6.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind7.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind8.jsonl
	DATABASE_URL=sqlite::memory: LOG_LEVEL=warn $(DEBUG_BIN) kb eval --kb mnp bench/eval/mnp-blind9.jsonl
	cargo run --locked -q -p tenmon-kb --example eval -- bench/eval/mnp-offtopic.jsonl

clean:
	cargo clean

# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export MLFLOW_DISABLE_TELEMETRY := true

DEMO_DIR ?= data/demo
DEMO_TICKETS ?= 8000
SEED ?= 7
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test test-fast setup lint security clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: the machine's CPU wheel, never a CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/escalation-risk build-sentiment

run: setup
	$(BIN)/escalation-risk generate --tickets $(DEMO_TICKETS) --seed $(SEED) --out $(DEMO_DIR)
	$(BIN)/escalation-risk train --data $(DEMO_DIR)
	$(MAKE) serve

# The API on the champion model, with the demo data as the store's account history.
serve: setup
	$(BIN)/escalation-risk serve --host $(HOST) --port $(PORT) --backfill $(DEMO_DIR)

test: setup
	$(BIN)/python -m pytest

# The edit-test loop: no transformer, no MLflow store, no slow tests (under a minute).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not transformer and not mlflow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The static security check (bandit, with its justified exceptions); `make test` runs it too.
security: $(STAMP)
	$(BIN)/python -m pytest -q tests/serving/test_security_bandit.py

clean:
	rm -rf $(DEMO_DIR) mlruns mlartifacts mlflow.db serving.db .cache models/artifacts/build

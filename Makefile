# Relance — every target bootstraps .venv itself from a clean clone (Python 3.11 + make only).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOME_DIR ?= data
PYTEST_ARGS ?= -n 2 --durations=25

.PHONY: demo test app bench acceptance lint format docs clean venv

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/relance --home $(HOME_DIR) demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

app: $(STAMP)
	$(BIN)/relance --home $(HOME_DIR) app

bench: $(STAMP)
	$(BIN)/relance bench --cases $(or $(CASES),100000) --out docs/bench.json

acceptance: $(STAMP)
	RELANCE_ACCEPTANCE=1 $(BIN)/python -m pytest tests/acceptance -p no:randomly -q -rA
	@echo "acceptance figures: docs/acceptance.json"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache

docs: $(STAMP)
	$(BIN)/python -m pipelines.readme

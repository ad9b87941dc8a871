# tuanbot — two commands: `make run` and `make test`. Everything else is set up on the way.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,postgres,wechaty
# `make test` spreads test files over one worker per core (at most 4; pytest-xdist): about 7½ minutes
# on 2 cores instead of 13½. TEST_WORKERS= runs them in one process.
TEST_WORKERS ?= -n auto --maxprocesses 4 --dist loadfile

.PHONY: help install run test test-pg chaos lint format bench lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tuanbot needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PY=python3.11")'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing tuanbot and pinned dependencies into $(VENV) (first run takes a minute)..."
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@# setuptools' build backend warns about every editable install (a box of asterisks in a new
	@# operator's first screen); the warning is a UserWarning, silenced for this step only.
	@PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[$(EXTRAS)]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install tuanbot with pinned dependencies

run: $(STAMP) ## start the bot on the local simulator with config.yaml and the sample campaign
	@$(BIN)/tuanbot run $(ARGS)

test: $(STAMP) ## run the whole test suite (SQLite, PostgreSQL via pgserver, wechaty end-to-end)
	@$(BIN)/python -m pytest $(TEST_WORKERS) $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; fi; exit $$status

test-pg: $(STAMP) ## run only the storage tests against a throw-away PostgreSQL
	@$(BIN)/python -m pytest -m postgres $(PYTEST_ARGS)

chaos: $(STAMP) ## the fault suite: SIGKILL the real bot 50 times (CHAOS_KILLS=n; CI runs 20), see docs/reliability.md
	@TUANBOT_CHAOS_KILLS=$(or $(CHAOS_KILLS),50) $(BIN)/python -m pytest -m chaos tests/chaos -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint + format check), mypy, and the import contracts (lint-imports)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy bot handlers schedules
	@$(BIN)/lint-imports --no-cache

format: $(STAMP) ## apply ruff's fixes and formatting
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

bench: $(STAMP) ## run the benchmarks under bench/ (see docs/performance.md)
	@$(BIN)/python -m bench

lock: $(STAMP) ## re-pin constraints.txt from the tested .venv
	@$(BIN)/python -m pip freeze --exclude-editable | grep -v '^tuanbot' > constraints.txt
	@echo "constraints.txt updated; commit it with the change that needed it"

clean: ## remove .venv and caches (keeps data/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

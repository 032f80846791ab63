# Yiwang — the two commands are `make demo` and `make test` (see README.md).
# Each candidate must actually run: a pyenv shim exists for every version pyenv knows but fails when it is not selected.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers for `make test` / `make fuzz`: one per core (`auto`); `PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= auto

.PHONY: demo test install lint fmt bench docs clean fuzz

$(BIN)/.installed: pyproject.toml package.json
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Yiwang needs Python >= 3.11 (found: $$($(PYTHON) --version 2>&1)). Set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Front-end packages from the npm registry (axe-core for the accessibility tests); the app
	@# never loads anything from a CDN. Without npm the browser accessibility tests skip (not in CI).
	if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent; \
	  else echo "npm not found: the accessibility browser tests will be skipped"; fi
	touch $@

install: $(BIN)/.installed

# 1. Set up and run the platform: SQLite under var/, demo city loaded, served on http://$(HOST):$(PORT)
demo: install
	$(BIN)/yiwang migrate --noinput
	$(BIN)/yiwang demo
	$(BIN)/yiwang serve --host $(HOST) --port $(PORT)

# 2. Run the whole test suite (lint, unit, integration, browser). Set DATABASE_URL for PostgreSQL.
#    Skip the browser and slow tests locally: make test PYTEST_ARGS="-m 'not browser and not slow'"
test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/yiwang makemigrations --check --dry-run
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Long API fuzzing run (nightly): many examples per operation and role, schemathesis' coverage phase,
# and longer stateful scenarios (create → read → act) per role.
fuzz: install
	YIWANG_FUZZ_EXAMPLES=$${YIWANG_FUZZ_EXAMPLES:-200} YIWANG_FUZZ_COVERAGE=1 YIWANG_FUZZ_ALL_ROLES=1 \
	  YIWANG_FUZZ_STATEFUL_EXAMPLES=$${YIWANG_FUZZ_STATEFUL_EXAMPLES:-50} YIWANG_FUZZ_STATEFUL_STEPS=$${YIWANG_FUZZ_STATEFUL_STEPS:-12} \
	  $(BIN)/pytest -n $(PYTEST_WORKERS) tests/trust/test_api_fuzz.py tests/trust/test_api_stateful.py -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fmt: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

docs: install
	$(BIN)/python -m yiwang.docs_gen

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static .pytest_cache

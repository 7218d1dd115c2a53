# Two entry points (README): `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test check format-check lint typecheck bench bench-quick troubleshooting install clean fuzz real-az test-real-az

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The real Azure CLI for tests/real_az, in its own venv (it pins its own azure-core): about 730 MB,
# a few minutes on a cold pip cache. AZURE_CLI_VERSION is the version the README says is tested.
AZURE_CLI_VERSION ?= 2.91.0
AZ_VENV := .ci/az-venv
AZ_STAMP := $(AZ_VENV)/.installed-$(AZURE_CLI_VERSION)

$(AZ_STAMP):
	rm -rf $(AZ_VENV)
	$(PYTHON) -m venv $(AZ_VENV)
	$(AZ_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AZ_VENV)/bin/python -m pip install --quiet 'azure-cli==$(AZURE_CLI_VERSION)'
	touch $(AZ_STAMP)

real-az: $(AZ_STAMP)

# Only the tests that run the real az (signed in to the emulator); `make test` runs them too.
test-real-az: $(STAMP) $(AZ_STAMP)
	$(PY) -m pytest -q tests/real_az

demo: $(STAMP)
	$(PY) examples/demo.py

# PYTEST_ARGS: extra arguments (`make check` adds branch coverage with the floor in pyproject.toml).
test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# What CI runs: format, lint, types, then the tests once, with branch coverage (the floor is
# [tool.coverage.report] fail_under in pyproject.toml: raise it when tests are added).
check: format-check lint typecheck
	$(MAKE) test PYTEST_ARGS="--cov=azidentity --cov-report=term:skip-covered"

format-check: $(STAMP)
	$(VENV)/bin/ruff format --check src tests benchmarks examples

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict src/azidentity

bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-quick: $(STAMP)
	$(PY) benchmarks/run.py --quick

# Coverage-guided fuzzing of the parsers (tests/fuzz), FUZZ_SECONDS long (default 300), then the
# property tests with 20x their usual examples.
fuzz: $(STAMP)
	$(PY) tests/fuzz/fuzz_parsers.py -max_total_time=$${FUZZ_SECONDS:-300}
	AZIDENTITY_HYPOTHESIS_EXAMPLES=2000 $(PY) -m pytest -q tests/reliability/test_reliability_properties.py

troubleshooting: $(STAMP)
	$(PY) -m azidentity._mitigations.render > TROUBLESHOOTING.md

clean:
	rm -rf $(VENV) $(AZ_VENV) build dist

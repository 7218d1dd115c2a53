# Two entry points (README): `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-quick troubleshooting install clean fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest -q

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
	AZIDENTITY_HYPOTHESIS_EXAMPLES=2000 $(PY) -m pytest -q tests/test_reliability_properties.py

troubleshooting: $(STAMP)
	$(PY) -m azidentity._troubleshooting > TROUBLESHOOTING.md

clean:
	rm -rf $(VENV) build dist

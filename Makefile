# kwbin: the two commands a fresh clone needs are `make demo` and `make test`.
# Each creates .venv with the pinned dependencies on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test venv bench bench-quick clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest

$(VENV)/.installed-bench: $(STAMP) requirements/bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/bench.txt
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_format.py

bench-quick: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_format.py --quick

clean:
	rm -rf build out .pytest_cache .hypothesis

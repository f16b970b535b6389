# kwbin: the two commands a fresh clone needs are `make demo` and `make test`.
# Each creates .venv with the pinned dependencies on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test venv bench bench-quick bench-pack bench-pack-quick clean c

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

demo: $(STAMP) c
	$(BIN)/python examples/demo.py

test: $(STAMP) c
	$(BIN)/python -m pytest

$(VENV)/.installed-bench: $(STAMP) requirements/bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/bench.txt
	touch $@

# `bench` and `bench-quick` run both benchmarks: the format and Keras packing.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_format.py
	$(BIN)/python bench/bench_pack.py

bench-quick: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_format.py --quick
	$(BIN)/python bench/bench_pack.py --quick

bench-pack: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_pack.py

bench-pack-quick: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_pack.py --quick

# The C reader (c_reader/kwbin.h): the kwbin-dump tool and the C tests.
CC ?= cc
C_READER_CFLAGS := -std=c99 -O2 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror

c: build/kwbin-dump build/test_kwbin

build/kwbin-dump: c_reader/tools/kwbin_dump.c c_reader/kwbin.h
	mkdir -p build
	$(CC) $(C_READER_CFLAGS) -Ic_reader -o $@ c_reader/tools/kwbin_dump.c

build/test_kwbin: c_reader/tests/test_kwbin.c c_reader/kwbin.h
	mkdir -p build
	$(CC) $(C_READER_CFLAGS) -Ic_reader -o $@ c_reader/tests/test_kwbin.c

clean:
	rm -rf build out .pytest_cache .hypothesis

# kwbin: the two commands a fresh clone needs are `make demo` and `make test`.
# Both use .venv, created on first use: `make demo` installs only what kwbin
# needs at run time (requirements/demo.txt: numpy, h5py, construct) and runs
# kwbin from src/; `make test` adds the development set (requirements/dev.txt:
# Keras, JAX, pytest, ...) and installs kwbin in editable mode.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-demo
STAMP  := $(VENV)/.installed-dev
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test venv install bench bench-quick bench-smoke bench-pack bench-pack-quick bench-c clean c

venv: $(STAMP)

$(DEMO_STAMP): requirements/demo.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements/demo.txt
	touch $@

$(STAMP): $(DEMO_STAMP) pyproject.toml setup.py src/kwbin/_records.c requirements/dev.txt
	$(PIP) -r requirements/dev.txt
	$(PIP) --no-deps --no-build-isolation -e .
	touch $@

demo: $(DEMO_STAMP) build/kwbin-dump build/kwbin-run build/hello_kwbin
	PYTHONPATH=src $(BIN)/python examples/demo.py

test: $(STAMP) c
	$(BIN)/python -m pytest

$(VENV)/.installed-bench: $(STAMP) requirements/bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/bench.txt
	touch $@

# `bench` runs every benchmark (Python format, Keras packing, the C reader, and
# the C inference one when present), then writes bench/results/SUMMARY.md.
# The C side needs a C compiler and libhdf5-dev (Debian: HDF5 1.10).
# `bench-quick`: the smaller workloads.  `bench-smoke`: every script on its
# smallest workload with 1 repetition (CI; about a minute), results in
# build/bench-smoke, never in bench/results.
INFERENCE_BENCH := $(wildcard bench/bench_inference.py)
SMOKE_OUT := build/bench-smoke

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_format.py
	$(BIN)/python bench/bench_reader.py
	$(BIN)/python bench/bench_pack.py
	$(BIN)/python bench/bench_c.py
	$(if $(INFERENCE_BENCH),$(BIN)/python $(INFERENCE_BENCH))
	$(BIN)/python bench/summary.py

bench-quick: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_format.py --quick
	$(BIN)/python bench/bench_reader.py --quick
	$(BIN)/python bench/bench_pack.py --quick
	$(BIN)/python bench/bench_c.py
	$(if $(INFERENCE_BENCH),$(BIN)/python $(INFERENCE_BENCH) --quick)
	$(BIN)/python bench/summary.py

bench-smoke: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_format.py --smoke --out $(SMOKE_OUT)
	$(BIN)/python bench/bench_reader.py --smoke --out $(SMOKE_OUT)
	$(BIN)/python bench/bench_pack.py --quick --reps 1 --no-keras-check --no-profile --out $(SMOKE_OUT)
	$(BIN)/python bench/bench_c.py --smoke --out $(SMOKE_OUT)
	$(if $(INFERENCE_BENCH),$(BIN)/python $(INFERENCE_BENCH) --quick --out $(SMOKE_OUT))
	$(BIN)/python bench/summary.py --dir $(SMOKE_OUT)

bench-c: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_c.py

bench-pack: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_pack.py

bench-pack-quick: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_pack.py --quick

# The C reader (c_reader/kwbin.h): the kwbin-dump tool and the C tests.
CC ?= cc
C_READER_CFLAGS := -std=c99 -O2 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror

c: build/kwbin-dump build/test_kwbin build/kwbin-run build/hello_kwbin

build/kwbin-dump: c_reader/tools/kwbin_dump.c c_reader/kwbin.h
	mkdir -p build
	$(CC) $(C_READER_CFLAGS) -Ic_reader -o $@ c_reader/tools/kwbin_dump.c

build/test_kwbin: c_reader/tests/test_kwbin.c c_reader/kwbin.h
	mkdir -p build
	$(CC) $(C_READER_CFLAGS) -Ic_reader -o $@ c_reader/tests/test_kwbin.c

# kwbin_nn.h is generated from its parts (c_reader/nn/README.md); the Python
# standard library is enough, so no virtual environment is needed.
c_reader/kwbin_nn.h: $(sort $(wildcard c_reader/nn/*.h)) c_reader/nn/amalgamate.py
	$(PYTHON) c_reader/nn/amalgamate.py

build/kwbin-run: c_reader/tools/kwbin_run.c c_reader/tools/kwnn_pool.h c_reader/kwbin_nn.h c_reader/kwbin.h
	mkdir -p build
	$(CC) $(C_READER_CFLAGS) -Ic_reader -o $@ c_reader/tools/kwbin_run.c -lm -pthread

build/hello_kwbin: c_reader/examples/hello_kwbin.c c_reader/kwbin.h
	mkdir -p build
	$(CC) $(C_READER_CFLAGS) -Ic_reader -o $@ c_reader/examples/hello_kwbin.c

clean:
	rm -rf build out .pytest_cache .hypothesis

# `make install PREFIX=...` (default /usr/local; DESTDIR for staging): the headers
# in PREFIX/include, kwbin.pc in PREFIX/share/pkgconfig, the CMake package
# (find_package(kwbin) -> kwbin::kwbin) in PREFIX/share/cmake/kwbin, and the
# tools kwbin-dump and kwbin-run in PREFIX/bin.  No Python needed.
PREFIX ?= /usr/local
KWBIN_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' src/kwbin/_version.py)
KWBIN_SUBST := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(KWBIN_VERSION)|g' \
	-e 's|@KWBIN_VERSION@|$(KWBIN_VERSION)|g' -e 's|@KWBIN_VERSION_MAJOR@|$(word 1,$(subst ., ,$(KWBIN_VERSION)))|g' \
	-e 's|@KWBIN_VERSION_MINOR@|$(word 2,$(subst ., ,$(KWBIN_VERSION)))|g'

install: build/kwbin-dump build/kwbin-run
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/cmake/kwbin
	install -m 755 build/kwbin-dump build/kwbin-run $(DESTDIR)$(PREFIX)/bin/
	install -m 644 c_reader/kwbin.h c_reader/kwbin_nn.h $(DESTDIR)$(PREFIX)/include/
	$(KWBIN_SUBST) kwbin.pc.in > $(DESTDIR)$(PREFIX)/share/pkgconfig/kwbin.pc
	install -m 644 cmake/kwbinConfig.cmake $(DESTDIR)$(PREFIX)/share/cmake/kwbin/
	$(KWBIN_SUBST) cmake/kwbinConfigVersion.cmake.in > $(DESTDIR)$(PREFIX)/share/cmake/kwbin/kwbinConfigVersion.cmake

# --- Hardening (see README, "Fuzzing") ----------------------------------------
# libFuzzer on kwbin.h (clang); atheris on the Python reader.
FUZZ_SEEDS := fuzz/c/corpus fuzz/c/regressions spec/vectors/valid spec/vectors/invalid
FUZZ_FLAGS := -dict=fuzz/c/kwbin.dict -max_len=65536 -print_final_stats=1

.PHONY: fuzz fuzz-smoke fuzz-replay fuzz-python matrix fuzz-kwnn

build/fuzz_kwbin: fuzz/c/fuzz_kwbin.c fuzz/c/header_crc.h c_reader/kwbin.h
	mkdir -p build
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Ic_reader -o $@ fuzz/c/fuzz_kwbin.c

# The inference target (c_reader/kwbin_nn.h): seeds from fuzz/c/make_kwnn_seeds.py,
# findings in fuzz/c/regressions-kwnn (each replayed).  -timeout: a slow input is a finding.
KWNN_SEEDS := fuzz/c/corpus-kwnn fuzz/c/regressions-kwnn
KWNN_FLAGS := -dict=fuzz/c/kwnn.dict -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

build/fuzz_kwnn: fuzz/c/fuzz_kwnn.c fuzz/c/header_crc.h c_reader/kwbin_nn.h c_reader/kwbin.h
	mkdir -p build
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Ic_reader -o $@ fuzz/c/fuzz_kwnn.c

# Every committed input once (corpus, named regressions, golden vectors), for both targets.
fuzz-replay: build/fuzz_kwbin build/fuzz_kwnn
	build/fuzz_kwbin -runs=0 $(FUZZ_SEEDS) > build/fuzz-replay.log 2>&1 || { tail -n 30 build/fuzz-replay.log; exit 1; }
	grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)" build/fuzz-replay.log | tail -n 1
	build/fuzz_kwnn -runs=0 -timeout=10 $(KWNN_SEEDS) > build/fuzz-replay-kwnn.log 2>&1 || { tail -n 30 build/fuzz-replay-kwnn.log; exit 1; }
	grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)" build/fuzz-replay-kwnn.log | tail -n 1

# CI: the replay, then new fuzzing in scratch corpora: 60 s on kwbin.h, 40 s on kwbin_nn.h.
fuzz-smoke: fuzz-replay
	rm -rf build/fuzz-scratch && mkdir -p build/fuzz-scratch
	build/fuzz_kwbin $(FUZZ_FLAGS) -max_total_time=60 -artifact_prefix=build/ build/fuzz-scratch $(FUZZ_SEEDS) > build/fuzz-smoke.log 2>&1 || { tail -n 40 build/fuzz-smoke.log; exit 1; }
	grep -E "^stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE" build/fuzz-smoke.log
	rm -rf build/fuzz-scratch-kwnn && mkdir -p build/fuzz-scratch-kwnn
	build/fuzz_kwnn $(KWNN_FLAGS) -max_total_time=40 -artifact_prefix=build/kwnn- build/fuzz-scratch-kwnn $(KWNN_SEEDS) > build/fuzz-smoke-kwnn.log 2>&1 || { tail -n 40 build/fuzz-smoke-kwnn.log; exit 1; }
	grep -E "^stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE" build/fuzz-smoke-kwnn.log

# A long campaign on the inference target (FUZZ_RUNS executions); new corpus
# entries go to fuzz/c/corpus-kwnn, findings to fuzz/c/regressions-kwnn.
fuzz-kwnn: build/fuzz_kwnn
	build/fuzz_kwnn $(KWNN_FLAGS) -runs=$(FUZZ_RUNS) -artifact_prefix=fuzz/c/regressions-kwnn/ $(KWNN_SEEDS)

# The long campaign (10^8 executions on both cores); new corpus entries go to fuzz/c/corpus.
FUZZ_RUNS ?= 100000000
fuzz: build/fuzz_kwbin
	build/fuzz_kwbin $(FUZZ_FLAGS) -runs=$(FUZZ_RUNS) -artifact_prefix=fuzz/c/regressions/ fuzz/c/corpus $(FUZZ_SEEDS)

PY_FUZZ_RUNS ?= 1000000
fuzz-python: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check atheris==3.0.0
	mkdir -p build/fuzz-python
	$(BIN)/python fuzz/python/fuzz_reader.py -runs=$(PY_FUZZ_RUNS) -max_len=8192 -print_final_stats=1 build/fuzz-python spec/vectors/valid spec/vectors/invalid

# gcc/clang x C99/C11/C++17 x 64/32-bit, and the big-endian hosts under qemu.
matrix: $(STAMP) c
	KWBIN_REQUIRE_CROSS=1 $(BIN)/python -m pytest -q tests/test_c_builds.py tests/test_c_reader.py -k "builds or other_hosts"

# Static checks: pyflakes/bugbear errors everywhere, types in src/.
.PHONY: lint
$(VENV)/.installed-lint: $(STAMP) requirements/lint.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/lint.txt
	touch $@

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check src tests examples fuzz bench spec
	$(BIN)/mypy src/kwbin

# Issue #13's proof: every keras.applications image model (random weights, default
# input size) packed, run by kwbin-run and compared with Keras predict (1e-4 relative);
# a refused model fails here too.  Long: minutes per model.  `make test` runs the small ones.
.PHONY: check-applications
check-applications: $(STAMP) build/kwbin-run
	$(BIN)/python tools/check_applications.py --strict --json build/check-applications.json

# save_model/load_weights against a live tf.keras model (installs TensorFlow, ~600 MB: not in CI).
.PHONY: check-tfkeras
check-tfkeras:
	$(PYTHON) -m venv .venv-tf
	.venv-tf/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/tf.txt
	.venv-tf/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	.venv-tf/bin/python -m pytest -q -p no:cacheprovider tests/test_tf_keras.py

# kwbin's C against keras2c's generated C (bench/bench_peers.py -> bench/results/peers.md): opt-in,
# never in `make test` or CI.  keras2c's C library is not in its wheel: KERAS2C_SRC is a checkout of
# its source (the folder holding include/k2c_include.h).
.PHONY: bench-peers
bench-peers:
	@test -n "$(KERAS2C_SRC)" || { echo "make bench-peers KERAS2C_SRC=<a checkout of keras2c's source>"; exit 2; }
	test -x .venv-tf/bin/python || $(MAKE) check-tfkeras
	.venv-tf/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/peers.txt
	nice -n 10 .venv-tf/bin/python bench/bench_peers.py --keras2c-src $(KERAS2C_SRC)

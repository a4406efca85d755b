# Two entry points for a newcomer (see README.md):
#   make run    set up .venv, build the Cython core, run the main job
#   make test   set up .venv, build the Cython core, run the test suite
# Re-running is fast: the environment is rebuilt only when the dependency
# files change, and build_ext only recompiles changed .pyx files.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
DEPS_STAMP := $(VENV)/.deps-installed
PYX := $(wildcard diffim/_core/*.pyx diffim/_core/*.pxd)
BUILD_STAMP := build/.core-built
MAIN_OUT ?= runs/main

.PHONY: run test benchmark build clean

$(DEPS_STAMP): $(CONSTRAINTS) setup.cfg pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c $(CONSTRAINTS) pip setuptools wheel cython numpy
	$(PY) -m pip install -q -c $(CONSTRAINTS) --no-build-isolation -e '.[test,gen3]'
	touch $@

$(BUILD_STAMP): $(DEPS_STAMP) $(PYX) setup.py
	$(PY) setup.py -q build_ext --inplace
	mkdir -p build && touch $@

build: $(BUILD_STAMP)

run: build
	$(VENV)/bin/diffim main --output-dir $(MAIN_OUT)

test: build
	$(PY) -m pytest -p no:cacheprovider tests

benchmark: build
	$(PY) -m pytest -p no:cacheprovider -o python_files='bench_*.py' benchmarks --benchmark-only --benchmark-columns=median,min,max,rounds

clean:
	rm -rf $(VENV) build diffim/_core/*.c diffim/_core/*.so

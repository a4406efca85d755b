# Two entry points for a newcomer (see README.md):
#   make run    set up .venv, build the Cython core, run the main job: the default
#               validation campaign (gen2 and gen3 on a simulated field, compared)
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
VALIDATION_WORKDIR ?= runs/validation
BASELINE ?= reports/baseline.json
# Two local workers where there are two cores (docs/cost.md: 57-61 s against 70-90 s for one
# on 2 idle cores); one on a single core. The results are the same bits either way.
WORKERS ?= $(shell [ "$$(nproc)" -ge 2 ] && echo 2 || echo 1)

.PHONY: run test benchmark build clean postgresql-server chromium

# pip runs with -qq: errors only. Machines whose pip.conf lists extra package indexes without
# every package (this project's CI) otherwise print a warning per package it looked up there.
# The first line installs what building the core needs (scipy: the kernel fit's solves cimport
# its LAPACK, scipy.linalg.cython_lapack), the second the package built without isolation.
$(DEPS_STAMP): $(CONSTRAINTS) setup.cfg pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq -c $(CONSTRAINTS) pip setuptools wheel cython numpy scipy
	$(PY) -m pip install -qq -c $(CONSTRAINTS) --no-build-isolation -e '.[test,gen3]'
	touch $@

$(BUILD_STAMP): $(DEPS_STAMP) $(PYX) setup.py
	$(PY) setup.py -q build_ext --inplace
	mkdir -p build && touch $@

build: $(BUILD_STAMP)

run: build
	$(VENV)/bin/diffim-validate run default --workdir $(VALIDATION_WORKDIR) --baseline $(BASELINE) \
	  --workers $(WORKERS)

# The tests start throwaway clusters of Debian's PostgreSQL server (tests/_postgres.py);
# the set-up installs the server when the machine does not have it.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgresql-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  { $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The report's browser test renders it in Debian's headless Chromium (tests/_browser.py).
chromium:
	@command -v chromium >/dev/null || \
	  { $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The suite runs in one worker process per core (at most 4), a test file per worker at a time
# (--dist loadfile keeps a module's fixtures in one process); the slowest tests are listed at the end.
test: build postgresql-server chromium
	$(PY) -m pytest -p no:cacheprovider -n auto --maxprocesses 4 --dist loadfile --durations 15 tests

benchmark: build
	$(PY) -m pytest -p no:cacheprovider -o python_files='bench_*.py' benchmarks --benchmark-only --benchmark-columns=median,min,max,rounds

clean:
	rm -rf $(VENV) build diffim/_core/*.c diffim/_core/*.so

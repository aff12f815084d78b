# minigrad: the two commands a newcomer runs are `make demo` and `make test`.
# Everything installs into .venv, so a fresh machine needs only python3 and a C compiler.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Kernel threads and BLAS threads are set explicitly so pools do not fight over the 2 cores.
THREADS ?= 2
export OMP_NUM_THREADS ?= $(THREADS)
export OPENBLAS_NUM_THREADS ?= $(THREADS)
export MKL_NUM_THREADS ?= $(THREADS)

.PHONY: all venv build test test-debug demo bench clean

all: build

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77" wheel "Cython>=3.0" "numpy>=2.0"

venv: $(PY)

# Editable install builds the Cython extensions in place (minigrad/_ops/*.so). Python edits are
# live; the stamp reruns the build only when a kernel source or the build configuration changes.
STAMP := $(VENV)/.minigrad-built
$(STAMP): $(PY) setup.py pyproject.toml $(wildcard minigrad/_ops/*.pyx minigrad/_ops/*.pxi minigrad/_ops/*.pxd)
	$(PIP) install -q --no-build-isolation -e '.[test,examples,bench]'
	touch $@

build: $(STAMP)

# The whole suite under the compiled kernels, then again under the numpy reference kernels. The
# second pass deselects (-m: not run, not reported as skipped) the tests marked compiled_only: they
# pick the compiled kernels themselves (tests/_ops/test_differential.py compares them with their
# numpy twins; the 2,000-step memory test measures them), so a second run would only repeat them.
test: build
	$(PY) -m pytest -q -p no:cacheprovider tests
	MINIGRAD_KERNELS=numpy $(PY) -m pytest -q -p no:cacheprovider -m "not compiled_only" tests

# Bounds-checked build (MINIGRAD_CYTHON_DEBUG=1: boundscheck, wraparound, initializedcheck, -O0 -g)
# on the compiled kernels (the default backend; no numpy pass), then a normal rebuild (setup.py notices the mode switch and
# regenerates every .c). By default it runs the tests that drive the kernels: tests/_ops (with the
# differential fuzzing), tests/nn, tests/functional and the crash suite (~1/3 of the suite's
# time). DEBUG_TESTS=tests runs the whole suite (it passes; ~3x longer). CI (.ci/run) runs the
# default subset after `make test`, with KEEP_DEBUG_BUILD=1 to skip the rebuild, so a fresh-clone
# run stays under ~9.5 minutes.
DEBUG_TESTS ?= tests/_ops tests/nn tests/functional tests/test_crash_suite.py
test-debug: venv
	MINIGRAD_CYTHON_DEBUG=1 $(PIP) install -q --no-build-isolation -e '.[test,examples,bench]'
	rm -f $(STAMP)
	$(PY) -c "from minigrad._ops._build_info import BUILD_INFO as b; assert b['debug'], 'not a debug build'"
	$(PY) -m pytest -q -p no:cacheprovider $(DEBUG_TESTS)
	$(if $(KEEP_DEBUG_BUILD),,$(MAKE) build)

# Passive OpenMP waiting: when other processes share the cores, threads spinning at the kernels'
# barriers made training ~10x slower (measured on a 2-core Zen 3); sleeping costs little when idle.
demo: build
	OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-passive} $(PY) examples/demo.py

bench: build
	$(PY) -m benchmarks $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf build dist *.egg-info minigrad/_ops/*.c minigrad/_ops/*.so minigrad/_ops/_build_info.py $(STAMP)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

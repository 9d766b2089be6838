# devicepair - the front door. Every path and tool is overridable: make test PYTHON=python3.11
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MICROPYTHON ?= $(VENV)/bin/micropython
PORT ?= /dev/ttyUSB0
BOARD ?= esp32
FIRMWARE ?=
PYTEST_ARGS ?=

.PHONY: setup test test-cpython test-micropython bench deploy flash provision sim demo lint clean

setup: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; fi
	@touch $@

# Both interpreters: CPython tests, then every host_tests/both test again under MicroPython.
test: setup
	MICROPYTHON=$(MICROPYTHON) $(PY) -m pytest host_tests -q $(PYTEST_ARGS)

test-cpython: setup
	$(PY) -m pytest host_tests -q --ignore=host_tests/test_micropython.py $(PYTEST_ARGS)

test-micropython: setup
	MICROPYTHON=$(MICROPYTHON) $(PY) -m pytest host_tests/test_micropython.py -q $(PYTEST_ARGS)

bench: setup
	$(PY) tools/bench/run.py

lint: setup
	$(VENV)/bin/ruff check lib firmware boards tools host_tests

clean:
	rm -rf build sim-out .pytest_cache

# devicepair - the front door. Every path and tool is overridable: make test PYTHON=python3.11
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MICROPYTHON ?= $(VENV)/bin/micropython
PORT ?= /dev/ttyUSB0
BOARD ?= esp32
FIRMWARE ?=
ARCH ?=
CONFIG ?= config.json
PROVISION_ARGS ?=
PYTEST_ARGS ?=
SIM_ARGS ?=
LOGIN_ARGS ?=
TASK ?=
PROXY_ISSUER ?=
PROXY_CLIENT_ID ?=
PROXY_ARGS ?=
BENCH_PROXY_ARGS ?=

.PHONY: setup test test-cpython test-micropython bench deploy flash provision package sim demo login \
	proxy bench-proxy lint clean

setup: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt requirements-stubs.txt tools/interop/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	rm -rf $(VENV)/typings
	$(PY) -m pip install -q --no-deps --target $(VENV)/typings -r requirements-stubs.txt
	npm ci --prefix tools/interop --no-audit --no-fund
	@touch $@

# Both interpreters: CPython tests, then every host_tests/both test again under MicroPython.
test: setup
	MICROPYTHON=$(abspath $(MICROPYTHON)) $(PY) -m pytest host_tests -q $(PYTEST_ARGS)

test-cpython: setup
	$(PY) -m pytest host_tests -q --ignore=host_tests/test_micropython.py $(PYTEST_ARGS)

test-micropython: setup
	MICROPYTHON=$(abspath $(MICROPYTHON)) $(PY) -m pytest host_tests/test_micropython.py -q $(PYTEST_ARGS)

bench: setup
	$(PY) tools/bench/run.py

# 1,000 pair/refresh/unpair cycles in one MicroPython process (make test runs 150).
SOAK_CYCLES ?= 1000
.PHONY: soak
soak: setup
	SOAK_CYCLES=$(SOAK_CYCLES) MICROPYTHON=$(abspath $(MICROPYTHON)) $(PY) -m pytest \
		host_tests/test_soak.py -q -s $(PYTEST_ARGS)

# Board tools: see README "First pairing". Add DRY_RUN=1 to print the commands only.
deploy: setup
	$(PY) tools/deploy.py --port $(PORT) --board $(BOARD) $(if $(ARCH),--arch $(ARCH)) \
		$(foreach t,$(TASK),--task $(t)) \
		$(if $(wildcard $(CONFIG)),--config $(CONFIG)) $(if $(DRY_RUN),--dry-run)

flash: setup
	@test -n "$(FIRMWARE)" || \
		{ echo "usage: make flash BOARD=esp32 PORT=... FIRMWARE=file.bin|.uf2"; exit 2; }
	$(PY) tools/flash.py --board $(BOARD) --port $(PORT) --firmware $(FIRMWARE) \
		$(if $(DRY_RUN),--dry-run)

provision: setup
	$(PY) tools/provision.py --out $(CONFIG) $(if $(filter-out /dev/ttyUSB0,$(PORT)),--port $(PORT)) \
		$(PROVISION_ARGS)

# Without hardware (docs/simulator.md): the firmware on the simulator board against the local
# authorization server. sim: Enter presses the button, Ctrl-C stops. demo: pairs on its own.
sim: setup
	MICROPYTHON=$(abspath $(MICROPYTHON)) $(PY) tools/sim.py sim $(SIM_ARGS)

demo: setup
	MICROPYTHON=$(abspath $(MICROPYTHON)) $(PY) tools/sim.py demo $(SIM_ARGS)

# Pair from this machine with the board's own code: checks client id, scopes, provider.
login: setup
	$(PY) tools/login.py --config $(CONFIG) $(LOGIN_ARGS)

# The device-flow proxy (README "Device-flow proxy", tools/deviceproxy/README.md) in front of
# an authorization-code server: make proxy PROXY_ISSUER=https://login.example.com
# PROXY_CLIENT_ID=fleet PROXY_ARGS="--public-url https://pair.example.com --store redis://..."
# (the upstream client secret, if any, in $$DEVICEPROXY_CLIENT_SECRET or --client-secret-file).
proxy: setup
	@test -n "$(PROXY_ISSUER)$(PROXY_ARGS)" -a -n "$(PROXY_CLIENT_ID)$(PROXY_ARGS)" || { \
		echo "usage: make proxy PROXY_ISSUER=https://issuer PROXY_CLIENT_ID=id [PROXY_ARGS=...]"; \
		echo "       (every option: $(PY) -m tools.deviceproxy --help)"; exit 2; }
	$(PY) -m tools.deviceproxy $(if $(PROXY_ISSUER),--issuer $(PROXY_ISSUER)) \
		$(if $(PROXY_CLIENT_ID),--client-id $(PROXY_CLIENT_ID)) $(PROXY_ARGS)

# Load figures for the proxy (not part of make test): 1,000 devices pairing at once, Redis
# (two instances) and SQLite (one), e.g. BENCH_PROXY_ARGS="--devices 200 --interval 1".
bench-proxy: setup
	$(PY) tools/deviceproxy/loadbench.py $(BENCH_PROXY_ARGS)

package: setup
	$(PY) tools/check_packaging.py --write

# ruff everywhere; pyright on lib/ and boards/ against the board stubs (pyrightconfig.json;
# run .venv/bin/pyright alone to see the warnings of its narrowed files too)
lint: setup
	$(VENV)/bin/ruff check lib firmware boards tools host_tests
	$(VENV)/bin/pyright --level error

clean:
	rm -rf build sim-out .pytest_cache

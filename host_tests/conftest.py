"""Shared pytest set-up: import paths, the MicroPython binary, the scripted server."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIB = os.path.join(ROOT, "lib")
BOTH = os.path.join(HERE, "both")
SUPPORT = os.path.join(HERE, "support")
EXAMPLES = os.path.join(ROOT, "firmware", "examples")  # the example tasks, imported by name
FIRMWARE = os.path.join(ROOT, "firmware")  # main.py, imported as ``main`` by test_main

for p in (LIB, SUPPORT, BOTH, HERE, ROOT, EXAMPLES, FIRMWARE):
    if p not in sys.path:
        sys.path.insert(0, p)


# The one builder and tool finder (tools/build.py): lib at deploy's -O3, tests at -O0.
from tools.build import (OPT, TEST_OPT, compile_file, compile_tree,  # noqa: E402,F401
                         micropython_bin, mpy_cross_bin)

_MPY_DIR = None


def bench_run():
    """tools/bench/run.py as a module, imported once per pytest process: test_bench and
    test_board_budget drive its own run_once and min_heap."""
    import importlib

    return importlib.import_module("tools.bench.run")


def mp_path():
    """A MICROPYPATH of precompiled .mpy: lib, test support and the both-interpreter tests.

    Boards run .mpy too, and a 64 KB heap cannot compile the larger modules from source.
    lib/ and boards/ are compiled as deploy ships them (-O3); test code at -O0, which keeps
    its asserts. Built once per pytest process into a private temp dir.
    """
    global _MPY_DIR
    if _MPY_DIR is None:
        import tempfile

        d = tempfile.mkdtemp(prefix="devicepair-mpy-")
        compile_tree(LIB, d, OPT)
        compile_tree(SUPPORT, d, TEST_OPT)
        compile_tree(BOTH, d, TEST_OPT)
        compile_tree(EXAMPLES, d, OPT)
        compile_file(os.path.join(FIRMWARE, "main.py"), os.path.join(d, "main.mpy"), "main.py")
        compile_tree(os.path.join(ROOT, "boards"), os.path.join(d, "boards"), OPT)
        _MPY_DIR = d
    return _MPY_DIR + ":.frozen"


@pytest.fixture(scope="session", autouse=True)
def scripted_server():
    """One scripted HTTP server and one fake NTP server for the session; both-interpreter
    tests find them through the environment."""
    from scripted_server import ScriptedServer

    from fake_ntp import FakeNTP

    srv = ScriptedServer().start()
    ntp = FakeNTP().start()
    os.environ["DEVICEPAIR_TEST_SERVER"] = srv.url
    os.environ["DEVICEPAIR_TEST_NTP_PORT"] = str(ntp.port)
    yield srv
    srv.stop()
    ntp.stop()


@pytest.fixture(scope="session", autouse=True)
def provider_fakes():
    """Local fakes of every provider preset (host_tests/support/provider_fakes.py); tests on
    both interpreters find them through DEVICEPAIR_FAKE_<NAME> (AUTH0, ENTRA, GOOGLE, ...)."""
    import provider_fakes as pf

    fakes, env = pf.start_all()
    os.environ.update(env)
    yield {type(f).name: f for f in fakes}
    pf.stop_all(fakes)


@pytest.fixture(scope="session", autouse=True)
def fault_server(tmp_path_factory):
    """The fault-injection server (host_tests/support/faultserver.py) for the session; tests
    on both interpreters find it through DEVICEPAIR_FAULT_SERVER / _TLS / _CA."""
    from faultserver import FaultServer

    srv = FaultServer().start()
    os.environ.update(srv.env(str(tmp_path_factory.mktemp("faults") / "ca.der")))
    yield srv
    srv.stop()

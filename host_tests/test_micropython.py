"""Every test in host_tests/both, run again under the real MicroPython interpreter.

Each module runs once in a ``micropython -X heapsize=64K`` subprocess (board-sized heap);
each of its test functions becomes one pytest item here, so the counts show in the output.
"""

import ast
import os
import subprocess

import pytest

from conftest import BOTH, micropython_bin, mp_path

HEAP = "72K"  # default (64-bit build: ~48 KB on a 32-bit board); a module may set MP_HEAP = "96K"
# with a comment saying why
_results = {}
_heaps = {}


def _discover():
    items = []
    for fn in sorted(os.listdir(BOTH)):
        if fn.startswith("test_") and fn.endswith(".py"):
            with open(os.path.join(BOTH, fn)) as f:
                tree = ast.parse(f.read())
            mod = fn[:-3]
            for node in tree.body:
                target = getattr(node.targets[0], "id", "") if isinstance(node, ast.Assign) else ""
                if target == "MP_HEAP":
                    _heaps[mod] = node.value.value
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                    items.append((mod, node.name))
    return items


def _run_module(mod):
    if mod not in _results:
        env = dict(os.environ)
        env["MICROPYPATH"] = mp_path()
        p = subprocess.run(
            [micropython_bin(), "-X", "heapsize=" + _heaps.get(mod, HEAP), "-m", "mprunner", mod],
            env=env, capture_output=True, text=True, timeout=300, cwd=BOTH,
        )
        _results[mod] = p
    return _results[mod]


@pytest.mark.parametrize("mod,name", _discover(), ids=lambda v: v)
def test_on_micropython(mod, name):
    p = _run_module(mod)
    out = p.stdout + p.stderr
    if ("FAIL %s.<import>" % mod) in out:
        pytest.fail("import failed under MicroPython:\n" + out[-3000:])
    if ("PASS %s.%s" % (mod, name)) not in p.stdout.splitlines():
        pytest.fail("under MicroPython:\n" + out[-4000:])

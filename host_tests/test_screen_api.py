"""The app's screen calls against the written Screen interface (CPython: reads the source).

Tee and every screen forward or draw only what devicepair.screen.Screen defines, so a method
the app calls but the base lacks would fail at run time on some path a test may not reach.
This reads every ``self.screen.X(...)`` in app.py (and ``screen.X`` in firmware/main.py) and
checks that X is a Screen method - the same names, found before a board ever runs them.
"""

import ast
import inspect
import os

from devicepair.screen import Screen, Tee
from devicepair.screen_oled import OledScreen
from devicepair.screen_serial import SerialScreen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _screen_calls(path, holder):
    with open(os.path.join(ROOT, path)) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Attribute, ast.Name)):
            v = node.value
            name = v.attr if isinstance(v, ast.Attribute) else v.id
            if name == holder:
                found.add(node.attr)
    return found


def test_the_app_calls_only_screen_methods():
    api = {n for n, _ in inspect.getmembers(Screen, inspect.isfunction) if n[0] != "_"}
    used = _screen_calls("lib/devicepair/app.py", "screen")
    assert {"pairing", "countdown", "paired", "error"} <= used  # the walk finds calls
    assert used <= api, sorted(used - api)
    assert _screen_calls("firmware/main.py", "screen") <= api


def test_screens_keep_the_base_signatures():
    # A screen may accept more, never less: each base call must bind to the override.
    for cls in (OledScreen, SerialScreen, Tee):
        for n, fn in inspect.getmembers(Screen, inspect.isfunction):
            if n[0] == "_":
                continue
            base = inspect.signature(fn)
            args = [p.name for p in base.parameters.values()]
            inspect.signature(getattr(cls, n)).bind(*args)  # TypeError if it does not fit

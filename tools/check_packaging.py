#!/usr/bin/env python3
"""Check (or rewrite) package.json and manifest.py against lib/devicepair.

The version has one source of truth, ``__version__`` in lib/devicepair/__init__.py. Both
packaging files repeat it because neither can compute it: mip reads package.json as plain
JSON, and manifest.py is run by MicroPython's freezing tools, which give it no path to read
the package from. So this check runs in the tests, and ``--write`` regenerates them:

* package.json (``mpremote mip install github:OWNER/REPO``): "urls" has exactly one entry per
  .py file under lib/devicepair, ``["devicepair/x.py", "lib/devicepair/x.py"]`` - relative
  URLs, resolved by mip against the package.json location, so any fork or branch works and
  ``mpremote mip install ./package.json`` installs from a checkout - "version" equals
  ``__version__``, and "deps" names every package manifest.py requires (``["ssd1306",
  "latest"]``: mip fetches it from its index), so ``mip install`` pulls the OLED driver too.
  Other "deps" are kept as they are.
* manifest.py (``FROZEN_MANIFEST=.../manifest.py``): ``metadata(version=...)`` equals
  ``__version__``, ``package("devicepair", base_path="lib", opt=3)`` and ``require("ssd1306")``
  are present (manifest.py is executed here with stand-in functions, as the freezer does).

Exit status: 0 consistent (or rewritten), 1 problems listed on stderr.
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = "devicepair"
_VERSION_RE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)
_META_RE = re.compile(r"""(^metadata\(.*?\bversion\s*=\s*)["']([^"']*)["']""", re.S | re.M)


def version(root=ROOT):
    with open(os.path.join(root, "lib", PKG, "__init__.py")) as f:
        m = _VERSION_RE.search(f.read())
    if not m:
        raise ValueError("lib/%s/__init__.py has no __version__ = \"...\"" % PKG)
    return m.group(1)


def modules(root=ROOT):
    """Every .py under lib/devicepair, relative to lib/ ("devicepair/x.py"), sorted."""
    top = os.path.join(root, "lib")
    out = []
    for dirpath, dirnames, files in os.walk(os.path.join(top, PKG)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in files:
            if fn.endswith(".py"):
                out.append(os.path.relpath(os.path.join(dirpath, fn), top).replace(os.sep, "/"))
    return sorted(out)


def requires(root=ROOT):
    """The packages manifest.py require()s, in order (what package.json "deps" must name)."""
    return [c[1][0] for c in run_manifest(os.path.join(root, "manifest.py"))
            if c[0] == "require" and c[1]]


def expected_package_json(root=ROOT, deps=None):
    d = {"urls": [[m, "lib/" + m] for m in modules(root)], "version": version(root)}
    deps = list(deps or [])
    for name in requires(root):
        if name not in [dep[0] for dep in deps if isinstance(dep, list) and dep]:
            deps.append([name, "latest"])
    if deps:
        d["deps"] = deps
    return d


def format_package_json(d):
    """Stable, diff-friendly JSON: one "urls" entry per line."""
    lines = ["{", '  "urls": [']
    urls = d["urls"]
    for i, pair in enumerate(urls):
        lines.append("    " + json.dumps(pair) + ("," if i < len(urls) - 1 else ""))
    lines.append("  ],")
    rest = [k for k in d if k != "urls"]
    for i, k in enumerate(rest):
        lines.append("  %s: %s%s" % (json.dumps(k), json.dumps(d[k]),
                                     "," if i < len(rest) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def run_manifest(path):
    """Execute manifest.py with stand-ins for the freezer's functions; returns the calls."""
    calls = []

    def rec(name):
        return lambda *a, **k: calls.append((name, a, k))

    env = {n: rec(n) for n in ("metadata", "package", "module", "require", "include",
                               "freeze", "add_library", "options")}
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), env)
    return calls


def check(root=ROOT):
    """A list of problems (empty when package.json and manifest.py match lib/devicepair)."""
    problems = []
    ver = version(root)
    pj = os.path.join(root, "package.json")
    try:
        with open(pj) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        return ["package.json unreadable: %s" % e]
    if d.get("version") != ver:
        problems.append("package.json version %r != __version__ %r" % (d.get("version"), ver))
    urls = d.get("urls")
    if not isinstance(urls, list) or not all(isinstance(u, list) and len(u) == 2 for u in urls):
        problems.append('package.json "urls" must be a list of [target, url] pairs')
        urls = []
    targets = [u[0] for u in urls]
    want = modules(root)
    for t in sorted(set(want) - set(targets)):
        problems.append("package.json lacks %s" % t)
    for t in sorted(set(targets) - set(want)):
        problems.append("package.json lists %s, which is not in lib/" % t)
    for t in sorted(set(t for t in targets if targets.count(t) > 1)):
        problems.append("package.json lists %s twice" % t)
    for t, url in urls:
        if t in want and url != "lib/" + t:
            problems.append("package.json url for %s is %r, expected %r" % (t, url, "lib/" + t))
    deps = d.get("deps", [])
    if not isinstance(deps, list) or not all(isinstance(x, list) and len(x) == 2 and
                                             all(isinstance(v, str) for v in x) for x in deps):
        problems.append('package.json "deps" must be a list of [package, version] pairs')
        deps = []
    mf = os.path.join(root, "manifest.py")
    try:
        calls = run_manifest(mf)
    except Exception as e:  # any error in manifest.py is a problem to report
        return problems + ["manifest.py failed: %s: %s" % (type(e).__name__, e)]
    meta = [k for n, _, k in calls if n == "metadata"]
    if len(meta) != 1 or meta[0].get("version") != ver:
        problems.append("manifest.py metadata version %r != __version__ %r"
                        % (meta[0].get("version") if meta else None, ver))
    if ("package", (PKG,), {"base_path": "lib", "opt": 3}) not in calls:
        problems.append('manifest.py lacks package("%s", base_path="lib", opt=3)' % PKG)
    if not [c for c in calls if c[0] == "require" and c[1][:1] == ("ssd1306",)]:
        problems.append('manifest.py lacks require("ssd1306")')
    for c in calls:
        if c[0] == "require" and c[1] and c[1][0] not in [x[0] for x in deps]:
            problems.append('package.json "deps" lacks %s (manifest.py requires it)' % c[1][0])
    return problems


def write(root=ROOT):
    """Regenerate package.json and the version in manifest.py from lib/devicepair."""
    pj = os.path.join(root, "package.json")
    deps = None
    if os.path.exists(pj):
        with open(pj) as f:
            deps = json.load(f).get("deps")
    with open(pj, "w") as f:
        f.write(format_package_json(expected_package_json(root, deps)))
    mf = os.path.join(root, "manifest.py")
    with open(mf) as f:
        text = f.read()
    new, n = _META_RE.subn(lambda m: m.group(1) + '"%s"' % version(root), text, count=1)
    if n != 1:
        raise ValueError("manifest.py has no metadata(version=...) to update")
    if new != text:
        with open(mf, "w") as f:
            f.write(new)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true",
                    help="rewrite package.json and manifest.py's version from lib/devicepair")
    ap.add_argument("--root", default=ROOT, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.write:
        write(a.root)
    problems = check(a.root)
    for p in problems:
        print("check_packaging: " + p, file=sys.stderr)
    if problems:
        print("check_packaging: run `python tools/check_packaging.py --write` after adding or "
              "removing a module or changing __version__", file=sys.stderr)
        return 1
    print("check_packaging: package.json and manifest.py match lib/%s (%d modules, version %s)"
          % (PKG, len(modules(a.root)), version(a.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

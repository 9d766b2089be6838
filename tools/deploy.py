#!/usr/bin/env python3
"""Precompile lib/ and firmware/ with mpy-cross and copy them to a board with mpremote.

What lands where on the board (remote paths):

    lib/devicepair/x.py     -> /lib/devicepair/x.mpy   (every .py under lib/, layout kept)
    firmware/boot.py        -> /boot.py                (stays source: MicroPython runs it by name)
    firmware/main.py        -> /main.py                (stays source, copied last)
    firmware/other.py       -> /other.mpy              (any other firmware module compiles)
    boards/<BOARD>.py       -> /board.py               (--board; source, so pins can be edited
                                                        on the board; main.py does `import board`)
    --config FILE           -> /config.json            (checked first by lib/devicepair code)
    its "ca_file" (ca.der)  -> /ca.der                 (the file named there, next to FILE)
    ssd1306 driver          -> /lib/ssd1306.mpy        (`mpremote mip install ssd1306`, skipped
                                                        when already there or with --no-ssd1306)

Every mpremote call is ``mpremote connect PORT resume ...``: `resume` never soft-resets the
board (a soft reset in raw REPL would end the unix-port virtual board used by the tests; on a
real board it is harmless). One probe call first reads /, /lib and the package directories, so
only missing directories are created, ``.py`` files that would shadow a new ``.mpy`` (MicroPython
imports ``x.py`` before ``x.mpy``) and modules no longer in lib/ are removed, and an installed
ssd1306 driver is left alone. mpremote skips files whose SHA-256 already matches ("Up to date").

``--dry-run`` prints every command (probe, mpy-cross, mpremote) as it would run on an empty
board, and runs nothing. Exit status: 0 done, 1 a command failed, 2 bad arguments.
"""

import argparse
import ast
import json
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.append(ROOT)
from tools import build  # noqa: E402  (the one .mpy builder and tool finder)

find_tool = build.find_tool
KEEP_SOURCE = ("boot.py", "main.py")  # top-level firmware files MicroPython runs by name
SSD1306 = ("ssd1306.mpy", "ssd1306.py")
# --arch accepts a board name or an mpy-cross -march value; it only matters for native code.
BOARD_ARCH = {"esp32": "xtensawin", "esp32s3": "xtensawin", "esp32c3": "rv32imc",
              "picow": "armv6m"}
MARCHES = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
           "xtensa", "xtensawin", "rv32imc", "rv64imc")


class Plan:
    """Files to compile and copy, computed from the source tree (no board needed)."""

    def __init__(self):
        self.compile = []  # (src, staged .mpy, source name embedded in the .mpy)
        self.copies = []  # (local file, remote path)

    def remote_dirs(self):
        """Every remote directory that receives a file, parents first ("/" left out)."""
        dirs = set()
        for _, remote in self.copies:
            d = remote.rsplit("/", 1)[0]
            while d:
                dirs.add(d)
                d = d.rsplit("/", 1)[0]
        return sorted(dirs, key=lambda d: (d.count("/"), d))


def shown(path):
    """``path`` relative to the current directory when it lies below it (shorter commands)."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def make_plan(lib_dir, fw_dir, build_dir, board_file=None, config=None, ca=None, tasks=()):
    plan = Plan()
    late = []
    for rel in build.py_files(lib_dir) if os.path.isdir(lib_dir) else []:
        staged = os.path.join(build_dir, "lib", rel[:-3] + ".mpy")
        plan.compile.append((os.path.join(lib_dir, rel), staged, rel))
        plan.copies.append((staged, "/lib/" + rel[:-3] + ".mpy"))
    fw_files = build.py_files(fw_dir) if os.path.isdir(fw_dir) else []
    fw = [(os.path.join(fw_dir, rel), rel) for rel in fw_files if not rel.startswith("examples/")]
    fw += [(t, os.path.basename(t)) for t in tasks]  # your task module(s): /<name>.mpy
    for src, rel in fw:
        if rel in KEEP_SOURCE:
            late.append((src, "/" + rel))
        else:
            staged = os.path.join(build_dir, "fw", rel[:-3] + ".mpy")
            plan.compile.append((src, staged, rel))
            plan.copies.append((staged, "/" + rel[:-3] + ".mpy"))
    if board_file:
        plan.copies.append((board_file, "/board.py"))
    if config:
        plan.copies.append((config, "/config.json"))
    if ca:
        plan.copies.append((ca[0], ca[1]))
    plan.copies.extend(sorted(late))  # boot.py, main.py last: never a new main with old libs
    return plan


def mpy_cross_argv(mpy_cross, src, staged, name, march=None):
    return build.mpy_cross_argv(src, staged, name, build.OPT, march, mpy_cross)


# Runs on the board, one line so --dry-run prints one command per line: {dir: [entries] or
# None}, directories marked with "/". Parents are listed first; a child is only listed when
# its parent shows it, so a missing directory never raises (no try: in a one-liner).
PROBE = ('import os;R={};[R.__setitem__(d,[e[0]+("/" if e[1]&0x4000 else "") for e in '
         'os.ilistdir(d)] if d=="/" or d.rsplit("/",1)[1]+"/" in (R.get(d.rsplit("/",1)[0] '
         'or "/") or ()) else None) for d in %s];print(repr(R))')


def probe_code(dirs):
    return PROBE % ("[" + ",".join('"%s"' % d for d in dirs) + "]")


def parse_probe(text):
    """{dir: [names] or None when missing} from the PROBE output."""
    for line in text.splitlines():
        if line.startswith("{"):
            return ast.literal_eval(line.strip())
    return {}


def board_steps(plan, listing, ssd1306, lib_pkgs):
    """mpremote argument lists (after ``connect PORT resume``) for what the board lacks.

    ``listing`` maps a remote dir to its entries (None: missing); a dir absent from it is
    treated as missing. ``lib_pkgs`` are the /lib/<pkg> directories this deploy owns.
    """
    steps = []
    dirs = plan.remote_dirs()
    mk = [d for d in dirs if listing.get(d) is None]
    if mk:
        steps.append(_chain([["fs", "mkdir", ":" + d] for d in mk]))
    by_dir = {}
    for local, remote in plan.copies:
        d, name = remote.rsplit("/", 1)
        by_dir.setdefault(d or "/", []).append((local, name))
    stale = []
    for d, files in sorted(by_dir.items()):
        have = listing.get(d) or []
        names = set(n for _, n in files)
        owned = d in lib_pkgs or any(d.startswith(p + "/") for p in lib_pkgs)
        for entry in sorted(have):
            if entry.endswith("/"):
                continue
            shadow = entry.endswith(".py") and entry[:-3] + ".mpy" in names
            obsolete = owned and entry.endswith((".py", ".mpy")) and entry not in names
            if shadow or obsolete:
                stale.append(["fs", "rm", ":" + _join(d, entry)])
    if stale:
        steps.append(_chain(stale))
    for d, files in sorted(by_dir.items()):
        if d != "/":
            steps.append(["fs", "cp"] + [local for local, _ in files] + [":" + d + "/"])
    if ssd1306:
        steps.append(["mip", "install", "ssd1306"])
    if "/" in by_dir:
        steps.append(_chain([["fs", "cp", local, ":/" + name] for local, name in by_dir["/"]]))
    return steps


def _join(d, name):
    return d.rstrip("/") + "/" + name


def _chain(cmds):
    out = []
    for c in cmds:
        if out:
            out.append("+")
        out.extend(c)
    return out


def load_checked_config(path):
    """The config's ca_file (or None) after checking ``path`` with the board's own code
    (config.Config.from_dict and providers.resolve, as tools/provision.py does); a one-line
    ValueError says what is wrong."""
    if HERE not in sys.path:
        sys.path.append(HERE)
    import provision  # the same validation as `make provision`

    try:
        with open(path, "rb") as f:
            d = json.loads(f.read().decode("utf-8"))
    except OSError as e:
        raise ValueError("cannot read %s: %s" % (path, e.strerror or e))
    except ValueError as e:  # JSON and UTF-8 errors
        raise ValueError("%s is not valid JSON: %s" % (path, e))
    try:
        provision.validate(d)
    except provision.ConfigError as e:
        raise ValueError("%s refused: %s" % (path, e))
    return d.get("ca_file")


class Runner:
    """Runs (or, on a dry run, prints) commands; mpremote's output is shown as it comes."""

    def __init__(self, dry, out=print):
        self.dry = dry
        self.out = out

    def run(self, argv, capture=False, echo=True, show=True):
        if self.dry or echo:
            self.out(shlex.join(argv))
        if self.dry:
            return ""
        if not capture:
            p = subprocess.run(argv)
            text = ""
        else:
            text = []
            with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as p:
                for line in p.stdout:
                    text.append(line)
                    if show:
                        sys.stdout.write(line)
                        sys.stdout.flush()
            text = "".join(text)
        if p.returncode:
            raise RuntimeError("command failed (exit %d): %s" % (p.returncode, shlex.join(argv)))
        return text

    def compile_all(self, argvs):
        """mpy-cross runs in parallel (one process per module); the first failure is raised."""
        if self.dry:
            for argv in argvs:
                self.out(shlex.join(argv))
            return
        build.compile_all(argvs)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Compile lib/ and firmware/ with mpy-cross -O3 and copy them to the board "
        "with `mpremote connect PORT resume` (see the module docstring for every remote path).",
        epilog="Remote layout: lib/devicepair/x.py -> /lib/devicepair/x.mpy; firmware/boot.py "
        "and main.py -> /boot.py, /main.py (source); other firmware modules -> /<name>.mpy; "
        "--board NAME copies boards/NAME.py to /board.py (main.py imports `board`); --config "
        "copies FILE to /config.json and its ca_file (e.g. ca.der) to /ca.der.")
    ap.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    ap.add_argument("--dry-run", action="store_true", help="print every command, run none")
    ap.add_argument("--arch", help="mpy-cross -march (xtensawin, rv32imc, armv6m, ...) or a "
                    "board name (esp32, esp32s3 -> xtensawin; esp32c3 -> rv32imc; picow -> "
                    "armv6m); only native code needs it")
    ap.add_argument("--board", help="copy boards/BOARD.py to /board.py")
    ap.add_argument("--config", help="config.json to copy (checked first), with its ca_file")
    ap.add_argument("--task", action="append", default=[], metavar="FILE.py",
                    help="your task module (config.json \"task\"), copied as /NAME.mpy; "
                    "firmware/examples/ are not deployed unless named here")
    ap.add_argument("--no-ssd1306", action="store_true",
                    help="do not install the ssd1306 OLED driver with mip")
    ap.add_argument("--lib", default=os.path.join(ROOT, "lib"), help=argparse.SUPPRESS)
    ap.add_argument("--firmware", default=os.path.join(ROOT, "firmware"), help=argparse.SUPPRESS)
    ap.add_argument("--boards", default=os.path.join(ROOT, "boards"), help=argparse.SUPPRESS)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "deploy"),
                    help="where the .mpy files are written (default build/deploy)")
    a = ap.parse_args(argv)

    def fail(msg, code=2):
        print("deploy: " + msg, file=sys.stderr)
        return code

    march = None
    if a.arch:
        march = BOARD_ARCH.get(a.arch, a.arch)
        if march not in MARCHES:
            return fail("unknown --arch %r (board names: %s; or one of: %s)"
                        % (a.arch, ", ".join(sorted(BOARD_ARCH)), ", ".join(MARCHES)))
    board_file = None
    if a.board:
        board_file = os.path.join(a.boards, a.board + ".py")
        if not os.path.isfile(board_file):
            have = sorted(f[:-3] for f in os.listdir(a.boards) if f.endswith(".py")) \
                if os.path.isdir(a.boards) else []
            return fail("no board %r (boards/: %s)" % (a.board, ", ".join(have) or "none"))
    ca = None
    if a.config:
        try:
            ca_file = load_checked_config(a.config)
        except ValueError as e:
            return fail(str(e))
        if ca_file:
            local = os.path.join(os.path.dirname(os.path.abspath(a.config)), ca_file)
            if not os.path.isfile(local):
                return fail("%s names ca_file %r but %s does not exist (tools/pem2der.py "
                            "makes it)" % (a.config, ca_file, local))
            ca = (local, "/" + ca_file.lstrip("/"))

    mpy_cross = build.mpy_cross_bin()
    mpremote = build.mpremote_bin()
    base = [mpremote, "connect", a.port, "resume"]
    plan = make_plan(shown(a.lib), shown(a.firmware), shown(a.build_dir),
                     board_file and shown(board_file), a.config and shown(a.config),
                     ca and (shown(ca[0]), ca[1]), [shown(t) for t in a.task])
    for t in a.task:
        if not (t.endswith(".py") and os.path.isfile(t)):
            return fail("--task %s: not a .py file" % t)
    if not plan.copies:
        return fail("nothing to deploy (no .py files under %s or %s)" % (a.lib, a.firmware))
    # /lib/<pkg> directories are ours alone: modules gone from lib/<pkg> are removed there.
    lib_pkgs = [d for d in plan.remote_dirs() if d.count("/") == 2 and d.startswith("/lib/")]
    probe_dirs = plan.remote_dirs()
    if "/" not in probe_dirs:
        probe_dirs = ["/"] + probe_dirs
    if "/lib" not in probe_dirs:
        probe_dirs.append("/lib")
    want_ssd = not a.no_ssd1306
    r = Runner(a.dry_run)

    try:
        # 1. compile (no board touched until everything compiled)
        if a.dry_run:
            r.out("# compile %d modules" % len(plan.compile))
        else:
            if os.path.isdir(a.build_dir):
                shutil.rmtree(a.build_dir)
            print("compiling %d modules with %s -O%d%s" % (
                len(plan.compile), mpy_cross, build.OPT, " -march=" + march if march else ""))
        if not a.dry_run:
            for _, staged, _ in plan.compile:
                os.makedirs(os.path.dirname(staged), exist_ok=True)
        r.compile_all([mpy_cross_argv(mpy_cross, src, staged, name, march)
                       for src, staged, name in plan.compile])
        # 2. look at the board
        probe = base + ["exec", probe_code(probe_dirs)]
        if a.dry_run:
            r.out("# probe the board (the steps below assume an empty board)")
        listing = parse_probe(r.run(probe, capture=True, echo=False, show=False))
        if not a.dry_run and "/" not in listing:
            return fail("no answer from the board on %s (is it running MicroPython?)" % a.port, 1)
        have_ssd = any(n in (listing.get("/lib") or []) for n in SSD1306)
        if want_ssd and have_ssd:
            print("ssd1306 driver already in /lib: not installing it again")
        # 3. change the board
        up_to_date = set()
        for step in board_steps(plan, listing, want_ssd and not have_ssd, lib_pkgs):
            text = r.run(base + step, capture=True)
            for line in text.splitlines():
                if line.startswith("Up to date: "):  # mpremote skipped it (same SHA-256)
                    up_to_date.add(line[len("Up to date: "):].strip())
    except (RuntimeError, OSError) as e:
        return fail(str(e), 1)

    n = len(plan.copies)
    if a.dry_run:
        print("# dry run: %d files would be copied to %s" % (n, a.port))
        return 0
    sent = [local for local, remote in plan.copies if remote not in up_to_date]
    print("deploy: copied %d files, %d bytes, to %s%s" % (
        len(sent), sum(os.path.getsize(f) for f in sent), a.port,
        "; %d files already up to date" % (n - len(sent)) if n - len(sent) else ""))
    return 0

if __name__ == "__main__":
    sys.exit(main())

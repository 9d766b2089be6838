"""`make bench`: does it fit on a board? One table, every row on three interpreters.

Columns: the PyPI unix port (64-bit, mbedtls outside the heap: an upper bound for objects, a
lower one for TLS), the ESP32 stand-in (``micropython-u32``: 32-bit, mbedtls outside the GC
heap as in ESP-IDF) and the Pico W stand-in (``micropython-u32gc``: 32-bit, mbedtls in the GC
heap as on rp2), found by tools/build.py (``../shared/mp32/bin`` or ``MICROPYTHON_ESP32=`` /
``MICROPYTHON_PICOW=``); a missing one is a column of "n/a (why)". ``MICROPYTHON_FROZEN=`` (a
u32gc build with lib frozen in, ../shared/mp32/build.sh) adds the frozen column.

A heap figure is the smallest ``-X heapsize`` (KB) from which every larger size tried also
passes: bisection between 8 and 256 KB, then every KB for 10 KB above the bisected size and
every 2 KB for 14 KB more; a failure there moves the figure above it and the scan goes on (TLS
makes success non-monotonic: its 16.7 KB receive buffer needs one unbroken block). Every run
is a fresh process with a fresh temp "flash" directory (config.json, ca.der, tokens.json when
the row starts from a stored token) and loads what ``make deploy`` ships: lib/ compiled by
tools/build.py at -O3, firmware/main.py as source. The whole-app rows call the real
``main.make_app(clock, board, "config.json")`` with the bench board (tools/bench/benchboard.py)
and a fake clock. A run passes only when the script's own explicit check passed (the app in
state "paired" showing the expected name, never having entered an error state) and the host
finds the expected tokens in the run's tokens.json. A row that fails even at 256 KB is printed
as FAILED with the reason, and the bench exits 1.

Scenario (scripted server, tools/bench/run.py ``scenario``): device code, three pending polls,
a slow_down, a token response with a ~1.2 KB id_token (Entra-sized: ~4 KB), then who-am-I.
Over plain HTTP and over verified TLS to a local HTTPS server with an RSA-2048 and with an
ECDSA P-256 chain (CAs made here with trustme). The polling figures run the real app on the
real clock against tools/authserver over TLS (interval 1 s, approval 2.5 s after the code is
issued): token requests per pairing against the RFC 8628 floor (a poll every interval from
the device code response), and how long after the approval the token arrived.
"""

import argparse
import base64
import datetime
import json
import os
import queue
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [ROOT, os.path.join(ROOT, "host_tests", "support")]

from tools import build  # noqa: E402
from scripted_server import ScriptedServer  # noqa: E402

TOP_KB = 256
LOW_KB = 8
SCAN = list(range(1, 11)) + list(range(12, 25, 2))  # KB above a passing size, tried in turn
RUN_TIMEOUT = 40
NAME = "Ada Lovelace"
SCRIPTS = ("app", "pairing", "naive", "benchclock", "benchboard")
CHAINS = (("http", "HTTP"), ("rsa", "TLS RSA-2048"), ("ecdsa", "TLS ECDSA P-256"))
APPROVE_S, INTERVAL_S = 2.5, 1


def _b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def id_token():
    """A JWT-shaped id_token of about 1.2 KB (header.claims.signature)."""
    claims = {"iss": "https://auth.example", "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
              "aud": "bench-client", "iat": 1795435200, "exp": 1795438800,
              "name": NAME, "given_name": "Ada", "family_name": "Lovelace",
              "nickname": "ada", "email": "ada@example.com", "email_verified": True,
              "picture": "https://s.gravatar.com/avatar/" + "0" * 32 + "?s=480&r=pg&d=https%3A"
              "%2F%2Fcdn.auth0.com%2Favatars%2Fal.png", "updated_at": "2026-11-23T12:00:00.000Z",
              "sid": "x" * 32, "nonce": "n" * 43, "at_hash": "h" * 22,
              "https://example.com/roles": ["device-owner", "beta"], "locale": "en-GB"}
    tok = _b64({"alg": "RS256", "typ": "JWT", "kid": "k" * 40}) + "." + _b64(claims)
    return tok + "." + "s" * 342


def token_response(access, refresh):
    return {"access_token": access, "refresh_token": refresh, "id_token": id_token(),
            "scope": "openid profile offline_access", "expires_in": 86400,
            "token_type": "Bearer"}


def scenario(access, refresh):
    """The scripted server's answers for one pairing ending in ``access``/``refresh``."""
    return {"/me": [{"json": {"sub": "u-1", "name": NAME}, "repeat": 3}],
            "/device": [{"json": {"device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                                  "user_code": "WDJB-MJHT",
                                  "verification_uri": "https://auth.example/activate",
                                  "verification_uri_complete":
                                  "https://auth.example/activate?user_code=WDJB-MJHT",
                                  "expires_in": 900, "interval": 5}}],
            "/token": [{"status": 403, "json": {"error": "authorization_pending"}, "repeat": 3},
                       {"status": 429, "json": {"error": "slow_down"}},
                       {"json": token_response(access, refresh)}]}


ACCESS, REFRESH = "eyJ" + "a" * 700, "v1." + "r" * 128
# Entra: ~1.5 KB JWT access and ~1.5 KB refresh tokens (a ~4 KB token response)
BIG_ACCESS, BIG_REFRESH = "eyJ" + "b" * 1600, "0.A" + "r" * 1500


class Row:
    """One figure: a bench script, its scenario and how a run is checked."""

    def __init__(self, label, script, chain, access=ACCESS, refresh=REFRESH, stored=False):
        self.label, self.script, self.chain = label, script, chain
        self.access, self.refresh, self.stored = access, refresh, stored

    def script_for(self):
        if self.stored:  # the stored set's access token has expired: one refresh at boot
            return {"/token": [{"json": token_response(self.access, self.refresh)}],
                    "/me": [{"json": {"sub": "u-1", "name": NAME}}]}
        return scenario(self.access, self.refresh)


def rows():
    out = []
    for chain, how in CHAINS:
        out.append(Row("core pairing (http + device_flow + tokens), " + how, "pairing", chain))
    for chain, how in CHAINS:
        out.append(Row("whole app (main.make_app), fresh pairing, " + how, "app", chain))
    for chain, how in CHAINS:
        out.append(Row("whole app, fresh pairing, Entra-sized tokens, " + how, "app", chain,
                       BIG_ACCESS, BIG_REFRESH))
    for chain, how in CHAINS:
        out.append(Row("whole app, boot with a stored token (one refresh), " + how, "app",
                       chain, stored=True))
    out.append(Row("naive reference flow (requests, no TLS verification), HTTP", "naive",
                   "http"))
    return out


# -- interpreters -------------------------------------------------------------------------------
class Interp:
    def __init__(self, key, title, exe, why=None, mpdir=None):
        self.key, self.title, self.exe, self.why, self.mpdir = key, title, exe, why, mpdir
        self.version = build.interpreter_version(exe) if exe else None


def interpreters(tree, frozen_tree):
    pypi = build.find_tool("micropython", "MICROPYTHON_PYPI")
    out = [Interp("pypi", "PyPI 64-bit", pypi, None if os.path.exists(pypi) else
                  "no %s (make setup)" % pypi, tree)]
    for key in ("esp32", "picow"):
        exe, why = build.board_bin(key)
        out.append(Interp(key, build.BOARD_BINS[key][2], exe, why, tree))
    fz = os.environ.get("MICROPYTHON_FROZEN")
    if fz and not os.access(fz, os.X_OK):
        out.append(Interp("frozen", "Pico W stand-in, lib frozen", None,
                          "$MICROPYTHON_FROZEN=%s is not executable" % fz))
    else:
        out.append(Interp("frozen", "Pico W stand-in, lib frozen", fz or None, None if fz else
                          "MICROPYTHON_FROZEN not set (../shared/mp32/build.sh makes one)",
                          frozen_tree))
    return out


# -- servers, certificates ----------------------------------------------------------------------
class Certs:
    def __init__(self, d):
        import trustme

        self.ders, self.server_ctx, self.client_ctx = {}, {}, {}
        for chain, kind in (("rsa", trustme.KeyType.RSA), ("ecdsa", trustme.KeyType.ECDSA)):
            ca = trustme.CA(key_type=kind)
            leaf = ca.issue_cert("localhost", key_type=kind)
            sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            leaf.configure_cert(sctx)
            cctx = ssl.create_default_context()
            ca.configure_trust(cctx)
            der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
            path = os.path.join(d, chain + "-ca.der")
            with open(path, "wb") as f:
                f.write(der)
            self.ders[chain], self.server_ctx[chain], self.client_ctx[chain] = path, sctx, cctx
            if chain == "rsa":  # for tools/authserver (the polling figures)
                self.rsa_pem = os.path.join(d, "rsa-localhost.pem")
                leaf.private_key_and_cert_chain_pem.write_to_path(self.rsa_pem)


class Servers:
    """One scripted server per chain for one worker thread (runs never share a server)."""

    def __init__(self, certs):
        self.certs = certs
        self.srv = {"http": ScriptedServer().start()}
        for chain in ("rsa", "ecdsa"):
            self.srv[chain] = ScriptedServer(ssl_context=certs.server_ctx[chain]).start()

    def base(self, chain, script):
        s = self.srv[chain]
        req = urllib.request.Request(s.url + "/_script", data=json.dumps(script).encode(),
                                     method="POST")
        ctx = self.certs.client_ctx.get(chain)
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return s.url + "/" + json.loads(r.read())["id"]

    def stop(self):
        for s in self.srv.values():
            s.stop()


# -- one run ------------------------------------------------------------------------------------
def _config(base, ca):
    d = {"wifi": [{"ssid": "bench", "password": "benchbench"}], "client_id": "bench-client",
         "provider": "generic", "device_authorization_endpoint": base + "/device",
         "token_endpoint": base + "/token", "userinfo_endpoint": base + "/me"}
    if ca:
        d["ca_file"] = "ca.der"
    else:
        d["allow_insecure_http"] = True
    return d


def _reason(p):
    text = (p.stdout or "") + "\n" + (p.stderr or "")
    for pat in (r"BENCH failed: (.*)", r"\[devicepair\] error: (.*)", r"^(\w*Error.*)$"):
        found = re.findall(pat, text, re.M)
        if found:
            return found[-1].strip()[:90]
    return "exit %s" % p.returncode


def run_once(interp, row, kb, servers):
    """(True, None) or (False, why) for one run of ``row`` at ``kb`` KB."""
    flash = tempfile.mkdtemp(prefix="devicepair-bench-flash-")
    try:
        ca = servers.certs.ders.get(row.chain)
        base = servers.base(row.chain, row.script_for())
        tok = os.path.join(flash, "tokens.json")
        if row.script == "app":
            with open(os.path.join(flash, "config.json"), "w") as f:
                json.dump(_config(base, ca), f)
            if ca:
                shutil.copyfile(ca, os.path.join(flash, "ca.der"))
            if row.stored:
                with open(tok, "w") as f:
                    json.dump({"access_token": "eyJ" + "o" * 700, "refresh_token": REFRESH,
                               "token_type": "Bearer", "scope": "openid profile offline_access",
                               "name": NAME, "expires_at": 1795435200 - 60}, f)
            argv = ["-m", "app", "stored" if row.stored else "fresh", NAME]
        elif row.script == "pairing":
            argv = ["-m", "pairing", base, ca or "-", tok]
        else:
            argv = ["-m", "naive", base, tok]
        env = dict(os.environ, MICROPYPATH=interp.mpdir + ":.frozen")
        try:
            p = subprocess.run([interp.exe, "-X", "heapsize=%dK" % kb] + argv, cwd=flash,
                               env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return False, "no result within %d s" % RUN_TIMEOUT
        if p.returncode != 0 or "BENCH ok" not in p.stdout.splitlines():
            return False, _reason(p)
        try:  # what the device really stored, read by the host
            with open(tok) as f:
                stored = json.load(f)
        except (OSError, ValueError) as e:
            return False, "tokens.json unreadable after the run (%s)" % e
        if stored.get("access_token") != row.access:
            return False, "tokens.json does not hold the issued access token"
        if row.script == "app" and stored.get("name") != NAME:
            return False, "tokens.json names %r, not %r" % (stored.get("name"), NAME)
        return True, None
    finally:
        shutil.rmtree(flash, ignore_errors=True)


def min_heap(interp, row, servers):
    """The figure for ``row`` on ``interp``: (kb, runs, None, bisected kb) or (None, runs,
    why, None)."""
    runs = [0]

    def ok(kb):
        runs[0] += 1
        return run_once(interp, row, kb, servers)

    good, why = ok(TOP_KB)
    if not good:
        return None, runs[0], "fails even at %d KB: %s" % (TOP_KB, why), None
    lo, hi = LOW_KB, TOP_KB  # lo is taken to fail, hi passes
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid)[0]:
            hi = mid
        else:
            lo = mid
    first = hi
    tried = {hi: True}
    i = 0
    while i < len(SCAN):  # every size tried above the answer must pass too
        kb = hi + SCAN[i]
        if kb >= TOP_KB:
            break
        if kb not in tried:
            tried[kb] = ok(kb)[0]
        if not tried[kb]:
            # the answer lies above this failure: the next size that passes, then scan again
            nxt = kb + 1
            while nxt < TOP_KB and not tried.setdefault(nxt, ok(nxt)[0]):
                nxt += 1
            hi, i = nxt, 0
            continue
        i += 1
    return hi, runs[0], None, first


# -- token requests and latency (real clock, real server) ---------------------------------------
def polling_figures(interp, tmp, certs):
    """(token requests, latency in intervals) of one real pairing over TLS (RSA), or
    (None, why)."""
    flash = tempfile.mkdtemp(prefix="devicepair-bench-poll-", dir=tmp)
    db = os.path.join(flash, "auth.sqlite3")
    log_path = os.path.join(flash, "auth.log")
    with open(log_path, "w") as log:
        srv = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "authserver.py"),
                                "--port", "0", "--db", db, "--interval", str(INTERVAL_S),
                                "--auto-approve", str(APPROVE_S), "--client-id",
                                "bench-client", "--tls-cert", certs.rsa_pem, "--tls-key",
                                certs.rsa_pem], stdout=subprocess.PIPE, stderr=log, text=True,
                               cwd=ROOT, start_new_session=True)
        try:
            line = srv.stdout.readline()
            m = re.match(r"^authserver listening on (https?://\S+)$", line.strip())
            if not m:
                return None, "authserver did not start: %r" % line
            url = m.group(1)
            cfg = {"wifi": [{"ssid": "bench", "password": "benchbench"}],
                   "client_id": "bench-client", "provider": "generic",
                   "device_authorization_endpoint": url + "/device_authorization",
                   "token_endpoint": url + "/token", "userinfo_endpoint": url + "/userinfo",
                   "ca_file": "ca.der"}
            with open(os.path.join(flash, "config.json"), "w") as f:
                json.dump(cfg, f)
            shutil.copyfile(certs.ders["rsa"], os.path.join(flash, "ca.der"))
            env = dict(os.environ, MICROPYPATH=interp.mpdir + ":.frozen")
            try:
                p = subprocess.run([interp.exe, "-X", "heapsize=%dK" % TOP_KB, "-m", "app",
                                    "real", "Demo User"], cwd=flash, env=env,
                                   capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired:
                return None, "no result within 60 s"
            if p.returncode != 0 or "BENCH ok" not in p.stdout.splitlines():
                return None, _reason(p)
        finally:
            srv.terminate()
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
            srv.stdout.close()
    with open(log_path) as f:
        lines = f.read().splitlines()

    def at(ln):
        t = datetime.datetime.strptime(ln[:23], "%Y-%m-%d %H:%M:%S,%f")
        return t.timestamp()

    issued = [at(ln) for ln in lines if "POST /device_authorization 200" in ln]
    polls = [(at(ln), ln.rsplit(" ", 1)[-1]) for ln in lines if "POST /token " in ln]
    got = [t for t, code in polls if code == "200"]
    if len(issued) != 1 or len(got) != 1:
        return None, "server saw %d codes issued and %d tokens" % (len(issued), len(got))
    n = len([1 for t, _ in polls if t <= got[0]])
    return (n, (got[0] - issued[0] - APPROVE_S) / INTERVAL_S), None


# -- the table ----------------------------------------------------------------------------------
def prepare(tmp):
    tree = os.path.join(tmp, "mp")
    lib_mpy = build.compile_tree(os.path.join(ROOT, "lib"), tree)
    frozen = os.path.join(tmp, "mp-frozen")  # the bench scripts and main.py only
    for d in (tree, frozen):
        build.compile_all([build.mpy_cross_argv(os.path.join(HERE, s + ".py"),
                                                os.path.join(d, s + ".mpy"), s + ".py")
                           for s in SCRIPTS])
        shutil.copyfile(os.path.join(ROOT, "firmware", "main.py"), os.path.join(d, "main.py"))
    fw = os.path.join(tmp, "fw")  # what deploy ships besides lib: main, boot (source), board
    sizes = {"lib": build.mpy_bytes(lib_mpy)}
    for board in ("esp32", "picow"):
        b = build.compile_file(os.path.join(ROOT, "boards", board + ".py"),
                               os.path.join(fw, board + ".mpy"), "board.py")
        sizes[board] = sizes["lib"] + os.path.getsize(b) + sum(
            os.path.getsize(os.path.join(ROOT, "firmware", f)) for f in ("main.py", "boot.py"))
    return tree, frozen, sizes


def cell(res):
    kb, runs, why, first = res
    if kb is None:
        return "FAILED (%s)" % why
    return "%d KB" % kb + (" (bisected: %d)" % first if first != kb else "")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="rows whose label contains this text")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_JOBS", "0")) or
                    os.cpu_count() or 1)
    a = ap.parse_args(argv)
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="devicepair-bench-")
    try:
        return _bench(a, tmp, started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(a, tmp, started):
    tree, frozen_tree, sizes = prepare(tmp)
    interps = interpreters(tree, frozen_tree)
    certs = Certs(tmp)
    table = [r for r in rows() if a.only in r.label]
    tasks = queue.Queue()
    results = {}
    # the slowest first: the Pico W stand-in over TLS
    order = sorted(((r, i) for r in table for i in interps if i.exe and
                    (i.key != "frozen" or r.script == "app")),
                   key=lambda t: (t[1].key != "picow", t[0].chain == "http"))
    for t in order:
        tasks.put(t)
    polls = {}

    def worker():
        servers = Servers(certs)
        try:
            while True:
                try:
                    row, interp = tasks.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[(row.label, interp.key)] = min_heap(interp, row, servers)
                except Exception as e:  # a broken bench is a failed row, never a figure
                    results[(row.label, interp.key)] = (None, 0, "bench error: %r" % e, None)
        finally:
            servers.stop()

    def poller(interp):
        try:
            polls[interp.key] = polling_figures(interp, tmp, certs)
        except Exception as e:
            polls[interp.key] = (None, "bench error: %r" % e)

    threads = [threading.Thread(target=worker) for _ in range(max(1, a.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not a.only:  # real time: one at a time, with the machine otherwise idle
        for i in interps:
            if i.exe and i.key != "frozen":
                poller(i)

    failed = False
    cols = [i for i in interps]
    print("devicepair bench, %s UTC, lib at %s, .mpy by %s -O%d" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        _git_rev(), os.path.basename(build.mpy_cross_bin()), build.OPT))
    for i in cols:
        print("- %s: %s" % (i.title, i.version if i.exe else "n/a (%s)" % i.why))
    print()
    print("| figure (KB of -X heapsize unless marked) | " +
          " | ".join(i.title for i in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for r in table:
        line = []
        for i in cols:
            if i.key == "frozen" and r.script != "app":
                line.append("-")
            elif not i.exe:
                line.append("n/a (no binary)")
            else:
                res = results.get((r.label, i.key), (None, 0, "not run", None))
                failed |= res[0] is None
                line.append(cell(res))
        print("| %s | %s |" % (r.label, " | ".join(line)))
    if a.only:
        print("\n(--only %r: derived rows left out; %.0f s)" % (a.only, time.monotonic() -
                                                                   started))
        return 1 if failed else 0

    def fig(label, key):
        return results.get((label, key), (None,))[0]

    core, app = rows()[0].label, rows()[3].label
    naive = rows()[-1].label
    for what, num, den in (("ratio: core pairing / naive flow (HTTP)", core, naive),
                           ("ratio: whole app / core pairing (HTTP)", app, core)):
        line = []
        for i in cols:
            n, d = fig(num, i.key), fig(den, i.key)
            line.append("%.2f" % (n / d) if n and d else "-")
        print("| %s | %s |" % (what, " | ".join(line)))
    print("| lib/devicepair as .mpy (bytes; the same files on every port) | %s |" % " | ".join(
        ["%d" % sizes["lib"]] * 3 + ["-"]))
    print("| firmware: lib + main.py + boot.py + board (bytes; ESP32 / Pico W board) | %s |"
          % " | ".join(["%d / %d" % (sizes["esp32"], sizes["picow"])] * 3 + ["-"]))
    req, lat = [], []
    for i in cols:
        if i.key == "frozen":
            req.append("-")
            lat.append("-")
            continue
        if not i.exe:
            req.append("n/a (no binary)")
            lat.append("n/a")
            continue
        v, why = polls.get(i.key, (None, "not run"))
        if v is None:
            failed = True
            req.append("FAILED (%s)" % why)
            lat.append("FAILED")
        else:
            req.append("%d (RFC floor %d)" % (v[0], -(-APPROVE_S // INTERVAL_S)))
            floor = (-(-APPROVE_S // INTERVAL_S)) * INTERVAL_S - APPROVE_S
            lat.append("%.2f (floor %.2f)" % (v[1], floor / INTERVAL_S))
    print("| token requests per pairing (TLS RSA, approval %gs after issue, interval %ds) | %s |"
          % (APPROVE_S, INTERVAL_S, " | ".join(req)))
    print("| approve-to-token latency, in poll intervals (on time: below 1) | %s |"
          % " | ".join(lat))
    print("\n(%.0f s)" % (time.monotonic() - started))
    return 1 if failed else 0


def _git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())

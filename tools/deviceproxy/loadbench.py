#!/usr/bin/env python3
"""Load bench for the device-flow proxy (``make bench-proxy``; not part of ``make test``).

    python tools/deviceproxy/loadbench.py [--devices 1000] [--interval 5] [--stores redis,sqlite]

N simulated devices pair at once. Each is the project's own CPython device-flow client
(lib/devicepair ``device_flow.DeviceFlow`` over ``http.Transport``, one thread per device,
spread over a few processes so the devices are not all behind one GIL; the client's
board-side ``gc.collect()`` before each token request is a no-op there). Approvals are
scripted through the proxy's real browser path - code page, CSRF, confirm, the upstream's
authorization redirect and the PKCE code exchange - against tools/deviceproxy/fakeupstream.py
in its own process. No test hook in the proxy.

* redis: two proxy instances (gunicorn, ``--workers`` each) on one redis-server; device i
  polls instance i % 2 while its approval goes through the other one.
* sqlite: one instance (``--sqlite-workers`` processes) on one SQLite file.

Printed per store: pairings/s (all N, from the first device code request to the last token),
poll latency p50/p99/max in ms (each token request of the devices, timed around the call),
approvals completed, lost approvals (approved at the proxy but no token at the device), and
every failure. A run with any failed or lost pairing is reported as FAILED and its figures
are not to be quoted. Everything listens on 127.0.0.1 with dynamic ports.
"""

import argparse
import http.cookiejar
import json
import multiprocessing
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "lib"))
CLIENT_ID = "bench-device"
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def make_flow(transport, clock, device_endpoint, token_endpoint):
    """The one place that builds the project's device-flow client."""
    from devicepair import device_flow
    from devicepair.client import Client

    return device_flow.DeviceFlow(transport, clock, Client(
        client_id=CLIENT_ID, device_authorization_endpoint=device_endpoint,
        token_endpoint=token_endpoint, refresh_endpoint=token_endpoint,
        scope="openid profile offline_access", allow_insecure_http=True))


# -- processes ---------------------------------------------------------------------------------
def _stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)


def _spawn(cmd, pattern, log, env=None):
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                            env=e, start_new_session=True)
    line = proc.stdout.readline()
    m = re.search(pattern, line)
    if not m:
        _stop(proc)
        raise RuntimeError("%s did not start: %r" % (cmd[2:4], line))
    return proc, m.group(1)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_redis(workdir, log):
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--dir", workdir,
                             "--save", "", "--appendonly", "no", "--maxclients", "10000"],
                            stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, "redis://127.0.0.1:%d/0" % port
        except OSError:
            time.sleep(0.05)
    _stop(proc)
    raise RuntimeError("redis-server did not start")


def start_proxy(upstream, store, workers, threads, interval, log):
    from tools.deviceproxy import fakeupstream

    return _spawn([sys.executable, "-m", "tools.deviceproxy", "--port", "0", "--issuer",
                   upstream, "--client-id", fakeupstream.CLIENT_ID, "--device-client-id",
                   CLIENT_ID, "--store", store, "--interval", str(interval), "--workers",
                   str(workers), "--threads", str(threads), "--expires-in", "900",
                   "--device-code-rate", "1000000/60", "--entry-rate", "1000000/60",
                   "--log-level", "info"], r"listening on (http://\S+)", log,
                  {"DEVICEPROXY_CLIENT_SECRET": fakeupstream.CLIENT_SECRET})


# -- devices (in worker processes) ------------------------------------------------------------
def _device(i, n, spread, urls, codes, out, go, give_up):
    from devicepair.clock import SystemClock
    from devicepair.http import Transport

    base = urls[i % len(urls)]
    lat = []
    transport = Transport(allow_insecure_http=True, timeout_ms=30000)
    post = transport.post_form

    def timed_post(url, fields, headers=None):
        t = time.perf_counter()
        try:
            return post(url, fields, headers)
        finally:
            if fields.get("grant_type"):
                lat.append((time.perf_counter() - t) * 1000)

    transport.post_form = timed_post
    flow = make_flow(transport, SystemClock(), base + "/device/code", base + "/device/token")
    go.wait()
    time.sleep(spread * i / max(n, 1))  # 0: every device in the same instant
    t0 = time.time()
    err = None
    try:
        flow.start()
        codes.put((i, flow.user_code, flow.verification_uri_complete, time.time()))
        deadline = time.monotonic() + give_up
        while flow.state == "polling" and time.monotonic() < deadline:
            wait = flow.step()
            if flow.state == "polling":
                time.sleep(max(wait, 1) / 1000)
    except Exception as e:  # a failed device is counted and named, never hidden
        err = "%s: %s" % (type(e).__name__, getattr(e, "message", e))
    ok = flow.state == "done" and bool(flow.tokens and flow.tokens.get("access_token"))
    out.append((i, flow.state, err or (str(flow.error) if flow.error else None), ok, t0,
                time.time(), lat, getattr(flow, "user_code", None), flow.polls))


def _device_process(ids, n, spread, after, window, urls, codes, results, start_at):
    import gc

    # device_flow calls gc.collect() before each token request: a board's heap measure that
    # here, with hundreds of threads per process, would cost ms per poll and measure the
    # bench instead of the proxy. Automatic collection still runs.
    gc.collect = lambda *a: 0
    out = []
    go = threading.Barrier(len(ids) + 1)
    give_up = spread + after + window + 120  # s: a device nobody approves stops then
    ts = [threading.Thread(target=_device, args=(i, n, spread, urls, codes, out, go, give_up),
                           daemon=True)
          for i in ids]
    for t in ts:
        t.start()
    time.sleep(max(0, start_at - time.time()))
    go.wait()
    for t in ts:
        t.join(700)
    results.put(out)


# -- the scripted users ---------------------------------------------------------------------
def _approve(urls, i, complete):
    """The browser path at the *other* instance; True once the proxy says approved."""
    other = urls[(i + 1) % len(urls)]
    u = urllib.parse.urlsplit(complete)
    start = other + u.path + "?" + u.query
    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = op.open(start, timeout=30).read().decode()
    code = re.search(r'id="user_code" name="user_code" value="([^"]*)"', html).group(1)
    data = urllib.parse.urlencode({"csrf": CSRF_RE.search(html).group(1), "user_code": code})
    html = op.open(other + "/device", data.encode(), timeout=30).read().decode()
    data = urllib.parse.urlencode({"csrf": CSRF_RE.search(html).group(1), "user_code": code,
                                   "action": "approve"})
    html = op.open(other + "/device/approve", data.encode(), timeout=30).read().decode()
    return 'data-status="approved"' in html


def _scheduler(codes, due, n, window, after, stop):
    """Give approval i its time: ``after`` s after its code was issued, plus its share of
    ``window`` (people do not all approve in the same second; 0 = a flood)."""
    while not stop.is_set():
        try:
            i, user_code, complete, issued = codes.get(timeout=0.2)
        except queue.Empty:
            continue
        due.put((issued + after + window * i / max(n, 1), i, user_code, complete))


def _approver(urls, due, approved, failures, retries, stop):
    while not stop.is_set():
        try:
            when, i, user_code, complete = due.get(timeout=0.2)
        except queue.Empty:
            continue
        wait = when - time.time()
        if wait > 0.05:  # not yet: put it back and look again soon
            due.put((when, i, user_code, complete))
            time.sleep(min(wait, 0.05))
            continue
        for attempt in range(3):  # a person whose sign-in failed tries again
            try:
                if _approve(urls, i, complete):
                    approved[user_code] = time.time()
                    break
                why = "not approved"
            except (OSError, urllib.error.URLError, AttributeError) as e:
                why = str(e)
            retries.append("approval %d attempt %d: %s" % (i, attempt + 1, why))
        else:
            failures.append("approval %d: gave up" % i)


# -- one run -----------------------------------------------------------------------------------
def _pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def server_ms(paths):
    """The proxies' own time per token request (their JSON request logs), in ms."""
    ms = []
    for path in paths:
        with open(path) as f:
            for ln in f:
                if '"/device/token"' in ln:
                    try:
                        ms.append(json.loads(ln)["ms"])
                    except (ValueError, KeyError):
                        pass
    return ms


def _load():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def run(name, urls, n, procs, approvers, window, after, spread, logs):
    load0 = _load()
    ctx = multiprocessing.get_context("fork")
    codes, results = ctx.Queue(), ctx.Queue()
    approved, failures, retries = {}, [], []
    stop = threading.Event()
    start_at = time.time() + 1.0 + n / 1000.0  # every thread is up before the start
    ps = [ctx.Process(target=_device_process,
                      args=(list(range(k, n, procs)), n, spread, after, window, urls, codes,
                            results, start_at))
          for k in range(procs)]
    for p in ps:  # forked before this process has threads of its own
        p.start()
    due = queue.PriorityQueue()
    ats = [threading.Thread(target=_approver, args=(urls, due, approved, failures, retries, stop),
                            daemon=True) for _ in range(approvers)]
    ats.append(threading.Thread(target=_scheduler, args=(codes, due, n, window, after, stop),
                                daemon=True))
    for t in ats:
        t.start()
    out = []
    for _ in ps:
        out.extend(results.get(timeout=900))
    for p in ps:
        p.join(10)
    stop.set()
    for t in ats:
        t.join(5)
    done = [r for r in out if r[3]]
    bad = [r for r in out if not r[3]]
    lat = [x for r in out for x in r[6]]
    lost = [u for u in approved if u not in {r[7] for r in done}]
    waits = [r[5] - approved[r[7]] for r in done if r[7] in approved]
    t0 = min(r[4] for r in out)
    t1 = max(r[5] for r in done) if done else t0
    ok = not bad and not lost and not failures and len(done) == n
    srv = server_ms(logs)
    print("%-7s %s  devices %d  paired %d  approvals %d  lost %d  %.1f pairings/s  "
          "poll p50 %.1f ms  p99 %.1f ms  max %.1f ms  polls %d  approved->token p50 %.1f s "
          "p99 %.1f s"
          % (name, "OK    " if ok else "FAILED", n, len(done), len(approved), len(lost),
             len(done) / max(t1 - t0, 1e-9), _pct(lat, 50), _pct(lat, 99),
             max(lat) if lat else float("nan"), len(lat), _pct(waits, 50), _pct(waits, 99)),
          flush=True)
    print("        inside the proxy per poll: p50 %.2f ms  p99 %.2f ms;  load average %.1f -> "
          "%.1f on %d CPUs" % (_pct(srv, 50), _pct(srv, 99), load0, _load(),
                               os.cpu_count() or 0), flush=True)
    for r in bad[:10]:
        print("   device %d: %s %s" % (r[0], r[1], r[2]))
    for f in failures[:10]:
        print("   " + f)
    if retries:
        print("        %d approval attempts failed and were retried, e.g. %s"
              % (len(retries), retries[0]))
    return ok


def main(argv=None):
    p = argparse.ArgumentParser(prog="loadbench", description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=1000, help="concurrent pairings (1000)")
    p.add_argument("--interval", type=int, default=5, help="poll interval in s (5)")
    p.add_argument("--stores", default="redis,sqlite", help="which runs (redis,sqlite)")
    p.add_argument("--workers", type=int, default=1,
                   help="gunicorn workers per Redis-backed instance (1; two instances)")
    p.add_argument("--sqlite-workers", type=int, default=2,
                   help="gunicorn workers of the one SQLite instance (2)")
    p.add_argument("--threads", type=int, default=32, help="threads per worker (32)")
    p.add_argument("--device-procs", type=int, default=4,
                   help="processes the device threads are spread over (4)")
    p.add_argument("--approvers", type=int, default=16, help="scripted users at once (16)")
    p.add_argument("--start-spread", type=float, default=0,
                   help="device i starts i/N of this many s late (0: all in one instant)")
    p.add_argument("--approve-window", type=float, default=30,
                   help="approvals spread over this many s (30; 0 = all at once, a flood)")
    p.add_argument("--approve-after", type=float, default=5,
                   help="each approval starts this many s after its code was issued (5)")
    args = p.parse_args(argv)
    sys.path.insert(0, ROOT)
    tmp = tempfile.mkdtemp(prefix="deviceproxy-bench-")
    log = open(os.path.join(tmp, "servers.log"), "w")
    started = []
    print("deviceproxy load bench: %d devices, interval %d s, %d CPUs, logs in %s"
          % (args.devices, args.interval, os.cpu_count() or 0, tmp), flush=True)
    ok = True
    try:
        up, up_url = _spawn([sys.executable, "-m", "tools.deviceproxy.fakeupstream"],
                            r"listening on (http://\S+)", log)
        started.append(up)
        for store in args.stores.split(","):
            if store == "redis":
                rp, rurl = start_redis(tmp, log)
                started.append(rp)
                urls, logs = [], []
                for k in range(2):
                    logs.append(os.path.join(tmp, "proxy-redis-%d.log" % k))
                    with open(logs[-1], "w") as plog:
                        pp, u = start_proxy(up_url, rurl, args.workers, args.threads,
                                            args.interval, plog)
                    started.append(pp)
                    urls.append(u)
                label = "redis"
                print("redis:  2 instances x %d worker(s) x %d threads on one redis-server"
                      % (args.workers, args.threads))
            elif store == "sqlite":
                logs = [os.path.join(tmp, "proxy-sqlite.log")]
                with open(logs[0], "w") as plog:
                    pp, u = start_proxy(up_url, "sqlite://" + os.path.join(tmp,
                                                                           "bench.sqlite3"),
                                        args.sqlite_workers, args.threads, args.interval, plog)
                started.append(pp)
                urls = [u]
                label = "sqlite"
                print("sqlite: 1 instance x %d worker(s) x %d threads on one SQLite file"
                      % (args.sqlite_workers, args.threads))
            else:
                raise SystemExit("unknown store %r" % store)
            ok = run(label, urls, args.devices, args.device_procs, args.approvers,
                     args.approve_window, args.approve_after, args.start_spread, logs) and ok
            for pr in started[1:]:
                _stop(pr)
            del started[1:]
    finally:
        for pr in reversed(started):
            _stop(pr)
        log.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

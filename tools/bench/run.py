"""`make bench`: heap and flash figures under the real MicroPython interpreter.

Prints one ``name: value`` per line. Heap figures are the smallest ``-X heapsize`` (KB, by
bisection) in which a scripted pairing completes: device code, three pending polls, a
slow_down, a token response with a realistic ~1.2 KB id_token, then the token save - for the
core alone (pairing.py), a naive urequests client (naive.py), the imports alone (imports.py),
and the whole app as firmware/main.py builds it, OLED and QR included (app.py), also with
Entra-sized tokens. Every
module is precompiled with mpy-cross, as on a board (.mpy bytecode lives in the heap there
too, unless frozen into the firmware).
"""

import base64
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "host_tests", "support")]

from conftest import compile_tree, micropython_bin, mpy_cross_bin  # noqa: E402
from scripted_server import ScriptedServer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def id_token():
    """A JWT-shaped id_token of about 1.2 KB (header.claims.signature)."""
    claims = {"iss": "https://auth.example", "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
              "aud": "bench-client", "iat": 1795435200, "exp": 1795438800,
              "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
              "nickname": "ada", "email": "ada@example.com", "email_verified": True,
              "picture": "https://s.gravatar.com/avatar/" + "0" * 32 + "?s=480&r=pg&d=https%3A"
              "%2F%2Fcdn.auth0.com%2Favatars%2Fal.png", "updated_at": "2026-11-23T12:00:00.000Z",
              "sid": "x" * 32, "nonce": "n" * 43, "at_hash": "h" * 22,
              "https://example.com/roles": ["device-owner", "beta"], "locale": "en-GB"}
    tok = _b64({"alg": "RS256", "typ": "JWT", "kid": "k" * 40}) + "." + _b64(claims)
    return tok + "." + "s" * 342


def scenario(access=None, refresh=None):
    """The scripted server's answers; ``access``/``refresh`` replace the tokens (Entra-sized)."""
    return {"/me": [{"json": {"sub": "u-1", "name": "Ada Lovelace"}, "repeat": 5}],
            "/device": [{"json": {"device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                                  "user_code": "WDJB-MJHT",
                                  "verification_uri": "https://auth.example/activate",
                                  "verification_uri_complete":
                                  "https://auth.example/activate?user_code=WDJB-MJHT",
                                  "expires_in": 900, "interval": 5}}],
            "/token": [{"status": 403, "json": {"error": "authorization_pending"}, "repeat": 3},
                       {"status": 429, "json": {"error": "slow_down"}},
                       {"json": {"access_token": access or "eyJ" + "a" * 700,
                                 "refresh_token": refresh or "v1." + "r" * 128,
                                 "id_token": id_token(), "scope": "openid profile offline_access",
                                 "expires_in": 86400, "token_type": "Bearer"}}]}


def run_once(srv, mpdir, script, heap_kb, tmp, scen):
    import urllib.request

    req = urllib.request.Request(srv.url + "/_script", data=json.dumps(scen).encode(),
                                 method="POST")
    sid = json.loads(urllib.request.urlopen(req).read())["id"]
    env = dict(os.environ, MICROPYPATH=mpdir + ":.frozen")
    p = subprocess.run([micropython_bin(), "-X", "heapsize=%dK" % heap_kb, "-m", script,
                        srv.url + "/" + sid, os.path.join(tmp, "tokens.json")],
                       env=env, capture_output=True, text=True, timeout=60, cwd=tmp)
    last = p.stdout.strip().split("\n")[-1]
    return p.returncode == 0 and last.startswith("PAIRED")


def min_heap(srv, mpdir, script, tmp, scen=None, lo=2, hi=256):
    scen = scen or scenario()
    if not run_once(srv, mpdir, script, hi, tmp, scen):
        raise SystemExit("bench: %s fails even with %d KB" % (script, hi))
    while hi - lo > 1:  # invariant: lo fails, hi works
        mid = (lo + hi) // 2
        if run_once(srv, mpdir, script, mid, tmp, scen):
            hi = mid
        else:
            lo = mid
    return hi


def mpy_size(d):
    return sum(os.path.getsize(os.path.join(p, f)) for p, _, fs in os.walk(d) for f in fs
               if f.endswith(".mpy"))


def main():
    tmp = tempfile.mkdtemp(prefix="devicepair-bench-")
    lib = os.path.join(tmp, "lib")
    compile_tree(os.path.join(ROOT, "lib"), lib, opt=3)
    for s in ("pairing", "naive", "imports", "app", "benchclock"):
        subprocess.run([mpy_cross_bin(), "-O3", "-o", os.path.join(lib, s + ".mpy"),
                        os.path.join(HERE, s + ".py")], check=True)
    srv = ScriptedServer().start()
    try:
        ours = min_heap(srv, lib, "pairing", tmp)
        naive = min_heap(srv, lib, "naive", tmp)
        code = min_heap(srv, lib, "imports", tmp)
        app = min_heap(srv, lib, "app", tmp)
        # Entra: ~1.5 KB JWT access and ~1.5 KB refresh tokens (a ~4 KB token response)
        big = scenario(access="eyJ" + "a" * 1600, refresh="0.A" + "r" * 1500)
        app_big = min_heap(srv, lib, "app", tmp, big)
    finally:
        srv.stop()
    print("pairing_min_heap_kb: %d" % ours)
    print("naive_min_heap_kb: %d" % naive)
    print("pairing_to_naive_heap_ratio: %.2f" % (ours / naive))
    print("pairing_import_only_min_heap_kb: %d" % code)
    print("pairing_working_heap_kb: %d" % (ours - code))
    print("app_pairing_min_heap_kb: %d" % app)
    print("app_pairing_entra_sized_min_heap_kb: %d" % app_big)
    print("app_to_core_pairing_heap_ratio: %.2f" % (app / ours))
    lib_bytes = mpy_size(os.path.join(lib, "devicepair"))
    print("lib_devicepair_mpy_bytes: %d" % lib_bytes)
    fw = os.path.join(tmp, "fw")
    os.mkdir(fw)
    for src in ("firmware/main.py", "firmware/boot.py", "boards/esp32.py"):
        subprocess.run([mpy_cross_bin(), "-O3", "-o", os.path.join(fw, os.path.basename(src)[:-3]
                        + ".mpy"), os.path.join(ROOT, src)], check=True)
    print("firmware_mpy_bytes (lib + main + boot + esp32 board): %d" % (lib_bytes + mpy_size(fw)))


if __name__ == "__main__":
    main()

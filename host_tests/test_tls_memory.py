"""A TLS handshake that runs out of memory on the Pico W stand-in is a transient OutOfMemory.

On a Pico W mbedtls takes its ~23 KB per connection from the GC heap; short of it,
``wrap_socket`` fails with ENOMEM, or the certificate check fails for want of a few KB and
mbedtls reports it as "not correctly signed by the trusted CA". Shown as
"TLS: certificate rejected: unknown CA" that is a permanent, wrong diagnosis (issue 10). Here
the real firmware transport runs in ``micropython-u32gc`` (32-bit, mbedtls in the GC heap)
against a local HTTPS server with an RSA-2048 chain made by the test, with the free heap cut
to a range of sizes by ballast: every answer must be the page or ``OutOfMemory`` - never a
TLSError - and both must occur.
"""

import os
import ssl
import subprocess

import pytest
import trustme

from conftest import ROOT, mp_path
from scripted_server import ScriptedServer

PICOW = os.environ.get("MICROPYTHON_PICOW") or os.path.join(
    ROOT, "..", "shared", "mp32", "bin", "micropython-u32gc")

SCRIPT = r'''
import gc, sys
from devicepair.http import Transport
from devicepair.errors import DevicePairError
url, ca = sys.argv[1], open(sys.argv[2], "rb").read()
for target in [int(x) for x in sys.argv[3:]]:
    t = Transport(cadata=ca, timeout_ms=5000)
    gc.collect()
    ballast = []
    while gc.mem_free() > target + 512:
        ballast.append(bytearray(256))
    try:
        r = t.request("POST", url + "/_script", json={})
        print("%d OK %d" % (target, r.status_code))
    except DevicePairError as e:
        print("%d ERR %s %s %s" % (target, type(e).__name__, e.transient, e))
    ballast = t = None
    gc.collect()
'''


def _binary():
    """The stand-in's path, or None when it is absent or cannot run (no libc6-i386)."""
    p = os.path.abspath(PICOW)
    try:
        ok = subprocess.run([p, "-c", "print(1)"], capture_output=True, timeout=10).returncode
    except OSError:
        return None
    return p if ok == 0 else None


@pytest.fixture(scope="module")
def rsa_server(tmp_path_factory):
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", key_type=trustme.KeyType.RSA).configure_cert(ctx)
    der = tmp_path_factory.mktemp("oom") / "ca.der"
    der.write_bytes(ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
    srv = ScriptedServer(ssl_context=ctx).start()
    yield srv.url, str(der)
    srv.stop()


def test_tls_out_of_memory_is_transient_never_a_certificate_error(rsa_server):
    exe = _binary()
    if exe is None:
        pytest.skip("no runnable Pico W stand-in at %s (../shared/mp32/bin/micropython-u32gc "
                    "needs libc6-i386); set MICROPYTHON_PICOW" % os.path.abspath(PICOW))
    url, ca = rsa_server
    # free heap before the request: coarse where wrap_socket fails, fine steps where the
    # buffers fit and the certificate check is what runs short (about 28-36 KB here; the
    # window is narrow and moves with the library's size: 256 B steps)
    targets = [str(k * 1024) for k in range(4, 24, 4)] + [str(k * 256)
                                                          for k in range(24 * 4, 45 * 4)]
    env = dict(os.environ, MICROPYPATH=mp_path())
    p = subprocess.run([exe, "-X", "heapsize=128K", "-c", SCRIPT, url, ca] + targets,
                       env=env, capture_output=True, text=True, timeout=120)
    lines = p.stdout.splitlines()
    assert len(lines) == len(targets), p.stdout + p.stderr
    outcomes = {}
    for line in lines:
        target, rest = line.split(" ", 1)
        outcomes[int(target)] = rest
        assert rest == "OK 200" or rest.startswith("ERR OutOfMemory True ") and (
            "out of memory" in rest), "free %s: %s" % (target, rest)
    assert any(r.startswith("ERR OutOfMemory True TLS: out of memory") for r in
               outcomes.values()), outcomes
    assert any(r == "OK 200" for r in outcomes.values()), outcomes
    # A verification short of memory (mbedtls says "not signed by the trusted CA") shows as
    # OutOfMemory "(N KB free)" too - asserted above for every line. Whether a free size
    # lands in that window depends on the library's size (it did at 12a1eb4, not after the
    # merge of 2026-12-01): it is not asserted to appear.
    assert outcomes[max(outcomes)] == "OK 200", outcomes

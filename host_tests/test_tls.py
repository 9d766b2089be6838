"""Real TLS against a local server with a CA made here, under CPython and MicroPython.

The right CA connects; a wrong CA, a wrong hostname and an expired certificate are refused
with a clear TLSError; with no CA configured the board refuses https:// instead of falling
back to an unverified connection, and a refused handshake never delivers the request.
"""

import datetime
import os
import ssl
import subprocess

import pytest
import trustme

from conftest import micropython_bin, mp_path
from scripted_server import ScriptedServer
from devicepair.http import Transport
from devicepair.errors import TLSError

MP_SCRIPT = r'''
import sys
from devicepair.http import Transport
for url, ca in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        t = Transport(cadata=open(ca, "rb").read() if ca != "-" else None)
        r = t.request("POST", url + "/_script", json={})
        print("OK %d" % r.status_code)
    except Exception as e:
        print("ERR %s %s" % (type(e).__name__, e))
'''


def _der(ca):
    return ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    ca, wrong = trustme.CA(), trustme.CA()
    servers = {}
    now = datetime.datetime.now(datetime.timezone.utc)
    certs = {"good": ca.issue_cert("localhost"), "other": ca.issue_cert("other.test"),
             "expired": ca.issue_cert("localhost", not_before=now - datetime.timedelta(days=30),
                                      not_after=now - datetime.timedelta(days=1))}
    for name, cert in certs.items():
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        servers[name] = ScriptedServer(ssl_context=ctx).start()
    (d / "ca.der").write_bytes(_der(ca))
    (d / "wrong.der").write_bytes(_der(wrong))
    (d / "bundle.der").write_bytes(_der(wrong) + _der(trustme.CA()) + _der(ca))  # signer last
    (d / "ca.pem").write_bytes(ca.cert_pem.bytes())
    yield {"dir": d, "ca": _der(ca), "wrong": _der(wrong), "servers": servers}
    for s in servers.values():
        s.stop()


CASES = [  # server, CA file, expected outcome
    ("good", "ca.der", "OK 200"),
    ("good", "wrong.der", "ERR TLSError TLS: unknown CA for localhost"),
    ("good", "bundle.der", "OK 200"),  # several roots: each loaded on its own
    ("good", "ca.pem", "ERR TLSError TLS: CA certificate unreadable (PEM; convert it with "
     "tools/pem2der.py)"),
    ("other", "ca.der", "ERR TLSError TLS: certificate rejected: wrong hostname"),
    ("expired", "ca.der",
     "ERR TLSError TLS: certificate rejected: certificate expired (is the clock set?)"),
]


def _cpython(tls, server, cafile):
    url = tls["servers"][server].url
    try:
        r = Transport(cadata=(tls["dir"] / cafile).read_bytes()).request(
            "POST", url + "/_script", json={})
        return "OK %d" % r.status_code
    except Exception as e:  # the assertion compares the whole line
        return "ERR %s %s" % (type(e).__name__, e)


@pytest.mark.parametrize("server,cafile,expected", CASES)
def test_tls_cpython(tls, server, cafile, expected):
    assert _cpython(tls, server, cafile) == expected


def test_tls_micropython(tls):
    args = []
    for server, cafile, _ in CASES:
        args += [tls["servers"][server].url, str(tls["dir"] / cafile)]
    args += [tls["servers"]["good"].url, "-"]
    env = dict(os.environ, MICROPYPATH=mp_path())
    p = subprocess.run([micropython_bin(), "-X", "heapsize=64K", "-c", MP_SCRIPT] + args,
                       env=env, capture_output=True, text=True, timeout=60)
    lines = p.stdout.splitlines()
    assert lines == [c[2] for c in CASES] + [
        "ERR TLSError TLS: no CA certificate configured (ca_file)"], p.stdout + p.stderr


def test_refused_handshake_never_sends_the_request(tls):
    srv = tls["servers"]["good"]
    before = srv.httpd.state.next_id
    with pytest.raises(TLSError):
        Transport(cadata=tls["wrong"]).request("POST", srv.url + "/_script", json={})
    assert srv.httpd.state.next_id == before

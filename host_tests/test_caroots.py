"""Several CA roots, kept right: tools/caroots.py and ``provision --ca-from-trust-store``.

Two local HTTPS servers: one with a chain root A -> intermediate -> leaf, one signed by root B.
A trust store made here holds A and B among unrelated roots. The tools must pick exactly A
(not the intermediate) and B, write them as one DER file, and that file must verify both
servers through the board's own transport on CPython and on MicroPython. A host that cannot
be reached, or that the store does not trust, is refused with a message saying what to do,
and nothing is written. Never leaves 127.0.0.1.
"""

import os
import socket
import ssl
import subprocess
import sys

import pytest
import trustme

from conftest import ROOT, micropython_bin, mp_path
from scripted_server import ScriptedServer
from devicepair.http import Transport

sys.path.insert(0, os.path.join(ROOT, "tools"))
import caroots  # noqa: E402

PROVISION = os.path.join(ROOT, "tools", "provision.py")


def _der(ca):
    return ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("roots")
    root_a, root_b = trustme.CA(), trustme.CA()
    inter_a = root_a.create_child_ca()
    others = [trustme.CA() for _ in range(6)]
    servers = []
    for signer in (inter_a, root_b):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        signer.issue_cert("localhost").configure_cert(ctx)  # sends leaf + intermediates
        servers.append(ScriptedServer(ssl_context=ctx).start())
    store = d / "store.pem"
    store.write_bytes(b"".join(c.cert_pem.bytes() for c in others[:3] + [root_a, inter_a]
                               + others[3:] + [root_b]))
    lonely = d / "lonely.pem"
    lonely.write_bytes(b"".join(c.cert_pem.bytes() for c in others))
    yield {"dir": d, "a": _der(root_a), "b": _der(root_b), "inter": _der(inter_a),
           "servers": servers, "store": str(store), "lonely": str(lonely)}
    for s in servers:
        s.stop()


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _provision(out, pki, *hosts_urls, store=None):
    dev, tok = hosts_urls
    return subprocess.run(
        [sys.executable, PROVISION, "--out", str(out), "--wifi", "HomeNet:correct horse",
         "--client-id", "c", "--device-authorization-endpoint", dev, "--token-endpoint", tok,
         "--ca-from-trust-store", "--trust-store", store or pki["store"]],
        capture_output=True, text=True, timeout=120)


def test_roots_for_picks_each_hosts_root_not_the_intermediate(pki):
    store = caroots.load_store(pki["store"])
    assert len(store) == 9
    pa, pb = (s.port for s in pki["servers"])
    seen = []
    found = caroots.roots_for([("localhost", pa), ("localhost", pb), ("localhost", pa)],
                              store, out=seen.append)
    assert found == [pki["a"], pki["b"]]
    assert len(seen) == 3 and seen[0].startswith("localhost:%d: " % pa)


def test_provision_writes_the_roots_and_the_board_verifies_both_hosts(pki, tmp_path):
    a, b = (s.url for s in pki["servers"])
    out = tmp_path / "cfg" / "config.json"
    r = _provision(out, pki, a + "/device", b + "/token")
    assert r.returncode == 0, r.stderr
    der = (tmp_path / "cfg" / "ca.der").read_bytes()
    assert der == pki["a"] + pki["b"]
    assert "2 certificates as DER" in r.stdout
    for url in (a, b):  # CPython, the board's transport
        assert Transport(cadata=der).request("POST", url + "/_script", json={}).status_code \
            == 200
    script = ("import sys\nfrom devicepair.http import Transport\n"
              "t = Transport(cadata=open(sys.argv[1], 'rb').read())\n"
              "for u in sys.argv[2:]:\n"
              "    print(t.request('POST', u + '/_script', json={}).status_code)\n")
    p = subprocess.run([micropython_bin(), "-X", "heapsize=96K", "-c", script,
                        str(tmp_path / "cfg" / "ca.der"), a, b],
                       env=dict(os.environ, MICROPYPATH=mp_path()), capture_output=True,
                       text=True, timeout=60)
    assert p.stdout.split() == ["200", "200"], p.stdout + p.stderr


def test_unreachable_host_says_what_to_do_and_writes_nothing(pki, tmp_path):
    a = pki["servers"][0].url
    port = _closed_port()
    out = tmp_path / "cfg" / "config.json"
    r = _provision(out, pki, a + "/device", "https://localhost:%d/token" % port)
    assert r.returncode == 1
    assert "cannot reach localhost:%d" % port in r.stderr
    assert "reachable" in r.stderr and "--ca-pem" in r.stderr
    assert not (tmp_path / "cfg").exists()


def test_host_the_store_does_not_trust_is_refused(pki, tmp_path):
    a, b = (s.url for s in pki["servers"])
    r = _provision(tmp_path / "config.json", pki, a + "/device", b + "/token",
                   store=pki["lonely"])
    assert r.returncode == 1 and "not trusted by this trust store" in r.stderr
    assert os.listdir(tmp_path) == []

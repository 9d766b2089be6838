"""tools/pem2der.py, and the MicroPython TLS behaviour it is built on (CPython + unix port).

The finding pinned here: ``load_verify_locations(cadata=<DER><DER>)`` on MicroPython keeps only
the FIRST certificate and ignores the rest without an error, while one call per certificate
accumulates them (so the transport splits a bundle); PEM is refused.
"""

import os
import socket
import ssl
import subprocess
import sys
import threading

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from conftest import ROOT, micropython_bin

TOOL = os.path.join(ROOT, "tools", "pem2der.py")


def _der(ca):
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes()).public_bytes(Encoding.DER)


def _run(*args):
    return subprocess.run([sys.executable, TOOL] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=60)


def test_single_certificate(tmp_path):
    ca = trustme.CA()
    src, dst = tmp_path / "ca.pem", tmp_path / "ca.der"
    ca.cert_pem.write_to_path(str(src))
    p = _run(src, dst)
    assert p.returncode == 0, p.stderr
    assert dst.read_bytes() == _der(ca)
    assert "wrote 1 of 1 certificate to" in p.stdout


def test_bundle_written_whole_unless_first(tmp_path):
    a, b = trustme.CA(), trustme.CA()
    src, dst = tmp_path / "bundle.pem", tmp_path / "ca.der"
    src.write_bytes(b"# a comment\n" + a.cert_pem.bytes() + b"\n" + b.cert_pem.bytes())
    p = _run(src, dst)
    assert p.returncode == 0, p.stderr
    assert dst.read_bytes() == _der(a) + _der(b)
    assert "wrote 2 of 2 certificates" in p.stdout and "1. " in p.stdout and "2. " in p.stdout
    p = _run(src, dst, "--first")
    assert p.returncode == 0, p.stderr
    assert dst.read_bytes() == _der(a) and "wrote 1 of 2 certificates" in p.stdout


def test_bad_inputs(tmp_path):
    ca = trustme.CA()
    cases = {
        "der.pem": (_der(ca), "already DER"),
        "empty.pem": (b"", "no -----BEGIN CERTIFICATE-----"),
        "key.pem": (ca.cert_pem.bytes() + ca.private_key_pem.bytes(), "PRIVATE KEY"),
        "cut.pem": (ca.cert_pem.bytes()[:-30], "no END line"),
        "b64.pem": (b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n", "base64"),
        "bin.pem": (b"\xff\xfe\x00", "not a PEM text file"),
    }
    for name, (data, want) in cases.items():
        (tmp_path / name).write_bytes(data)
        p = _run(tmp_path / name, tmp_path / "out.der")
        assert p.returncode == 2 and want in p.stderr, (name, p.stderr)
        assert not (tmp_path / "out.der").exists()
    p = _run(tmp_path / "missing.pem", tmp_path / "out.der")
    assert p.returncode == 2 and "pem2der:" in p.stderr


class _TLSServer:
    """Answers b"hi" over TLS on 127.0.0.1 with a certificate signed by ``ca``."""

    def __init__(self, ca):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(self.ctx)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(5)
                with self.ctx.wrap_socket(c, server_side=True) as s:
                    s.sendall(b"hi")
            except (OSError, ssl.SSLError):
                c.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


_MP_CLIENT = r"""
import ssl, socket
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.verify_mode = ssl.CERT_REQUIRED
try:
    blob = open(%r, "rb").read()
    for der in (blob.split(b"--NEXT--") if b"--NEXT--" in blob else [blob]):
        ctx.load_verify_locations(cadata=der)
except Exception as e:
    print("LOAD-FAILED", repr(e))
    raise SystemExit
s = socket.socket()
s.settimeout(10)
s.connect(socket.getaddrinfo("127.0.0.1", %d)[0][-1])
try:
    t = ctx.wrap_socket(s, server_hostname="localhost")
    print("HANDSHAKE-OK", t.read(2))
    t.close()
except Exception as e:
    print("HANDSHAKE-FAILED", repr(e))
    s.close()
"""


def _mp_connect(tmp_path, port, cadata):
    f = tmp_path / "ca.bin"
    f.write_bytes(b"--NEXT--".join(cadata) if isinstance(cadata, list) else cadata)
    p = subprocess.run([micropython_bin(), "-c", _MP_CLIENT % (str(f), port)],
                       capture_output=True, text=True, timeout=60)
    out = (p.stdout + p.stderr).strip()
    for word in ("HANDSHAKE-OK", "HANDSHAKE-FAILED", "LOAD-FAILED"):
        if out.startswith(word):
            return word
    raise AssertionError(out)


def test_micropython_uses_only_the_first_der_cert(tmp_path):
    signer, other, third = trustme.CA(), trustme.CA(), trustme.CA()
    srv = _TLSServer(signer)
    try:
        assert _mp_connect(tmp_path, srv.port, _der(signer)) == "HANDSHAKE-OK"
        assert _mp_connect(tmp_path, srv.port, _der(other)) == "HANDSHAKE-FAILED"
        # concatenated DER: loads without an error, but only the first certificate counts
        assert _mp_connect(tmp_path, srv.port, _der(signer) + _der(other)) == "HANDSHAKE-OK"
        assert _mp_connect(tmp_path, srv.port, _der(other) + _der(signer)) == "HANDSHAKE-FAILED"
        assert _mp_connect(tmp_path, srv.port, _der(other) + _der(third) + _der(signer)) \
            == "HANDSHAKE-FAILED"
        # one load_verify_locations per certificate does accumulate (what the transport does)
        assert _mp_connect(tmp_path, srv.port, [_der(other), _der(third), _der(signer)]) \
            == "HANDSHAKE-OK"
        assert _mp_connect(tmp_path, srv.port, [_der(other), _der(third)]) \
            == "HANDSHAKE-FAILED"
        # PEM is refused outright
        assert _mp_connect(tmp_path, srv.port, signer.cert_pem.bytes()) == "LOAD-FAILED"
        # the tool's output works end to end
        pem = tmp_path / "signer.pem"
        signer.cert_pem.write_to_path(str(pem))
        assert _run(pem, tmp_path / "signer.der").returncode == 0
        der = (tmp_path / "signer.der").read_bytes()
        assert _mp_connect(tmp_path, srv.port, der) == "HANDSHAKE-OK"
    finally:
        srv.stop()

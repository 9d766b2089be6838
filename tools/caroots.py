#!/usr/bin/env python3
"""Find the root CA certificates a board needs for its hosts, from this computer's trust store.

    python tools/caroots.py login.microsoftonline.com graph.microsoft.com --out ca.der

Why: the board verifies TLS against the DER roots in its ``ca_file`` only, and providers
rotate roots (boards in the field broke when Microsoft did). Picking them by hand from a PEM
bundle is error-prone; this connects to every host the board will talk to (it runs on a laptop
with network), verifies each server with the whole trust store, and narrows the store down by
bisection to a root that verifies that host on its own - the chain the server sends is checked
exactly as the board will check it, without any parsing of certificates here. The roots found
are written as concatenated DER, which the board's transport loads one by one.

Without a network (or a host that does not answer) it says so and what to do instead; it never
writes a partial file. ``--trust-store`` defaults to the system's bundle (``ssl``'s default
verify file). Standard library only. Exit status: 0 written, 1 a host failed, 2 bad arguments.
"""

import argparse
import os
import socket
import ssl
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.append(HERE)

from pem2der import describe, pem_blocks  # noqa: E402

TIMEOUT_S = 10


class RootsError(Exception):
    """A host that cannot be reached or verified; the message says what to do."""


def default_store():
    return ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile


def load_store(path):
    """[DER] of the certificates in the PEM bundle ``path``."""
    with open(path, encoding="ascii", errors="replace") as f:
        certs = [der for label, der in pem_blocks(f.read()) if label in (
            "CERTIFICATE", "TRUSTED CERTIFICATE")]
    if not certs:
        raise RootsError("%s holds no certificates" % path)
    return certs


def _verifies(host, port, roots, timeout):
    """True if ``host`` verifies against exactly ``roots``; RootsError if it cannot be asked."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    ctx.load_verify_locations(cadata=b"".join(roots))
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            with ctx.wrap_socket(s, server_hostname=host):
                return True
    except ssl.SSLCertVerificationError:
        return False
    except (OSError, ssl.SSLError) as e:
        raise RootsError(
            "cannot reach %s:%d (%s). Run this where the host is reachable, or give the root "
            "with --ca-pem FILE (the provider documents its CA; tools/pem2der.py converts it)"
            % (host, port, e.__class__.__name__ + (": %s" % e if str(e) else "")))


def root_for(host, port, store, timeout=TIMEOUT_S):
    """The DER of one root of ``store`` that verifies ``host`` by itself (about log2(len)
    handshakes)."""
    if not _verifies(host, port, store, timeout):
        raise RootsError("%s:%d is not trusted by this trust store (an interception proxy? an "
                         "old store?); give its root with --ca-pem FILE" % (host, port))
    cand = list(store)
    while len(cand) > 1:  # some root in cand verifies: keep a half that still does
        half = cand[:len(cand) // 2]
        cand = half if _verifies(host, port, half, timeout) else cand[len(cand) // 2:]
    if not _verifies(host, port, cand, timeout):  # cross-signed roots: take the whole path
        raise RootsError("%s:%d needs more than one root of the store; give them with --ca-pem"
                         % (host, port))
    return cand[0]


def roots_for(hosts, store, out=print, timeout=TIMEOUT_S):
    """[DER] of the roots for every ``(host, port)``, each once, in the order first needed."""
    found = []
    for host, port in hosts:
        der = root_for(host, port, store, timeout)
        out("%s:%d: %s" % (host, port, describe(der)))
        if der not in found:
            found.append(der)
    return found


def parse_host(text):
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    try:
        return host, int(port) if port else 443
    except ValueError:
        raise RootsError("bad host:port %r" % text)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Pick the root CAs the board needs for HOSTs "
                                 "from the trust store; write them as DER.")
    ap.add_argument("hosts", nargs="+", metavar="HOST[:PORT]")
    ap.add_argument("--trust-store", default=None, help="PEM bundle (default: the system's)")
    ap.add_argument("--out", default="ca.der")
    a = ap.parse_args(argv)
    try:
        store = load_store(a.trust_store or default_store())
        der = b"".join(roots_for([parse_host(h) for h in a.hosts], store))
    except (RootsError, OSError, ValueError) as e:
        print("caroots: %s" % e, file=sys.stderr)
        return 1
    with open(a.out, "wb") as f:
        f.write(der)
    print("caroots: wrote %s (%d bytes)" % (a.out, len(der)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

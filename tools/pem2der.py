#!/usr/bin/env python3
"""Convert PEM CA certificates to DER for the board: ``python tools/pem2der.py in.pem out.der``.

Why: the board's TLS (MicroPython's ``ssl.SSLContext.load_verify_locations(cadata=...)``,
mbedTLS) accepts only DER; a PEM file is refused with "invalid cert".

Bundles: every certificate of the PEM file is written, as concatenated DER. Providers rotate
their roots, so a board should trust the old and the new one. The port itself keeps only the
FIRST certificate of a concatenated DER blob and silently ignores the rest (tried on the
MicroPython v1.29 unix port, mbedTLS 3.6, the same extmod/modtls_mbedtls code as ESP32 and
Pico W), so the board's transport (lib/devicepair/tls.py) splits the file and calls
``load_verify_locations`` once per certificate, which does accumulate them;
host_tests/test_pem2der.py checks both against live TLS servers. ``--first`` writes only the
first certificate. ``tools/caroots.py`` picks the roots a board's hosts need from a trust store.

Standard library only. Exit status: 0 written, 2 refused or unreadable input.
"""

import argparse
import base64
import binascii
import sys

_BEGIN = "-----BEGIN "
_END = "-----END "


def pem_blocks(text):
    """[(label, der_bytes)] for every ``-----BEGIN label-----`` block; ValueError if broken."""
    out = []
    lines = iter(text.splitlines())
    for line in lines:
        line = line.strip()
        if not (line.startswith(_BEGIN) and line.endswith("-----")):
            continue
        label = line[len(_BEGIN):-5]
        body = []
        for inner in lines:
            inner = inner.strip()
            if inner.startswith(_END):
                break
            if ":" not in inner:  # skip RFC 1421 headers like Proc-Type
                body.append(inner)
        else:
            raise ValueError("PEM block %r has no END line" % label)
        try:
            der = base64.b64decode("".join(body), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("PEM block %r is not valid base64" % label) from None
        out.append((label, der))
    return out


def describe(der):
    """A short name for a certificate: its subject when ``cryptography`` is installed."""
    try:
        from cryptography import x509

        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except Exception:  # optional nicety only
        return "%d bytes" % len(der)


def read_certs(src):
    """[DER] of every certificate in the PEM file ``src``; ValueError naming the problem."""
    with open(src, "rb") as f:
        raw = f.read()
    if raw[:2] in (b"\x30\x81", b"\x30\x82", b"\x30\x83"):
        raise ValueError(src + " is already DER (binary), copy it as it is")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(src + " is not a PEM text file") from None
    blocks = pem_blocks(text)
    if any("PRIVATE KEY" in label for label, _ in blocks):
        raise ValueError(src + " contains a PRIVATE KEY: a CA file holds certificates only")
    certs = [der for label, der in blocks if label == "CERTIFICATE"]
    if not certs:
        raise ValueError(src + " holds no -----BEGIN CERTIFICATE----- block")
    for der in certs:
        if der[:1] != b"\x30":
            raise ValueError(src + ": a CERTIFICATE block is not DER inside")
    return certs


def convert(src, dst, first=False, out=print):
    """Write the DER of ``src``'s certificates (only the first with ``first``) to ``dst``,
    concatenated; returns how many were written."""
    certs = read_certs(src)
    keep = certs[:1] if first else certs
    with open(dst, "wb") as f:
        f.write(b"".join(keep))
    out("wrote %d of %d certificate%s to %s:" % (len(keep), len(certs),
                                                  "s" if len(certs) > 1 else "", dst))
    for i, der in enumerate(keep):
        out("  %d. %s (%d bytes)" % (i + 1, describe(der), len(der)))
    return len(keep)


def main(argv=None):
    p = argparse.ArgumentParser(description="PEM CA certificates -> DER for the board's TLS.")
    p.add_argument("src", help="PEM file (one certificate or a bundle: all are written)")
    p.add_argument("dst", help="DER file to write, e.g. ca.der (set ca_file in config.json)")
    p.add_argument("--first", action="store_true",
                   help="from a bundle, write only the first certificate")
    a = p.parse_args(argv)
    try:
        convert(a.src, a.dst, a.first)
    except (OSError, ValueError) as e:
        print("pem2der: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The id_token signing key: RSA 2048, created on first start, kept next to the database.

RS256 with a 2048-bit key gives id tokens of realistic size (~1 KB) so the firmware's
buffers see what real providers send. The key id is the RFC 7638 thumbprint; the public
half is served as a JWKS at /jwks.json.
"""

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey


def key_path_for(db_path):
    """<db>.key.pem beside the database; None for an in-memory database."""
    if db_path == ":memory:":
        return None
    return os.path.abspath(db_path) + ".key.pem"


def _new_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_or_create(path):
    """The signing key (joserfc RSAKey with kid, use=sig, alg=RS256)."""
    pem = None
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            pem = f.read()
    if pem is None:
        pem = _new_pem()
        if path:
            tmp = "%s.%d.tmp" % (path, os.getpid())
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            try:
                os.link(tmp, path)  # first writer wins if two servers start at once
            except FileExistsError:
                with open(path, "rb") as f:
                    pem = f.read()
            finally:
                os.remove(tmp)
    key = RSAKey.import_key(pem, {"use": "sig", "alg": "RS256"})
    key.ensure_kid()
    return key


def public_jwks(key):
    return {"keys": [key.as_dict(private=False)]}

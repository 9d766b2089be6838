"""User codes: what a person reads off a small display and types on a phone.

8 characters from BCDFGHJKLMNPQRSTVWXZ, the set RFC 8628 6.1 suggests: consonants only, so
no accidental words, and no digits to confuse with O or I. Drawn with `secrets`:
20**8 = 2.56e10 codes (about 34.6 bits), shown as XXXX-XXXX.
Input is forgiving: any case, with or without the dash, surrounding or inner spaces.
"""

import secrets

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
LENGTH = 8


def new_user_code():
    """A fresh random code in canonical form (8 letters, no dash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code):
    """BCDFGHJK -> BCDF-GHJK."""
    return code[:4] + "-" + code[4:]


def normalize(text):
    """Canonical form of what a user typed, or None if it cannot be a user code."""
    if not text or len(text) > 64:
        return None
    code = "".join(ch for ch in text.upper() if ch not in " \t\r\n-")
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code

"""A real reader (zxing-cpp) must decode every devicepair.qr symbol back to its exact input.

The corpus holds verification URLs of every length from 1 byte up to the capacity of the
largest version (10) at ECC L and at M, plus UTF-8 text. The same corpus is also encoded by
qr.py running under the real MicroPython interpreter (one batched subprocess per ECC level,
both in parallel): those matrices must decode too, and equal the CPython ones. zxing reports
version, ECC level and mask, which are checked against the encoder's own account. Last,
zxing-cpp's own QR writer must produce the very same modules for the same mask.
"""

import os
import subprocess

import pytest
from conftest import LIB, micropython_bin
from devicepair import qr

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")

LIMIT = {"L": 271, "M": 213}  # byte-mode capacity of version 10
BASES = (
    "https://microsoft.com/devicelogin",
    "https://example.auth0.com/activate?user_code=ABCD-EFGH",
    "https://github.com/login/device",
    "http://127.0.0.1:8080/device?user_code=BCDF-GHJK",
    "https://www.google.com/device",
    "https://sso.example.org/realms/devicepair/device?user_code=WXYZ-QRST",
    "https://keycloak.internal.example.com:8443/auth/realms/Field-Devices/device",
    "https://login.example.net/oauth2/v1/device/verify?user_code=MNPQ-RSTV",
)
# Query parameters that pad the URLs (Keycloak and friends add many of them).
PARAMS = (
    "client_id=devicepair-esp32",
    "kc_locale=de",
    "state=af0ifjsldkj",
    "nonce=n-0S6_WzA2Mj",
    "scope=openid%20profile%20offline_access",
    "redirect_uri=https%3A%2F%2Fdevice.example%2Fcallback",
    "prompt=consent",
    "session_state=3f2c7e1a-9b0d-4c55-8e21-6d4b0a7f9c13",
    "ui_locales=de-DE%20en",
)
UTF8 = (
    "Ger\u00e4t koppeln: https://example.com/ger\u00e4t?code=\u00c4\u00d6\u00dc",
    "\u30c7\u30d0\u30a4\u30b9\u3092\u767b\u9332\u3057\u3066\u304f\u3060\u3055\u3044",
    "\u041a\u043e\u0434: ABCD-EFGH",
    "\u00fc",
    "\u65e5\u672c",
    "Schl\u00fcssel \U0001f510 https://sso.example.org/realms/caf\u00e9/device",
    "\u00e9" * 106,  # 212 bytes: version 10 at M
)

# Run under MicroPython: encode every hex-encoded line of argv[1] at ECC argv[2]; print
# "version mask ecc size" and then one line of 0/1 per row (small allocations only).
MP_SCRIPT = """
import sys, binascii
from devicepair import qr
ecc = sys.argv[2]
with open(sys.argv[1]) as f:
    for line in f:
        q = qr.encode(binascii.unhexlify(line.strip()), ecc)
        print("%d %d %s %d" % (q.version, q.mask, q.ecc, q.size))
        row = bytearray(q.size)
        for y in range(q.size):
            for x in range(q.size):
                row[x] = 49 if q.get(x, y) else 48
            print(row.decode())
"""


def url_of_length(n):
    """A URL-looking ASCII string of exactly n bytes (short ones are URL prefixes)."""
    s = BASES[n % len(BASES)]
    k = n
    while len(s) < n:
        s += ("&" if "?" in s else "?") + PARAMS[k % len(PARAMS)]
        k += 1
    return s[:n]


def corpus(ecc):
    return [url_of_length(n) for n in range(1, LIMIT[ecc] + 1)]


def matrix(q):
    return [
        "".join("1" if q.get(x, y) else "0" for x in range(q.size)) for y in range(q.size)
    ]


_LUM = bytes.maketrans(b"01", b"\xff\x00")  # light module white, dark module black


def decode(rows, scale=4, quiet=4):
    """Render 0/1 rows dark-on-light with a quiet zone, return zxing's QR results."""
    n = len(rows) + 2 * quiet
    blank = ["0" * len(rows)] * quiet
    pad = "0" * quiet
    grid = "".join(pad + r + pad for r in blank + rows + blank)
    img = Image.frombytes("L", (n, n), grid.encode().translate(_LUM))
    img = img.resize((n * scale, n * scale), Image.NEAREST)
    return zxingcpp.read_barcodes(
        img, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=False, try_invert=False
    )


def check(text, rows, version, ecc, mask):
    """None when zxing reads exactly text with these parameters, else what went wrong."""
    found = decode(rows)
    if len(found) != 1:
        return f"{len(found)} symbols found"
    b = found[0]
    if not b.valid or b.bytes != text.encode() or b.text != text:
        return f"decoded {b.text!r}"
    got = (b.extra.get("Version"), b.extra.get("ECLevel"), b.extra.get("DataMask"))
    if got != (str(version), ecc, mask):
        return f"zxing saw version/ecc/mask {got}, the encoder said {(version, ecc, mask)}"
    if len(rows) != 17 + 4 * version:
        return f"size {len(rows)} for version {version}"
    return None


def failures(items):
    """check() every (text, rows, version, ecc, mask); the list of failure descriptions."""
    bad = []
    for text, rows, version, ecc, mask in items:
        why = check(text, rows, version, ecc, mask)
        if why:
            bad.append(f"{len(text.encode())} bytes ({text[:24]!r}...): {why}")
    return bad


def report(bad, items):
    return f"{len(bad)} of {len(items)} failed:\n" + "\n".join(bad[:20])


_encoded = {}


def encoded(ecc):
    """CPython encodings of the corpus: list of (text, qr.QRCode), computed once."""
    if ecc not in _encoded:
        _encoded[ecc] = [(t, qr.encode(t, ecc)) for t in corpus(ecc)]
    return _encoded[ecc]


class MicroPythonRuns:
    """Both corpora encoded under MicroPython (64 KB heap), running in the background.

    Started when the module's first test starts, so the two subprocesses overlap with the
    CPython encoding; output goes to files (about 1 MB, more than a pipe buffer holds).
    """

    def __init__(self, tmp):
        script = tmp / "encode_corpus.py"
        script.write_text(MP_SCRIPT)
        env = dict(os.environ, MICROPYPATH=LIB)
        self.procs = {}
        for ecc in ("L", "M"):
            data = tmp / f"corpus_{ecc}.txt"
            data.write_text("".join(t.encode().hex() + "\n" for t in corpus(ecc) + list(UTF8)))
            out = tmp / f"out_{ecc}.txt"
            err = tmp / f"err_{ecc}.txt"
            with open(out, "w") as fo, open(err, "w") as fe:
                cmd = [micropython_bin(), "-X", "heapsize=64K", str(script), str(data), ecc]
                self.procs[ecc] = (subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe), out, err)

    def lines(self, ecc):
        p, out, err = self.procs[ecc]
        p.wait(timeout=120)
        assert p.returncode == 0, err.read_text()[-2000:]
        return out.read_text().splitlines()

    def close(self):
        for p, _, _ in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()


@pytest.fixture(scope="module", autouse=True)
def micropython_runs(tmp_path_factory):
    runs = MicroPythonRuns(tmp_path_factory.mktemp("qr_mp"))
    yield runs
    runs.close()


@pytest.mark.parametrize("ecc", ["L", "M"])
def test_every_length_decodes(ecc):
    items = [(t, matrix(q), q.version, q.ecc, q.mask) for t, q in encoded(ecc)]
    assert len(items) == LIMIT[ecc]
    bad = failures(items)
    assert not bad, report(bad, items)


def test_corpus_exercises_every_mask_version_and_level():
    masks = set()
    for ecc in ("L", "M"):
        qs = [q for _, q in encoded(ecc)]
        assert {q.ecc for q in qs} == {ecc}
        assert {q.version for q in qs} == set(range(1, 11)), ecc
        assert len({q.mask for q in qs}) >= 6, ecc  # the penalty score really varies
        masks |= {q.mask for q in qs}
        with pytest.raises(ValueError, match="QR: data too long"):
            qr.encode(url_of_length(LIMIT[ecc] + 1), ecc)
    assert masks == set(range(8))  # every (level, mask) pair: test_every_forced_mask_decodes


def test_every_forced_mask_decodes():
    items = []
    for ecc in ("L", "M"):
        for version in (1, 2, 6, 7, 10):
            text = url_of_length(qr.capacity(version, ecc))
            for mask in range(8):
                q = qr.encode(text, ecc, min_version=version, mask=mask)
                assert (q.version, q.mask) == (version, mask)
                items.append((text, matrix(q), version, ecc, mask))
    bad = failures(items)
    assert not bad, report(bad, items)


def test_utf8_text_decodes():
    items = []
    for ecc in ("L", "M"):
        for text in UTF8:
            q = qr.encode(text, ecc)
            items.append((text, matrix(q), q.version, ecc, q.mask))
    bad = failures(items)
    assert not bad, report(bad, items)


def matrix_of_image(img):
    """0/1 rows of a zxingcpp.Image rendered at scale 1 without quiet zone."""
    mv = memoryview(img)
    n = mv.shape[0]
    return ["".join("1" if mv[y, x] < 128 else "0" for x in range(n)) for y in range(n)]


def test_same_modules_as_zxing_writer():
    # Lower case without digits: zxing's writer then uses byte mode only, like ours. Given
    # its version and mask, every module must match (data, EC, placement, format bits).
    digits = str.maketrans("0123456789", "abcdefghij")
    for ecc in ("L", "M"):
        for n in range(1, LIMIT[ecc] + 1, 3):
            text = url_of_length(n).lower().translate(digits)
            ref = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ecc)
            ref = matrix_of_image(ref.to_image(scale=1, add_quiet_zones=False))
            info = decode(ref)[0].extra
            version, mask = int(info["Version"]), info["DataMask"]
            q = qr.encode(text, ecc, mask=mask)  # the version is still chosen automatically
            assert (q.version, matrix(q)) == (version, ref), (ecc, n)


@pytest.mark.parametrize("ecc", ["L", "M"])
def test_micropython_matrices_decode(micropython_runs, ecc):
    texts = corpus(ecc) + list(UTF8)
    lines = iter(micropython_runs.lines(ecc))
    items = []
    for text, head in zip(texts, lines):
        version, mask, got_ecc, size = head.split(" ")
        rows = [next(lines) for _ in range(int(size))]
        items.append((text, rows, int(version), got_ecc, int(mask)))
    assert len(items) == len(texts)
    assert next(lines, None) is None
    bad = failures(items)
    assert not bad, report(bad, items)
    # Same input, same code: MicroPython and CPython must agree module for module.
    cpython = encoded(ecc)
    for i in range(len(cpython)):
        assert items[i][1] == matrix(cpython[i][1]), f"{i + 1} bytes: MicroPython differs"

"""The pairing QR page as a phone would see it: rendered to PNG, decoded with zxing-cpp.

CPython only (Pillow, zxingcpp). The OLED is drawn by the real screen code on the fake
SSD1306, saved lit-is-white at 4x with a black bezel, then read back with inversion off: the
symbol must decode as an ordinary dark-on-light QR code, also a little blurred and tilted.
"""

import os

import pytest

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")
ImageFilter = pytest.importorskip("PIL.ImageFilter")

from devicepair.screen_oled import OledScreen
from fakeoled import FakeSSD1306, framebuf

URIS_64 = (
    "https://github.com/login/device?user_code=BCDF-GHJK",
    "https://www.google.com/device?user_code=GQVQ-JKEC",
    "https://dev-123456.okta.com/activate?user_code=BCDF-GHJK",
    "https://dev-abc123xyz.us.auth0.com/activate?user_code=KFJR-NQWP",
    "https://keycloak.example.com/realms/home/protocol/openid-connect/device?user_code=WDJB-MJHT",
    "https://login.example-identity-provider.com/oauth2/v2.0/device/verify?tenant=3f2a9c1e-77b4"
    "-4d2e-9a61-0c5be8f14d27&client=devicepair-kitchen-display&user_code=MNPQ-RSTV&lang=en",
)
URIS_32 = (
    "https://github.com/login/device?user_code=BCDF-GHJK",
    "https://www.google.com/device?user_code=GQVQ-JKEC",
    "https://example.com/device?user_code=WDJB-MJHT",
)


def _qr_page_png(tmp_path, w, h, uri, name):
    o = FakeSSD1306(w, h)
    scr = OledScreen(o, w, h, step_ms=0, page_ticks=1, framebuf=framebuf)
    scr.pairing("BCDF-GHJK", "https://example.com/device", uri, 900)
    scr.polling_note("waiting for approval")
    assert scr.view.qr is not None, uri
    scr.tick()  # page_ticks=1: straight to the QR page
    assert scr.view.page == 1
    return o.save_png(str(tmp_path / name)), scr


def _decode(img):
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode, try_invert=False)
    return [r.text for r in found]


@pytest.mark.parametrize("size", [(128, 64), (128, 32)], ids=["128x64", "128x32"])
def test_qr_page_decodes(tmp_path, size):
    w, h = size
    uris = URIS_64 if h == 64 else URIS_32
    for i, uri in enumerate(uris):
        path, scr = _qr_page_png(tmp_path, w, h, uri, "qr_%dx%d_%d.png" % (w, h, i))
        assert os.path.getsize(path) > 0 and path.startswith(str(tmp_path))
        img = Image.open(path).convert("L")
        assert img.size == ((w + 8) * 4, (h + 8) * 4)
        assert _decode(img) == [uri], (uri, scr.view.qr.version, scr.view.qr_fit)
        # a phone is not a scanner: soften the edges and tilt it a little
        shaky = img.filter(ImageFilter.GaussianBlur(1.5)).rotate(4, expand=True, fillcolor=0)
        assert _decode(shaky) == [uri], ("blurred/tilted", uri)


def test_code_page_has_no_qr(tmp_path):
    o = FakeSSD1306(128, 64)
    scr = OledScreen(o, 128, 64, step_ms=0, framebuf=framebuf)
    scr.pairing("BCDF-GHJK", "https://github.com/login/device", URIS_64[0], 900)
    img = Image.open(o.save_png(str(tmp_path / "code.png"))).convert("L")
    assert _decode(img) == []


def test_short_uri_gets_scale_2(tmp_path):
    path, scr = _qr_page_png(tmp_path, 128, 64, URIS_64[0], "scale2.png")
    assert scr.view.qr_fit == (2, 1)  # 51 bytes: version 3 with ECC L, 2x2 px modules
    assert _decode(Image.open(path).convert("L")) == [URIS_64[0]]

"""simscreen, the end-to-end tests' eyes: it must read back exactly what devicepair.screen
draws. The user code is read off the simulated OLED at 2x, so every pair of adjacent letters
of the codes tools/authserver issues is drawn at 2x (on even and odd rows) and read back, and
whole pairing pages are read for codes that once misread ("PP" a few rows lower is "pp").
"""

import pytest

import simscreen
from devicepair.bigfont import BigFont
from devicepair.screen_oled import OledScreen
from fakeoled import FakeSSD1306, framebuf
from tools.authserver.codes import ALPHABET


def de_bruijn(alphabet):
    """A sequence holding every ordered pair of the alphabet's letters once (B(k, 2))."""
    k = len(alphabet)
    a = [0] * 2 * k
    seq = []

    def db(t, p):
        if t > 2:
            if 2 % p == 0:
                seq.extend(a[1:p + 1])
        else:
            a[t] = a[t - p]
            db(t + 1, p)
            for j in range(a[t - p] + 1, k):
                a[t] = j
                db(t + 1, t)

    db(1, 1)
    s = "".join(alphabet[i] for i in seq)
    return s + s[0]  # the pair that wraps around


def test_de_bruijn_has_every_pair():
    s = de_bruijn(ALPHABET)
    assert {s[i:i + 2] for i in range(len(s) - 1)} == {a + b for a in ALPHABET
                                                       for b in ALPHABET}


@pytest.mark.parametrize("y", [26, 27])
def test_every_pair_of_code_letters_reads_back_at_2x(y):
    s = de_bruijn(ALPHABET)
    o = FakeSSD1306(128, 64)
    font = BigFont(framebuf)
    for i in range(0, len(s) - 1, 7):  # 8 letters a line (what fits), overlapping by one
        text = s[i:i + 8]
        o.fill(0)
        o.text("http://127.0.0.1", 0, 12, 1)  # 1x text above, as on the pairing page
        font.draw(o, text, 2, y)
        assert simscreen.Screen(bytes(o.buffer)).big() == [text], (text, y)


@pytest.mark.parametrize("code", ["VFHZ-ZPPG", "XLKX-NPPQ", "PPVP-VPNF", "RCDP-MLPP"])
def test_pairing_pages_read_back(code):
    o = FakeSSD1306(128, 64)
    scr = OledScreen(o, 128, 64, step_ms=0, page_ticks=1, framebuf=framebuf)
    url = "http://127.0.0.1:33205/device"
    scr.pairing(code, url, url + "?user_code=" + code, 600)
    lines = [t for _, _, _, t in simscreen.Screen(bytes(o.buffer)).lines()]
    assert lines == ["http://127.0.0.", "1:33205/device", code, "expires in 10:00"]
    scr.tick()  # page_ticks=1: the QR page, the code on two 2x lines beside the QR
    assert simscreen.Screen(bytes(o.buffer)).big() == [code[:4], code[5:]]

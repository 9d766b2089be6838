"""devicepair.qr as a user would see it: the shapes a scanner looks for, the version picked
for a given length, the format/version bits, and drawing onto a framebuffer or a terminal.
Runs on CPython and MicroPython (decoding with a real reader is in test_qr_decode.py)."""

from devicepair import qr  # first: compiling qr.py needs the most heap under MicroPython
from qrcheck import (
    URL,
    FakeFB,
    bch_ok,
    check_drawn,
    format_words,
    is_finder,
    light_frame,
    make_fb,
    read_bits,
    url,
)

CAP_M = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213)
CAP_L = (17, 32, 53, 78, 106, 134, 154, 192, 230, 271)
# Version information words for versions 7..10 as tabulated in ISO/IEC 18004 (Annex D).
VERSION_WORDS = {7: 0x07C94, 8: 0x085BC, 9: 0x09A99, 10: 0x0A4D3}


def test_size_and_version_per_version():
    for v in range(1, 11):
        q = qr.encode("a", min_version=v, max_version=v)
        assert q.version == v
        assert q.size == 17 + 4 * v
        assert q.ecc == "M"
        assert 0 <= q.mask <= 7


def test_finder_patterns_in_three_corners():
    for v in (1, 2, 6, 7, 10):
        q = qr.encode(URL, ecc="L", min_version=v)
        n = q.size
        for x0, y0 in ((0, 0), (n - 7, 0), (0, n - 7)):
            assert is_finder(q, x0, y0), (v, x0, y0)
            assert light_frame(q, x0, y0), (v, x0, y0)
        assert not is_finder(q, n - 7, n - 7)
        assert q.get(8, n - 8)  # the always-dark module


def test_timing_patterns():
    for v in (1, 4, 10):
        q = qr.encode(URL, min_version=v)
        for i in range(8, q.size - 8):
            assert q.get(i, 6) == (i % 2 == 0), (v, i)
            assert q.get(6, i) == (i % 2 == 0), (v, i)


def test_alignment_patterns():
    centres = {1: (), 2: (6, 18), 6: (6, 34), 7: (6, 22, 38), 10: (6, 28, 50)}
    for v, pos in centres.items():
        q = qr.encode("a", min_version=v)
        corners = ((6, 6), (6, pos[-1] if pos else 0), (pos[-1] if pos else 0, 6))
        for cx in pos:
            for cy in pos:
                if (cx, cy) in corners:
                    continue  # under a finder pattern
                for dy in range(-2, 3):
                    for dx in range(-2, 3):
                        assert q.get(cx + dx, cy + dy) == (max(abs(dx), abs(dy)) != 1), (v, cx, cy)


def test_mask_table_matches_iso_formulas():
    for y in range(30):
        for x in range(30):
            p = x * y
            conds = ((x + y) % 2, y % 2, x % 3, (x + y) % 3, (x // 3 + y // 2) % 2,
                     p % 2 + p % 3, (p % 2 + p % 3) % 2, ((x + y) % 2 + p % 3) % 2)
            bits = qr._MASKS[(y % 12) * 6 + x % 6]
            for k in range(8):
                assert (bits >> k) & 1 == (conds[k] == 0), (x, y, k)


def test_format_information_both_copies():
    seen = set()
    for ecc in ("L", "M"):
        for mask in range(8):
            q = qr.encode(URL, ecc=ecc, mask=mask)
            a, b = format_words(q)
            assert a == b
            assert bch_ok(a ^ 0x5412, 15, 0x537)
            data = (a ^ 0x5412) >> 10
            assert data >> 3 == (1 if ecc == "L" else 0)
            assert data & 7 == mask == q.mask
            seen.add(a)
    assert len(seen) == 16
    assert format_words(qr.encode(URL, "M", mask=0))[0] == 0x5412  # known word from the spec
    assert format_words(qr.encode(URL, "L", mask=0))[0] == 0x77C4


def test_version_information_from_version_7():
    for v in range(7, 11):  # below version 7 those modules hold data
        q = qr.encode(URL, min_version=v)
        n = q.size
        bl = read_bits(q, [(i // 3, n - 11 + i % 3) for i in range(18)])  # bottom left
        tr = read_bits(q, [(n - 11 + i % 3, i // 3) for i in range(18)])  # top right
        assert bl == tr == VERSION_WORDS[v]
        assert bl >> 12 == v
        assert bch_ok(bl, 18, 0x1F25)


def test_version_chosen_for_known_lengths():
    for ecc, caps in (("M", CAP_M), ("L", CAP_L)):
        for i in range(10):
            assert qr.capacity(i + 1, ecc) == caps[i]
            assert qr.encode(url(caps[i]), ecc).version == i + 1
            if i < 9:
                assert qr.encode(url(caps[i] + 1), ecc).version == i + 2


def test_too_long_raises():
    for ecc, limit in (("M", 213), ("L", 271)):
        try:
            qr.encode(url(limit + 1), ecc)
        except ValueError as e:
            assert e.args[0] == "QR: data too long"
        else:
            assert False, "no ValueError"
    try:
        qr.encode(url(43), max_version=3)
    except ValueError as e:
        assert e.args[0] == "QR: data too long"
    else:
        assert False, "max_version ignored"


def test_bad_arguments_raise():
    for kw in ({"ecc": "Q"}, {"ecc": "m"}, {"min_version": 0}, {"max_version": 11},
               {"min_version": 5, "max_version": 4}, {"mask": 8}):
        try:
            qr.encode("abc", **kw)
        except ValueError:
            pass
        else:
            assert False, kw


def test_min_version_and_empty_data():
    assert qr.encode("a", min_version=5).version == 5
    assert qr.encode(b"").version == 1


def test_str_is_utf8():
    a = qr.encode("Ger\u00e4t koppeln \u2713")
    b = qr.encode(b"Ger\xc3\xa4t koppeln \xe2\x9c\x93")
    assert a.size == b.size and a.mask == b.mask
    for y in range(a.size):
        for x in range(a.size):
            assert a.get(x, y) == b.get(x, y)


def test_get_outside_is_light():
    q = qr.encode(URL)
    for x, y in ((-1, 0), (0, -1), (q.size, 0), (0, q.size), (-5, -5)):
        assert q.get(x, y) is False
    assert q.get(0, 0) is True


def test_draw_scale_2_with_quiet_zone():
    q = qr.encode("https://t.co/dev", ecc="L")  # 16 bytes: version 1, 21 modules
    assert q.size == 21
    for fb in (make_fb(128, 64), FakeFB(128, 64)):
        fb.fill(1)  # a dark background, so the light quiet zone must be painted
        assert qr.draw(q, fb, 35, 3, scale=2, quiet=4) == 58
        check_drawn(fb, q, 35, 3, 2, 4, 1, 0, 1)
        assert fb.pixel(35 + 8, 3 + 8) == 1  # top-left finder corner module
        assert fb.pixel(35 + 7, 3 + 7) == 0  # quiet zone right next to it
    fb = FakeFB(128, 64)
    assert qr.draw(q, fb, 0, 0, scale=1, quiet=2, dark=0, light=1) == 25  # inverted panel
    check_drawn(fb, q, 0, 0, 1, 2, 0, 1, 0)


def test_fit_scale_on_64x64():
    v1 = qr.encode("a")
    v3 = qr.encode(url(40))
    v10 = qr.encode(url(200))
    assert (v1.size, v3.size, v10.size) == (21, 29, 57)
    assert qr.fit_scale(v1, 64, 64) == 2
    assert qr.fit_scale(v3, 64, 64) == 1
    assert qr.fit_scale(v10, 64, 64) == 1
    assert qr.fit_scale(v10, 64, 64, quiet=4) == 0
    assert qr.fit_scale(v1, 128, 64, quiet=0) == 3
    assert qr.fit_scale(v1, 20, 64, quiet=0) == 0


def test_to_text_half_blocks():
    q = qr.encode("https://github.com/login/device")
    for invert in (False, True):
        text = qr.to_text(q, quiet=2, invert=invert)
        lines = text.split("\n")
        w = q.size + 4
        assert len(lines) == (w + 1) // 2
        for j in range(len(lines)):
            assert len(lines[j]) == w
            for i in range(w):
                ch = lines[j][i]
                assert ch in " \u2580\u2584\u2588"
                top = ch in "\u2580\u2588"
                bot = ch in "\u2584\u2588"
                x = i - 2
                y = 2 * j - 2
                assert top == (q.get(x, y) != invert)
                if y + 1 < q.size + 2:
                    assert bot == (q.get(x, y + 1) != invert)
    assert qr.to_text(q).split("\n")[0] == " " * (q.size + 4)  # light quiet zone

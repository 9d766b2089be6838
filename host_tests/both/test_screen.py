"""devicepair.screen as the user sees it, on both interpreters: every screen at 128x64 and
128x32 against pixel snapshots, long hosts never cut, sanitising, the countdown, paging and
scrolling on tick(), one show() per screen, and the serial console's lines.

Snapshots: text art in snapshots/ ('#' = lit). After an intended layout change run
DEVICEPAIR_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest host_tests -k test_screen and read
the diff. Passing under MicroPython too proves fakefb draws exactly like the real framebuf.
"""

# The runner compiles this module from source (its cwd is first on sys.path): it needs 88 KB
# to compile and hold these 400 lines plus the snapshot and text-reading helpers. A board
# pays far less: the screen modules + qr.mpy + an OledScreen showing a pairing QR hold about
# 27 KB (19.6 KB on a 32-bit board); idle, without the pairing view and QR, 15 KB (10.2 KB).
MP_HEAP = "96K"

from devicepair import qr
from devicepair.screen import Screen, Tee, clean, host_of, mmss, wrap
from devicepair.screen_oled import OledScreen
from devicepair.screen_serial import SerialScreen
from fakeclock import FakeClock
from fakeoled import FakeSSD1306, framebuf

GH = "https://github.com/login/device"
GH_C = GH + "?user_code=BCDF-GHJK"
OKTA = "https://dev-123456.okta.com/activate"
OKTA_C = OKTA + "?user_code=BCDF-GHJK"
P = "[devicepair] "


def _oled(w=128, h=64, **kw):
    # step_ms=0: every tick() is one step; test_tick_follows_the_clock checks real pacing
    o = FakeSSD1306(w, h)
    kw.setdefault("step_ms", 0)
    return o, OledScreen(o, w, h, framebuf=framebuf, **kw)


def _qr(scr):
    # the QR code on the pairing screen; None when none is shown (no pairing view, no QR)
    return scr.view.qr if scr.view else None


def _shows(o, fn, *args):
    n = o.shows
    fn(*args)
    return o.shows - n


def test_fakefb_draws_like_framebuf():
    o = FakeSSD1306(64, 32)
    o.line(0, 0, 63, 31, 1)
    o.line(63, 0, 0, 20, 1)
    o.line(5, 31, 9, -4, 1)
    o.rect(2, 2, 20, 10, 1)
    o.rect(40, 20, 30, 20, 1, True)
    o.fill_rect(-3, 25, 8, 9, 1)
    o.hline(10, 14, 50, 1)
    o.vline(50, -5, 50, 0)
    o.text("Hi~\x7f", 20, 5, 1)
    o.text("\u00e9x", 55, 24, 1)  # UTF-8 bytes: two checkerboards
    o.text("a\x00b", -3, 17, 0)
    o.scroll(3, -2)
    src = FakeSSD1306(8, 8)
    src.text("Q", 0, 0, 1)
    o.blit(src, 50, 2, 0)
    o.blit(src, -4, -3)
    o.pixel(0, 0, 1)
    assert o.pixel(0, 0) == 1 and o.pixel(64, 0) is None and src.line_text(0) == "Q"
    o.check_snapshot("fakefb_primitives")


def test_helpers():
    assert clean("Z\u00fcrich\x1b[2J\n\u2603\x7f") == "Z?rich?[2J???"
    assert clean(None) == "" and clean(503) == "503" and clean("ok ~!") == "ok ~!"
    assert clean("x" * 300) == "x" * 200 + "..."  # bounded, and the cut is visible
    for s, t in ((0, "00:00"), (59, "00:59"), (60, "01:00"), (899, "14:59"), (900, "15:00"),
                 (3599, "59:59"), (6000, "100:00"), (-5, "00:00")):
        assert mmss(s) == t, (s, mmss(s))
    assert host_of(GH) == "github.com/login/device"
    assert host_of("HTTPS://Example.com/x") == "Example.com/x"
    assert host_of("http://insecure.example/x") == "http://insecure.example/x"
    assert wrap("github.com/login/device", 16, True) == ["github.com/login", "/device"]
    assert wrap("microsoft.com/devicelogin", 16, True) == ["microsoft.com", "/devicelogin"]
    assert wrap("a" * 20, 8, True) == ["a" * 8, "a" * 8, "aaaa"]
    assert wrap("Press again to unpair", 16) == ["Press again to", "unpair"]
    assert wrap("", 16) == [""]


PLAIN = (
    ("booting", "booting", ("0.1.0",)),
    ("status", "status", ("Wi-Fi: connecting to HomeNet (2/3)",)),
    ("idle", "idle", ()),
    ("idle_name", "idle", ("Kitchen",)),
    ("approved", "approved", ()),
    ("paired", "paired", ("Ada Lovelace",)),
    ("denied", "denied", ()),
    ("expired", "expired", ()),
    ("error_wifi", "error", ("No Wi-Fi",)),
    ("error_503", "error", ("Server error 503",)),
    ("error_tls", "error", ("TLS: certificate rejected",)),
    ("unpair_confirm", "unpair_confirm", ()),
    ("unpaired", "unpaired", ()),
    ("hold", "hold_progress", (0.5,)),
)


def _plain(w, h):
    o, scr = _oled(w, h)
    for label, meth, args in PLAIN:
        assert _shows(o, getattr(scr, meth), *args) == 1, label  # one show() per screen
        o.check_snapshot("%dx%d_%s" % (w, h, label))
        assert scr.tick() is False  # nothing scrolls on these


def test_plain_screens_128x64():
    _plain(128, 64)
    o, scr = _oled()
    scr.expired()
    assert o.all_text() == ["Code expired -", "press to retry"]
    scr.status("Wi-Fi: connecting to HomeNet (2/3)")
    assert o.all_text() == ["Wi-Fi:", "connecting to", "HomeNet (2/3)"]


def test_plain_screens_128x32():
    _plain(128, 32)
    o, scr = _oled(128, 32)
    scr.unpair_confirm()
    assert o.all_text() == ["Press again to", "unpair"]


def _qr_region(o, scr):
    # The QR's pixels are exactly its modules (dark = unlit) in a lit quiet zone; its width.
    q = _qr(scr)
    s, quiet = scr.view.qr_fit
    side = (q.size + 2 * quiet) * s
    assert quiet >= 1 and s >= 1 and side <= o.height
    y0 = (o.height - side) // 2
    for py in range(side):
        for px in range(side):
            assert o.lit(px, y0 + py) != q.get(px // s - quiet, py // s - quiet), (px, py)
    return side


def _pages(w, h):
    o, scr = _oled(w, h, page_ticks=3)
    assert _shows(o, scr.pairing, "BCDF-GHJK", GH, GH_C, 900) == 1
    o.check_snapshot("%dx%d_pairing_code" % (w, h))
    assert [scr.tick() for _ in range(2)] == [False, False]
    assert _shows(o, scr.tick) == 1  # third tick: the QR page
    side = _qr_region(o, scr)
    o.check_snapshot("%dx%d_pairing_qr" % (w, h), side)  # the text column only
    for _ in range(3):
        scr.tick()
    o.check_snapshot("%dx%d_pairing_code" % (w, h))  # and back
    return scr


def test_pairing_pages_128x64():
    scr = _pages(128, 64)
    assert scr.view.qr_fit == (2, 1) and _qr(scr).size == 29  # version 3 at scale 2 in 64 px


def test_pairing_pages_128x32():
    scr = _pages(128, 32)
    assert scr.view.qr_fit[0] == 1 and _qr(scr).size <= 29


def _holds(q, want):
    ref = qr.encode(want, q.ecc, q.version, q.version, q.mask)
    for i in range(q.size * q.size):
        assert q.get(i % q.size, i // q.size) == ref.get(i % q.size, i // q.size), (want, i)


def test_qr_content_and_fit():
    for h, complete, want in ((64, OKTA_C, OKTA_C), (64, None, GH), (32, GH_C, GH_C),
                              (32, None, GH)):
        o, scr = _oled(128, h)
        scr.pairing("BCDF-GHJK", GH, complete, 900)
        _holds(_qr(scr), want)
    # 56 bytes need version 4 (33 modules): scale 1 in 64 px; 32 px gets the plain URI's QR
    o, scr = _oled()
    scr.pairing("BCDF-GHJK", OKTA, OKTA_C, 900)
    assert _qr(scr).size == 33 and scr.view.qr_fit == (1, 4)
    o, scr = _oled(128, 32)
    scr.pairing("BCDF-GHJK", OKTA, OKTA_C, 900)
    _holds(_qr(scr), OKTA)
    o, scr = _oled(128, 32, page_ticks=2)
    scr.pairing("BCDF-GHJK", "https://login.example-identity-provider.com/oauth2/device",
                None, 900)  # 57 bytes: no QR fits 32 px at all
    for _ in range(60):  # page 1 stays until its scrolling host line has gone round
        if scr.view.page == 0:
            scr.tick()
    assert _qr(scr) is None and scr.view.page == 1 and o.all_text() == ["expires in 15:00"]
    o, scr = _oled(show_qr=False)
    scr.pairing("BCDF-GHJK", GH, GH_C, 900)  # one page only: ticks redraw nothing
    assert _qr(scr) is None and [scr.tick() for _ in range(20)] == [False] * 20


def test_qr_encoded_once_per_pairing():
    calls = []
    real = qr.encode

    def counting(*a):
        calls.append(a[1])
        return real(*a)

    qr.encode = counting
    try:
        o, scr = _oled(page_ticks=2)
        scr.pairing("BCDF-GHJK", GH, OKTA_C, 900)
        q = _qr(scr)
        assert calls == ["M", "L"]  # L might allow scale 2: too long for version 3 though
        for _ in range(12):
            scr.tick()
            scr.countdown(800)
            assert _qr(scr) is q
        scr.pairing("BCDF-GHJK", GH, OKTA_C, 700)  # the same URI again: reused
        assert _qr(scr) is q and len(calls) == 2
        scr.pairing("MNPQ-RSTV", GH, OKTA + "?user_code=MNPQ-RSTV", 900)
        assert _qr(scr) is not q and len(calls) == 4
        scr.expired()
        assert _qr(scr) is None  # freed with the pairing screen
    finally:
        qr.encode = real


HOSTS = (GH, "https://microsoft.com/devicelogin", OKTA,
         "https://login.very-long-subdomain.identity.example-corp.com/oauth2/v2.0/device/go",
         "https://averyveryverylonghostnamewithoutanybreakcharactersatall.example/x")


def _host_seen(w, h, uri):
    # The host as read back from the code page: static lines, then the scrolling last line.
    o, scr = _oled(w, h, page_ticks=4, show_qr=False)
    scr.pairing("BCDF-GHJK", uri, None, 600)
    nl = 3 if h >= 64 else 2
    lines = wrap(host_of(uri), w // 8, True)
    n = min(len(lines), nl)
    y = (nl - n) * 4 if h >= 64 else 0
    seen = ""
    for i in range(n - 1):
        seen += o.line_text(y + 8 * i).rstrip()
    y += 8 * (n - 1)
    if len(lines) <= nl:
        return seen + o.line_text(y).rstrip()
    first = o.line_text(y)
    for _ in range(len("".join(lines[nl - 1:]))):  # the window's first char walks the rest
        seen += o.line_text(y)[0]
        assert _shows(o, scr.tick) == 1
    if h >= 64:  # one page only: round and back at the start (128x32 flips pages now)
        for _ in range(3):
            scr.tick()
        assert o.line_text(y) == first
    return seen


def test_long_hosts_are_never_cut():
    for h in (64, 32):
        for uri in HOSTS:
            assert _host_seen(128, h, uri) == host_of(uri), (h, uri)
    o, scr = _oled(128, 32)
    reason = "TLS: certificate rejected by the server because it expired yesterday"
    scr.error(reason)
    rest = " ".join(wrap(clean(reason, 64), 16)[1:])  # reasons are bounded, visibly: "..."
    seen = ""
    for _ in range(len(rest)):
        seen += o.line_text(24)[0]
        assert _shows(o, scr.tick) == 1
    assert o.find_text(16) == "TLS: certificate" and seen == rest


def test_code_layouts_and_non_ascii():
    o, scr = _oled()
    assert scr.font.width("BCDF-GHJK") == 124  # compact 2x: fits 128 on one line
    scr.pairing("MWMW-MWMW", GH, None, 900)  # 140 px at 2x: falls back to 1x, centred
    assert o.find_text(26) == "MWMW-MWMW"
    scr.pairing("ABCDEFGHJKLMNPQRSTUV", GH, None, 900)
    assert o.find_text(26) == "ABCDEFGHJKLMNPQR" and o.find_text(34) == "STUV"
    scr.pairing("\u00c7D\x1bF-GHJK", "https://ex\u00e4mple.com/d\x07ev", None, 900)
    assert o.line_text(8).rstrip() == "ex?mple.com/d?ev" and scr.view.code == "?D?F-GHJK"
    scr.error("Zertifikat ung\u00fcltig\x07")
    assert o.all_text() == ["Zertifikat", "ung?ltig?"]
    scr.paired("J\u00fcrgen\n")
    assert o.all_text() == ["as J?rgen?"]


def test_countdown_redraws_only_its_area():
    o, scr = _oled()
    scr.pairing("BCDF-GHJK", GH, None, 900)
    before = bytes(o.buffer)
    assert _shows(o, scr.countdown, 899) == 1
    rows = o.changed_rows(before)
    assert rows and rows[0] >= 56 and o.find_text(56) == "expires in 14:59"
    assert _shows(o, scr.countdown, 899) == 0  # same text: no redraw
    for s, t in ((5, "expires in 00:05"), (-3, "expires in 00:00"), (6000, "100:00")):
        scr.countdown(s)
        assert o.find_text(56) == t
    scr.idle()
    assert _shows(o, scr.countdown, 10) == 0  # not pairing: ignored
    o, scr = _oled(128, 32, page_ticks=2, show_qr=False)
    scr.pairing("BCDF-GHJK", GH, None, 900)
    assert _shows(o, scr.countdown, 899) == 0  # 128x32 page 1 has no room for it
    scr.tick()
    scr.tick()
    assert o.find_text(24) == "expires in 14:59"


def test_tick_follows_the_clock():
    # The app calls tick() every 25 ms loop pass: one step per 500 ms, ten steps a page.
    clock = FakeClock()
    o, scr = _oled(clock=clock, step_ms=500)
    scr.pairing("BCDF-GHJK", GH, GH_C, 900)
    scr.polling_note("waiting for approval")  # 20 characters: scrolls
    shows = o.shows
    flips = []
    page = scr.view.page
    for i in range(1, 401):  # 10 s
        clock.advance(25)
        scr.tick()
        if scr.view.page != page:
            page = scr.view.page
            flips.append(i * 25)
    assert o.shows - shows == 20  # one redraw per step, not per call
    assert flips == [5000, 10000]  # ten steps per page


def test_polling_note():
    o, scr = _oled()
    scr.pairing("BCDF-GHJK", GH, GH_C, 900)
    y = scr.view.note_box[1]
    assert _shows(o, scr.polling_note, "slow down: 10 s") == 1
    assert o.find_text(y) == "slow down: 10 s"
    assert _shows(o, scr.polling_note, "slow down: 10 s") == 0
    scr.polling_note("network error, retrying")  # 23 characters: scrolls
    assert o.line_text(y) == "network error, r"
    scr.tick()
    assert o.line_text(y) == "etwork error, re"
    scr.polling_note("waiting for approval")
    for _ in range(scr.view.len - 1):  # flip to the QR page: the note is in the right column
        scr.tick()
    x, y, w = scr.view.note_box
    assert x > 60 and o.line_text(y, x, w // 8) == "waiting "
    scr.idle()
    assert _shows(o, scr.polling_note, "late") == 0


def test_hold_progress_bar():
    for h in (64, 32):
        o, scr = _oled(128, h)
        scr.hold_progress(0.5)
        y = (h - 24) // 2 + 16
        assert o.find_text(y - 16) == "Keep holding..."
        assert o.row(y + 2)[6:122].count("#") == 58
        before = bytes(o.buffer)
        assert _shows(o, scr.hold_progress, 0.75) == 1 and o.row(y + 2)[6:122].count("#") == 87
        assert o.changed_rows(before) == list(range(y, y + 6))
        scr.hold_progress(2)
        assert o.row(y + 2)[6:122].count("#") == 116
        scr.hold_progress(-1)
        assert o.row(y + 2)[6:122].count("#") == 0


def test_serial_plain_lines():
    lines = []
    s = SerialScreen(lines.append)
    for meth, args in (("booting", ("0.1.0",)), ("status", ("Wi-Fi: connecting (2/3)",)),
                       ("idle", ()), ("idle", ("Kitchen",)), ("approved", ()),
                       ("paired", ("Ada Lovelace",)), ("denied", ()), ("expired", ()),
                       ("error", ("Server error 503",)), ("unpair_confirm", ()),
                       ("unpaired", ())):
        getattr(s, meth)(*args)
    assert lines == [P + t for t in (
        "devicepair 0.1.0 starting", "Wi-Fi: connecting (2/3)", "Press button to pair",
        "Press button to pair (Kitchen)", "Approved - finishing pairing",
        "Paired as Ada Lovelace", "Denied - press to retry", "Code expired - press to retry",
        "Error: Server error 503", "Press again to unpair", "Unpaired - press button to pair")]
    assert s.tick() is False
    del lines[:]
    for f in (0, 0.1, 0.3, 0.5, 0.5, 0.99, 1.0, 1.5):
        s.hold_progress(f)
    assert lines == [P + "Keep holding: %d%%" % p for p in (0, 25, 50, 75, 100)]


def test_serial_pairing_qr_and_countdown():
    lines = []
    s = SerialScreen(lines.append)
    s.pairing("BCDF-GHJK", GH, GH_C, 900)
    art = qr.to_text(qr.encode(GH_C), 2, True).split("\n")
    assert lines[:3] == [P + "To pair, open " + GH, P + "and enter the code BCDF-GHJK",
                         P + "or open " + GH_C]
    assert lines[3:-1] == [P + a for a in art] and lines[-1] == P + "Code expires in 15:00"
    del lines[:]
    s.polling_note("waiting for approval")
    s.polling_note("waiting for approval")
    s.polling_note("slow down: 10 s")
    for t in range(899, -1, -1):
        s.countdown(t)
    assert lines[:2] == [P + "waiting for approval", P + "slow down: 10 s"]
    assert lines[2:] == [P + "Code expires in " + mmss(t) for t in range(870, -1, -30)]
    del lines[:]
    s.pairing("BCDF-GHJK", GH, None, None)  # no complete URI: the QR of the URI, no countdown
    assert lines[2:] == [P + a for a in qr.to_text(qr.encode(GH), 2, True).split("\n")]


def test_serial_is_sanitised_and_same_api():
    lines = []
    s = SerialScreen(lines.append, prefix="")
    s.status("a\x1b[31mb\r\nc\u00e9")
    s.error("x\x00y")
    s.paired("\u00c5sa")
    s.pairing("AB\x08CD", "https://ex\u00e4mple.com/\x1b", None, 900)
    assert lines[:5] == ["a?[31mb??c?", "Error: x?y", "Paired as ?sa",
                         "To pair, open https://ex?mple.com/?", "and enter the code AB?CD"]
    for line in lines:
        for ch in line:
            assert " " <= ch <= "~" or ch in "\u2580\u2584\u2588", repr(line)
    for n in ("booting", "status", "idle", "pairing", "countdown", "polling_note", "approved",
              "paired", "denied", "expired", "error", "unpair_confirm", "unpaired",
              "hold_progress", "tick"):
        assert callable(getattr(OledScreen, n)) and callable(getattr(SerialScreen, n)), n
    for n in dir(OledScreen) + dir(SerialScreen):
        assert "token" not in n  # the screens never see one


def test_tee_forwards_the_screen_api_and_a_misspelt_call_fails():
    lines = []
    o, oled = _oled(page_ticks=1)
    t = Tee(oled, SerialScreen(lines.append, prefix=""), Screen())  # Screen(): all no-ops
    t.pairing("BCDF-GHJK", GH, GH_C, 900)
    assert lines[0] == "To pair, open " + GH
    assert oled.view.code == "BCDF-GHJK" and t.tick() is True  # the OLED redrew (page 2)
    t.paired("Ada")
    assert lines[-1] == "Paired as Ada" and o.all_text() == ["as Ada"]
    for bad in ("pairde", "show_code", "countdwon"):
        try:
            getattr(t, bad)("x")
        except AttributeError:
            continue
        raise AssertionError("Tee accepted a misspelt screen method: " + bad)
    assert lines[-1] == "Paired as Ada"


def test_every_screen_has_the_whole_api():
    names = [n for n in dir(Screen) if not n.startswith("_")]
    assert len(names) == 15 and "pairing" in names and "hold_progress" in names
    base = Screen()
    assert base.tick() is False and base.pairing("A", GH) is None  # no-op defaults
    for cls in (OledScreen, SerialScreen, Tee):
        assert issubclass(cls, Screen), cls


def test_the_test_recorder_is_as_strict_as_a_screen():
    from appfakes import RecordingScreen

    r = RecordingScreen()
    r.idle()
    r.countdown(5)
    assert r.calls == [("idle",)] and r.latest == {"countdown": ("countdown", 5)}
    try:
        r.pairde("x")
    except AttributeError:
        return
    raise AssertionError("the recorder accepted a misspelt screen method")


def test_qr_encoder_is_loaded_for_one_encode_only():
    # While the code is on screen the board keeps the symbol and qrdraw, not the encoder: its
    # heap is free again when the token response arrives. Both screens (OLED, serial) drop it.
    import sys

    import devicepair

    saved = sys.modules.pop("devicepair.qr")  # as on a board: nothing else imported it
    delattr(devicepair, "qr")
    try:
        o, scr = _oled(page_ticks=2)
        scr.pairing("BCDF-GHJK", GH, GH_C, 900)
        assert "devicepair.qr" not in sys.modules and "devicepair.qrdraw" in sys.modules
        for _ in range(2):
            scr.tick()
        assert scr.view.page == 1 and _qr_region(o, scr)  # the QR page, drawn without it
        _holds(_qr(scr), GH_C)
        assert "devicepair.qr" not in sys.modules
        out = []
        ser = SerialScreen(out.append)
        ser.pairing("BCDF-GHJK", GH, GH_C, 900)
        assert "devicepair.qr" not in sys.modules and len(out) > 20  # the text QR printed
    finally:
        sys.modules["devicepair.qr"] = saved
        devicepair.qr = saved


def test_pairing_view_is_loaded_for_pairing_and_unloaded_after():
    import sys

    import devicepair

    sys.modules.pop("devicepair.pairing_view", None)  # as on a board that has not paired yet
    if hasattr(devicepair, "pairing_view"):
        delattr(devicepair, "pairing_view")
    o, scr = _oled()
    scr.idle()
    assert scr.view is None and "devicepair.pairing_view" not in sys.modules
    scr.pairing("BCDF-GHJK", GH, GH_C, 900)
    assert "devicepair.pairing_view" in sys.modules and scr.view.qr is not None
    scr.polling_note("slow down: 10 s")
    scr.status("Wi-Fi: reconnecting")  # any other screen: the view and its QR code go
    assert scr.view is None and o.all_text() == ["Wi-Fi:", "reconnecting"]
    assert "devicepair.pairing_view" not in sys.modules  # its code's heap comes back
    assert "devicepair.qr" in sys.modules  # this test module imported qr itself: kept
    scr.countdown(10)
    scr.polling_note("late")
    assert o.all_text() == ["Wi-Fi:", "reconnecting"]  # not pairing: ignored
    scr.pairing("MNPQ-RSTV", GH, None, 900)  # and loads again for the next code
    assert scr.view.code == "MNPQ-RSTV" and _qr(scr) is not None
    assert o.all_text() == ["github.com/login", "/device", "expires in 15:00"]

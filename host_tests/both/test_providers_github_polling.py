"""GitHub's polling accents against its fake (both interpreters): answers form-encoded unless
``Accept: application/json``, errors with HTTP 200, and slow_down that escalates the interval
on every early poll - which the preset's padding prevents."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from fakectl import cfg, pair, start, run, ctl
from devicepair import providers as P
from devicepair import device_flow as df

APP = "Ov23liFakeOAuthApp01"


def test_form_encoded_answers_without_accept_json():
    c = cfg("github", APP)
    p = P.resolve(c)
    q = dict(p.quirks)
    q["headers"] = {"Accept": "*/*"}  # what a client that forgets the header gets
    f = pair(p, c, "github", quirks=q, after=1)
    assert f.state == df.DONE and f.tokens["access_token"].startswith("gho_")
    # GitHub says "bearer": the scheme is case-insensitive (RFC 6750), sent as "Bearer"
    assert f.tokens["token_type"] == "Bearer" and f.tokens["expires_in"] is None
    last = ctl("github", "log", n=1)[0]
    assert last["headers"]["accept"] == "*/*"


def test_slow_down_escalates_without_padding():
    c = cfg("github", APP)
    p = P.resolve(c)
    q = dict(p.quirks)
    q.pop("slow_down_pad_ms")
    q.pop("poll_pad_ms")
    f = start(p, c, q)
    waits = []
    for _ in range(4):  # each poll lands 200 ms early at the server: +5 s every time
        w = f.step()
        waits.append(w)
        f.clock.advance(w)
        ctl("github", "advance", ms=w - 200)
    f.step()
    assert waits == [5000, 5000, 10000, 15000], waits
    assert ctl("github", "code", user_code=f.user_code)["interval"] == 20
    assert f.interval_ms == 20000 and f.note == "slow down: every 20 s"


def test_padding_keeps_the_interval_at_5_s():
    c = cfg("github", APP)
    p = P.resolve(c)
    f = start(p, c)
    assert f.interval_ms == 6000  # 5 s + poll_pad_ms
    waits = run(f, "github", after=3, jitter_ms=800)
    assert f.state == df.DONE and waits == [6000] * 4
    assert ctl("github", "log", n=1)[0]["form"]["grant_type"] == df.GRANT


def test_expired_and_denied():
    c = cfg("github", APP)
    p = P.resolve(c)
    f = start(p, c)
    ctl("github", "advance", ms=900000)
    run(f, "github", after=None)
    assert f.state == df.EXPIRED and f.polls == 1
    f = pair(p, c, "github", deny=True)
    assert f.state == df.DENIED and f.error.status == 200

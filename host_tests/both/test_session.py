"""The token session your code uses (both interpreters): bearer calls that refresh first when
the token is about to expire, 401 -> refresh once -> retry once, a revoked refresh token ->
PairingRequired and unpaired, tokens without expiry valid until a 401, and flash that refuses
a rotation: the new tokens are kept in RAM and used, the rotated one never presented again."""

# The session (device flow, HTTP, token store) plus FakeFS and this module: as the device
# flow's tests.
MP_HEAP = "112K"

from fakeclock import FakeClock
from fakefs import FakeFS
from scripting import script, transport, token_response, requests_seen
from flowkit import client
from devicepair.errors import PairingRequired, StorageError
from devicepair.form import parse_form
from devicepair.session import Session
from devicepair.tokens import TokenStore

T0 = 1795435200


class FullFS(FakeFS):
    """A FakeFS whose flash can be full: every write refused with ENOSPC while ``full``."""

    full = False

    def open(self, path, mode="rb"):
        if mode == "wb" and self.full:
            raise OSError(28)
        return FakeFS.open(self, path, mode)


def _session(base, fs=None, clock=None, **kw):
    clock = clock or FakeClock(unix=T0)
    store = TokenStore("tokens.json", fs if fs is not None else FakeFS(), clock)
    return Session(store, transport(), client(base, **kw), clock)


def _paired(s, **tok):
    d = token_response(**tok)["json"]
    s.adopt(d)
    return s


def _auth(seen):
    return seen["headers"].get("authorization")


def test_get_sends_the_bearer_token_and_a_fresh_one_when_due():
    base = script({"/api": [{"json": {"v": 1}}, {"json": {"v": 2}}],
                   "/token": [token_response(access_token="at-new", refresh_token="rt-2")]})
    s = _paired(_session(base), access_token="at-old", expires_in=600)
    r = s.get(base + "/api")
    assert r.status_code == 200 and r.json() == {"v": 1}
    s.clock.advance(500 * 1000)  # 100 s left: inside the refresh margin
    r = s.post(base + "/api", json={"reading": 21.5})
    assert r.json() == {"v": 2}
    seen = requests_seen(base)
    assert [x["path"].rsplit("/", 1)[1] for x in seen] == ["api", "token", "api"]
    assert _auth(seen[0]) == "Bearer at-old" and _auth(seen[2]) == "Bearer at-new"
    assert parse_form(seen[1]["body"])["refresh_token"] == "rt-" + "r" * 40
    assert s.store.load()["refresh_token"] == "rt-2"  # the rotation is on flash


def test_401_refreshes_once_and_retries_once():
    base = script({"/api": [{"status": 401, "json": {"error": "invalid_token"}},
                            {"json": {"ok": True}},
                            {"status": 401, "body": ""}, {"status": 401, "body": ""}],
                   "/token": [token_response(access_token="at-2"),
                              token_response(access_token="at-3")]})
    s = _paired(_session(base), access_token="at-1")
    assert s.get(base + "/api").json() == {"ok": True}
    r = s.get(base + "/api")  # 401, refresh, 401 again: the answer is the caller's
    assert r.status_code == 401
    seen = requests_seen(base)
    assert [x["path"].rsplit("/", 1)[1] for x in seen] == ["api", "token", "api", "api",
                                                            "token", "api"]
    assert [_auth(x) for x in seen if x["path"].endswith("/api")] == [
        "Bearer at-1", "Bearer at-2", "Bearer at-2", "Bearer at-3"]


def test_revoked_refresh_token_raises_pairing_required_and_unpairs():
    base = script({"/api": [{"status": 401, "body": ""}],
                   "/token": [{"status": 400, "json": {"error": "invalid_grant"}}]})
    s = _paired(_session(base))
    try:
        s.get(base + "/api")
        assert False, "no PairingRequired"
    except PairingRequired as e:
        assert e.error == "invalid_grant"
    assert not s.paired and s.store.load() is None
    try:
        s.get(base + "/api")  # no request is made without tokens
        assert False
    except PairingRequired:
        pass
    assert len(requests_seen(base)) == 2


def test_tokens_without_expiry_stay_valid_until_a_401():
    base = script({"/user": [{"json": {"login": "octo"}}, {"status": 401, "body": ""}]})
    s = _session(base)
    s.adopt({"access_token": "gho_abc", "token_type": "bearer"})  # GitHub OAuth app
    s.clock.advance(400 * 86400 * 1000)
    assert s.valid() and s.get(base + "/user").json() == {"login": "octo"}
    try:
        s.get(base + "/user")  # revoked: no refresh token -> pair again
        assert False
    except PairingRequired:
        pass
    assert not s.paired and len(requests_seen(base)) == 2


def test_flash_full_during_a_rotation_keeps_the_new_tokens_in_ram():
    base = script({"/token": [token_response(access_token="at-2", refresh_token="rt-2"),
                              token_response(access_token="at-3", refresh_token="rt-3")],
                   "/api": [{"json": {}}, {"json": {}}]})
    fs = FullFS()
    s = _paired(_session(base, fs), access_token="at-1", refresh_token="rt-1", expires_in=60)
    fs.full = True
    try:
        s.refresh()
        assert False, "flash full went unnoticed"
    except StorageError as e:
        assert e.message == "flash full" and e.transient
    assert s.save_pending and s.tokens["refresh_token"] == "rt-2"  # RAM has the new set
    assert s.store.load()["refresh_token"] == "rt-1"  # flash still the old, complete one
    s.get(base + "/api")  # uses the RAM token
    s.clock.advance(3600 * 1000)
    try:
        s.get(base + "/api")  # due again: refreshes with rt-2, never the rotated rt-1
    except StorageError:
        pass
    fs.full = False
    s.retry_save()
    assert not s.save_pending and s.store.load()["refresh_token"] == "rt-3"
    seen = requests_seen(base)
    sent = [parse_form(x["body"])["refresh_token"] for x in seen if x["path"].endswith("/token")]
    assert sent == ["rt-1", "rt-2"]
    assert [_auth(x) for x in seen if x["path"].endswith("/api")] == ["Bearer at-2",
                                                                       "Bearer at-3"]


def test_whoami_names_the_user_and_a_401_marks_the_token_expired():
    base = script({"/me": [{"json": {"name": "Ada"}}, {"status": 401, "body": ""}]})
    s = _paired(_session(base, whoami_url=None))
    assert s.whoami() is None  # no user API: no request
    s = _paired(_session(base, whoami_url=base + "/me"))
    assert s.whoami() == "Ada" and s.store.load()["name"] == "Ada"
    assert s.valid()
    assert s.whoami() is None and not s.valid()  # refreshed (or paired again) next
    assert s.name == "Ada" and len(requests_seen(base)) == 2

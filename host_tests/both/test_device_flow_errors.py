"""RFC 8628 client: response validation, refresh, typed errors (both interpreters)."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from scripting import script, transport, pending, device_response, token_response, requests_seen
from devicepair import device_flow as df
from flowkit import client, flow as _flow, run as _run
from devicepair.form import parse_form
from devicepair.errors import ResponseError, ProviderError, PairingRequired, NetworkError


def _start_error(resp):
    base = script({"/device": [resp]})
    f = _flow(base)
    try:
        f.start()
    except (ResponseError, ProviderError) as e:
        return e
    raise AssertionError("start() accepted " + repr(resp))


def test_device_response_validation():
    for field in ("device_code", "user_code", "verification_uri"):
        e = _start_error(device_response(**{field: None}))
        assert str(e) == "server response has no " + field, str(e)
    assert str(_start_error(device_response(user_code=12))) == "server sent a bad user_code"
    assert "verification_uri" in str(_start_error(device_response(verification_uri="nope")))
    for bad in (0, -5, 100000, "soon", True, [5]):
        assert "interval" in str(_start_error(device_response(interval=bad)))
    for bad in (0, 5, 10 ** 9, "x"):
        assert "expires_in" in str(_start_error(device_response(expires_in=bad)))
    e = _start_error({"status": 200, "body": "<html>hello</html>", "content_type": "text/html"})
    assert str(e) == "device code request: bad response (HTTP 200)"
    e = _start_error({"status": 400, "json": {"error": "invalid_client"}})
    assert isinstance(e, ProviderError) and e.error == "invalid_client"
    e = _start_error({"status": 503, "body": "busy"})
    assert e.transient and e.status == 503
    e = _start_error({"status": 200, "json": [1, 2]})
    assert isinstance(e, ResponseError)


def test_bad_success_response_is_a_failure_not_a_crash():
    base = script({"/device": [device_response()],
                   "/token": [{"json": {"token_type": "Bearer"}}]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.state == df.FAILED and str(f.error) == "server response has no access_token"


def test_huge_token_body_refused_while_reading():
    base = script({"/device": [device_response()],
                   "/token": [{"size": 1000000}, {"size": 1000000, "chunked": True},
                              token_response()]})
    f = _flow(base)
    f.start()
    _run(f)
    # an oversized body is not transient: the pairing fails with a clear reason
    assert f.state == df.FAILED and "too large" in str(f.error)


def test_cancel():
    base = script({"/device": [device_response()], "/token": [pending(5)]})
    f = _flow(base)
    f.start()
    f.clock.advance(f.step())
    f.clock.advance(f.step() // 2)  # one pending poll, then half-way to the next
    f.cancel()
    assert f.state == df.CANCELLED and f.step() == 0 and f.polls == 1


def test_refresh_keeps_old_refresh_token_when_omitted():
    base = script({"/token": [token_response(refresh_token=None),
                              token_response(refresh_token="rt-new")]})
    t = df.refresh(transport(), client(base), "rt-old")
    assert t["refresh_token"] == "rt-old"
    t = df.refresh(transport(), client(base, client_secret="s"), "rt-old")
    assert t["refresh_token"] == "rt-new"
    seen = requests_seen(base)
    assert parse_form(seen[0]["body"]) == {"grant_type": "refresh_token",
                                           "refresh_token": "rt-old", "client_id": "client-1"}
    assert "client_secret=s" in seen[1]["body"] and "client_secret" not in seen[0]["body"]


def test_refresh_invalid_grant_requires_pairing_and_5xx_is_transient():
    base = script({"/token": [{"status": 400, "json": {"error": "invalid_grant"}},
                              {"status": 500, "body": "x"},
                              {"status": 401, "json": {"error": "invalid_client"}}]})
    try:
        df.refresh(transport(), client(base), "rt")
        raise AssertionError("no error")
    except PairingRequired as e:
        assert e.error == "invalid_grant"
    try:
        df.refresh(transport(), client(base), "rt")
        raise AssertionError("no error")
    except ResponseError as e:
        assert e.transient
    try:
        df.refresh(transport(), client(base), "rt")
        raise AssertionError("no error")
    except PairingRequired:
        raise AssertionError("invalid_client is not invalid_grant")
    except ProviderError as e:
        assert e.error == "invalid_client" and not e.transient


def test_network_errors_are_typed():
    t = transport(timeout_ms=2000)
    try:
        t.get("http://127.0.0.1:1/nothing")
        raise AssertionError("connected to port 1?")
    except NetworkError as e:
        assert e.transient and "refused" in str(e)

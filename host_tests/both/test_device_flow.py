"""RFC 8628 client against the scripted server, with a fake clock (both interpreters).

A whole 15-minute pairing runs in milliseconds: the clock only moves when the test advances it
by what ``step()`` asked for, so every wait the client chooses is visible and asserted.
"""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from scripting import script, pending, device_response, token_response
from scripting import requests_seen
from devicepair import device_flow as df
from flowkit import flow as _flow, run as _run
from devicepair.form import parse_form
from devicepair.errors import ProviderError


def test_happy_path_with_pending_and_slow_down():
    base = script({"/device": [device_response()],
                   "/token": [pending(3), {"status": 400, "json": {"error": "slow_down"}},
                              token_response()]})
    f = _flow(base, extra_params={"audience": "https://api.example"})
    f.start()
    assert f.user_code == "BCDF-GHJK"
    assert f.verification_uri_complete.endswith("user_code=BCDF-GHJK")
    assert f.seconds_left() == 900
    _run(f)
    assert f.state == df.DONE
    assert f.tokens["access_token"].startswith("at-")
    assert f.tokens["refresh_token"].startswith("rt-")
    # polls at 5,10,15,20 (slow_down -> 10 s), 30
    assert f.clock.elapsed_ms == 30000
    assert f.polls == 5
    seen = requests_seen(base, first=2)
    assert seen[0]["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_form(seen[0]["body"]) == {"client_id": "client-1", "audience": "https://api.example",
                                           "scope": "openid profile offline_access"}
    assert "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" in seen[1]["body"]
    assert "device_code=dev-code-1" in seen[1]["body"]
    assert seen[1]["headers"]["connection"] == "close"


def test_interval_defaults_to_5_s_and_string_numbers_accepted():
    base = script({"/device": [device_response(interval=None, expires_in="120")],
                   "/token": [pending(2), token_response()]})
    f = _flow(base)
    f.start()
    assert f.interval_ms == 5000 and f.seconds_left() == 120
    _run(f)
    assert f.state == df.DONE and f.clock.elapsed_ms == 15000

    base = script({"/device": [device_response(interval="7")], "/token": [token_response()]})
    f = _flow(base)
    f.start()
    assert f.interval_ms == 7000


def test_slow_down_server_interval_wins():
    base = script({"/device": [device_response(interval=5)],
                   "/token": [{"json": {"error": "slow_down", "interval": 17}}, token_response()]})
    f = _flow(base)
    f.start()
    waits = _run(f)
    assert f.state == df.DONE
    assert waits == [5000, 17000]


def test_slow_down_padding_quirk():
    base = script({"/device": [device_response(interval=5)],
                   "/token": [{"json": {"error": "slow_down", "interval": 10}}, token_response()]})
    f = _flow(base, quirks={"slow_down_pad_ms": 1000})
    f.start()
    assert _run(f) == [5000, 11000]


def test_poll_timed_from_response_arrival():
    base = script({"/device": [device_response(interval=5)], "/token": [pending(1),
                   token_response()]})
    f = _flow(base)
    f.start()
    f.clock.advance(4000)
    assert f.step() == 1000  # not due yet, no request
    assert f.polls == 0
    f.clock.advance(3000)  # app was busy: 2 s late
    w = f.step()
    assert f.polls == 1 and w == 5000  # next poll 5 s after this response, not after the due


def test_whole_15_minute_pairing_expires_without_polling_past_deadline():
    base = script({"/device": [device_response(expires_in=900, interval=5)],
                   "/token": [pending(500)]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.state == df.EXPIRED
    assert f.clock.elapsed_ms == 900000
    assert f.polls == 179  # at 5..895 s; none at or after 900 s
    assert isinstance(f.error, ProviderError) and f.error.error == "expired_token"


def test_deadline_cuts_a_long_wait():
    base = script({"/device": [device_response(expires_in=12, interval=10)],
                   "/token": [pending(5)]})
    f = _flow(base)
    f.start()
    waits = _run(f)
    assert waits == [10000, 2000] and f.polls == 1 and f.state == df.EXPIRED


def test_expired_token_from_server():
    base = script({"/device": [device_response()],
                   "/token": [pending(1), {"status": 400, "json": {"error": "expired_token"}}]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.state == df.EXPIRED and f.polls == 2


def test_invalid_grant_while_polling_means_start_again():
    base = script({"/device": [device_response()],
                   "/token": [{"status": 400, "json": {"error": "invalid_grant"}}]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.state == df.EXPIRED


def test_access_denied():
    base = script({"/device": [device_response()],
                   "/token": [pending(2), {"status": 400, "json": {
                       "error": "access_denied", "error_description": "user said no"}}]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.state == df.DENIED and f.error.description == "user said no"


def test_other_error_fails_with_description():
    base = script({"/device": [device_response()],
                   "/token": [{"status": 401, "json": {
                       "error": "invalid_client", "error_description": "unknown client"}}]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.state == df.FAILED
    assert str(f.error) == "invalid_client: unknown client"


def test_transient_failures_back_off_and_keep_polling():
    base = script({"/device": [device_response(interval=5)],
                   "/token": [{"status": 503, "body": "<html>down</html>"},
                              {"status": 502, "json": {"error": "bad_gateway"}},
                              {"status": 429, "body": "", "headers": {"Retry-After": "30"}},
                              {"status": 429, "body": "slow"},
                              {"close": True},
                              pending(1),
                              token_response()]})
    f = _flow(base)
    f.start()
    waits = _run(f)
    assert f.state == df.DONE and f.polls == 7
    # 5 s, then 503 -> 10 s, 5xx again -> 20 s, 429 Retry-After 30 -> 30 s (the server said
    # when: the doubling starts again), 429 without -> 10 s, reset -> 20 s, pending -> 5 s
    assert waits == [5000, 10000, 20000, 30000, 10000, 20000, 5000], waits
    assert f.note == "waiting for approval"


def test_token_response_without_memory_to_parse_is_polled_again():
    from devicepair import http

    class NoMemoryJson:  # a fragmented board heap, once: the token response cannot be parsed
        @staticmethod
        def loads(s):
            http._json = real
            raise MemoryError("memory allocation failed")

    base = script({"/device": [device_response(interval=5)],
                   "/token": [token_response(), token_response()]})
    f = _flow(base)
    f.start()
    real = http._json
    f.clock.advance(f.step())  # the first step only waits out the interval
    http._json = NoMemoryJson
    try:
        w = f.step()
    finally:
        http._json = real
    assert f.state == df.POLLING and w == 10000  # backed off, not failed or expired
    assert f.note == "response too large for free memory, retry in 10 s"
    f.clock.advance(w)
    f.step()
    assert f.state == df.DONE


def test_transient_failures_until_deadline_then_expired():
    base = script({"/device": [device_response(expires_in=60, interval=5)],
                   "/token": [{"status": 500, "body": "oops", "repeat": 20}]})
    f = _flow(base)
    f.start()
    _run(f)
    # 5, 15, 35 s; the next would be 75 > 60: one last poll just before the deadline instead
    assert f.state == df.EXPIRED and f.polls == 4


def test_429_with_slow_down_body_is_slow_down():
    base = script({"/device": [device_response(interval=5)],
                   "/token": [{"status": 429, "json": {"error": "slow_down"}}, token_response()]})
    f = _flow(base)
    f.start()
    assert _run(f) == [5000, 10000]


def test_403_pending_and_428_pending_are_pending():
    base = script({"/device": [device_response(interval=5)],
                   "/token": [pending(1, 403), pending(1, 428), token_response()]})
    f = _flow(base)
    f.start()
    assert _run(f) == [5000, 5000, 5000] and f.state == df.DONE


def test_form_encoded_responses_and_error_with_http_200():
    base = script({"/device": [{"form": {"device_code": "d", "user_code": "WDJB-MJHT",
                                         "verification_uri": "https://github.com/login/device",
                                         "expires_in": "899", "interval": "5"}}],
                   "/token": [{"form": {"error": "authorization_pending"}},
                              {"form": {"access_token": "gho_x", "token_type": "bearer",
                                        "scope": ""}}]})
    f = _flow(base)
    f.start()
    assert f.user_code == "WDJB-MJHT" and f.verification_uri_complete is None
    _run(f)
    assert f.state == df.DONE and f.tokens["access_token"] == "gho_x"
    assert "refresh_token" not in f.tokens and f.tokens["expires_in"] is None


def test_chunked_token_response():
    tr = token_response()
    tr["chunked"] = True
    base = script({"/device": [device_response()], "/token": [tr]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.state == df.DONE and f.tokens["token_type"] == "Bearer"


def test_quirks_aliases_errors_and_complete_uri():
    q = {"aliases": {"verification_url": "verification_uri"},
         "errors": {"authorization_declined": "access_denied"},
         "complete_uri": "{verification_uri}?code={user_code}"}
    base = script({"/device": [device_response(verification_uri=None,
                                               verification_uri_complete=None,
                                               verification_url="https://g.co/device")],
                   "/token": [{"json": {"error": "authorization_declined"}}]})
    f = _flow(base, quirks=q)
    f.start()
    assert f.verification_uri == "https://g.co/device"
    assert f.verification_uri_complete == "https://g.co/device?code=BCDF-GHJK"
    _run(f)
    assert f.state == df.DENIED


def test_token_strings_are_what_the_json_says_however_it_is_written():
    # The long token strings are lifted out of the body before json.loads parses the rest (one
    # allocation each on a fragmented board heap): the tokens kept must be what JSON means.
    J = "application/json"
    cases = [  # (body, content type, access token, refresh token)
        ('{"access_token": "at-\\/1", "token_type": "Bearer", "refresh_token" : "rt-1",'
         ' "id_token": "h.c.s"}', J, "at-/1", "rt-1"),  # escapes: json.loads decodes them
        ('{"scope": "access_token", "x": {"access_token": "nested"},\n "access_token"\n:\t'
         '"at-2", "token_type": "Bearer"}', J, "at-2", None),  # a value and a nested key first
        ('{"token_type": "Bearer", "refresh_token": "rt-3", "access_token": "at-3"}', J,
         "at-3", "rt-3"),
        ("access_token=at-4&token_type=bearer&refresh_token=rt-4",
         "application/x-www-form-urlencoded", "at-4", "rt-4"),
    ]
    for body, ctype, at, rt in cases:
        base = script({"/device": [device_response()],
                       "/token": [{"body": body, "content_type": ctype}]})
        f = _flow(base)
        f.start()
        _run(f)
        assert f.state == df.DONE, (body, f.state)
        assert f.tokens["access_token"] == at and f.tokens.get("refresh_token") == rt, body
        assert "id_token" not in f.tokens
    base = script({"/device": [device_response()],  # "\u0041" is json's, not a token's
                   "/token": [{"body": '{"access_token": "at-\\u0041", "token_type": "Bearer"}',
                               "content_type": J}]})
    f = _flow(base)
    f.start()
    _run(f)
    assert f.tokens["access_token"] == "at-A"


def test_hostile_token_bodies_around_the_lifted_strings_end_in_a_retry_not_a_crash():
    # Truncated, mistyped or non-UTF-8 token values: the lifting must not raise or guess. A
    # malformed answer is retried until the code expires; one that parses with a bad token is
    # refused (failed). No tokens are taken either way.
    bodies = [b'{"access_token": "at-truncated', b'{"access_token": 5, "token_type": "Bearer"}',
              b'{"access_token": "at-\xff\xfe", "token_type": "Bearer"}',
              b'{"access_token": ', b'{"access_token"', b'"access_token": "at-1"}']
    for body in bodies:
        base = script({"/device": [device_response(expires_in=60)],
                       "/token": [{"raw": "".join(["%02x" % b for b in body])}]})
        f = _flow(base)
        f.start()
        _run(f)
        assert f.state in (df.EXPIRED, df.FAILED) and f.tokens is None, body

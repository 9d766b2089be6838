"""The transport against the scripted server (both interpreters): encoding, caps, errors."""

from scripting import script, transport, requests_seen
from devicepair import urls, form
from devicepair.http import Transport
from devicepair.errors import DevicePairError


def _err(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except DevicePairError as e:
        return e
    raise AssertionError("no error")


def test_form_encoding_round_trip():
    fields = [("scope", "openid profile"), ("x", "a&b=c/d?é"), ("empty", ""), ("none", None)]
    body = form.urlencode(fields)
    assert body == "scope=openid+profile&x=a%26b%3Dc%2Fd%3F%C3%A9&empty="
    assert form.parse_form(body) == {"scope": "openid profile", "x": "a&b=c/d?é", "empty": ""}
    assert form.unquote("100%") == "100%" and form.unquote("%zz%41") == "%zzA"


def test_split_url_and_loopback_rule():
    assert urls.split_url("https://Login.Example:8443/a/b?c=1") == (
        "https", "login.example", 8443, "/a/b?c=1")
    assert urls.split_url("http://[::1]:8080") == ("http", "::1", 8080, "/")


def test_http_refused_for_remote_hosts_without_any_traffic():
    t = Transport(allow_insecure_http=True)
    e = _err(t.get, "http://example.com/userinfo")
    assert "https" in str(e) and not e.transient
    e = _err(Transport().get, "http://127.0.0.1:9/x")
    assert "loopback" in str(e)


def test_get_with_bearer_and_headers():
    base = script({"/me": [{"json": {"name": "Ada"}}]})
    r = transport().get(base + "/me", bearer="tok-123", headers={"User-Agent": "x/1"})
    assert r.status_code == 200 and r.data() == {"name": "Ada"}
    h = requests_seen(base)[0]["headers"]
    assert h["authorization"] == "Bearer tok-123"
    assert h["user-agent"] == "x/1" and h["accept"] == "application/json"
    assert h["host"].startswith("127.0.0.1:")


def test_post_json():
    base = script({"/j": [{"status": 201, "json": {"ok": True}}]})
    r = transport().request("POST", base + "/j", json={"a": [1, 2]})
    assert r.status_code == 201 and r.json() == {"ok": True}
    seen = requests_seen(base)[0]
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["body"].replace(" ", "") == '{"a":[1,2]}'


def test_oauth_errors_parsed_whatever_the_status():
    for status in (200, 400, 401, 403, 428, 429):
        base = script({"/t": [{"status": status, "json": {"error": "e%d" % status}}]})
        r = transport().post_form(base + "/t", {"a": "b"})
        assert r.status_code == status and r.data()["error"] == "e%d" % status


def test_retry_after_seconds_parsed_and_date_ignored():
    base = script({"/t": [{"status": 429, "headers": {"Retry-After": "12"}},
                          {"status": 503,
                           "headers": {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}}]})
    assert transport().get(base + "/t").retry_after == 12
    assert transport().get(base + "/t").retry_after is None


def test_one_megabyte_body_refused():
    base = script({"/big": [{"size": 1000000}, {"size": 1000000, "chunked": True},
                            {"size": 9000, "chunked": True}, {"json": {"ok": 1}}]})
    t = transport(max_body=8192)
    e = _err(t.get, base + "/big")
    assert str(e) == "response too large (1000000 bytes, limit 8192)"
    assert not e.transient
    e = _err(t.get, base + "/big")  # chunked: refused while reading (on a board-sized heap
    assert str(e).startswith("response too large")  # maybe by memory, which is transient)
    e = _err(t.get, base + "/big")
    assert "too large" in str(e)
    assert t.get(base + "/big").data() == {"ok": 1}  # the transport is still usable


def test_non_json_body_is_a_typed_error():
    base = script({"/t": [{"status": 200, "body": "<html>login</html>",
                           "content_type": "text/html"},
                          {"status": 200, "json": "just a string"}]})
    e = _err(transport().get(base + "/t").data)
    assert str(e) == "malformed JSON (HTTP 200)"
    e = _err(transport().get(base + "/t").data)
    assert str(e) == "unexpected JSON (HTTP 200)"


def test_no_memory_for_the_parsed_body_is_a_transient_error():
    from devicepair import http

    class Json:  # what a fragmented board heap does to json.loads of a token response
        @staticmethod
        def loads(s):
            raise MemoryError("memory allocation failed")

    r = http.Response(200, "application/json", None, b'{"access_token": "x"}')
    real, http._json = http._json, Json
    try:
        r.data()
        raise AssertionError("no error")
    except DevicePairError as e:
        assert e.message == "response too large for free memory" and e.transient
    finally:
        http._json = real


def test_timeout_and_reset_are_transient():
    base = script({"/slow": [{"delay_ms": 1500, "json": {}}], "/cut": [{"close": True}]})
    e = _err(transport(timeout_ms=400).get, base + "/slow")
    assert e.transient and str(e) == "timeout"
    e = _err(transport().get, base + "/cut")
    assert e.transient and "closed" in str(e)


def test_dns_failure_is_transient():
    import os

    with open(os.getenv("DEVICEPAIR_FAULT_CA"), "rb") as f:  # a CA: checked before DNS
        ca = f.read()
    e = _err(Transport(cadata=ca).get, "https://no-such-host.invalid/x")
    assert e.transient and str(e) == "DNS lookup failed for no-such-host.invalid"


def test_header_injection_refused_before_anything_is_sent():
    from devicepair.errors import HeaderError
    from scripting import request_count

    base = script({"/me": [{"json": {"name": "Ada"}}]})
    t = transport()
    bad = [dict(bearer="tok\r\nX-Evil: 1"), dict(bearer="tok\nHost: evil.example"),
           dict(bearer="tok\x00"), dict(headers={"X-Ok": "a\r\n\r\nGET / HTTP/1.1"}),
           dict(headers={"X-Bad\r\nName": "v"}), dict(headers={"Bad Name": "v"}),
           dict(headers={"": "v"}), dict(bearer=b"bytes-token")]
    for kw in bad:
        e = _err(t.get, base + "/me", **kw)
        assert isinstance(e, HeaderError) and not e.transient, (kw, e)
        assert "tok" not in e.message  # the refusal never repeats the value
    t.user_agent = "devicepair/0.1\r\nX-Evil: 1"
    assert isinstance(_err(t.get, base + "/me"), HeaderError)
    e = _err(transport().request, "GET\r\n", base + "/me")
    assert isinstance(e, HeaderError)
    assert request_count(base) == 0  # not one byte reached the server
    assert transport().get(base + "/me", bearer="tok-1.2_3~4+5/6=").data() == {"name": "Ada"}


def test_body_stream_reads_in_bounded_pieces():
    base = script({"/doc": [{"body": "0123456789" * 50, "chunked": True},
                            {"body": "abc" * 300}, {"size": 9000}]})
    t = transport(max_body=2048)
    for want in ("0123456789" * 50, "abc" * 300):
        b = t.open("GET", base + "/doc")
        try:
            assert b.status_code == 200 and b.content_type.startswith("text/plain")
            buf = bytearray(64)
            got = bytearray()
            for _ in range(100):
                n = b.readinto(buf)
                if not n:
                    break
                assert n <= 64
                got.extend(buf[:n])
            assert bytes(got).decode() == want and b.readinto(buf) == 0
        finally:
            b.close()
    e = _err(t.open, "GET", base + "/doc")  # the cap holds for a stream too
    assert str(e) == "response too large (9000 bytes, limit 2048)"


def test_ca_certificates_as_a_list_or_unreadable():
    from devicepair import tls

    one = b"\x30\x03\x02\x01\x05"
    assert tls.der_certs(one + one) == [one, one]
    for bad in (b"", b"\x31\x00", b"\x30\x05\x02", b"\x30\x84\x00\x00\x00\x01\x00"):
        try:
            tls.der_certs(bad)
            raise AssertionError("accepted %r" % bad)
        except ValueError:
            pass
    e = _err(Transport(cadata=[b"not DER"]).get, "https://127.0.0.1:9/x")
    assert e.message.startswith("TLS: CA certificate unreadable") and not e.transient

"""Every network and server fault of host_tests/support/faultserver.py, on both interpreters,
through the transport and through the device flow's public API (start, and one token poll).

Each test asserts the typed outcome a user would see (a DevicePairError of the right class and
transiency, or the answer) and that nothing took longer than the request timeout + 2 s (a hang
detector, not a timing figure). A raw exception fails the test. Storage and clock faults live
in their own module.
"""

import os

from fakeclock import FakeClock
from devicepair import device_flow as df
from devicepair.client import Client
from devicepair.clock import ticks_ms, ticks_diff
from devicepair.errors import DevicePairError, NetworkError, ResponseError, TLSError
from devicepair.http import Transport

MP_HEAP = "128K"  # 75 test functions of code (.mpy) loaded at once, plus a TLS client
TIMEOUT_MS = 500  # for the faults that must end in a timeout: each costs this, 3 times
ANSWER_MS = 3000  # for the rest: room on a loaded machine, still under the server's 5 s holds
_CA = []
_T = [ANSWER_MS]


def make_flow(transport, device_url, token_url):
    """The one place these tests build a DeviceFlow (its constructor is being reshaped)."""
    return df.DeviceFlow(transport, FakeClock(), Client(
        client_id="client-1", device_authorization_endpoint=device_url,
        token_endpoint=token_url, refresh_endpoint=token_url, scope="openid",
        allow_insecure_http=True))


def _transport():
    if not _CA:
        with open(os.getenv("DEVICEPAIR_FAULT_CA"), "rb") as f:
            _CA.append(f.read())
    return Transport(cadata=_CA[0], allow_insecure_http=True, timeout_ms=_T[0])


def _base():
    url = os.getenv("DEVICEPAIR_FAULT_SERVER")
    assert url, "DEVICEPAIR_FAULT_SERVER is not set (run through pytest)"
    return url


def _url(fault):
    if fault.startswith("tls_"):
        for kv in os.getenv("DEVICEPAIR_FAULT_TLS").split(","):
            k, v = kv.split("=")
            if k == fault:
                return "https://localhost:%s/f/%s" % (v, fault)
        raise AssertionError("no TLS fault " + fault)
    return _base() + "/f/" + fault


def _timed(fn):
    """-> (result, DevicePairError or None), asserting the bound; other exceptions fail."""
    t0 = ticks_ms()
    result = err = None
    try:
        result = fn()
    except DevicePairError as e:
        err = e
    took = ticks_diff(ticks_ms(), t0)
    assert took <= _T[0] + 2000, "took %d ms (timeout %d ms)" % (took, _T[0])
    return result, err


# Expected outcomes: OK (the answer arrives), or (class, transient, texts): the error's class,
# its transiency, and one of the texts its message must contain.
OK = "ok"
TIMEOUT = (NetworkError, True, ("timeout",))
CLOSED = (NetworkError, True, ("connection closed", "connection reset"))
NOT_HTTP = (ResponseError, False, ("not an HTTP response",))
CHUNKS = (ResponseError, False, ("bad chunked body",))
TOO_LARGE = (ResponseError, False, ("response too large",))
MALFORMED = (ResponseError, False, ("malformed JSON", "unexpected JSON"))
HANDSHAKE_TIMEOUT = (NetworkError, True, ("TLS handshake: timeout",))


def _bad(text):
    return (ResponseError, False, (text,))


def _check_error(err, expect, where):
    cls, transient, texts = expect
    assert isinstance(err, cls), "%s: %r, expected %s" % (where, err, cls.__name__)
    assert err.transient == transient, "%s: %r transient=%r" % (where, err, err.transient)
    assert [t for t in texts if t in err.message], "%s: %r" % (where, err.message)


def _fault(fault, expect, status=200, retry_after=None, poll_wait=None):
    """Play ``fault`` to the transport, to start() and to a token poll."""
    url = _url(fault)
    _T[0] = TIMEOUT_MS if expect in (TIMEOUT, HANDSHAKE_TIMEOUT) else ANSWER_MS
    # 1. the transport, with the body parsed as the device flow does
    resp, err = _timed(lambda: _transport().post_form(url, {"client_id": "c"}))
    data = None
    if err is None:
        assert resp.status_code == status, "status %d" % resp.status_code
        assert resp.retry_after == retry_after, resp.retry_after
        data, err = _timed(resp.data)
    if expect == OK:
        assert err is None, "transport: %r" % err
        assert data["access_token"].startswith("at-")
    elif err is not None or status == 200:
        _check_error(err, expect, "transport")

    # 2. start(): the same fault at the device authorization endpoint
    f = make_flow(_transport(), url, _base() + "/f/ok")
    _, err = _timed(f.start)
    if expect == OK:
        assert err is None and f.state == df.POLLING and f.user_code == "BCDF-GHJK", err
    else:
        assert err is not None, "start() accepted a broken answer"
        if expect[0] is NetworkError:  # passed through; a bad body is the flow's to word
            _check_error(err, expect, "start")
        if expect[1] or status >= 500 or status == 429:  # busy or no memory: retried
            assert getattr(err, "transient", False), "start: %r not transient" % err

    # 3. a token poll meeting the fault: typed, bounded, and the pairing kept when transient
    f = make_flow(_transport(), _base() + "/device", url)
    f.start()
    f.clock.advance(f.interval_ms)
    wait, err = _timed(f.step)
    assert err is None, "step() raised %r" % err
    if expect == OK:
        assert f.state == df.DONE and f.tokens["access_token"].startswith("at-"), f.state
    elif expect[1] or status >= 500 or status == 429:
        assert f.state == df.POLLING, (f.state, f.error)
        assert wait > 0 and f.note, f.note
    else:
        assert f.state in (df.POLLING, df.FAILED), f.state
        if f.state == df.FAILED:
            assert isinstance(f.error, DevicePairError), f.error
    if poll_wait is not None:
        assert wait == poll_wait, "next poll in %d ms, expected %d" % (wait, poll_wait)


def test_ok():
    _fault("ok", OK)


def test_stall_before_status():
    _fault("stall_before_status", TIMEOUT)


def test_stall_after_status():
    _fault("stall_after_status", TIMEOUT)


def test_stall_after_headers():
    _fault("stall_after_headers", TIMEOUT)


def test_stall_mid_body():
    _fault("stall_mid_body", TIMEOUT)


def test_trickle_status():  # one byte every 100 ms: each read returns, the deadline ends it
    _fault("trickle_status", TIMEOUT)


def test_trickle_header_forever():
    _fault("trickle_header_forever", TIMEOUT)


def test_trickle_body():
    _fault("trickle_body", TIMEOUT)


def test_close_before_status():
    _fault("close_before_status", CLOSED)


def test_close_mid_status():
    _fault("close_mid_status", CLOSED)


def test_close_mid_headers():
    _fault("close_mid_headers", CLOSED)


def test_close_mid_body():
    _fault("close_mid_body", CLOSED)


def test_reset_before_status():
    _fault("reset_before_status", CLOSED)


def test_reset_mid_headers():
    _fault("reset_mid_headers", CLOSED)


def test_reset_mid_body():
    _fault("reset_mid_body", CLOSED)


def test_keep_open_after_body():  # Content-Length says it is complete: no timeout
    _fault("keep_open_after_body", OK)


def test_keep_open_after_chunked():  # so does the last chunk
    _fault("keep_open_after_chunked", OK)


def test_keep_open_after_204():  # a 204 has no body: nothing to wait for
    _fault("keep_open_after_204", MALFORMED, status=204)


def test_garbage_status_line():
    _fault("garbage_status_line", NOT_HTTP)


def test_binary_garbage():
    _fault("binary_garbage", NOT_HTTP)


def test_status_not_a_number():
    _fault("status_not_a_number", NOT_HTTP)


def test_status_negative():
    _fault("status_negative", NOT_HTTP)


def test_status_four_digits():
    _fault("status_four_digits", NOT_HTTP)


def test_interim_100_continue():
    _fault("interim_100_continue", OK)


def test_interim_103_early_hints():
    _fault("interim_103_early_hints", OK)


def test_interim_flood():
    _fault("interim_flood", _bad("too many interim"))


def test_switching_protocols():
    _fault("switching_protocols", _bad("101"))


def test_huge_header_line():
    _fault("huge_header_line", _bad("header line too long"))


def test_endless_header_line():
    _fault("endless_header_line", _bad("header line too long"))


def test_too_many_headers():
    _fault("too_many_headers", _bad("too many headers"))


def test_header_without_colon():
    _fault("header_without_colon", _bad("malformed header line"))


def test_obs_fold_header():
    _fault("obs_fold_header", _bad("malformed header line"))


def test_chunk_size_negative():  # once a busy loop that never read the socket again
    _fault("chunk_size_negative", CHUNKS)


def test_chunk_size_garbage():
    _fault("chunk_size_garbage", CHUNKS)


def test_chunk_size_signed():
    _fault("chunk_size_signed", CHUNKS)


def test_chunk_size_huge():  # refused from the size line, not after waiting for 2 GB
    _fault("chunk_size_huge", TOO_LARGE)


def test_chunk_without_crlf():
    _fault("chunk_without_crlf", CHUNKS)


def test_chunk_truncated_close():
    _fault("chunk_truncated_close", CLOSED)


def test_chunk_terminator_missing_hold():
    _fault("chunk_terminator_missing_hold", TIMEOUT)


def test_chunked_trailer_flood():
    _fault("chunked_trailer_flood", _bad("too many headers"))


def test_content_length_negative():
    _fault("content_length_negative", _bad("bad Content-Length"))


def test_content_length_garbage():
    _fault("content_length_garbage", _bad("bad Content-Length"))


def test_content_length_conflict():
    _fault("content_length_conflict", _bad("two values"))


def test_content_length_huge():
    _fault("content_length_huge", _bad("response too large (99999999999 bytes"))


def test_content_length_lies_long_close():
    _fault("content_length_lies_long_close", CLOSED)


def test_content_length_lies_long_hold():
    _fault("content_length_lies_long_hold", TIMEOUT)


def test_content_length_lies_short():
    _fault("content_length_lies_short", MALFORMED)


def test_transfer_encoding_gzip():
    _fault("transfer_encoding_gzip", _bad("unsupported Transfer-Encoding"))


def test_non_utf8_content_type():
    _fault("non_utf8_content_type", _bad("bad Content-Type header"))


def test_non_utf8_other_header():  # obs-text in a header nobody reads is allowed (RFC 9110)
    _fault("non_utf8_other_header", OK)


def test_status_500():
    _fault("status_500", (ResponseError, True, ("malformed JSON (HTTP 500)",)), status=500)


def test_status_503_retry_after():
    _fault("status_503_retry_after", (ResponseError, True, ("",)), status=503,
           retry_after=7, poll_wait=7000)


def test_status_429_retry_after():
    _fault("status_429_retry_after", (ResponseError, True, ("",)), status=429,
           retry_after=30, poll_wait=30000)


def test_status_429_no_retry_after():  # the client's own backoff: twice the interval
    _fault("status_429_no_retry_after", (ResponseError, True, ("",)), status=429,
           poll_wait=10000)


def test_retry_after_absurd():
    _fault("retry_after_absurd", (ResponseError, True, ("",)), status=503, poll_wait=10000)


def test_oversized_body_length():
    _fault("oversized_body_length", _bad("response too large (1000000 bytes, limit 8192)"))


def test_oversized_body_to_eof():
    _fault("oversized_body_to_eof", TOO_LARGE)


def test_oversized_chunked():
    _fault("oversized_chunked", TOO_LARGE)


def test_deep_json():  # RecursionError on CPython, MemoryError on MicroPython: one error
    _fault("deep_json", (ResponseError, True, ("too large for free memory",)))


def test_nan_json():
    _fault("nan_json", MALFORMED)


def test_truncated_json():
    _fault("truncated_json", MALFORMED)


def test_json_not_object():
    _fault("json_not_object", MALFORMED)


def test_html_instead_of_json():
    _fault("html_instead_of_json", MALFORMED)


def test_body_not_utf8():  # MicroPython's json would build a str that breaks print() later
    _fault("body_not_utf8", MALFORMED)


def test_tls_ok():
    _fault("tls_ok", OK)


def test_tls_stall_handshake():
    _fault("tls_stall_handshake", HANDSHAKE_TIMEOUT)


def test_tls_trickle_handshake():  # a timeout per read never fires; the deadline does
    _fault("tls_trickle_handshake", HANDSHAKE_TIMEOUT)


def test_tls_close_during_handshake():
    _fault("tls_close_during_handshake",
           (NetworkError, True, ("TLS handshake: connection",)))


def test_tls_reset_during_handshake():
    _fault("tls_reset_during_handshake",
           (NetworkError, True, ("TLS handshake: connection",)))


def test_tls_garbage_handshake():
    _fault("tls_garbage_handshake", (TLSError, False, ("TLS: handshake failed",)))


def test_tls_silence_after_handshake():
    _fault("tls_silence_after_handshake", TIMEOUT)


def test_tls_trickle_body():
    _fault("tls_trickle_body", TIMEOUT)


def test_tls_keep_open_after_body():
    _fault("tls_keep_open_after_body", OK)


def test_tls_wrong_ca():
    _fault("tls_wrong_ca", (TLSError, False, ("TLS: unknown CA for localhost",)))

"""config.json checking (both interpreters): every field's message, defaults, URL rules."""

from devicepair import config as C
from devicepair.config import Config, ConfigError, check_url
from devicepair.urls import split_url, is_loopback_host
import io
import json

DEL = object()
W = {"ssid": "home", "password": "secret123"}
HTTP = "must be https:// (http:// only for 127.0.0.1/localhost with allow_insecure_http)"
SHAPE = 'must be {"ssid": ..., "password": ...}'


class _FS:
    """Just ``open``: all load_config needs."""

    def __init__(self, data):
        self.data = data

    def open(self, path, mode):
        assert mode == "rb"
        if self.data is None:
            raise OSError(2)
        return io.BytesIO(self.data)


def _d(**kw):
    d = {"wifi": [W], "client_id": "abc",
         "device_authorization_endpoint": "https://auth.example.com/device",
         "token_endpoint": "https://auth.example.com/token",
         "userinfo_endpoint": "https://auth.example.com/userinfo"}
    for k in kw:
        if kw[k] is DEL:
            del d[k]
        else:
            d[k] = kw[k]
    return d


def _err(d):
    try:
        Config.from_dict(d)
    except ConfigError as e:
        return e
    raise AssertionError("accepted: %r" % (d,))


def _msg(d):
    return str(_err(d))


def test_defaults():
    c = Config.from_dict(_d())
    assert c.wifi == [W] and c.client_id == "abc" and c.client_secret is None
    assert c.hostname == "devicepair" and c.country is None and c.provider == "generic"
    assert c.provider_params == {} and c.extra_params == {} and c.api_url is None
    assert c.scope == "openid profile offline_access" and c.ca_file is None
    assert c.allow_insecure_http is False and c.token_file == "tokens.json"
    assert c.ntp_host == "pool.ntp.org"
    assert c.token_endpoint == "https://auth.example.com/token"


def test_all_fields_and_single_object_wifi():
    c = Config.from_dict(_d(wifi={"ssid": "cafe", "password": ""}, hostname="dp-1",
                            country="de", client_secret="s3cr3t-value", scope="openid",
                            extra_params={"audience": "https://api"}, ca_file="ca.der",
                            api_url="https://api.example.com/v1", token_file="t.json",
                            ntp_host="time.example", _comment="ignored", provider="generic"))
    assert c.wifi == [{"ssid": "cafe", "password": ""}] and c.country == "DE"
    assert c.hostname == "dp-1" and c.client_secret == "s3cr3t-value" and c.scope == "openid"
    assert c.extra_params == {"audience": "https://api"} and c.ca_file == "ca.der"
    assert c.api_url == "https://api.example.com/v1" and c.token_file == "t.json"
    r = repr(c)
    assert "s3cr3t" not in r and "secret123" not in r and "abc" in r
    assert Config.from_dict(_d(client_secret="")).client_secret is None
    ok = {"ssid": "x" * 32, "password": "p" * 63}
    assert Config.from_dict(_d(wifi=[W, ok, {"ssid": "y", "password": "p" * 8}])).wifi[1] == ok


def test_presets_keep_their_params_and_need_no_endpoints():
    c = Config.from_dict({"wifi": W, "client_id": "x", "provider": "auth0",
                          "domain": "me.eu.auth0.com", "tenant": "t", "realm": "r",
                          "base_url": "https://kc", "issuer": "https://iss"})
    assert c.provider == "auth0" and c.token_endpoint is None
    assert c.provider_params == {"domain": "me.eu.auth0.com", "tenant": "t", "realm": "r",
                                 "base_url": "https://kc", "issuer": "https://iss"}
    assert _msg({"wifi": W, "client_id": "x", "provider": "auth0",
                 "token_endpoint": "http://x/"}) == "config: token_endpoint " + HTTP


def test_generic_takes_an_issuer_instead_of_endpoints_and_needs_no_userinfo():
    c = Config.from_dict({"wifi": W, "client_id": "x", "issuer": "https://id.example/r"})
    assert c.provider == "generic" and c.device_authorization_endpoint is None
    assert c.provider_params == {"issuer": "https://id.example/r"}
    c = Config.from_dict(_d(userinfo_endpoint=DEL))
    assert c.userinfo_endpoint is None and c.token_endpoint == "https://auth.example.com/token"
    c = Config.from_dict({"wifi": W, "client_id": "x", "provider": "okta", "domain": "d.okta.com",
                          "auth_server": "org", "audience": "api://x", "api_base_url": "https://a"})
    assert c.provider_params["auth_server"] == "org" and c.provider_params["audience"] == "api://x"


# One case a line: "field = JSON value -> message". Kept as text: a table of literals costs
# several KB of bytecode, more than the 64K test heap can spare. In values: DEL removes the
# field, W is a valid network, P64/S33/E17 are 64 "p", 33 "s", 17 "\u00e9". In messages:
# OPEN, GENERIC and HTTP stand for the long common endings. URL lines test two URL fields.
CASES = r"""
client_ld = "x" -> client_ld is not a known setting (typo?)
client_id = DEL -> client_id is missing
client_id = "" -> client_id must not be empty
client_id = 5 -> client_id must be a string
wifi = DEL -> wifi is missing
wifi = [] -> wifi must be a list of {"ssid": ..., "password": ...}
wifi = "home" -> wifi must be a list of {"ssid": ..., "password": ...}
wifi = [W, W, W, W, W, W, W, W, W] -> wifi has more than 8 networks
wifi = [W, "x"] -> wifi[1] must be {"ssid": ..., "password": ...}
wifi = [W, {"ssid": "b", "password": "short"}] -> wifi[1].password must be 8-63 characters
wifi = [W, {"ssid": "b", "password": "P64"}] -> wifi[1].password must be 8-63 characters
wifi = {"ssid": "b", "password": "short"} -> wifi.password must be 8-63 characters
wifi = [{"ssid": "b"}] -> wifi[0].password is missing OPEN
wifi = [{"ssid": "b", "password": 12345678}] -> wifi[0].password must be a string OPEN
wifi = [{"password": ""}] -> wifi[0].ssid is missing
wifi = [{"ssid": "", "password": ""}] -> wifi[0].ssid must be 1-32 characters
wifi = [{"ssid": "S33", "password": ""}] -> wifi[0].ssid must be 1-32 characters
wifi = [{"ssid": 5, "password": ""}] -> wifi[0].ssid must be 1-32 characters
wifi = [{"ssid": "E17", "password": ""}] -> wifi[0].ssid must be at most 32 bytes in UTF-8
wifi = [{"ssid": "b", "pasword": "secret123"}] -> wifi[0].pasword is not a known setting (typo?)
hostname = "" -> hostname must not be empty
hostname = 5 -> hostname must be a string
country = "DEU" -> country must be a 2-letter country code like "DE"
country = "1A" -> country must be a 2-letter country code like "DE"
provider = 5 -> provider must be a string
domain = 5 -> domain must be a string
allow_insecure_http = "yes" -> allow_insecure_http must be true or false
allow_insecure_http = 1 -> allow_insecure_http must be true or false
client_secret = 5 -> client_secret must be a string
scope = ["openid"] -> scope must be a string
extra_params = [] -> extra_params must be an object like {"audience": "..."}
extra_params = {"audience": 5} -> extra_params.audience must be a string
extra_params = {"client_id": "x"} -> extra_params.client_id is set by devicepair itself
extra_params = {"": "x"} -> extra_params keys must be non-empty strings
ca_file = "ca.pem" -> ca_file must be DER, not PEM (python tools/pem2der.py in out)
ca_file = "" -> ca_file must not be empty
token_file = "" -> token_file must not be empty
ntp_host = 5 -> ntp_host must be a string
device_authorization_endpoint = DEL -> device_authorization_endpoint is missing GENERIC
token_endpoint = DEL -> token_endpoint is missing GENERIC
URL = "ftp://x/" -> must start with https://
URL = "nope" -> must start with https://
URL = "https://" -> has no host
URL = "https://:443/" -> has no host
URL = "https://u:p@h/" -> must not contain user:password@
URL = "https://h:0/" -> has a bad port (use 1-65535)
URL = "https://h:99999/" -> has a bad port (use 1-65535)
URL = "https://h:x/" -> has a bad port (use 1-65535)
URL = "https://h/a b" -> must be plain ASCII without spaces (percent-encode the rest)
URL = "https://h/\u00e9" -> must be plain ASCII without spaces (percent-encode the rest)
URL = "https://h/#x" -> must not contain a #fragment
URL = "https://[::1/" -> has a bad host
URL = "https://::1/" -> has a bad host (write IPv6 addresses in [brackets])
URL = 5 -> must be a URL string
URL = "http://127.0.0.1:8080/t" -> HTTP
"""


def _value(text):
    if text == "DEL":
        return DEL
    text = text.replace("W", json.dumps(W)).replace("P64", "p" * 64).replace("S33", "s" * 33)
    return json.loads(text.replace("E17", "\u00e9" * 17))


def _expand(msg):
    msg = msg.replace("OPEN", '("" for an open network)')
    msg = msg.replace("GENERIC", '(provider "generic" needs it or an issuer)')
    return msg.replace("HTTP", HTTP)


def test_every_field_message():
    assert _msg([]) == "config: config.json must hold one JSON object {...}"
    n = 0
    for line in CASES.split("\n"):
        if not line:
            continue
        head, want = line.split(" -> ")
        want = _expand(want)
        key, val = head.split(" = ")
        for k in ("token_endpoint", "api_url") if key == "URL" else (key,):
            w = k + " " + want if key == "URL" else want
            e = _err(_d(**{k: _value(val)}))
            assert str(e) == "config: " + w, (line, str(e))
            assert w.startswith(e.field + " ") or w.startswith(e.field + "."), line
            n += 1
    assert n == 70
    for h in ("-x", "x-", "a b", "a.b", "x" * 33, "h\u00e9"):
        assert _msg(_d(hostname=h)).startswith("config: hostname must be 1-32 letters"), h
    assert _err(_d(wifi=[W, {"ssid": "b", "password": "x"}])).field == "wifi[1].password"


def test_http_only_for_loopback_with_the_flag():
    loop = ("http://127.0.0.1:8080/token", "http://localhost/token", "http://LOCALHOST:1/",
            "http://[::1]:5000/token")
    for url in loop:
        assert _msg(_d(token_endpoint=url)) == "config: token_endpoint " + HTTP
        c = Config.from_dict(_d(token_endpoint=url, allow_insecure_http=True))
        assert c.token_endpoint == url and c.allow_insecure_http is True
        assert check_url("x", url, True)[0] == "http"
    for url in ("http://example.com/t", "http://127.0.0.2/t", "http://127.0.0.1.nip.io/t",
                "http://localhost.example.com/", "http://[::2]/", "http://0.0.0.0/"):
        for flag in (False, True):
            assert _msg(_d(api_url=url, allow_insecure_http=flag)) == "config: api_url " + HTTP
    for flag in (False, True):
        c = Config.from_dict(_d(api_url="https://example.com:8443/v1?x=1",
                                allow_insecure_http=flag))
        assert c.api_url == "https://example.com:8443/v1?x=1"
    try:
        check_url("token_endpoint", "http://example.com/", True)
    except ConfigError as e:
        assert e.field == "token_endpoint" and str(e) == "config: token_endpoint " + HTTP
    else:
        raise AssertionError


def test_split_url_and_loopback_host():
    assert split_url("https://Auth.Example.com/a/b?c=d") == ("https", "auth.example.com", 443,
                                                              "/a/b?c=d")
    assert split_url("http://h:8080") == ("http", "h", 8080, "/")
    assert split_url("https://h?x=1") == ("https", "h", 443, "/?x=1")
    assert split_url("https://[::1]:8443/x") == ("https", "::1", 8443, "/x")
    assert split_url("HTTPS://h/") == ("https", "h", 443, "/")
    for h in ("127.0.0.1", "localhost", "LocalHost", "::1", "[::1]"):
        assert is_loopback_host(h), h
    for h in ("127.0.0.2", "localhost.", "example.com", "", None, "::2", "0.0.0.0"):
        assert not is_loopback_host(h), h


def test_load_config_from_fs():
    fs = _FS(b'{"wifi": {"ssid": "a", "password": ""}, "client_id": "c", "provider": "x"}')
    assert C.load_config(fs=fs).client_id == "c"
    for data, want in ((None, "config.json is missing: copy it to the board"),
                       (b"{", "config.json is not valid JSON (check commas and quotes)"),
                       (b"\xff\xfe", "config.json is not valid JSON (check commas and quotes)"),
                       (b"", "config.json is not valid JSON (check commas and quotes)"),
                       (b"[]", "config.json must hold one JSON object {...}"),
                       (b" " * 101, "config.json is larger than 100 bytes")):
        fs = _FS(data)
        saved = C.MAX_CONFIG
        C.MAX_CONFIG = 100  # the 8 KB default is too big for the 64K test heap
        try:
            C.load_config(fs=fs)
        except ConfigError as e:
            assert str(e) == "config: " + want and e.field == "config.json", str(e)
        else:
            raise AssertionError(want)
        finally:
            C.MAX_CONFIG = saved
    try:
        C.load_config("no/such/dir/config.json")  # the real filesystem
    except ConfigError as e:
        assert str(e) == "config: no/such/dir/config.json is missing: copy it to the board"
    else:
        raise AssertionError


def test_oled_height():
    from devicepair.config import Config
    from devicepair.errors import ConfigError
    base = {"wifi": {"ssid": "HomeNet", "password": "password1"}, "client_id": "c",
            "device_authorization_endpoint": "https://a.example/d",
            "token_endpoint": "https://a.example/t", "userinfo_endpoint": "https://a.example/u"}
    assert Config.from_dict(base).oled_height == 64
    base["oled_height"] = 32
    assert Config.from_dict(base).oled_height == 32
    for bad in (48, "32", True):
        base["oled_height"] = bad
        try:
            Config.from_dict(base)
            raise AssertionError("accepted %r" % (bad,))
        except ConfigError as e:
            assert str(e) == "config: oled_height must be 32 or 64 (the OLED's height in pixels)"


def test_the_checker_is_dropped_after_loading():
    # configcheck.py holds the boot-time checks only: a board gets its heap back afterwards,
    # and a refused config drops it too
    import sys

    assert Config.from_dict(_d()).client_id == "abc"
    assert "devicepair.configcheck" not in sys.modules
    assert "client_id" in _msg(_d(client_id=DEL))
    assert "devicepair.configcheck" not in sys.modules
    assert C.load_config("config.json", _FS(json.dumps(_d()).encode())).client_id == "abc"
    assert "devicepair.configcheck" not in sys.modules

"""Property test (CPython): Config.from_dict raises nothing but ConfigError, whatever JSON."""

import json

from hypothesis import given, settings, strategies as st

from devicepair.config import KNOWN, Config, ConfigError, load_config

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=5),
    max_leaves=20,
)
# Values that look almost right, so checks deep inside from_dict are reached too.
_urlish = st.sampled_from(["https://a.example/x", "http://127.0.0.1:1/", "http://[::1]/",
                           "https://[::1", "https://h:0/", "x"]) | st.text(max_size=40)
_small = st.none() | st.integers() | st.text(max_size=3)
_net = st.fixed_dictionaries({"ssid": st.text(min_size=1, max_size=40) | _small,
                              "password": st.text(min_size=7, max_size=64) | _small})
_value = _json | _urlish | _net | st.lists(_net, max_size=10)
_keys = st.sampled_from(sorted(KNOWN) + ["_c", "typo"]) | st.text(max_size=8)
_valid = {"wifi": {"ssid": "a", "password": ""}, "client_id": "c",
          "device_authorization_endpoint": "https://a/d", "token_endpoint": "https://a/t",
          "userinfo_endpoint": "https://a/u"}


def _check(d):
    try:
        c = Config.from_dict(d)
    except ConfigError as e:
        assert str(e).startswith("config: ") and e.field and "\n" not in str(e)
    else:
        assert isinstance(c.client_id, str) and c.wifi
        repr(c)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_any_json_value(d):
    _check(d)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _value, max_size=12))
def test_dicts_with_real_keys(d):
    _check(d)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _value, max_size=4))
def test_one_wrong_value_in_a_valid_config(changes):
    d = dict(_valid)
    d.update(changes)
    _check(d)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_round_trip_through_json_text(d):
    try:
        text = json.dumps(d)
    except ValueError:
        return
    _check(json.loads(text))


def test_deeply_nested_file_is_a_config_error(tmp_path):
    p = tmp_path / "config.json"
    for text in ("[" * 8000, "{}" * 10, '{"a": ' * 3000):
        p.write_text(text)
        try:
            load_config(str(p))
        except ConfigError as e:
            assert e.field == str(p)
        else:
            raise AssertionError(text[:20])

"""Load and check config.json, the one file a user edits before flashing.

Mistakes there are the most common failure, and on a board they show up as a stack trace
over serial or a blank screen. So every field is checked once, at boot, in a fixed order,
and the first problem becomes ONE ``ConfigError`` naming the field:
``config: wifi[1].password must be 8-63 characters``. Unknown keys are refused (typos),
except keys starting with "_" (comments). URL rules live in urls.py (shared with the
transport); provider presets are resolved elsewhere - here their parameters are only kept.
"""

from devicepair.errors import ConfigError  # noqa: F401 (re-exported)
from devicepair.urls import check_url, is_loopback_host, split_url  # noqa: F401 (re-exported)

MAX_CONFIG = 8192
MAX_WIFI = 8
DEFAULT_SCOPE = "openid profile offline_access"
# Preset parameters (providers.py reads them): Auth0/Okta domain, Entra tenant, Keycloak realm,
# Okta auth_server ("default", "org" or an id), a host override for any preset, its user API
# host, an issuer for generic, and Auth0's audience.
PROVIDER_PARAMS = ("domain", "tenant", "realm", "base_url", "issuer", "auth_server",
                   "api_base_url", "audience")
_URLS = ("device_authorization_endpoint", "token_endpoint", "userinfo_endpoint", "api_url")
_STRINGS = ("hostname", "country", "provider", "client_id", "client_secret", "scope",
            "ca_file", "token_file", "pairing_file", "ntp_host", "task")
_OTHER = ("wifi", "extra_params", "allow_insecure_http", "oled_height", "task_args")
KNOWN = _URLS + _STRINGS + _OTHER + PROVIDER_PARAMS
# Parameters devicepair sends itself: an extra_params entry must not replace them.
_RESERVED = ("client_id", "client_secret", "scope", "grant_type", "device_code",
             "refresh_token")
_HOST_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
# Attribute defaults (None: not set). wifi, provider_params, extra_params start empty.
_DEFAULTS = {"hostname": "devicepair", "country": None, "provider": "generic",
             "device_authorization_endpoint": None, "token_endpoint": None,
             "userinfo_endpoint": None, "api_url": None, "client_id": None,
             "client_secret": None, "scope": DEFAULT_SCOPE, "ca_file": None,
             "allow_insecure_http": False, "token_file": "tokens.json",
             "pairing_file": "pairing.json", "task": None,
             "ntp_host": "pool.ntp.org", "oled_height": 64}


class Config:
    """Checked settings as attributes. ``repr`` leaves out the secrets."""

    def __init__(self):
        for k in _DEFAULTS:
            setattr(self, k, _DEFAULTS[k])
        self.wifi = []
        self.provider_params = {}
        self.extra_params = {}
        self.task_args = {}

    def __repr__(self):
        return "<Config provider=%s client_id=%s wifi=%s>" % (
            self.provider, self.client_id, [n["ssid"] for n in self.wifi])

    @classmethod
    def from_dict(cls, d):
        """A checked Config, or ConfigError for the first problem found."""
        return _checked("from_dict", cls, d)


def load_config(path="config.json", fs=None):
    """Read ``path`` (at most 8 KB) through ``fs.open`` (default: the builtin open)."""
    return _checked("load_config", Config, path, fs)


def _checked(fn, *args):
    # configcheck.py is loaded for the check and dropped again: its code is boot-time only
    import sys

    keep = "devicepair.configcheck" in sys.modules
    from devicepair import configcheck, forget

    try:
        return getattr(configcheck, fn)(*args)
    finally:
        if not keep:
            forget("configcheck")

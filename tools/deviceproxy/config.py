"""Every setting of the proxy in one object, so the CLI, the tests and the bench build the same.

The CLI (cli.py) fills it from options; ``create_app(cfg, store, upstream)`` takes it.
"""

DEFAULT_SCOPES = ("openid", "profile", "offline_access")
# RFC 8628 6.1: 20 consonants (no vowels: no words; no look-alikes), 8 of them ~ 34.6 bits
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
SLOW_DOWN_STEP = 5  # s added to a code's interval on each slow_down (RFC 8628 3.5)
POLL_SLACK_MS = 250  # a poll this much early is still on time (network and queueing jitter)
EXPIRED_GRACE = 300  # s after expiry a poll still gets expired_token (then invalid_grant)


class Config:
    def __init__(self, public_url, device_client_ids=("devicepair",), scopes=DEFAULT_SCOPES,
                 expires_in=600, interval=5, token_ttl=120, device_code_rate=(30, 60),
                 entry_rate=(5, 60), refresh_rate=(60, 60), proxy_hops=0):
        self.public_url = public_url.rstrip("/")
        self.device_client_ids = tuple(device_client_ids)
        self.scopes = tuple(scopes)
        self.expires_in = int(expires_in)
        self.interval = int(interval)
        self.token_ttl = int(token_ttl)
        # (count, window s): device code requests per client address; wrong user codes per
        # client address; refresh requests per client address
        self.device_code_rate = device_code_rate
        self.entry_rate = entry_rate
        self.refresh_rate = refresh_rate
        self.proxy_hops = int(proxy_hops)

    @property
    def redirect_uri(self):
        return self.public_url + "/auth/redirect"

    @property
    def verification_uri(self):
        return self.public_url + "/device"

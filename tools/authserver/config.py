"""Settings of one authserver instance (filled by the CLI, or directly by a test)."""

import os
import tempfile
from dataclasses import dataclass, field

DEFAULT_CLIENT_ID = "devicepair-sim"
DEFAULT_USER = ("demo", "demo", "Demo User")
DEFAULT_SCOPES = ("openid", "profile", "email", "offline_access")


def default_db_path():
    """$XDG_STATE_HOME/devicepair/authserver.sqlite3 (~/.local/state/...), else the temp dir."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    d = os.path.join(base, "devicepair")
    try:
        os.makedirs(d, exist_ok=True)
        if not os.access(d, os.W_OK):
            raise OSError("not writable")
    except OSError:
        d = os.path.join(tempfile.gettempdir(), "devicepair-authserver")
        os.makedirs(d, exist_ok=True)
    return os.path.join(d, "authserver.sqlite3")


@dataclass
class Config:
    #: base URL clients see (issuer, verification_uri, endpoint URLs); no trailing slash
    public_url: str
    db_path: str = ":memory:"
    client_ids: list = field(default_factory=lambda: [DEFAULT_CLIENT_ID])
    #: (username, password, display name); the first one is used by auto-approve/-deny
    users: list = field(default_factory=lambda: [DEFAULT_USER])
    scopes: tuple = DEFAULT_SCOPES
    expires_in: int = 600
    interval: int = 5
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    auto_approve: float = None
    auto_deny: float = None
    #: wrong user-code entries allowed per window, per browser session and per client IP
    max_code_attempts: int = 5
    attempt_window: int = 60
    #: a poll this much earlier than `interval` is still accepted (clock/network jitter)
    slow_down_grace: float = 0.2
    #: session cookie name; the CLI adds the port so two servers on 127.0.0.1 do not clash
    cookie_name: str = "authserver_session"

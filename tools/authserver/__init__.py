"""Local OAuth 2.0 Device Authorization Grant (RFC 8628) server for devicepair development.

Built on Authlib + Flask; state in SQLite. Run ``python -m tools.authserver --help`` from
the repo root (or ``python tools/authserver.py``); see README.md in this directory.
``create_app(Config(...))`` gives the Flask app, e.g. for Flask's test client.
"""

__all__ = ["Config", "create_app"]


def __getattr__(name):
    # lazy, so `--help` and argument errors do not pay for importing Flask and Authlib
    if name == "Config":
        from .config import Config
        return Config
    if name == "create_app":
        from .web import create_app
        return create_app
    raise AttributeError(name)

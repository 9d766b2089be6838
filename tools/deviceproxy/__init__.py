"""devicepair's device-flow proxy: RFC 8628 in front of any OAuth 2.0 authorization-code server.

Boards ask the proxy for a device code and poll it; their users sign in at the upstream
server's own pages (authorization code + PKCE S256), and the proxy hands the upstream tokens
to the polling board once. State lives in SQLite (one instance) or Redis (many). Run it with
``python -m tools.deviceproxy --help`` or ``make proxy``; README.md beside this file has the
details.
"""

"""The proxy as a client of the upstream server: discovery, authorization URL, token calls.

The upstream speaks the authorization code grant (RFC 6749 4.1) with PKCE S256 (RFC 7636);
the proxy is its client, with its own client id and - where the upstream needs one - a client
secret that never leaves the proxy (the board stays a public client). Endpoints come from the
issuer's discovery document (OIDC Discovery 1.0, then RFC 8414) or are given explicitly.

Every answer from the upstream is hostile: bodies are capped, JSON is checked for the fields
used, and every failure is an ``UpstreamError`` with a short readable reason, never a raw
exception. Nothing here logs a token, a code or a verifier.
"""

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

MAX_BODY = 256 * 1024
TIMEOUT = 10
TOKEN_FIELDS = ("access_token", "token_type", "expires_in", "refresh_token", "id_token",
                "scope")


class UpstreamError(Exception):
    """The upstream failed or answered nonsense. ``error`` is an OAuth error code when it
    sent one (``invalid_grant``...), else ``temporarily_unavailable``; ``status`` its HTTP
    status (0: no answer)."""

    def __init__(self, reason, error="temporarily_unavailable", status=0, description=None):
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.status = status
        self.description = description


def _read(resp):
    body = resp.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise UpstreamError("response over %d bytes" % MAX_BODY)
    return body


def _json(body, what):
    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise UpstreamError("%s: not JSON" % what) from None
    if not isinstance(d, dict):
        raise UpstreamError("%s: not a JSON object" % what)
    return d


def _check_url(url, what, allow_http):
    if not isinstance(url, str) or len(url) > 2048:
        raise UpstreamError("%s is not a URL" % what)
    u = urllib.parse.urlsplit(url)
    loop = u.hostname in ("127.0.0.1", "localhost", "::1")
    if u.scheme != "https" and not (u.scheme == "http" and (allow_http or loop)):
        raise UpstreamError("%s must be https:// (got %r)" % (what, url[:80]))
    if not u.hostname or u.fragment:
        raise UpstreamError("%s is not a usable URL (%r)" % (what, url[:80]))
    return url


def pkce_pair():
    """(verifier, S256 challenge): 32 random bytes, base64url without padding (RFC 7636 4)."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Upstream:
    """authorization_endpoint + token_endpoint (+ userinfo/jwks for the discovery document)."""

    def __init__(self, authorization_endpoint, token_endpoint, client_id, client_secret=None,
                 client_auth=None, issuer=None, userinfo_endpoint=None, jwks_uri=None,
                 scopes_supported=None, allow_http=False, timeout=TIMEOUT):
        self.allow_http = allow_http
        self.authorization_endpoint = _check_url(authorization_endpoint,
                                                 "authorization_endpoint", allow_http)
        self.token_endpoint = _check_url(token_endpoint, "token_endpoint", allow_http)
        self.client_id = client_id
        self.client_secret = client_secret
        self.client_auth = client_auth or ("basic" if client_secret else "none")
        self.issuer = issuer
        self.userinfo_endpoint = userinfo_endpoint
        self.jwks_uri = jwks_uri
        self.scopes_supported = scopes_supported
        self.timeout = timeout

    @classmethod
    def discover(cls, issuer, client_id, client_secret=None, client_auth=None,
                 allow_http=False, timeout=TIMEOUT):
        """From the issuer's OIDC discovery document, else its RFC 8414 metadata."""
        issuer = _check_url(issuer.rstrip("/"), "issuer", allow_http)
        u = urllib.parse.urlsplit(issuer)
        tries = [issuer + "/.well-known/openid-configuration",
                 "%s://%s/.well-known/oauth-authorization-server%s" % (u.scheme, u.netloc,
                                                                       u.path)]
        last = None
        for url in tries:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    doc = _json(_read(r), "discovery document")
                break
            except urllib.error.HTTPError as e:
                last = UpstreamError("discovery: HTTP %d at %s" % (e.code, url), status=e.code)
            except (urllib.error.URLError, OSError) as e:
                last = UpstreamError("discovery: %s at %s" % (getattr(e, "reason", e), url))
        else:
            raise last
        if doc.get("issuer", "").rstrip("/") != issuer:
            raise UpstreamError("discovery: the document's issuer %r is not %r"
                                % (str(doc.get("issuer"))[:80], issuer))
        methods = doc.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise UpstreamError("discovery: the upstream does not support PKCE S256")
        scopes = doc.get("scopes_supported")
        return cls(doc.get("authorization_endpoint"), doc.get("token_endpoint"), client_id,
                   client_secret, client_auth, issuer=doc["issuer"],
                   userinfo_endpoint=doc.get("userinfo_endpoint"), jwks_uri=doc.get("jwks_uri"),
                   scopes_supported=[s for s in scopes if isinstance(s, str)]
                   if isinstance(scopes, list) else None, allow_http=allow_http,
                   timeout=timeout)

    def authorize_url(self, redirect_uri, scope, state, challenge):
        q = {"response_type": "code", "client_id": self.client_id,
             "redirect_uri": redirect_uri, "state": state, "code_challenge": challenge,
             "code_challenge_method": "S256"}
        if scope:
            q["scope"] = scope
            if "offline_access" in scope.split():
                q["prompt"] = "consent"  # OIDC Core 11: offline_access needs prompt=consent
        sep = "&" if "?" in self.authorization_endpoint else "?"
        return self.authorization_endpoint + sep + urllib.parse.urlencode(q)

    def _token_request(self, fields):
        fields = dict(fields)
        headers = {"Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": "devicepair-deviceproxy"}
        if self.client_auth == "basic":
            pair = "%s:%s" % (urllib.parse.quote(self.client_id, safe=""),
                              urllib.parse.quote(self.client_secret or "", safe=""))
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            fields["client_id"] = self.client_id
            if self.client_auth == "post":
                fields["client_secret"] = self.client_secret or ""
        req = urllib.request.Request(self.token_endpoint,
                                     urllib.parse.urlencode(fields).encode(), headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                status, body = r.status, _read(r)
        except urllib.error.HTTPError as e:
            status = e.code
            try:
                body = _read(e)
            except (OSError, UpstreamError):
                body = b""
            finally:
                e.close()
        except (urllib.error.URLError, OSError) as e:
            raise UpstreamError("token endpoint: %s" % getattr(e, "reason", e)) from None
        try:
            d = _json(body, "token endpoint (HTTP %d)" % status)
        except UpstreamError:
            if status >= 500 or status == 429:
                raise UpstreamError("token endpoint: HTTP %d" % status, status=status)
            raise
        err = d.get("error")
        if err or status != 200:
            if not isinstance(err, str) or not err or len(err) > 64 or status >= 500:
                raise UpstreamError("token endpoint: HTTP %d" % status, status=status)
            desc = d.get("error_description")
            raise UpstreamError("token endpoint: %s" % err, err, status,
                                desc[:300] if isinstance(desc, str) else None)
        return _tokens(d)

    def exchange_code(self, code, redirect_uri, verifier):
        return self._token_request({"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": redirect_uri, "code_verifier": verifier})

    def refresh(self, refresh_token, scope=None):
        fields = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            fields["scope"] = scope
        return self._token_request(fields)


def _tokens(d):
    """Only the RFC 6749 5.1 fields, each checked; the board gets nothing else."""
    at = d.get("access_token")
    if not isinstance(at, str) or not at or len(at) > 16384:
        raise UpstreamError("token endpoint: no usable access_token")
    out = {"access_token": at, "token_type": "Bearer"}
    for k in ("token_type", "refresh_token", "id_token", "scope"):
        v = d.get(k)
        if isinstance(v, str) and v and len(v) <= 16384:
            out[k] = v
    e = d.get("expires_in")
    if isinstance(e, str) and e.strip().isdigit():
        e = int(e.strip())
    if isinstance(e, (int, float)) and not isinstance(e, bool) and 0 <= e <= 10 * 365 * 86400:
        out["expires_in"] = int(e)
    return out

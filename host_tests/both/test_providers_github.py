"""The GitHub preset against its local fake (both interpreters): OAuth app (no refresh token)
and GitHub App (expiring, rotating tokens; refresh needs the secret) pairings, GET /user with
its User-Agent rule, GitHub Enterprise Server paths, device_flow_disabled."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from fakectl import cfg, pair, start, refresh, ctl, who, with_fields
from devicepair import providers as P
from devicepair import device_flow as df
from devicepair.errors import PairingRequired, ProviderError

OAUTH_APP = "Ov23liFakeOAuthApp01"
GH_APP = "Iv23liFakeGitHubApp1"
GH_SECRET = "fake-gh-app-secret"


def test_github_oauth_app_pairs_without_refresh_token():
    c = cfg("github", OAUTH_APP)
    p = P.resolve(c)
    assert p.scope == "read:user" and p.whoami_url.endswith("/api/v3/user")  # GHES layout
    assert p.quirks["headers"] == {"Accept": "application/json"}
    f = pair(p, c, "github", after=2, jitter_ms=300)  # padding absorbs early arrivals
    assert f.state == df.DONE and f.polls == 3
    assert f.verification_uri == "https://github.com/login/device"
    assert f.tokens["access_token"].startswith("gho_") and "refresh_token" not in f.tokens
    last = ctl("github", "log", n=1)[0]
    assert last["path"] == "/login/oauth/access_token"
    assert last["headers"]["accept"] == "application/json"
    assert who(p, f.tokens["access_token"]) == "The Octocat"


def test_github_app_refresh_rotates_and_needs_the_secret():
    c = cfg("github", GH_APP, client_secret=GH_SECRET)
    p = P.resolve(c)
    f = pair(p, c, "github", user="hubot")
    t = f.tokens
    assert t["access_token"].startswith("ghu_") and t["expires_in"] == 28800
    assert who(p, t["access_token"]) == "hubot"  # "name": null -> the login
    rt = t["refresh_token"]
    f = t = None
    new = refresh(p, c, rt)
    assert new["refresh_token"].startswith("ghr_") and new["refresh_token"] != rt
    try:
        refresh(p, c, rt)  # spent: bad_refresh_token (HTTP 200) means pair again
        assert False
    except PairingRequired as e:
        assert e.error == "invalid_grant" and e.status == 200
    try:
        refresh(with_fields(p, client_secret=None), c, new["refresh_token"])
        assert False
    except ProviderError as e:
        assert e.error == "incorrect_client_credentials" and not isinstance(e, PairingRequired)


def test_github_user_api_needs_a_user_agent():
    c = cfg("github", OAUTH_APP)
    p = P.resolve(c)
    assert p.whoami_headers["User-Agent"] and "github" in p.whoami_headers["Accept"]
    f = pair(p, c, "github")
    at = f.tokens["access_token"]
    assert who(p, at, {"User-Agent": ""}) == 403
    assert who(p, "gho_wrong") == 401
    assert who(p, at) == "The Octocat"


def test_github_device_flow_disabled_and_public_hosts():
    c = cfg("github", "Ov23liFakeDisabled01")
    try:
        start(P.resolve(c), c)
        assert False
    except ProviderError as e:
        assert e.error == "device_flow_disabled" and e.status == 200
    p = P.resolve(cfg("github", OAUTH_APP, fake=False))
    assert p.device_authorization_endpoint == "https://github.com/login/device/code"
    assert p.token_endpoint == "https://github.com/login/oauth/access_token"
    assert p.whoami_url == "https://api.github.com/user"
    p = P.resolve(cfg("github", OAUTH_APP, fake=False, base_url="https://ghe.example",
                      api_base_url="https://api.ghe.example"))
    assert p.token_endpoint == "https://ghe.example/login/oauth/access_token"
    assert p.whoami_url == "https://api.ghe.example/user"

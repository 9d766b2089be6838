"""Scripts for the scripted server posted from the host (CPython): too large to build on a
board-sized heap, as the soak's thousands of responses are."""

import json
import urllib.request

ME = {"json": {"sub": "u1", "name": "Ada Lovelace"}}


def post_script(srv, responses):
    req = urllib.request.Request(srv.url + "/_script", data=json.dumps(responses).encode(),
                                 method="POST")
    with urllib.request.urlopen(req) as r:
        return srv.url + "/" + json.loads(r.read())["id"]


def soak_script(srv, cycles):
    """``cycles`` x (device code, one pending poll, tokens living 200 s, who-am-I, refresh)."""
    token = []
    for n in range(cycles):
        token.append({"status": 400, "json": {"error": "authorization_pending"}})
        token.append({"json": {"access_token": "at-%d-%s" % (n, "a" * 700),
                               "refresh_token": "rt-%d-%s" % (n, "r" * 128),
                               "token_type": "Bearer", "expires_in": 200,
                               "scope": "openid profile offline_access"}})
        token.append({"json": {"access_token": "at-%d-b-%s" % (n, "a" * 700),
                               "refresh_token": "rt-%d-b" % n, "token_type": "Bearer",
                               "expires_in": 200}})
    dev = {"json": {"device_code": "dev-1", "user_code": "BCDF-GHJK",
                    "verification_uri": "https://auth.example/device",
                    "verification_uri_complete": "https://auth.example/device?user_code=BCDF-GHJK",
                    "expires_in": 900, "interval": 5}, "repeat": cycles}
    return post_script(srv, {"/device": [dev], "/token": token,
                             "/me": [dict(ME, repeat=cycles)]})

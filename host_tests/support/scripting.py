"""Talk to the scripted server from a test on either interpreter.

``base = script({"/token": [...], "/device": [...]})`` returns the URL prefix for that script;
``requests_seen(base)`` returns what the client sent. Uses the project's own transport, with
http:// allowed because the server is on 127.0.0.1.
"""

import os
import gc
import json

from devicepair.http import Transport

_T = None


def transport(**kw):
    kw.setdefault("allow_insecure_http", True)
    kw.setdefault("timeout_ms", 5000)
    return Transport(**kw)


def server():
    url = os.getenv("DEVICEPAIR_TEST_SERVER")
    assert url, "DEVICEPAIR_TEST_SERVER is not set (run through pytest)"
    return url


def _ctl():
    global _T
    if _T is None:
        _T = transport(max_body=65536)
    return _T


def script(responses):
    r = _ctl().request("POST", server() + "/_script", json=responses)
    assert r.status_code == 200, r.status_code
    return server() + "/" + r.json()["id"]


def requests_seen(base, last=None, first=None):
    """What the client sent to this script; ``last=N`` only the N most recent, ``first=N``
    the N oldest (small answers for a board-sized heap)."""
    sid = base.rsplit("/", 1)[1]
    q = "?last=%d" % last if last else "?first=%d" % first if first else ""
    r = _ctl().get(server() + "/_log/" + sid + q)
    gc.collect()
    return json.loads(r.content)


def request_count(base):
    sid = base.rsplit("/", 1)[1]
    return json.loads(transport().get(server() + "/_log/" + sid + "?count=1").content)[0]


def pending(n=1, status=400):
    return {"status": status, "json": {"error": "authorization_pending"}, "repeat": n}


def device_response(**over):
    d = {"device_code": "dev-code-1", "user_code": "BCDF-GHJK",
         "verification_uri": "https://auth.example/device",
         "verification_uri_complete": "https://auth.example/device?user_code=BCDF-GHJK",
         "expires_in": 900, "interval": 5}
    d.update(over)
    for k in list(d):
        if d[k] is None:
            del d[k]
    return {"json": d}


def token_response(**over):
    d = {"access_token": "at-" + "a" * 40, "token_type": "Bearer", "expires_in": 3600,
         "refresh_token": "rt-" + "r" * 40, "scope": "openid profile offline_access"}
    d.update(over)
    return {"json": d}

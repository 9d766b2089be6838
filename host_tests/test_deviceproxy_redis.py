"""Several proxy instances on one real Redis, and the storage contract of both backends.

A device polls instance A while its user signs in at instance B; two polls racing on A and B
get the tokens exactly once; the poll gate (slow_down), CSRF secret and rate limits are shared.
The same contract is checked on SQLite and Redis directly, including expiry by TTL. When Redis
goes away, a poll is a typed 503 the board retries, not a crash. redis-server is the Debian
package, started here on 127.0.0.1 with a free port and a temp dir (proxy_stack.Redis).
"""

import os
import shutil
import threading
import time

import pytest

from proxy_stack import Proxy, Redis, User, device_code, poll, result_status
from tools.deviceproxy import fakeupstream
from tools.deviceproxy.store import APPROVED, DENIED, SQLiteStore, RedisStore, StoreError

DEVICE = "devicepair-sim"
CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def redis_srv(tmp_path_factory):
    if shutil.which("redis-server") is None:
        if CI:
            pytest.fail("redis-server not installed (.ci/run installs it)")
        pytest.skip("redis-server not installed")
    r = Redis(str(tmp_path_factory.mktemp("redis")))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def up():
    u = fakeupstream.FakeUpstream()
    yield u
    u.stop()


@pytest.fixture(scope="module")
def pair(tmp_path_factory, redis_srv, up):
    tmp = tmp_path_factory.mktemp("two")
    args = ["--issuer", up.url, "--client-id", up.client_id, "--device-client-id", DEVICE,
            "--store", redis_srv.url, "--redis-prefix", "two:", "--interval", "1",
            "--device-code-rate", "1000/60"]
    env = {"DEVICEPROXY_CLIENT_SECRET": up.client_secret}
    a = Proxy(str(tmp / "a.log"), args, env)
    b = Proxy(str(tmp / "b.log"), args + ["--workers", "2"], env)
    yield a, b
    a.stop()
    b.stop()


def test_device_polls_a_while_the_user_signs_in_at_b(pair):
    a, b = pair
    d = device_code(a.url, DEVICE)[1]
    assert poll(a.url, d["device_code"], DEVICE)[1]["error"] == "authorization_pending"
    # the user opens B (the load balancer sent them there): the code is known there
    complete_b = d["verification_uri_complete"].replace(a.url, b.url)
    user = User()
    status, confirm = user.enter(complete_b)
    assert status == 200 and 'id="approve"' in confirm
    assert result_status(user.decide(b.url, confirm)[1]) == "approved"
    time.sleep(1)
    status, tokens, _ = poll(a.url, d["device_code"], DEVICE)
    assert status == 200 and tokens["access_token"]
    time.sleep(1)
    assert poll(b.url, d["device_code"], DEVICE)[1]["error"] == "invalid_grant"
    assert a.events("tokens_delivered") and b.events("approved")


def test_racing_polls_on_both_instances_get_the_tokens_once(pair):
    a, b = pair
    for _ in range(3):
        d = device_code(a.url, DEVICE)[1]
        User().approve(d)
        got = []
        go = threading.Barrier(8)

        def racer(url, go=go, got=got, code=d["device_code"]):
            go.wait(5)
            got.append(poll(url, code, DEVICE)[0])

        ts = [threading.Thread(target=racer, args=(u,)) for u in (a.url, b.url) * 4]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        assert sorted(got).count(200) == 1 and len(got) == 8, got


def test_gate_secret_and_limits_are_shared(pair, redis_srv, up, tmp_path):
    a, b = pair
    d = device_code(a.url, DEVICE)[1]
    assert poll(a.url, d["device_code"], DEVICE)[1]["error"] == "authorization_pending"
    assert poll(b.url, d["device_code"], DEVICE)[1]["error"] == "slow_down"
    # a form from A's page is accepted by B: one CSRF secret for all instances
    user = User()
    status, html = user.open(d["verification_uri_complete"])
    status, page = user.open(b.url + "/device", {"csrf": user.csrf(html),
                                                 "user_code": d["user_code"]})
    assert status == 200 and 'id="approve"' in page
    # wrong codes counted across instances: 2 at A and 1 at B reach a limit of 3
    args = ["--issuer", up.url, "--client-id", up.client_id, "--device-client-id", DEVICE,
            "--store", redis_srv.url, "--redis-prefix", "lim:", "--entry-rate", "3/60"]
    env = {"DEVICEPROXY_CLIENT_SECRET": up.client_secret}
    c, e = Proxy(str(tmp_path / "c.log"), args, env), Proxy(str(tmp_path / "e.log"), args, env)
    try:
        statuses = []
        for url in (c.url, c.url, e.url, e.url):
            status, html = user.open(url + "/device")
            statuses.append(user.open(url + "/device", {"csrf": user.csrf(html),
                                                        "user_code": "BBBB-BBBB"})[0])
        assert statuses == [400, 400, 400, 429]
    finally:
        c.stop()
        e.stop()


# -- the storage contract, on both backends ---------------------------------------------------
class Clock:
    def __init__(self):
        self.t = 1e9

    def __call__(self):
        return self.t


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = SQLiteStore(str(tmp_path / "s.sqlite3"))
    else:
        srv = request.getfixturevalue("redis_srv")
        s = RedisStore(srv.url, "c%d:" % time.monotonic_ns())
    yield s
    s.close()


def test_store_contract(store):
    rec = {"client_id": "c", "scope": "openid", "expires_at": time.time() + 60}
    assert store.add_pairing("k1", "BBBBCCCC", rec, 5, 60, 30)
    assert not store.add_pairing("k2", "BBBBCCCC", rec, 5, 60, 30)  # user code taken
    assert store.pairing("k2") is None
    got = store.pairing_by_user_code("BBBBCCCC")
    assert got["dkey"] == "k1" and got["status"] == "pending" and got["interval"] == 5
    assert store.poll_view("k1", "other", 250)[1] is True  # another client: no gate
    rec, on_time = store.poll_view("k1", "c", 250)
    assert rec["client_id"] == "c" and on_time
    assert store.poll_view("k1", "c", 250)[1] is False  # sooner than the interval
    assert store.poll_view("nope", "c", 250) == (None, True)
    store.slow_down("k1", 5, 10000)
    assert store.pairing("k1")["interval"] == 10
    assert store.poll_view("k1", "c", 250)[1] is False  # the slow_down restarted the gate
    assert store.take_tokens("k1") is None  # not approved yet
    assert store.finish("k1", APPROVED, '{"access_token": "t"}', 120)
    assert not store.finish("k1", DENIED, None, 120)  # only pending can finish
    assert store.pairing_by_user_code("BBBBCCCC") is None  # the code is spent
    assert store.take_tokens("k1") == '{"access_token": "t"}'
    assert store.take_tokens("k1") is None and store.pairing("k1") is None
    store.put_state("s1", {"dkey": "k1"}, 60)
    assert store.take_state("s1") == {"dkey": "k1"} and store.take_state("s1") is None
    assert [store.hit("b", 60)[0] for _ in range(3)] == [1, 2, 3]
    assert store.count("b")[0] == 3 and store.count("none") == (0, 0)
    assert store.secret() == store.secret() and len(store.secret()) == 64


def test_store_records_expire(tmp_path, redis_srv):
    clock = Clock()
    s = SQLiteStore(str(tmp_path / "e.sqlite3"), clock=clock)
    r = RedisStore(redis_srv.url, "exp%d:" % time.monotonic_ns())
    try:
        for st in (s, r):
            st.add_pairing("k", "DDDDFFFF", {"client_id": "c", "scope": "",
                                             "expires_at": 0}, 5, 2, 1)
            st.put_state("s", {"x": 1}, 1)
            st.hit("b", 1)
        clock.t += 1.5
        time.sleep(1.5)
        for st in (s, r):
            assert st.pairing_by_user_code("DDDDFFFF") is None  # the user code lives 1 s
            assert st.pairing("k") is not None  # the record 2 s (expired_token, then gone)
            assert st.take_state("s") is None and st.count("b") == (0, 0)
        clock.t += 1
        time.sleep(1)
        for st in (s, r):
            assert st.pairing("k") is None
    finally:
        s.close()
        r.close()


def test_redis_down_is_a_typed_503(tmp_path, up):
    srv = Redis(str(tmp_path / "r"))
    p = Proxy(str(tmp_path / "p.log"), ["--issuer", up.url, "--client-id", up.client_id,
                                        "--device-client-id", DEVICE, "--store", srv.url],
              {"DEVICEPROXY_CLIENT_SECRET": up.client_secret})
    try:
        d = device_code(p.url, DEVICE)[1]
        srv.stop()
        status, body, headers = poll(p.url, d["device_code"], DEVICE)
        assert (status, body["error"]) == (503, "temporarily_unavailable")
        assert headers["Retry-After"] == "5"
        status, html = User().open(d["verification_uri_complete"])
        assert status == 503 and "Traceback" not in html
        assert p.proc.poll() is None and p.events("store_error")
        with pytest.raises(StoreError):
            RedisStore(srv.url).ping()
    finally:
        p.stop()
        srv.stop()

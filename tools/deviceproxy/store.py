"""Where the proxy keeps its state: SQLite (one instance, the default) or Redis (many).

Every piece of state has a lifetime and is gone after it: pairings (device code -> user code,
client, scope, status, interval, the upstream tokens once approved), the user-code index, the
per-code poll gate that yields ``slow_down``, the browser's sign-in ``state`` records (PKCE
verifier), rate-limit counters and the shared secret that signs CSRF tokens. Nothing is kept
in a process, so with Redis a device may poll instance A while its user finishes at instance B,
and gunicorn may run several workers per instance.

Records are keyed by ``H(device_code)`` and ``H(state)`` (SHA-256): neither the device code
nor the sign-in state is stored, so reading the database does not let anyone poll or finish a
pairing. The upstream tokens sit in a record only between approval and delivery (``token_ttl``,
120 s by default) and are taken with one atomic read-and-delete: delivered once, never twice,
even with two instances answering two polls at the same moment.

Both classes implement the same methods; ``open_store(url)`` picks one from
``sqlite:///path`` / a plain path, or ``redis://host:port/db``.
"""

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"


def h(value):
    """The storage key of a secret value (device code, state): SHA-256, hex."""
    return hashlib.sha256(value.encode()).hexdigest()


class StoreError(Exception):
    """The storage backend failed (Redis down, SQLite locked too long)."""


def open_store(url, prefix="dp:"):
    if url.startswith("redis://") or url.startswith("rediss://") or url.startswith("unix://"):
        return RedisStore(url, prefix)
    return SQLiteStore(url[len("sqlite://"):] if url.startswith("sqlite://") else url)


# -- SQLite ------------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pairing (dkey TEXT PRIMARY KEY, user_code TEXT UNIQUE,
    rec TEXT NOT NULL, status TEXT NOT NULL, interval INTEGER NOT NULL, tokens TEXT,
    last_poll REAL, until REAL NOT NULL, code_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS state (skey TEXT PRIMARY KEY, rec TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counter (bucket TEXT PRIMARY KEY, n INTEGER NOT NULL,
    until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pairing_until ON pairing(until);
"""


class SQLiteStore:
    """One file, WAL mode; safe for several gunicorn workers of one instance (each process
    opens its own connection after the fork; a lock serialises this process's threads)."""

    kind = "sqlite"

    def __init__(self, path, clock=time.time):
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._db = None
        self._pid = None
        self._ops = 0
        with self._lock:
            self._conn()

    def _conn(self):
        if self._db is None or self._pid != os.getpid():
            d = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(d, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._db, self._pid = db, os.getpid()
        return self._db

    def _run(self, fn):
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(db, self.clock())
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as e:
                raise StoreError("sqlite: %s" % e) from e
            self._ops += 1
            if self._ops % 500 == 0:
                self._sweep()
            return out

    def _sweep(self):
        now = self.clock()
        for t in ("pairing", "state", "counter"):
            self._db.execute("DELETE FROM %s WHERE until <= ?" % t, (now,))

    def close(self):
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None

    # pairings
    def add_pairing(self, dkey, user_code, rec, interval, ttl, code_ttl):
        """False if the user code is taken (the caller draws another)."""
        def fn(db, now):
            db.execute("DELETE FROM pairing WHERE user_code = ? AND code_until <= ?",
                       (user_code, now))
            try:
                db.execute("INSERT INTO pairing VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
                           (dkey, user_code, json.dumps(rec), PENDING, interval, now + ttl,
                            now + code_ttl))
            except sqlite3.IntegrityError:
                return False
            return True
        return self._run(fn)

    def _row(self, db, where, arg, now):
        r = db.execute("SELECT dkey, rec, status, interval, user_code, code_until FROM pairing "
                       "WHERE %s = ? AND until > ?" % where, (arg, now)).fetchone()
        if r is None:
            return None
        rec = json.loads(r[1])
        rec.update(dkey=r[0], status=r[2], interval=r[3])
        if where == "user_code" and r[5] <= now:
            return None
        return rec

    def pairing(self, dkey):
        return self._run(lambda db, now: self._row(db, "dkey", dkey, now))

    def pairing_by_user_code(self, user_code):
        return self._run(lambda db, now: self._row(db, "user_code", user_code, now))

    def poll_view(self, dkey, client_id, slack_ms):
        """One step for a poll: (pairing or None, on time). A pending code's gate is passed
        (and closed for ``interval`` s less ``slack_ms``) only if the last poll by its own
        client is that old; another client's poll never touches it."""
        def fn(db, now):
            rec = self._row(db, "dkey", dkey, now)
            if rec is None or rec["status"] != PENDING or rec["client_id"] != client_id:
                return rec, True
            c = db.execute("UPDATE pairing SET last_poll = ? WHERE dkey = ? AND (last_poll IS "
                           "NULL OR last_poll <= ?)",
                           (now, dkey, now - (rec["interval"] * 1000 - slack_ms) / 1000.0))
            return rec, c.rowcount == 1
        return self._run(fn)

    def slow_down(self, dkey, by, window_ms):
        """Raise the code's interval by ``by`` s (RFC 8628 3.5) and restart its gate (the
        next poll_view compares with the new interval itself)."""
        self._run(lambda db, now: db.execute(
            "UPDATE pairing SET interval = interval + ?, last_poll = ? WHERE dkey = ?",
            (by, now, dkey)))

    def finish(self, dkey, status, tokens, ttl):
        """pending -> approved (tokens kept ``ttl`` s) or denied; False if not pending.
        The user code stops working at once."""
        def fn(db, now):
            c = db.execute("UPDATE pairing SET status = ?, tokens = ?, user_code = NULL, "
                           "until = MIN(until, ?) WHERE dkey = ? AND status = ? AND until > ?",
                           (status, tokens, now + ttl, dkey, PENDING, now))
            return c.rowcount == 1
        return self._run(fn)

    def take_tokens(self, dkey):
        """The approved tokens, deleted in the same step; None if gone or not approved."""
        def fn(db, now):
            r = db.execute("DELETE FROM pairing WHERE dkey = ? AND status = ? AND until > ? "
                           "RETURNING tokens", (dkey, APPROVED, now)).fetchone()
            return r[0] if r else None
        return self._run(fn)

    # sign-in state
    def put_state(self, skey, rec, ttl):
        self._run(lambda db, now: db.execute("INSERT OR REPLACE INTO state VALUES (?, ?, ?)",
                                             (skey, json.dumps(rec), now + ttl)))

    def take_state(self, skey):
        def fn(db, now):
            r = db.execute("DELETE FROM state WHERE skey = ? AND until > ? RETURNING rec",
                           (skey, now)).fetchone()
            return json.loads(r[0]) if r else None
        return self._run(fn)

    # rate limits and the secret
    def hit(self, bucket, window):
        """Count one event in a fixed window of ``window`` s; returns (count, seconds left)."""
        def fn(db, now):
            db.execute("DELETE FROM counter WHERE bucket = ? AND until <= ?", (bucket, now))
            db.execute("INSERT INTO counter VALUES (?, 1, ?) ON CONFLICT(bucket) DO UPDATE "
                       "SET n = n + 1", (bucket, now + window))
            n, until = db.execute("SELECT n, until FROM counter WHERE bucket = ?",
                                  (bucket,)).fetchone()
            return n, max(1, int(until - now + 0.999))
        return self._run(fn)

    def count(self, bucket):
        def fn(db, now):
            r = db.execute("SELECT n, until FROM counter WHERE bucket = ? AND until > ?",
                           (bucket, now)).fetchone()
            return (r[0], max(1, int(r[1] - now + 0.999))) if r else (0, 0)
        return self._run(fn)

    def secret(self):
        def fn(db, now):
            db.execute("INSERT OR IGNORE INTO meta VALUES ('secret', ?)",
                       (secrets.token_hex(32),))
            return db.execute("SELECT v FROM meta WHERE k = 'secret'").fetchone()[0]
        return self._run(fn)

    def ping(self):
        self._run(lambda db, now: db.execute("SELECT 1").fetchone())


# -- Redis -------------------------------------------------------------------------------------
# Each script is one atomic step on the server, whichever instance runs it.
_ADD = """
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[4]) then
  redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'status', 'pending', 'interval', ARGV[3],
             'user_code', ARGV[6])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""
_FINISH = """
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
local uc = redis.call('HGET', KEYS[1], 'user_code')
if uc then redis.call('DEL', ARGV[4] .. uc) end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'tokens', ARGV[2])
redis.call('HDEL', KEYS[1], 'user_code')
local left = redis.call('TTL', KEYS[1])
if left < 0 or left > tonumber(ARGV[3]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""
_TAKE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'approved' then return false end
local t = redis.call('HGET', KEYS[1], 'tokens')
redis.call('DEL', KEYS[1])
return t
"""
_SLOW = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'interval', ARGV[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
return 1
"""
_POLL = """
local d = redis.call('HGETALL', KEYS[1])
if #d == 0 then return false end
local h = {}
for i = 1, #d, 2 do h[d[i]] = d[i + 1] end
local ok = 1
if h['status'] == 'pending' and cjson.decode(h['rec'])['client_id'] == ARGV[2] then
  local win = math.max(1, tonumber(h['interval']) * 1000 - tonumber(ARGV[1]))
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', win) then ok = 0 end
end
return {h['rec'], h['status'], h['interval'], ok}
"""
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('TTL', KEYS[1])
if left < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
return {n, left}
"""


class RedisStore:
    """A real Redis (redis-server): keys under ``prefix`` with TTLs, atomic Lua steps."""

    kind = "redis"

    def __init__(self, url, prefix="dp:"):
        import redis

        self.url = url
        self.p = prefix
        self._errors = (redis.RedisError, OSError)
        self.r = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                      health_check_interval=30, decode_responses=True)
        self._add = self.r.register_script(_ADD)
        self._finish = self.r.register_script(_FINISH)
        self._take = self.r.register_script(_TAKE)
        self._slow = self.r.register_script(_SLOW)
        self._hit = self.r.register_script(_HIT)
        self._poll = self.r.register_script(_POLL)

    def _do(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except self._errors as e:
            raise StoreError("redis: %s" % e) from e

    def close(self):
        self.r.close()

    def add_pairing(self, dkey, user_code, rec, interval, ttl, code_ttl):
        return bool(self._do(self._add, keys=[self.p + "p:" + dkey, self.p + "u:" + user_code],
                             args=[dkey, json.dumps(rec), interval, int(code_ttl), int(ttl),
                                   user_code]))

    def _rec(self, dkey, d):
        if not d or "rec" not in d:
            return None
        rec = json.loads(d["rec"])
        rec.update(dkey=dkey, status=d.get("status"), interval=int(d.get("interval", 5)))
        return rec

    def pairing(self, dkey):
        return self._rec(dkey, self._do(self.r.hgetall, self.p + "p:" + dkey))

    def pairing_by_user_code(self, user_code):
        dkey = self._do(self.r.get, self.p + "u:" + user_code)
        return self.pairing(dkey) if dkey else None

    def poll_view(self, dkey, client_id, slack_ms):
        r = self._do(self._poll, keys=[self.p + "p:" + dkey, self.p + "g:" + dkey],
                     args=[int(slack_ms), client_id])
        if not r:
            return None, True
        rec = self._rec(dkey, {"rec": r[0], "status": r[1], "interval": r[2]})
        return rec, bool(int(r[3]))

    def slow_down(self, dkey, by, window_ms):
        self._do(self._slow, keys=[self.p + "p:" + dkey, self.p + "g:" + dkey],
                 args=[by, max(1, int(window_ms))])

    def finish(self, dkey, status, tokens, ttl):
        return bool(self._do(self._finish, keys=[self.p + "p:" + dkey],
                             args=[status, tokens or "", int(ttl), self.p + "u:"]))

    def take_tokens(self, dkey):
        return self._do(self._take, keys=[self.p + "p:" + dkey]) or None

    def put_state(self, skey, rec, ttl):
        self._do(self.r.set, self.p + "s:" + skey, json.dumps(rec), ex=max(1, int(ttl)))

    def take_state(self, skey):
        v = self._do(self.r.getdel, self.p + "s:" + skey)
        return json.loads(v) if v else None

    def hit(self, bucket, window):
        n, left = self._do(self._hit, keys=[self.p + "r:" + bucket], args=[int(window)])
        return int(n), max(1, int(left))

    def count(self, bucket):
        k = self.p + "r:" + bucket
        n = self._do(self.r.get, k)
        if not n:
            return 0, 0
        return int(n), max(1, int(self._do(self.r.ttl, k)))

    def secret(self):
        k = self.p + "secret"
        self._do(self.r.set, k, secrets.token_hex(32), nx=True)
        return self._do(self.r.get, k)

    def ping(self):
        self._do(self.r.ping)

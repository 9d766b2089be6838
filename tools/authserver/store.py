"""SQLite state of the dev authorization server (standard library sqlite3 only).

Why a database at all: a restart of the server (new build, crashed simulator) must not lose
a pending pairing, and tokens handed to a device must keep working across restarts. Secrets
the server hands out (device codes, access and refresh tokens) are stored only as SHA-256
hashes; user codes are stored in canonical form (8 letters, no dash) because the
verification page looks them up by value.

One connection, guarded by a lock: the werkzeug dev server is threaded and the load is tiny.
Every method is one short transaction, so a killed process keeps everything committed.
"""

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    pw_hash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS device_codes (
    device_hash TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    poll_interval INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'denied')),
    username TEXT,
    decided_at REAL,
    last_poll_at REAL,
    used_at REAL
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id TEXT NOT NULL,
    parent_id INTEGER,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    scope TEXT NOT NULL,
    access_hash TEXT NOT NULL UNIQUE,
    refresh_hash TEXT UNIQUE,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    auth_time REAL NOT NULL,
    access_revoked INTEGER NOT NULL DEFAULT 0,
    refresh_revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_grant ON tokens (grant_id);
"""

PBKDF2_ROUNDS = 50000
SUB_NAMESPACE = uuid.UUID("5b1f1f5e-6a43-4c1e-9a57-2d0f4a6d2c11")


def secret_hash(value):
    """The stored form of a device code or token (never store the secret itself)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _pw_hash(password, salt=None):
    salt = salt or secrets.token_hex(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode(), PBKDF2_ROUNDS)
    return "pbkdf2_sha256$%d$%s$%s" % (PBKDF2_ROUNDS, salt, dk.hex())


def _pw_check(password, stored):
    try:
        _, rounds, salt, want = stored.split("$")
        dk = hashlib.pbkdf2_hmac(
            "sha256", password.encode("utf-8"), salt.encode(), int(rounds)
        )
    except ValueError:
        return False
    return hmac.compare_digest(dk.hex(), want)


class Store:
    def __init__(self, path):
        self.path = path
        if path != ":memory:":
            d = os.path.dirname(os.path.abspath(path))
            os.makedirs(d, exist_ok=True)
            if not os.path.exists(path):  # password and token hashes: owner only
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.executescript(SCHEMA)

    def close(self):
        with self._lock:
            self._db.close()

    def _one(self, sql, args=()):
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return dict(row) if row is not None else None

    def _write(self, sql, args=()):
        with self._lock, self._db:
            return self._db.execute(sql, args).rowcount

    # -- meta ------------------------------------------------------------------------------

    def meta(self, key, factory):
        """The persisted value for key, created with factory() on first use."""
        with self._lock, self._db:
            row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
            if row is not None:
                return row[0]
            value = factory()
            self._db.execute("INSERT INTO meta (k, v) VALUES (?, ?)", (key, value))
            return value

    # -- clients and users (the CLI is authoritative: entries it does not name are disabled) -

    def sync_clients(self, client_ids, scope, grant_types):
        with self._lock, self._db:
            self._db.execute("UPDATE clients SET enabled = 0")
            for cid in client_ids:
                self._db.execute(
                    "INSERT INTO clients (client_id, scope, grant_types, enabled)"
                    " VALUES (?, ?, ?, 1) ON CONFLICT (client_id) DO UPDATE SET"
                    " scope = excluded.scope, grant_types = excluded.grant_types, enabled = 1",
                    (cid, scope, grant_types),
                )

    def get_client(self, client_id, enabled_only=True):
        sql = "SELECT * FROM clients WHERE client_id = ?"
        if enabled_only:
            sql += " AND enabled = 1"
        return self._one(sql, (client_id,))

    def sync_users(self, users):
        """users: iterable of (username, password, display name)."""
        with self._lock, self._db:
            self._db.execute("UPDATE users SET enabled = 0")
            for name, password, display in users:
                sub = str(uuid.uuid5(SUB_NAMESPACE, name))
                self._db.execute(
                    "INSERT INTO users (username, sub, name, pw_hash, enabled)"
                    " VALUES (?, ?, ?, ?, 1) ON CONFLICT (username) DO UPDATE SET"
                    " name = excluded.name, pw_hash = excluded.pw_hash, enabled = 1",
                    (name, sub, display, _pw_hash(password)),
                )

    def get_user(self, username):
        """Any user ever known (tokens outlive a CLI change); None if never seen."""
        return self._one("SELECT username, sub, name, enabled FROM users WHERE username = ?",
                         (username,))

    def check_password(self, username, password):
        row = self._one("SELECT * FROM users WHERE username = ? AND enabled = 1", (username,))
        if row is None:
            _pw_check(password, _pw_hash("x"))  # same cost for unknown users
            return None
        if not _pw_check(password, row["pw_hash"]):
            return None
        del row["pw_hash"]
        return row

    # -- device codes ----------------------------------------------------------------------

    def user_code_taken(self, user_code):
        return self._one("SELECT 1 AS x FROM device_codes WHERE user_code = ?", (user_code,)) \
            is not None

    def insert_device(self, device_code, user_code, client_id, scope, now, expires_in,
                      interval):
        self._write(
            "INSERT INTO device_codes (device_hash, user_code, client_id, scope, issued_at,"
            " expires_at, poll_interval) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (secret_hash(device_code), user_code, client_id, scope, now, now + expires_in,
             interval),
        )

    def apply_auto_decision(self, now, after, approve, username):
        """--auto-approve/--auto-deny: decide every pending code issued >= after s ago.

        Evaluated lazily on each lookup; observers (polls, pages) cannot tell the difference
        from a timer. Returns how many codes were decided.
        """
        return self._write(
            "UPDATE device_codes SET status = ?, username = ?, decided_at = issued_at + ?"
            " WHERE status = 'pending' AND issued_at + ? <= ? AND issued_at + ? < expires_at",
            ("approved" if approve else "denied", username, after, after, now, after),
        )

    def device_by_code(self, device_code):
        return self._one("SELECT * FROM device_codes WHERE device_hash = ?",
                         (secret_hash(device_code),))

    def device_by_user_code(self, user_code):
        return self._one("SELECT * FROM device_codes WHERE user_code = ?", (user_code,))

    def decide(self, user_code, username, approve, now):
        """Approve or deny a pending, unexpired code; False if it was not (any longer)."""
        n = self._write(
            "UPDATE device_codes SET status = ?, username = ?, decided_at = ?"
            " WHERE user_code = ? AND status = 'pending' AND expires_at > ?",
            ("approved" if approve else "denied", username, now, user_code, now),
        )
        return n == 1

    def record_poll(self, device_hash, now, grace):
        """Note a token poll; True (and interval += 5 s, RFC 8628 3.5) if it came too fast."""
        with self._lock, self._db:
            row = self._db.execute(
                "SELECT last_poll_at, poll_interval FROM device_codes WHERE device_hash = ?",
                (device_hash,),
            ).fetchone()
            if row is None:
                return False
            last, interval = row
            slow = last is not None and now - last < interval - grace
            if slow:
                interval += 5
            self._db.execute(
                "UPDATE device_codes SET last_poll_at = ?, poll_interval = ?"
                " WHERE device_hash = ?",
                (now, interval, device_hash),
            )
            return slow

    # -- tokens ----------------------------------------------------------------------------

    def _insert_token(self, t):
        cur = self._db.execute(
            "INSERT INTO tokens (grant_id, parent_id, client_id, username, scope, access_hash,"
            " refresh_hash, issued_at, expires_at, auth_time)"
            " VALUES (:grant_id, :parent_id, :client_id, :username, :scope, :access_hash,"
            " :refresh_hash, :issued_at, :expires_at, :auth_time)",
            t,
        )
        return cur.lastrowid

    def exchange_device_code(self, device_hash, token_row, now):
        """Mark an approved device code used and store its first token, atomically.

        False if another request won the race (the code is single-use).
        """
        with self._lock, self._db:
            n = self._db.execute(
                "UPDATE device_codes SET used_at = ? WHERE device_hash = ?"
                " AND status = 'approved' AND used_at IS NULL",
                (now, device_hash),
            ).rowcount
            if n != 1:
                return False
            self._insert_token(token_row)
            return True

    def rotate_refresh(self, old_id, token_row):
        """Revoke refresh token old_id and store its successor, atomically."""
        with self._lock, self._db:
            n = self._db.execute(
                "UPDATE tokens SET refresh_revoked = 1 WHERE id = ? AND refresh_revoked = 0",
                (old_id,),
            ).rowcount
            if n != 1:
                return False
            self._insert_token(token_row)
            return True

    def token_by_access(self, access_token):
        return self._one("SELECT * FROM tokens WHERE access_hash = ?",
                         (secret_hash(access_token),))

    def token_by_refresh(self, refresh_token):
        return self._one("SELECT * FROM tokens WHERE refresh_hash = ?",
                         (secret_hash(refresh_token),))

    def revoke_access(self, token_id):
        self._write("UPDATE tokens SET access_revoked = 1 WHERE id = ?", (token_id,))

    def revoke_grant(self, grant_id):
        """Revoking a refresh token ends the whole pairing (RFC 7009 2.1 SHOULD)."""
        self._write(
            "UPDATE tokens SET access_revoked = 1, refresh_revoked = 1 WHERE grant_id = ?",
            (grant_id,),
        )

    def purge(self, before):
        """Drop device codes that expired before `before` and were never used."""
        return self._write(
            "DELETE FROM device_codes WHERE expires_at < ? AND used_at IS NULL", (before,)
        )

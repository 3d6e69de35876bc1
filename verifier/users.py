"""Users, roles, passwords, browser sessions and API tokens of the counter service.

Stored in ``DATA_DIR/users.sqlite`` (WAL). Passwords are hashed with Argon2id (RFC 9106,
argon2-cffi defaults); API tokens and session ids are random 256-bit values of which only
the SHA-256 is stored, so a copy of the database yields no usable credential.

Roles and what each may do are in :data:`PERMISSIONS` (the role matrix; README "Roles").
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from verifier.errors import InputError, LoginLockedError

ROLES = ("clerk", "manager", "inspector", "integrator", "admin")

#: The role matrix: permission -> roles that hold it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "scan": frozenset({"clerk", "manager", "integrator", "admin"}),
    "face": frozenset({"clerk", "manager", "integrator", "admin"}),
    "events": frozenset({"clerk", "manager", "integrator", "admin"}),
    "txn.create": frozenset({"clerk", "manager", "integrator", "admin"}),
    "txn.event": frozenset({"clerk", "manager", "integrator", "admin"}),
    "txn.override": frozenset({"manager", "admin"}),
    "txn.read": frozenset({"clerk", "manager", "inspector", "integrator", "admin"}),
    "ledger.verify": frozenset({"manager", "inspector", "admin", "integrator"}),
    "ledger.export": frozenset({"manager", "inspector", "admin"}),
    "audit.read": frozenset({"manager", "inspector", "admin"}),
    "users.manage": frozenset({"admin"}),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT, token_hash TEXT UNIQUE,"
    " created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,"
    " created_at TEXT NOT NULL, expires_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS login_failures (user TEXT NOT NULL, ts TEXT NOT NULL)",
)


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, frozenset())


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class UserStore:
    def __init__(self, data_dir: Path, *, session_hours: int = 12, max_failed_logins: int = 10,
                 hasher: PasswordHasher | None = None) -> None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.path = Path(data_dir) / "users.sqlite"
        self.session_hours = session_hours
        self.max_failed = max_failed_logins
        self._hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        for stmt in _SCHEMA:
            self._conn.execute(stmt)

    @classmethod
    def from_config(cls, cfg) -> "UserStore":
        return cls(cfg.data_dir, session_hours=cfg["auth.session_hours"], max_failed_logins=cfg["auth.max_failed_logins"])

    def close(self) -> None:
        self._conn.close()

    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # --- accounts ----------------------------------------------------------------------
    def add(self, name: str, role: str) -> dict:
        """Create a user; returns ``{"name", "role", "password"}`` (people) or ``{..., "token"}`` (integrator), shown once."""
        if not _NAME.match(name or ""):
            raise InputError(f"user name: expected 1-64 letters, digits, '.', '_' or '-', found {name!r}")
        if role not in ROLES:
            raise InputError(f"role: expected one of {', '.join(ROLES)}, found {role!r}")
        out: dict = {"name": name, "role": role}
        pw_hash = token_hash = None
        if role == "integrator":
            token = "chipid_" + secrets.token_urlsafe(32)
            token_hash = _sha(token)
            out["token"] = token
        else:
            password = secrets.token_urlsafe(12)
            pw_hash = self._hasher.hash(password)
            out["password"] = password
        try:
            self._q("INSERT INTO users (name, role, pw_hash, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                    (name, role, pw_hash, token_hash, _iso(_now())))
        except sqlite3.IntegrityError as e:
            raise InputError(f"user {name!r} already exists") from e
        return out

    def issue_token(self, name: str) -> str:
        """A new API token for an existing user (replaces the previous one)."""
        token = "chipid_" + secrets.token_urlsafe(32)
        with self._lock:
            cur = self._conn.execute("UPDATE users SET token_hash = ? WHERE name = ?", (_sha(token), name))
        if cur.rowcount != 1:
            raise InputError(f"no user {name!r}")
        return token

    def list(self) -> list[dict]:
        return [{"name": r[0], "role": r[1], "created_at": r[2], "disabled": bool(r[3])}
                for r in self._q("SELECT name, role, created_at, disabled FROM users ORDER BY name")]

    def count(self) -> int:
        return self._q("SELECT COUNT(*) FROM users")[0][0]

    def ensure_admin(self) -> dict | None:
        """On first start (no users at all) create ``admin``; returns its credentials once, else None."""
        if self.count():
            return None
        return self.add("admin", "admin")

    # --- authentication ----------------------------------------------------------------
    def check_password(self, name: str, password: str) -> User | None:
        since = _iso(_now() - timedelta(minutes=15))
        failures = self._q("SELECT COUNT(*) FROM login_failures WHERE user = ? AND ts >= ?", (name, since))[0][0]
        if failures >= self.max_failed:
            raise LoginLockedError(f"too many failed logins for {name!r}; try again in 15 minutes")
        rows = self._q("SELECT role, pw_hash, disabled FROM users WHERE name = ?", (name,))
        ok = False
        if rows and rows[0][1] and not rows[0][2]:
            try:
                ok = self._hasher.verify(rows[0][1], password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
        else:
            self._hasher.hash(password or "x")  # same cost whether or not the user exists
        if not ok:
            self._q("INSERT INTO login_failures (user, ts) VALUES (?, ?)", (name, _iso(_now())))
            return None
        self._q("DELETE FROM login_failures WHERE user = ?", (name,))
        return User(name, rows[0][0])

    def token_user(self, token: str) -> User | None:
        if not token:
            return None
        key = _sha(token)
        rows = self._q("SELECT name, role FROM users WHERE token_hash = ? AND disabled = 0", (key,))
        return User(*rows[0]) if rows else None

    def create_session(self, user: User) -> tuple[str, str]:
        """A new browser session: returns (cookie value, CSRF token)."""
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = _now()
        self._q("DELETE FROM sessions WHERE expires_at < ?", (_iso(now),))
        self._q("INSERT INTO sessions (id_hash, user, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (_sha(sid), user.name, csrf, _iso(now), _iso(now + timedelta(hours=self.session_hours))))
        return sid, csrf

    def session(self, sid: str) -> Session | None:
        if not sid:
            return None
        rows = self._q(
            "SELECT u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user"
            " WHERE s.id_hash = ? AND s.expires_at >= ? AND u.disabled = 0",
            (_sha(sid), _iso(_now())),
        )
        return Session(User(rows[0][0], rows[0][1]), rows[0][2]) if rows else None

    def end_session(self, sid: str) -> None:
        self._q("DELETE FROM sessions WHERE id_hash = ?", (_sha(sid),))

    def disable(self, name: str) -> None:
        self._q("UPDATE users SET disabled = 1 WHERE name = ?", (name,))
        self._q("DELETE FROM sessions WHERE user = ?", (name,))

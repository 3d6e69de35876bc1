"""Users, roles, passwords, browser sessions and API tokens of the counter service.

Stored in ``DATA_DIR/users.sqlite`` (WAL). Passwords are hashed with Argon2id (RFC 9106,
argon2-cffi defaults); API tokens and session ids are random 256-bit values of which only
the SHA-256 is stored, so a copy of the database yields no usable credential.

Roles and what each may do are in :data:`PERMISSIONS` (the role matrix; README "Roles").

People's passwords are generated once (a new user, the first ``admin``, an admin's reset) and
shown only then: such a one-time password must be changed at the first login (``must_change``;
OWASP ASVS 4.0 V2.1, NIST SP 800-63B §5.1.1.2: at least 10 characters here, the user name and the
old password refused). Changing, resetting or disabling ends the user's browser sessions at once;
a disabled user's token stops working at once too (every request looks the user up).
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

from verifier import messages
from verifier.errors import InputError, LoginLockedError, NotFoundError

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
    "shop.manage": frozenset({"manager", "admin"}),  # the shop profile printed on contracts (verifier/ledger/shop_profile.py)
    "metrics.read": frozenset({"manager", "integrator", "admin"}),
    # the shop's reports (verifier/api/reports.py): clerks see the due lists and their own day, managers everything
    "reports.due": frozenset({"clerk", "manager", "admin"}),
    "reports.day": frozenset({"clerk", "manager", "admin"}),
    "reports.cash": frozenset({"manager", "admin"}),
    "reports.register": frozenset({"manager", "inspector", "admin"}),
    "customers.read": frozenset({"manager", "admin"}),
    "customers.note": frozenset({"manager", "admin"}),
    # the shop's cash fund (verifier/api/cash.py): managers put cash in and take it out, anyone at the counter counts it
    "cash.fund": frozenset({"manager", "admin"}),
    "cash.count": frozenset({"clerk", "manager", "admin"}),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Shortest password a person may choose (NIST SP 800-63B §5.1.1.2 asks for at least 8).
MIN_PASSWORD = 10
MAX_PASSWORD = 256
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT, token_hash TEXT UNIQUE,"
    " created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,"
    " created_at TEXT NOT NULL, expires_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS login_failures (user TEXT NOT NULL, ts TEXT NOT NULL)",
)
#: Columns added after the first release: (name, declaration), added when missing.
_COLUMNS = (
    ("must_change", "INTEGER NOT NULL DEFAULT 0"),  # the password is a one-time password: change it at login
    ("password_changed_at", "TEXT"),
)


def refused(code: str, message: str, cls: type[InputError] = InputError, **details) -> InputError:
    """An :class:`InputError` with a stable ``code`` (the API's error code, :mod:`verifier.messages`),
    ``details`` (the fields of the catalogue's sentence) and that sentence in Vietnamese (``message_vi``)."""
    error = cls(message)
    error.code = code  # type: ignore[attr-defined]
    error.details = details  # type: ignore[attr-defined]
    error.message_vi = messages.text(code, "vi", details)  # type: ignore[attr-defined]
    return error


def check_new_password(name: str, new: str, old: str | None = None) -> None:
    """Refuse a password a person may not choose (raises :func:`refused` errors, code ``weak_password``)."""
    if not isinstance(new, str) or len(new) < MIN_PASSWORD:
        raise refused("weak_password", f"the new password needs at least {MIN_PASSWORD} characters",
                      rule="too_short", min=MIN_PASSWORD)
    if len(new) > MAX_PASSWORD:
        raise refused("weak_password", f"the new password may have at most {MAX_PASSWORD} characters",
                      rule="too_long", max=MAX_PASSWORD)
    if old is not None and new == old:
        raise refused("weak_password", "the new password must differ from the old one", rule="same_as_old")
    if len(name or "") >= 3 and name.lower() in new.lower():  # "an" is a whole Vietnamese name: too short to refuse
        raise refused("weak_password", "the new password must not contain the user name", rule="contains_name")
    if len(set(new)) < 4:
        raise refused("weak_password", "the new password is too simple (too few different characters)",
                      rule="too_simple")


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
    #: logged in with a one-time password: may only change it (the API answers 403 password_change_required)
    must_change: bool = False

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
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(users)")}
        for column, declaration in _COLUMNS:
            if column not in have:
                self._conn.execute(f"ALTER TABLE users ADD COLUMN {column} {declaration}")

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
            self._q("INSERT INTO users (name, role, pw_hash, token_hash, created_at, must_change) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, role, pw_hash, token_hash, _iso(_now()), int(pw_hash is not None)))
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
        return [{"name": r[0], "role": r[1], "created_at": r[2], "disabled": bool(r[3]), "must_change": bool(r[4]),
                 "password_changed_at": r[5]}
                for r in self._q("SELECT name, role, created_at, disabled, must_change, password_changed_at FROM users ORDER BY name")]

    def get(self, name: str) -> dict:
        """One user as in :meth:`list`; :class:`NotFoundError` when there is none."""
        for u in self.list():
            if u["name"] == name:
                return u
        raise refused("user_not_found", f"no user {name!r}", NotFoundError, name=name)

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
        rows = self._q("SELECT role, pw_hash, disabled, must_change FROM users WHERE name = ?", (name,))
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
        return User(name, rows[0][0], bool(rows[0][3]))

    def token_user(self, token: str) -> User | None:
        """The enabled user of an API token. A token is never a one-time secret: ``must_change`` is False."""
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
            "SELECT u.name, u.role, s.csrf, u.must_change FROM sessions s JOIN users u ON u.name = s.user"
            " WHERE s.id_hash = ? AND s.expires_at >= ? AND u.disabled = 0",
            (_sha(sid), _iso(_now())),
        )
        return Session(User(rows[0][0], rows[0][1], bool(rows[0][3])), rows[0][2]) if rows else None

    def end_session(self, sid: str) -> None:
        self._q("DELETE FROM sessions WHERE id_hash = ?", (_sha(sid),))

    # --- people: change, reset, disable, enable -------------------------------------------
    def _person(self, name: str) -> dict:
        user = self.get(name)
        if user["role"] == "integrator":
            raise refused("integrator_has_no_password", f"{name!r} is an integrator: it has a token, no password"
                          " (a new token: chipid user token NAME)", name=name)
        return user

    def change_password(self, name: str, old: str, new: str, *, keep_session: str | None = None) -> User:
        """Change one's own password: the old one must be right (failed attempts count towards the login
        lock). Clears ``must_change``; ends every other session of the user (``keep_session``: the cookie
        value of the session that asked, which stays)."""
        self._person(name)
        user = self.check_password(name, old or "")
        if user is None:
            raise refused("bad_credentials", "the old password is wrong", rule="old_password")
        check_new_password(name, new, old)
        self._set_password(name, new, must_change=False, keep_session=keep_session)
        return User(user.name, user.role, False)

    def reset(self, name: str) -> str:
        """An admin's reset: a new one-time password (returned, shown once), to be changed at the next
        login; ends every session of the user."""
        self._person(name)
        password = secrets.token_urlsafe(12)
        self._set_password(name, password, must_change=True)
        return password

    def _set_password(self, name: str, password: str, *, must_change: bool, keep_session: str | None = None) -> None:
        pw_hash = self._hasher.hash(password)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("UPDATE users SET pw_hash = ?, must_change = ?, password_changed_at = ? WHERE name = ?",
                                   (pw_hash, int(must_change), _iso(_now()), name))
                self._conn.execute("DELETE FROM sessions WHERE user = ? AND id_hash != ?",
                                   (name, _sha(keep_session) if keep_session else ""))
                self._conn.execute("DELETE FROM login_failures WHERE user = ?", (name,))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def disable(self, name: str) -> None:
        """Disable a user: its sessions end and its token stops working at once. The last enabled admin
        cannot be disabled (nobody could manage users any more)."""
        user = self.get(name)
        if user["role"] == "admin" and not user["disabled"]:
            admins = self._q("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")[0][0]
            if admins <= 1:
                raise refused("last_admin", f"{name!r} is the last enabled admin; enable or add another admin first",
                              name=name)
        self._q("UPDATE users SET disabled = 1 WHERE name = ?", (name,))
        self._q("DELETE FROM sessions WHERE user = ?", (name,))

    def enable(self, name: str) -> None:
        """Enable a disabled user again (its password and token are the ones it had)."""
        self.get(name)
        self._q("UPDATE users SET disabled = 0 WHERE name = ?", (name,))

"""Backend users (inspector, admin), argon2 password hashes and bearer sessions.

Login (``POST /api/v1/login`` or the login page) returns a random session token; the
database holds only its SHA-256, so a stolen database yields no usable session. Roles:
``inspector`` searches, reads histories and shop status, manages watchlists, exports;
``admin`` also issues enrolment tokens and acknowledges alerts.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sync.backend.db import Database
from verifier.errors import InputError
from verifier.ledger.entry import utc_now

ROLES = ("inspector", "admin")
SESSION_HOURS = 12
MAX_FAILED_LOGINS = 10       # per user name ...
FAILED_WINDOW_MINUTES = 15   # ... within this window; further attempts are refused
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("chipid-dummy-password")


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return self.role == "admin" or self.role == role


def generate_password(n: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def add_user(db: Database, name: str, role: str, password: str) -> User:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InputError("expected a user name of 1-100 characters")
    if role not in ROLES:
        raise InputError(f"role: expected one of {', '.join(ROLES)}, found {role!r}")
    if len(password) < 8:
        raise InputError("password: expected at least 8 characters")
    try:
        with db.write() as conn:
            conn.execute(
                text("INSERT INTO users (name, role, password_hash, created_at) VALUES (:n, :r, :h, :t)"),
                {"n": name, "r": role, "h": _hasher.hash(password), "t": utc_now()},
            )
    except IntegrityError as e:
        raise InputError(f"user {name!r} already exists") from e
    return User(name, role)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _window_start() -> str:
    t = datetime.now(timezone.utc) - timedelta(minutes=FAILED_WINDOW_MINUTES)
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _failed(db: Database, name: str) -> None:
    with db.write() as conn:
        conn.execute(text("DELETE FROM login_failures WHERE at < :w"), {"w": _window_start()})
        conn.execute(text("INSERT INTO login_failures (name, at) VALUES (:n, :t)"), {"n": name[:100], "t": utc_now()})


def login(db: Database, name: str, password: str) -> tuple[User, str] | None:
    """A session token for the right password; None otherwise (and after too many failures)."""
    with db.read() as conn:
        failures = conn.execute(text("SELECT COUNT(*) FROM login_failures WHERE name = :n AND at >= :w"),
                                {"n": name[:100], "w": _window_start()}).scalar()
        row = conn.execute(text("SELECT role, password_hash, disabled FROM users WHERE name = :n"), {"n": name}).first()
    if failures >= MAX_FAILED_LOGINS:
        return None
    if row is None:
        try:
            _hasher.verify(_DUMMY, password)  # same cost whether or not the user exists
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
        _failed(db, name)
        return None
    role, pw_hash, disabled = row
    try:
        _hasher.verify(pw_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        _failed(db, name)
        return None
    if disabled:
        return None
    token = secrets.token_urlsafe(32)
    expires = (datetime.now(timezone.utc) + timedelta(hours=SESSION_HOURS)).isoformat().replace("+00:00", "Z")
    with db.write() as conn:
        conn.execute(
            text("INSERT INTO sessions (token_hash, user_name, role, created_at, expires_at) VALUES (:h, :u, :r, :c, :e)"),
            {"h": _token_hash(token), "u": name, "r": role, "c": utc_now(), "e": expires},
        )
    return User(name, role), token


def session_user(db: Database, token: str | None) -> User | None:
    if not token:
        return None
    with db.read() as conn:
        row = conn.execute(
            text("SELECT user_name, role, expires_at FROM sessions WHERE token_hash = :h"), {"h": _token_hash(token)}
        ).first()
    if row is None or row[2] < utc_now():
        return None
    return User(row[0], row[1])


def logout(db: Database, token: str) -> None:
    with db.write() as conn:
        conn.execute(text("DELETE FROM sessions WHERE token_hash = :h"), {"h": _token_hash(token)})

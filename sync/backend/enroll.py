"""Shops, devices and one-time enrolment tokens.

The backend operator runs ``chipid backend device add --shop NAME --license NO --province CODE``:
the shop row is created (or found by province + licence number) and a one-time token is
printed. The shop runs ``chipid sync enroll --backend URL --token TOKEN``: the device sends its
id, its Ed25519 public key and a signature over ``ENROLL_CONTEXT + token + ":" + device_id``
(proof that it holds the key). The token is stored hashed, expires, and binds exactly one device.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from sync.backend.db import Database
from sync.batch import enroll_message
from sync.backend.index import norm_code, norm_text
from verifier.errors import InputError, SyncError, TamperError
from verifier.ledger.entry import GENESIS, load_public_key_b64, public_key_b64, utc_now

TOKEN_TTL_HOURS = 72
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def shop_id_for(province: str, license_no: str) -> str:
    prov, lic = norm_code(province), norm_code(license_no)
    if not prov or not lic:
        raise InputError(f"expected a province code and a licence number, found {province!r} and {license_no!r}")
    return f"{prov}-{lic}"


def add_device_token(db: Database, *, shop: str, license_no: str, province: str, ttl_hours: int = TOKEN_TTL_HOURS) -> dict:
    """Create (or find) the shop and issue a one-time enrolment token for one device."""
    name = (shop or "").strip()
    if not name:
        raise InputError("expected a shop name, found an empty one")
    shop_id = shop_id_for(province, license_no)
    token = secrets.token_urlsafe(24)
    now = datetime.now(timezone.utc)
    with db.write() as conn:
        row = conn.execute(text("SELECT name FROM shops WHERE shop_id = :s"), {"s": shop_id}).first()
        if row is None:
            conn.execute(
                text("INSERT INTO shops (shop_id, name, name_norm, license_no, province, created_at) "
                     "VALUES (:s, :n, :nn, :l, :p, :t)"),
                {"s": shop_id, "n": name, "nn": norm_text(name), "l": license_no.strip(), "p": norm_code(province), "t": utc_now()},
            )
        conn.execute(
            text("INSERT INTO enroll_tokens (token_hash, shop_id, created_at, expires_at) VALUES (:h, :s, :c, :e)"),
            {"h": _token_hash(token), "s": shop_id, "c": utc_now(),
             "e": (now + timedelta(hours=ttl_hours)).isoformat().replace("+00:00", "Z")},
        )
    return {"token": token, "shop_id": shop_id, "shop": name, "province": norm_code(province), "license_no": license_no.strip()}


def enroll_device(db: Database, *, token: str, device_id: str, public_key: str, proof: str,
                  downlink_key: Ed25519PrivateKey | None = None) -> dict:
    """Register a device's public key against a one-time token. Raises InputError / SyncError.

    The answer carries ``downlink_public_key``: the backend's downlink signing key (base64 Ed25519,
    :mod:`sync.backend.downlink_key`), which the shop pins (:mod:`sync.enrollment`) and checks every
    message to it against (:mod:`sync.downlink`); null when the backend has no signing key."""
    answer = _enroll_device(db, token=token, device_id=device_id, public_key=public_key, proof=proof)
    answer["downlink_public_key"] = public_key_b64(downlink_key.public_key()) if downlink_key is not None else None
    return answer


def _enroll_device(db: Database, *, token: str, device_id: str, public_key: str, proof: str) -> dict:
    if not isinstance(device_id, str) or not _DEVICE_ID.fullmatch(device_id):
        raise InputError("expected a device_id of 1-100 letters, digits, '.', '_' or '-'")
    try:
        key = load_public_key_b64(public_key)
        key.verify(base64.b64decode(proof, validate=True), enroll_message(token, device_id))
    except (TamperError, InvalidSignature, ValueError) as e:
        raise InputError("enrolment proof does not verify with the given public key") from e
    now = utc_now()
    with db.write() as conn:
        tok = conn.execute(
            text("SELECT shop_id, expires_at, used_at, device_id FROM enroll_tokens WHERE token_hash = :h"),
            {"h": _token_hash(token)},
        ).first()
        if tok is None:
            raise SyncError("enrolment token is unknown")
        shop_id, expires_at, used_at, used_by = tok
        existing = conn.execute(
            text("SELECT shop_id, public_key FROM devices WHERE device_id = :d"), {"d": device_id}
        ).first()
        if used_at is not None:
            if used_by == device_id and existing is not None and existing[1] == public_key:
                return _enrolled(conn, shop_id, device_id)  # the same device retrying: same answer
            raise SyncError("enrolment token was already used")
        if expires_at < now:
            raise SyncError(f"enrolment token expired at {expires_at}")
        if existing is not None:
            raise SyncError(f"device {device_id!r} is already enrolled (shop {existing[0]})")
        conn.execute(
            text("INSERT INTO devices (shop_id, device_id, public_key, enrolled_at, head_seq, head_hash) "
                 "VALUES (:s, :d, :k, :t, 0, :g)"),
            {"s": shop_id, "d": device_id, "k": public_key, "t": now, "g": GENESIS},
        )
        conn.execute(
            text("UPDATE enroll_tokens SET used_at = :t, device_id = :d WHERE token_hash = :h"),
            {"t": now, "d": device_id, "h": _token_hash(token)},
        )
        return _enrolled(conn, shop_id, device_id)


def _enrolled(conn, shop_id: str, device_id: str) -> dict:
    shop = conn.execute(text("SELECT name, province, license_no FROM shops WHERE shop_id = :s"), {"s": shop_id}).first()
    return {"status": "enrolled", "device_id": device_id, "shop_id": shop_id, "shop": shop[0], "province": shop[1],
            "license_no": shop[2]}

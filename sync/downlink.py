"""The signed downlink, police backend -> shop (issue 19 item 2): holds, notices, trust updates.

A message, per shop, numbered 1, 2, 3... (``version``)::

    {"format": "chipid-downlink/1", "shop_id", "version", "kind": "hold" | "hold_release" | "notice" | "trust",
     "issued_at", "issued_by", "body": {...}}

is signed by the backend's Ed25519 key (RFC 8032) over ``CONTEXT`` + its canonical JSON (RFC 8785,
JSON Canonicalization Scheme) and travels as ``{"message": {...}, "signature": base64}``. The shop
pinned the backend's public key at enrolment (:mod:`sync.enrollment`) and accepts only messages
that verify with it and name its own shop.

Bodies (what :func:`check_body` accepts):

* ``hold``: ``{"hold_id", "contract_no", "txn_id", "reason", "case_no" | null, "until": "YYYY-MM-DD" | null}``:
  the shop may not redeem, liquidate or cancel (return the item of) the contract while it is held;
* ``hold_release``: ``{"hold_id", "contract_no", "txn_id", "note"}``;
* ``notice``: ``{"text"}``, shown at the counter until acknowledged;
* ``trust``: ``{"items": [{"name", "data": base64}]}``: CSCA certificates (the CCCD eID CSCA too),
  CRLs and master lists, imported with the checks of ``chipid trust import``.

Application is idempotent and in order (:func:`plan`): a version already applied is skipped, a gap
(a version missing before the next one) stops the run so the missing one is fetched again, never
skipped.

Devices authenticate their requests to the backend (the downlink fetch, photo uploads) with
:func:`request_message`: an Ed25519 signature by the enrolled device key over the method, the
path with its query, a UTC timestamp and the SHA-256 of the body, in the headers
``X-Chipid-Device``, ``X-Chipid-Timestamp``, ``X-Chipid-Signature``; the backend accepts a
timestamp within :data:`REQUEST_SKEW_S` of its clock.

Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import InputError, TamperError
from verifier.ledger.canonical import jcs

FORMAT = "chipid-downlink/1"
CONTEXT = b"chipid-downlink/1\n"
REQUEST_CONTEXT = b"chipid-device-request/1\n"
KINDS = ("hold", "hold_release", "notice", "trust")
#: seconds a device request's timestamp may differ from the backend's clock
REQUEST_SKEW_S = 300
MAX_TEXT = 2000
MAX_TRUST_BYTES = 8 << 20  # decoded bytes of one trust update
HEADER_DEVICE = "X-Chipid-Device"
HEADER_TIMESTAMP = "X-Chipid-Timestamp"
HEADER_SIGNATURE = "X-Chipid-Signature"
_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


def canonical(obj: Any) -> bytes:
    """RFC 8785 canonical JSON of ``obj`` (what is signed): the ledger's encoder (:func:`verifier.ledger.canonical.jcs`)."""
    return jcs(obj)


def _text(body: dict, key: str, *, required: bool, limit: int = MAX_TEXT) -> None:
    v = body.get(key)
    if v is None and not required:
        return
    if not isinstance(v, str) or not v.strip() or len(v) > limit:
        raise InputError(f"downlink body: {key!r} expected text of 1-{limit} characters, found {v!r:.60}")


def check_body(kind: str, body: Any) -> None:
    """``body`` has the shape of a ``kind`` message (see the module docstring), else :class:`InputError`."""
    if kind not in KINDS:
        raise InputError(f"downlink kind: expected one of {', '.join(KINDS)}, found {kind!r}")
    if not isinstance(body, dict):
        raise InputError(f"downlink body: expected an object, found {type(body).__name__}")
    if kind in ("hold", "hold_release"):
        for key in ("hold_id", "contract_no", "txn_id"):
            _text(body, key, required=True, limit=200)
    if kind == "hold":
        _text(body, "reason", required=True)
        _text(body, "case_no", required=False, limit=100)
        until = body.get("until")
        if until is not None:
            try:
                date.fromisoformat(until)
            except (TypeError, ValueError) as e:
                raise InputError(f"downlink hold: 'until' expected a date YYYY-MM-DD, found {until!r:.40}") from e
    elif kind == "hold_release":
        _text(body, "note", required=False)
    elif kind == "notice":
        _text(body, "text", required=True)
    elif kind == "trust":
        items = body.get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= 50:
            raise InputError("downlink trust update: expected 1-50 items")
        total = 0
        for item in items:
            if not isinstance(item, dict):
                raise InputError("downlink trust update: each item is {name, data}")
            _text(item, "name", required=True, limit=200)
            total += len(decode_b64(item.get("data"), "trust item data"))
        if total > MAX_TRUST_BYTES:
            raise InputError(f"downlink trust update: expected at most {MAX_TRUST_BYTES} bytes, found {total}")


def decode_b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(f"{what}: expected base64 text, found {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InputError(f"{what}: expected base64 text, found text that is not base64") from e


def build(shop_id: str, version: int, kind: str, body: dict, *, issued_at: str, issued_by: str) -> dict:
    """A message (unsigned), checked."""
    check_body(kind, body)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"downlink version: expected 1, 2, 3..., found {version!r}")
    return {"format": FORMAT, "shop_id": shop_id, "version": version, "kind": kind, "issued_at": issued_at,
            "issued_by": issued_by, "body": body}


def sign(message: dict, key: Ed25519PrivateKey) -> str:
    """The base64 signature of ``message`` by the backend key."""
    return base64.b64encode(key.sign(CONTEXT + canonical(message))).decode()


@dataclass(frozen=True)
class Message:
    """A verified message."""

    shop_id: str
    version: int
    kind: str
    issued_at: str
    issued_by: str
    body: dict
    signature: str

    def to_json(self) -> dict:
        return {"format": FORMAT, "shop_id": self.shop_id, "version": self.version, "kind": self.kind,
                "issued_at": self.issued_at, "issued_by": self.issued_by, "body": self.body}


def verify(wire: Any, public_key: Ed25519PublicKey, shop_id: str) -> Message:
    """Check a received ``{"message", "signature"}``: the signature by the pinned backend key over the
    message's canonical JSON, the format, this shop, the body's shape. :class:`TamperError` for a
    signature that does not verify or a message for another shop, :class:`InputError` for a bad shape."""
    if not isinstance(wire, dict) or not isinstance(wire.get("message"), dict):
        raise InputError("downlink: expected {\"message\": {...}, \"signature\": ...}")
    msg, sig_text = wire["message"], wire.get("signature")
    sig = decode_b64(sig_text, "downlink signature")
    try:
        public_key.verify(sig, CONTEXT + canonical(msg))
    except (InvalidSignature, ValueError) as e:
        raise TamperError(f"downlink message {msg.get('version')!r}: signature does not verify with the "
                          "backend key pinned at enrolment") from e
    if msg.get("format") != FORMAT:
        raise InputError(f"downlink format: expected {FORMAT}, found {msg.get('format')!r}")
    if msg.get("shop_id") != shop_id:
        raise TamperError(f"downlink message {msg.get('version')!r} is for shop {msg.get('shop_id')!r}, not {shop_id!r}")
    version = msg.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"downlink version: expected 1, 2, 3..., found {version!r}")
    for key in ("issued_at", "issued_by"):
        if not isinstance(msg.get(key), str):
            raise InputError(f"downlink {key}: expected text")
    check_body(msg.get("kind"), msg.get("body"))
    return Message(shop_id, version, msg["kind"], msg["issued_at"], msg["issued_by"], msg["body"], str(sig_text))


def plan(applied: int, versions: Iterable[int]) -> tuple[list[int], int | None]:
    """Which of the fetched ``versions`` to apply, in order, after ``applied``: those already applied
    are skipped; the run stops at a gap. Returns (versions to apply, the first missing version or None)."""
    todo, expect = [], applied + 1
    for v in sorted(set(versions)):
        if v <= applied:
            continue
        if v != expect:
            return todo, expect
        todo.append(v)
        expect += 1
    return todo, None


# --- device request authentication ----------------------------------------------------------
def request_message(method: str, path: str, timestamp: str, body: bytes = b"") -> bytes:
    """What a device signs for one request: method, path with query, UTC timestamp, SHA-256 of the body."""
    return REQUEST_CONTEXT + b"\n".join((method.upper().encode(), path.encode(), timestamp.encode(),
                                         hashlib.sha256(body).hexdigest().encode()))


def request_headers(device_id: str, sign_fn: Any, method: str, path: str, timestamp: str, body: bytes = b"") -> dict:
    """The authentication headers of a device request (``sign_fn``: the device key's sign)."""
    sig = sign_fn(request_message(method, path, timestamp, body))
    return {HEADER_DEVICE: device_id, HEADER_TIMESTAMP: timestamp, HEADER_SIGNATURE: base64.b64encode(sig).decode()}


def valid_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value))

"""The ledger's wire and hash format, shared by the shop ledger, sync and the police backend.

An entry is hashed over its canonical JSON (UTF-8, sorted keys, no spaces), and links to
the previous entry's hash: a plain hash chain per device (seq 1, 2, 3, ... with no gaps).
A checkpoint is the device's Ed25519 signature over (device_id, seq, head hash, time).

Pure: no storage, no I/O. The ledger stores entries (payload encrypted at rest); sync
sends them as these canonical dicts; the backend and ``verify-export`` recompute hashes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import InputError, TamperError
from verifier.local_time import VN_TZ  # re-exported: the ledger's local days are Vietnam's

GENESIS = "0" * 64
KINDS = ("transaction", "event")


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def utc_text(t: datetime) -> str:
    """The UTC time form entries carry: ISO 8601 with microseconds and ``Z`` (sorts as text)."""
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return utc_text(datetime.now(timezone.utc))


def utc_bound(text: str, *, start: bool) -> str:
    """A date (local Vietnam day) or ISO time to the UTC text form entries carry. A bound
    beyond the times UTC can hold (the first hours of 0001-01-01 in Vietnam fall before year 1
    in UTC) stands for the earliest or the latest time there is."""
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            t = datetime(d.year, d.month, d.day, tzinfo=VN_TZ)
            if not start:
                t += timedelta(days=1) - timedelta(microseconds=1)
        else:
            t = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.replace(tzinfo=VN_TZ)
        return utc_text(t)
    except ValueError as e:
        raise InputError(f"expected an ISO date (YYYY-MM-DD) or date-time, found {text!r}") from e
    except OverflowError:  # the text parsed, so it starts with its four-digit year
        return "0001-01-01T00:00:00.000000Z" if text < "5000" else "9999-12-31T23:59:59.999999Z"


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    device_id: str
    ts: str
    kind: str  # "transaction" | "event"
    payload: dict
    prev_hash: str
    demo: bool = False

    def body(self) -> dict:
        return {
            "seq": self.seq,
            "device_id": self.device_id,
            "ts": self.ts,
            "kind": self.kind,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "demo": self.demo,
        }

    def canonical(self) -> bytes:
        return canonical_json(self.body())

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def to_json(self) -> dict:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_json(cls, data: dict) -> "Entry":
        """Rebuild an entry; if ``hash`` is present it must match the recomputed one."""
        try:
            entry = cls(
                seq=int(data["seq"]),
                device_id=str(data["device_id"]),
                ts=str(data["ts"]),
                kind=str(data["kind"]),
                payload=dict(data["payload"]),
                prev_hash=str(data["prev_hash"]),
                demo=bool(data.get("demo", False)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise TamperError(f"malformed ledger entry: {e!r}") from e
        claimed = data.get("hash")
        if claimed is not None and claimed != entry.hash:
            raise TamperError(f"entry seq {entry.seq}: stored hash {claimed} but content hashes to {entry.hash}")
        return entry


@dataclass(frozen=True)
class Checkpoint:
    device_id: str
    seq: int
    head_hash: str
    ts: str
    signature: str = ""  # base64 Ed25519 over canonical(body)

    def body(self) -> dict:
        return {"device_id": self.device_id, "seq": self.seq, "head_hash": self.head_hash, "ts": self.ts}

    def signed(self, key: Ed25519PrivateKey) -> "Checkpoint":
        sig = base64.b64encode(key.sign(canonical_json(self.body()))).decode()
        return Checkpoint(self.device_id, self.seq, self.head_hash, self.ts, sig)

    def verify(self, public_key: Ed25519PublicKey) -> None:
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), canonical_json(self.body()))
        except (InvalidSignature, ValueError) as e:
            raise TamperError(f"checkpoint at seq {self.seq}: signature does not verify") from e

    def to_json(self) -> dict:
        return {**self.body(), "signature": self.signature}

    @classmethod
    def from_json(cls, data: dict) -> "Checkpoint":
        try:
            return cls(str(data["device_id"]), int(data["seq"]), str(data["head_hash"]), str(data["ts"]), str(data["signature"]))
        except (KeyError, TypeError, ValueError) as e:
            raise TamperError(f"malformed checkpoint: {e!r}") from e


def verify_chain(entries: list[Entry], start_prev: str = GENESIS, start_seq: int = 1) -> str:
    """Check seq continuity and hash links; returns the head hash. Raises TamperError naming the first bad entry."""
    prev = start_prev
    expected_seq = start_seq
    for entry in entries:
        if entry.seq != expected_seq:
            raise TamperError(f"entry seq {entry.seq}: expected seq {expected_seq} (gap or reordering)")
        if entry.prev_hash != prev:
            raise TamperError(f"entry seq {entry.seq}: prev_hash {entry.prev_hash[:16]}… does not link to {prev[:16]}…")
        if entry.kind not in KINDS:
            raise TamperError(f"entry seq {entry.seq}: unknown kind {entry.kind!r}")
        prev = entry.hash
        expected_seq += 1
    return prev


def public_key_b64(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key_b64(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError as e:
        raise TamperError(f"device public key is not a base64 Ed25519 key: {e}") from e

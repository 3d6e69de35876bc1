"""The ledger's wire and hash format, shared by the shop ledger, sync and the police backend.

An entry is hashed over the canonical JSON of its body, and links to the previous entry's
hash: a plain hash chain per device (seq 1, 2, 3, ... with no gaps). Which canonical form
is said by the body itself (:mod:`verifier.ledger.canonical`):

* ``"canon": "jcs"`` in the body: RFC 8785 (JCS), every entry written since batch format 3;
* no ``canon`` field: the legacy form (Python's ``json``, sorted keys, no spaces, UTF-8) of
  the entries written before; they keep the bytes they were hashed with.

A checkpoint is the device's Ed25519 signature over the JCS form of (device_id, seq, head
hash, time): text and an integer, whose JCS and legacy forms are the same bytes, so the
checkpoints signed before verify unchanged.

Pure: no storage, no I/O. The ledger stores entries (payload encrypted at rest); sync
sends them as these canonical bytes; the backend and ``verify-export`` recompute hashes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import InputError, TamperError
from verifier.ledger.canonical import JCS, canonical_json, jcs, jcs_numbers  # canonical_json re-exported (the legacy form)
from verifier.local_time import VN_TZ  # re-exported: the ledger's local days are Vietnam's

GENESIS = "0" * 64
KINDS = ("transaction", "event")
#: An entry body's ``canon`` values: None (no field) for the legacy form, ``"jcs"`` for RFC 8785.
CANONS = (None, JCS)


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
    canon: str | None = None  # JCS for an entry written since batch format 3, None for one written before

    def body(self) -> dict:
        body = {
            "seq": self.seq,
            "device_id": self.device_id,
            "ts": self.ts,
            "kind": self.kind,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "demo": self.demo,
        }
        if self.canon is not None:
            body["canon"] = self.canon
        return body

    def canonical(self) -> bytes:
        """The bytes the entry is hashed over: RFC 8785 when ``canon`` is ``"jcs"``, else the legacy form.
        :class:`InputError` when a JCS entry has no JCS form (an integer beyond ±(2^53 - 1), NaN)."""
        if self.canon == JCS:
            return jcs(self.body())
        if self.canon is not None:
            raise TamperError(f"entry seq {self.seq}: unknown canonical form {self.canon!r}")
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
                canon=data.get("canon"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise TamperError(f"malformed ledger entry: {e!r}") from e
        if entry.canon not in CANONS:
            raise TamperError(f"entry seq {entry.seq}: unknown canonical form {entry.canon!r} (expected {JCS!r} or none)")
        claimed = data.get("hash")
        try:
            actual = entry.hash
        except InputError as e:
            if entry.canon != JCS:
                raise TamperError(f"entry seq {entry.seq}: {e}") from e
            # read by a JSON reader that keeps big integers: take them as the doubles JCS wrote
            entry = replace(entry, payload=jcs_numbers(entry.payload))
            try:
                actual = entry.hash
            except InputError as e2:
                raise TamperError(f"entry seq {entry.seq}: {e2}") from e2
        if claimed is not None and claimed != actual:
            raise TamperError(f"entry seq {entry.seq}: stored hash {claimed} but content hashes to {actual}")
        return entry


@dataclass(frozen=True)
class Checkpoint:
    device_id: str
    seq: int
    head_hash: str
    ts: str
    signature: str = ""  # base64 Ed25519 over jcs(body)

    def body(self) -> dict:
        return {"device_id": self.device_id, "seq": self.seq, "head_hash": self.head_hash, "ts": self.ts}

    def signed(self, key: Ed25519PrivateKey) -> "Checkpoint":
        sig = base64.b64encode(key.sign(jcs(self.body()))).decode()
        return Checkpoint(self.device_id, self.seq, self.head_hash, self.ts, sig)

    def verify(self, public_key: Ed25519PublicKey) -> None:
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), jcs(self.body()))
        except (InvalidSignature, ValueError, InputError) as e:
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

"""The sync batch: a run of ledger entries from one device, signed by the device.

Wire format (``Content-Type: application/vnd.chipid.batch``, ``Content-Encoding: gzip``),
three parts separated by the first two newlines::

    chipid-sync-batch/1\n
    <base64 Ed25519 signature over the batch bytes>\n
    <batch bytes: canonical JSON of {"device_id", "first_seq", "last_seq", "prev_hash",
     "head_hash", "entries": [Entry.to_json(), ...], "checkpoint": Checkpoint.to_json() | null,
     "sent_at", "backlog", "priority"}>

The batch travels as the very bytes that were signed ("verify the bytes that were read"):
the backend checks the signature on them, parses them once and never re-serialises them
(compact JSON never holds a raw newline, so the framing is unambiguous).

* A normal batch is contiguous: ``entries[0].seq == first_seq``, each entry links to the
  previous one, the first links to ``prev_hash`` (the hash of entry ``first_seq - 1``, or
  the genesis hash) and the last hashes to ``head_hash``.
* A *priority* batch carries ``suspicious`` events ahead of the queue: its entries need not
  be contiguous (each is still hash-checked and signed); the backend raises the alert at
  once and checks the entries again when the normal chain delivers them.
* ``sent_at`` orders the batches of one device: an older, different batch arriving after a
  newer one was accepted is a replay.
* ``backlog`` is the number of entries the shop still had to send after this batch.

The signature key is the device's ledger key (the one that signs checkpoints). Pure: no I/O.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from dataclasses import dataclass, field, replace
from hashlib import sha256
from typing import Any, Callable

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.errors import InputError, LimitExceededError, SyncError, TamperError
from verifier.ledger.entry import GENESIS, KINDS, Checkpoint, Entry, canonical_json, utc_now

# canonical_json's exact settings, one encoder built once (json.dumps builds a new one per call);
# check_circular off: parsed JSON cannot be circular, and the output is byte-identical.
_canonical_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False).encode

# The backend reads batches with orjson (several times faster than the standard library) and
# re-encodes entries with it too. Where the two could part ways the standard library reads and
# encodes the whole batch again, so what is accepted is exactly what the reference encoding
# (canonical_json) accepts:
# * input orjson refuses (NaN, Infinity, lone surrogates, deep nesting) is read by the
#   standard library from the start;
# * both read integers of the 64-bit range and every float to the same values; an integer
#   beyond that range orjson reads as a float, which it then writes with an exponent ("e+");
# * both write a float's shortest round-trip digits, in the same form except where an
#   exponent is involved: orjson writes "0.00006103515625" for "6.103515625e-05" and "1e-7"
#   for "1e-07" (orjson 3.13 and later; before, also "1e16" for "1e+16", hence the pin).
# So an entry whose orjson encoding holds a number with an exponent (a digit, "e-" or "e+",
# a digit) or a number starting "0.0000" (orjson's form below 1e-4) sends the batch to the
# reference (a string that merely looks like one costs only time); everything else encodes to
# the same bytes (tests/sync/test_sync_batch.py). See _other_float_form for how it is found.
_EXPONENT = re.compile(rb"e[-+][0-9]")
_SMALL = b"0.0000"
_DIGITS = b"0123456789"
_BEFORE_NUMBER = b":,[-"  # a number in JSON follows one of these (or its minus sign does)
_SORT_KEYS = orjson.OPT_SORT_KEYS

FORMAT = "chipid-sync-batch/1"
MAX_ENTRIES = 5000            # entries in one batch
MAX_WIRE_BYTES = 16 << 20     # compressed request body
MAX_JSON_BYTES = 64 << 20     # decompressed request body (zip-bomb guard)
ENROLL_CONTEXT = b"chipid-enroll/1:"


def enroll_message(token: str, device_id: str) -> bytes:
    """What a device signs at enrolment to prove it holds the key it registers."""
    return ENROLL_CONTEXT + token.encode() + b":" + device_id.encode()


@dataclass(frozen=True)
class Batch:
    device_id: str
    first_seq: int
    last_seq: int
    prev_hash: str
    head_hash: str
    entries: tuple[Entry, ...]
    checkpoint: Checkpoint | None
    sent_at: str
    backlog: int = 0
    priority: bool = False
    hashes: tuple[str, ...] = field(default=(), compare=False, repr=False)  # of the entries, when known

    def body(self) -> dict:
        if len(self.hashes) == len(self.entries):
            entries = [{**e.body(), "hash": h} for e, h in zip(self.entries, self.hashes)]
        else:
            entries = [e.to_json() for e in self.entries]
        return {
            "device_id": self.device_id,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "prev_hash": self.prev_hash,
            "head_hash": self.head_hash,
            "entries": entries,
            "checkpoint": self.checkpoint.to_json() if self.checkpoint else None,
            "sent_at": self.sent_at,
            "backlog": self.backlog,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class SignedBatch:
    """A batch as received: the parsed batch, its canonical signed bytes and the signature."""

    batch: Batch
    signed_bytes: bytes
    signature: bytes
    read_by_orjson: bool = False  # then entries are re-encoded with orjson where it agrees (see _EXPONENT)

    def verify(self, public_key: Ed25519PublicKey) -> None:
        try:
            public_key.verify(self.signature, self.signed_bytes)
        except InvalidSignature as e:
            raise TamperError(
                f"batch {self.batch.first_seq}-{self.batch.last_seq} of device {self.batch.device_id}: "
                "signature does not verify with the enrolled device key"
            ) from e

    @property
    def digest(self) -> str:
        h = sha256(self.signed_bytes)  # of the bytes and then the signature, without joining them
        h.update(self.signature)
        return h.hexdigest()


def build_batch(
    device_id: str,
    entries: list[Entry],
    *,
    prev_hash: str,
    checkpoint: Checkpoint | None = None,
    backlog: int = 0,
    sent_at: str | None = None,
    priority: bool = False,
) -> Batch:
    """Assemble a batch from entries read out of the ledger (checked before sending)."""
    if not entries:
        raise InputError("a batch needs at least one entry, found none")
    if len(entries) > MAX_ENTRIES:
        raise LimitExceededError(f"a batch holds at most {MAX_ENTRIES} entries, found {len(entries)}")
    batch = Batch(
        device_id=device_id,
        first_seq=entries[0].seq,
        last_seq=entries[-1].seq,
        prev_hash=prev_hash,
        head_hash=entries[-1].hash,
        entries=tuple(entries),
        checkpoint=checkpoint,
        sent_at=sent_at or utc_now(),
        backlog=backlog,
        priority=priority,
    )
    return replace(batch, hashes=check_batch(batch))


def encode(batch: Batch, sign: Callable[[bytes], bytes]) -> bytes:
    """The gzip'd wire form; ``sign`` is the device key's Ed25519 sign function."""
    data = canonical_json(batch.body())
    wire = FORMAT.encode() + b"\n" + base64.b64encode(sign(data)) + b"\n" + data
    return gzip.compress(wire, compresslevel=5, mtime=0)


def gunzip_limited(data: bytes, limit: int = MAX_JSON_BYTES) -> bytes:
    """Decompress gzip without ever holding more than ``limit`` bytes (zip-bomb guard)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as e:
        raise InputError(f"request body is not valid gzip: {e}") from e
    if len(out) > limit or d.unconsumed_tail:
        raise LimitExceededError(f"decompressed body exceeds {limit} bytes")
    if not d.eof:
        raise InputError("gzip stream is truncated")
    return out


def decode(raw: bytes, content_encoding: str | None = "gzip") -> SignedBatch:
    """Parse a wire batch. Structure errors raise :class:`InputError`; the signature is NOT
    checked here (the caller needs the device id first) and neither are the entry hashes
    (call :func:`checked` after :meth:`SignedBatch.verify`, so tampering by an enrolled
    device is told apart from garbage sent by anyone)."""
    if len(raw) > MAX_WIRE_BYTES:
        raise LimitExceededError(f"batch body of {len(raw)} bytes exceeds {MAX_WIRE_BYTES}")
    enc = (content_encoding or "identity").strip().lower()
    if enc == "gzip":
        raw = gunzip_limited(raw)
    elif enc not in ("identity", ""):
        raise InputError(f"expected Content-Encoding gzip or identity, found {content_encoding!r}")
    head, sep1, rest = raw.partition(b"\n")
    sig_b64, sep2, signed_bytes = rest.partition(b"\n")
    if head != FORMAT.encode() or not sep1 or not sep2:
        raise InputError(f"expected a {FORMAT} batch (format line, signature line, batch), found {raw[:40]!r}")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except ValueError as e:
        raise InputError("batch signature line is not base64") from e
    body, fast = _parse(signed_bytes)
    if not isinstance(body, dict):
        raise InputError(f"batch: expected a JSON object, found {type(body).__name__}")
    return SignedBatch(batch=_batch_from_body(body), signed_bytes=signed_bytes, signature=signature, read_by_orjson=fast)


def _parse(data: bytes) -> tuple[Any, bool]:
    """The batch JSON, and whether orjson read it (see ``_EXPONENT``)."""
    try:
        return orjson.loads(data), True
    except orjson.JSONDecodeError:
        pass  # the standard library decides
    try:
        return json.loads(data), False
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"batch is not JSON: {e}") from e


class _Unchecked(dict):
    """Raw entry dicts (without their claimed ``hash``, kept in ``.claimed``) until hash-checked."""

    claimed: Any = None


_BODY_KEYS = frozenset(("seq", "device_id", "ts", "kind", "payload", "prev_hash", "demo"))


def _unchecked(raw: dict) -> _Unchecked:
    u = _Unchecked(raw)
    u.claimed = u.pop("hash", None)
    return u


def _batch_from_body(body: dict) -> Batch:
    try:
        raw_entries = body["entries"]
        if not isinstance(raw_entries, list) or not raw_entries:
            raise InputError("batch has no entries")
        if len(raw_entries) > MAX_ENTRIES:
            raise LimitExceededError(f"a batch holds at most {MAX_ENTRIES} entries, found {len(raw_entries)}")
        if not all(isinstance(e, dict) for e in raw_entries):
            raise InputError("batch entries must be JSON objects")
        cp = body.get("checkpoint")
        if cp is not None and not isinstance(cp, dict):
            raise InputError("batch checkpoint must be an object or null")
        return Batch(
            device_id=_text(body["device_id"], "device_id"),
            first_seq=_int(body["first_seq"], "first_seq"),
            last_seq=_int(body["last_seq"], "last_seq"),
            prev_hash=_text(body["prev_hash"], "prev_hash"),
            head_hash=_text(body["head_hash"], "head_hash"),
            entries=tuple(_unchecked(e) for e in raw_entries),  # type: ignore[misc]
            checkpoint=_checkpoint(cp),
            sent_at=_text(body["sent_at"], "sent_at"),
            backlog=max(0, _int(body.get("backlog", 0), "backlog")),
            priority=bool(body.get("priority", False)),
        )
    except KeyError as e:
        raise InputError(f"batch is missing field {e.args[0]!r}") from e


def _checkpoint(cp: Any) -> Checkpoint | None:
    if cp is None:
        return None
    try:
        return Checkpoint.from_json(cp)
    except TamperError as e:
        raise InputError(f"batch checkpoint is malformed: {e}") from e


def _text(v: Any, name: str) -> str:
    if not isinstance(v, str) or not v or len(v) > 200 or not v.isprintable():
        raise InputError(f"batch field {name!r}: expected a non-empty printable string of at most 200 characters")
    return v


def _int(v: Any, name: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise InputError(f"batch field {name!r}: expected a non-negative integer, found {v!r}")
    return v


@dataclass(frozen=True)
class CheckedBatch:
    """A verified batch with each entry's canonical bytes and hash computed once."""

    batch: Batch
    canonical: tuple[bytes, ...]
    hashes: tuple[str, ...]


class _NeedsReference(Exception):
    """An entry orjson may encode otherwise than the reference encoder (see ``_EXPONENT``)."""


def checked(signed: SignedBatch) -> CheckedBatch:
    """Rebuild the entries, hash each once, check claimed hashes, links and the head hash."""
    try:
        return _checked(signed)
    except _NeedsReference:
        reference = SignedBatch(_batch_from_body(json.loads(signed.signed_bytes)), signed.signed_bytes, signed.signature)
        return _checked(reference)


def _checked(signed: SignedBatch) -> CheckedBatch:
    b = signed.batch
    fast = signed.read_by_orjson
    entries, canon, hashes = [], [], []
    prev, expected = b.prev_hash, b.first_seq
    for raw in b.entries:
        if isinstance(raw, Entry):
            claimed, e, body = None, raw, raw.body()
        elif isinstance(raw, _Unchecked) and raw.keys() == _BODY_KEYS and type(raw["seq"]) is int and \
                type(raw["device_id"]) is str and type(raw["ts"]) is str and type(raw["kind"]) is str and \
                type(raw["payload"]) is dict and type(raw["prev_hash"]) is str and type(raw["demo"]) is bool:
            # exactly Entry.body() already (the shape every shop sends): no rebuild, no copy
            claimed, body = raw.claimed, raw
            e = Entry(body["seq"], body["device_id"], body["ts"], body["kind"], body["payload"], body["prev_hash"], body["demo"])
        else:  # from_json (types coerced) without the claimed hash: the hash is computed once, here
            claimed = raw.claimed if isinstance(raw, _Unchecked) else raw.get("hash")
            e = Entry.from_json(raw if isinstance(raw, _Unchecked) else {k: v for k, v in raw.items() if k != "hash"})
            body = e.body()
        if fast:
            c = _canonical_fast(body)
            if c is None:
                raise _NeedsReference
        else:
            try:
                c = _canonical_encode(body).encode("utf-8")
            except UnicodeEncodeError as ex:  # a lone surrogate (\ud800) in a string
                raise TamperError(f"entry seq {e.seq}: text is not valid Unicode") from ex
        h = sha256(c).hexdigest()
        if claimed is not None and claimed != h:
            raise TamperError(f"entry seq {e.seq}: stored hash {claimed} but content hashes to {h}")
        if e.device_id != b.device_id:
            raise TamperError(f"entry seq {e.seq} belongs to device {e.device_id!r}, batch is from {b.device_id!r}")
        if e.kind not in KINDS:
            raise TamperError(f"entry seq {e.seq}: unknown kind {e.kind!r}")
        if len(e.ts) > 64 or not e.ts.isprintable() or len(e.prev_hash) != 64:
            raise TamperError(f"entry seq {e.seq}: malformed ts or prev_hash")
        if not b.priority:
            if e.seq != expected:
                raise TamperError(f"entry seq {e.seq}: expected seq {expected} (gap or reordering)")
            if e.prev_hash != prev:
                raise TamperError(f"entry seq {e.seq}: prev_hash {e.prev_hash[:16]}… does not link to {prev[:16]}…")
        prev, expected = h, e.seq + 1
        entries.append(e)
        canon.append(c)
        hashes.append(h)
    batch = Batch(b.device_id, b.first_seq, b.last_seq, b.prev_hash, b.head_hash, tuple(entries),
                  b.checkpoint, b.sent_at, b.backlog, b.priority)
    _check_envelope(batch, hashes[-1])
    if batch.priority:
        seqs = [e.seq for e in entries]
        if seqs != sorted(set(seqs)):
            raise TamperError("priority batch entries are not in strictly increasing seq order")
    return CheckedBatch(batch, tuple(canon), tuple(hashes))


def _canonical_fast(body: dict) -> bytes | None:
    """orjson's encoding of an entry read by orjson, or None when the reference encoder must
    decide (a float orjson writes in another form, or something orjson cannot encode)."""
    try:
        c = orjson.dumps(body, option=_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None
    return None if _other_float_form(c) else c


def _other_float_form(c: bytes) -> bool:
    """Whether orjson's encoding ``c`` may hold a number the reference writes otherwise (see
    ``_EXPONENT``). Each pattern is found by a single pass in C that starts with a literal,
    then the byte before each (rare) hit is checked here: a pattern starting with a character
    class ("[0-9]e") costs several times more, for the hex digests in every entry."""
    for m in _EXPONENT.finditer(c):
        if m.start() and c[m.start() - 1] in _DIGITS:
            return True
    i = c.find(_SMALL)
    while i > 0:
        if c[i - 1] in _BEFORE_NUMBER:
            return True
        i = c.find(_SMALL, i + 1)
    return False


def _check_envelope(batch: Batch, last_hash: str) -> None:
    if batch.checkpoint is not None and batch.checkpoint.device_id != batch.device_id:
        raise TamperError(f"checkpoint belongs to device {batch.checkpoint.device_id!r}, batch is from {batch.device_id!r}")
    first, last = batch.entries[0], batch.entries[-1]
    if first.seq != batch.first_seq or last.seq != batch.last_seq:
        raise TamperError(f"batch claims seq {batch.first_seq}-{batch.last_seq}, entries are {first.seq}-{last.seq}")
    if batch.first_seq == 1 and batch.prev_hash != GENESIS and not batch.priority:
        raise TamperError("batch starting at seq 1 must link to the genesis hash")
    if last_hash != batch.head_hash:
        raise TamperError(f"batch head_hash {batch.head_hash[:16]}… but its entries hash to {last_hash[:16]}…")


def check_batch(batch: Batch) -> tuple[str, ...]:
    """Internal consistency: one device, seq range, hash links (normal batches), head hash.
    Returns the entries' hashes (each computed once)."""
    hashes = []
    prev, expected = batch.prev_hash, batch.first_seq
    for e in batch.entries:
        if not isinstance(e, Entry):
            raise SyncError("batch entries were not hash-checked")
        if e.device_id != batch.device_id:
            raise TamperError(f"entry seq {e.seq} belongs to device {e.device_id!r}, batch is from {batch.device_id!r}")
        if e.kind not in KINDS:
            raise TamperError(f"entry seq {e.seq}: unknown kind {e.kind!r}")
        if not batch.priority:
            if e.seq != expected:
                raise TamperError(f"entry seq {e.seq}: expected seq {expected} (gap or reordering)")
            if e.prev_hash != prev:
                raise TamperError(f"entry seq {e.seq}: prev_hash {e.prev_hash[:16]}… does not link to {prev[:16]}…")
        h = e.hash
        hashes.append(h)
        prev, expected = h, e.seq + 1
    _check_envelope(batch, hashes[-1])
    if batch.priority:
        seqs = [e.seq for e in batch.entries]
        if seqs != sorted(set(seqs)):
            raise TamperError("priority batch entries are not in strictly increasing seq order")
    return tuple(hashes)

"""The sync batch: a run of ledger entries from one device, signed by the device.

Wire format ``chipid-sync-batch/4`` (``Content-Type: application/vnd.chipid.batch``,
``Content-Encoding: gzip``), lines separated by ``\n``::

    chipid-sync-batch/4
    <base64 Ed25519 signature over the signed message (below)>
    <header: RFC 8785 (JCS) canonical JSON of {"device_id", "first_seq", "last_seq", "prev_hash",
     "head_hash", "checkpoint": Checkpoint.to_json() | null, "sent_at", "backlog", "priority"}>
    <entry: Entry.canonical(), the very bytes whose SHA-256 is the entry's hash>
    ... one line per entry

**The signed message** (:func:`signed_message`) is the format line, ``\n``, the header line,
``\n``, then the 32-byte SHA-256 digest of each entry line in order: the entries' own hashes,
which the ledger chains. The signature thus binds every byte of every line through SHA-256, as
the hash chain does, while Ed25519 hashes (SHA-512) 32 bytes per entry instead of the entry: a
contract with chip evidence is about 6 KB, and SHA-512 over whole batches was 5 µs of the
backend's CPU per entry. Format 3 signed the lines themselves; it is otherwise the same.

**Canonical forms** (:mod:`verifier.ledger.canonical`). Format 3 brings RFC 8785 so that a
verifier written in any language reproduces every hash, floats included: the header is JCS, and
an entry line is the form its body names, ``"canon":"jcs"`` (RFC 8785) for every entry written by
this release, none (the legacy form: Python's ``json``, sorted keys, no spaces) for an entry
written before, which keeps the bytes it was hashed with and travels in them. A batch of an
older format (``chipid-sync-batch/3`` or before: an old shop) is refused before anything else is read
(:class:`InputError` with ``code = "upgrade_required"``; the backend answers HTTP 426): the shop
must update chipid.

Canonical JSON (either form) is compact and escapes control characters, so it never holds a raw
newline: the framing is unambiguous. "Verify the bytes that were read": the backend hashes each entry line
as received (no hash travels beside it), checks the signature over those hashes and
accepts a line only if it is the canonical JSON of an entry body in the form the body names, the
same bytes again when parsed and encoded once more. So the body it stores, the hash the chain
links and the fields it indexes are one and the same. (The header is read, not re-encoded: the
signature covers its bytes.)

* A normal batch is contiguous: its first entry's seq is ``first_seq``, each entry links to
  the previous one, the first links to ``prev_hash`` (the hash of entry ``first_seq - 1``,
  or the genesis hash) and the last hashes to ``head_hash``. An entry altered after it was
  hashed breaks the link to it (or, the last one, the head hash).
* A *priority* batch carries ``suspicious`` events ahead of the queue: its entries need not
  be contiguous (each is still hashed and signed); the backend raises the alert at once and
  checks the entries again when the normal chain delivers them.
* ``sent_at`` orders the batches of one device: an older, different batch arriving after a
  newer one was accepted is a replay.
* ``backlog`` is the number of entries the shop still had to send after this batch.

The signature key is the device's ledger key (the one that signs checkpoints). Pure: no I/O.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from hashlib import sha256
from typing import Any, Callable

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from isal import igzip, isal_zlib

from verifier.errors import InputError, LimitExceededError, TamperError
from verifier.ledger.canonical import JCS, float_form_departs, jcs, jcs_departs, jcs_loads
from verifier.ledger.entry import GENESIS, KINDS, Checkpoint, Entry, utc_now

# canonical_json's exact settings, one encoder built once (json.dumps builds a new one per call);
# check_circular off: parsed JSON cannot be circular, and the output is byte-identical.
_canonical_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False).encode

# The backend reads entry lines with orjson (several times faster than the standard library)
# and encodes them again with it to see that they are canonical. Where orjson could part ways
# with the line's form, the reference reads and encodes that line again (the standard
# library's json reads it; rfc8785 encodes a JCS line, the standard library a legacy one),
# so what is accepted is exactly what the reference encoding accepts:
# * input orjson refuses (NaN, Infinity, lone surrogates, deep nesting) is read by the
#   standard library;
# * both read integers of the 64-bit range and every float to the same values; an integer
#   beyond that range orjson reads as a float, which it then writes with an exponent ("e+");
#   for a JCS line orjson encodes with its 53-bit integer limit, JCS's;
# * where orjson writes a float in another form than the line's (an exponent, below 1e-4, and
#   for JCS an integral float or a character beyond U+FFFF, whose keys JCS orders by UTF-16),
#   it is seen in orjson's output (verifier.ledger.canonical: float_form_departs, jcs_departs)
#   and the reference decides (a string that merely looks like one costs only time);
#   everything else encodes to the same bytes (tests/sync/test_sync_batch.py,
#   tests/sync/test_canonical_jcs.py).
_SORT_KEYS = orjson.OPT_SORT_KEYS
_JCS_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER

FORMAT = "chipid-sync-batch/4"
_FORMAT_LINE = FORMAT.encode()
_FORMAT_FAMILY = b"chipid-sync-batch/"
#: The error code of a batch of an older format (an old shop): the backend answers HTTP 426.
UPGRADE_REQUIRED = "upgrade_required"
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
    entries: tuple[Entry, ...]  # empty in a received batch until checked (SignedBatch.lines holds them)
    checkpoint: Checkpoint | None
    sent_at: str
    backlog: int = 0
    priority: bool = False
    lines: tuple[bytes, ...] = field(default=(), compare=False, repr=False)  # each entry's canonical bytes, as entries

    def header(self) -> dict:
        return {
            "device_id": self.device_id,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "prev_hash": self.prev_hash,
            "head_hash": self.head_hash,
            "checkpoint": self.checkpoint.to_json() if self.checkpoint else None,
            "sent_at": self.sent_at,
            "backlog": self.backlog,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class SignedBatch:
    """A batch as received: its header (``batch``, no entries yet), the entry lines, their
    SHA-256 digests, the signed message (:func:`signed_message`) and the signature."""

    batch: Batch
    lines: tuple[bytes, ...]
    digests: tuple[bytes, ...]
    message: bytes
    signature: bytes

    def verify(self, public_key: Ed25519PublicKey) -> None:
        try:
            public_key.verify(self.signature, self.message)
        except InvalidSignature as e:
            raise TamperError(
                f"batch {self.batch.first_seq}-{self.batch.last_seq} of device {self.batch.device_id}: "
                "signature does not verify with the enrolled device key"
            ) from e

    @property
    def digest(self) -> str:
        """Names the batch once :meth:`verify` has passed: an Ed25519 signature is deterministic
        and binds the signed message (the same message under the same key gives the same
        signature, another message never verifies with it), and the message binds every line, so
        hashing the 64-byte signature tells byte-identical batches of one device apart from all
        others without hashing the megabytes again."""
        return sha256(self.signature).hexdigest()


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
    lines = tuple(e.canonical() for e in entries)
    digests = line_digests(lines)
    batch = Batch(
        device_id=device_id,
        first_seq=entries[0].seq,
        last_seq=entries[-1].seq,
        prev_hash=prev_hash,
        head_hash=digests[-1].hex(),
        entries=tuple(entries),
        checkpoint=checkpoint,
        sent_at=sent_at or utc_now(),
        backlog=backlog,
        priority=priority,
        lines=lines,
    )
    check_batch(batch, digests)
    return batch


def line_digests(lines: list[bytes] | tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The SHA-256 digest of each entry line: each entry's hash, as the chain links it."""
    return tuple(sha256(line).digest() for line in lines)


def signed_message(header_line: bytes, digests: tuple[bytes, ...]) -> bytes:
    """What the device signs: the format line, the header line, then each entry line's digest."""
    return b"".join((_FORMAT_LINE, b"\n", header_line, b"\n", *digests))


def frame(header: dict, lines: list[bytes] | tuple[bytes, ...], sign: Callable[[bytes], bytes]) -> bytes:
    """The wire form before gzip: format line, signature line, the header's JCS form, then the
    entry lines as given."""
    header_line = jcs(header)
    signature = sign(signed_message(header_line, line_digests(lines)))
    return b"\n".join((_FORMAT_LINE, base64.b64encode(signature), header_line, *lines))


# gzip through ISA-L (python-isal): the same format as zlib's, several times faster both ways
# (measured on a 1,000-entry batch: compress 1.3 against 10.6 ms at zlib's level 5, for 4 %
# more bytes; decompress 1.1 against 2.7 ms)
_GZIP_LEVEL = 2


def encode(batch: Batch, sign: Callable[[bytes], bytes]) -> bytes:
    """The gzip'd wire form; ``sign`` is the device key's Ed25519 sign function."""
    return igzip.compress(frame(batch.header(), batch.lines, sign), _GZIP_LEVEL, mtime=0)


def gunzip_limited(data: bytes, limit: int = MAX_JSON_BYTES) -> bytes:
    """Decompress gzip without ever holding more than ``limit`` bytes (zip-bomb guard)."""
    if data[:2] != b"\x1f\x8b":
        raise InputError("request body is not gzip (it does not start with the gzip magic bytes)")
    d = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit + 1)
    except isal_zlib.error as e:
        raise InputError(f"request body is not valid gzip: {e}") from e
    if len(out) > limit or d.unconsumed_tail:
        raise LimitExceededError(f"decompressed body exceeds {limit} bytes")
    if not d.eof:
        raise InputError("gzip stream is truncated")
    return out


def decode(raw: bytes, content_encoding: str | None = "gzip") -> SignedBatch:
    """Split a wire batch into header, entry lines and signature. Structure errors raise
    :class:`InputError`; the signature is NOT checked here (the caller needs the device id
    first) and the entry lines are hashed, not read (call :func:`checked` after
    :meth:`SignedBatch.verify`, so tampering by an enrolled device is told apart from garbage
    sent by anyone)."""
    if len(raw) > MAX_WIRE_BYTES:
        raise LimitExceededError(f"batch body of {len(raw)} bytes exceeds {MAX_WIRE_BYTES}")
    enc = (content_encoding or "identity").strip().lower()
    if enc == "gzip":
        raw = gunzip_limited(raw)
    elif enc not in ("identity", ""):
        raise InputError(f"expected Content-Encoding gzip or identity, found {content_encoding!r}")
    nl1 = raw.find(b"\n")
    nl2 = raw.find(b"\n", nl1 + 1) if nl1 >= 0 else -1
    if nl1 >= 0 and raw[:nl1] != _FORMAT_LINE and _older_format(raw[:nl1]):
        e = InputError(f"batch format {raw[:nl1].decode('ascii')} is no longer accepted: the backend reads {FORMAT}; "
                       "update chipid on this shop's computer")
        e.code = UPGRADE_REQUIRED
        raise e
    if nl2 < 0 or raw[:nl1] != _FORMAT_LINE:
        raise InputError(f"expected a {FORMAT} batch (format line, signature line, header, entries), found {raw[:40]!r}")
    try:
        signature = base64.b64decode(raw[nl1 + 1:nl2], validate=True)
    except ValueError as e:
        raise InputError("batch signature line is not base64") from e
    parts = raw.split(b"\n", MAX_ENTRIES + 3)  # never more pieces than a batch may hold, plus one
    header_line, lines = parts[2], parts[3:]
    if not lines or lines == [b""]:
        raise InputError("batch has no entries")
    if len(lines) > MAX_ENTRIES:
        raise LimitExceededError(f"a batch holds at most {MAX_ENTRIES} entries, found more")
    try:
        header = orjson.loads(header_line)
    except orjson.JSONDecodeError as e:
        raise InputError(f"batch header is not JSON: {e}") from e
    if not isinstance(header, dict):
        raise InputError(f"batch header: expected a JSON object, found {type(header).__name__}")
    digests = line_digests(lines)
    return SignedBatch(batch=_batch_from_header(header), lines=tuple(lines), digests=digests,
                       message=signed_message(header_line, digests), signature=signature)


def _older_format(line: bytes) -> bool:
    """Whether a format line names an earlier version of this format (``chipid-sync-batch/1``, ``/2``)."""
    version = line[len(_FORMAT_FAMILY):]
    return (line.startswith(_FORMAT_FAMILY) and 0 < len(version) <= 4 and version.isdigit()
            and int(version) < int(FORMAT.rsplit("/", 1)[1]))


def _batch_from_header(header: dict) -> Batch:
    try:
        cp = header.get("checkpoint")
        if cp is not None and not isinstance(cp, dict):
            raise InputError("batch checkpoint must be an object or null")
        return Batch(
            device_id=_text(header["device_id"], "device_id"),
            first_seq=_int(header["first_seq"], "first_seq"),
            last_seq=_int(header["last_seq"], "last_seq"),
            prev_hash=_text(header["prev_hash"], "prev_hash"),
            head_hash=_text(header["head_hash"], "head_hash"),
            entries=(),
            checkpoint=_checkpoint(cp),
            sent_at=_text(header["sent_at"], "sent_at"),
            backlog=max(0, _int(header.get("backlog", 0), "backlog")),
            priority=bool(header.get("priority", False)),
        )
    except KeyError as e:
        raise InputError(f"batch header is missing field {e.args[0]!r}") from e


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
    """A verified batch (its ``lines``: each entry's canonical bytes, as received) and the
    entries' hashes."""

    batch: Batch
    hashes: tuple[str, ...]


_BODY_KEYS = frozenset(("seq", "device_id", "ts", "kind", "payload", "prev_hash", "demo"))  # the legacy form's
_JCS_BODY_KEYS = _BODY_KEYS | {"canon"}


def checked(signed: SignedBatch) -> CheckedBatch:
    """Read each entry line (it must be canonical) and check links and the head hash over the
    lines' digests (:func:`decode` made them)."""
    entries = tuple(_entry_from_line(line, n) for n, line in enumerate(signed.lines, 1))
    batch = replace(signed.batch, entries=entries, lines=signed.lines)
    return CheckedBatch(batch, check_batch(batch, signed.digests))


def _broken_link(e: Entry, prev: str, i: int) -> str:
    if i == 0:
        return f"entry seq {e.seq}: prev_hash {e.prev_hash[:16]}… does not link to the batch's prev_hash {prev[:16]}…"
    return (f"entry seq {e.seq}: prev_hash {e.prev_hash[:16]}… is not the hash of entry seq {e.seq - 1} as sent "
            f"({prev[:16]}…): one of the two was altered after it was hashed")


def _entry_from_line(line: bytes, n: int) -> Entry:
    """The entry an entry line holds (``n``: its place in the batch, for messages). The line
    must be the canonical JSON of an entry body in the form the body names, as the shop hashed it."""
    try:
        body = orjson.loads(line)
        fast = _is_body(body) and _canonical_fast(body) == line
    except orjson.JSONDecodeError:
        fast = False
    if not fast:  # the reference decides
        body = _reference_body(line, n)
    return Entry(body["seq"], body["device_id"], body["ts"], body["kind"], body["payload"], body["prev_hash"], body["demo"],
                 body.get("canon"))


def _reference_body(line: bytes, n: int) -> dict:
    """An entry line read by the standard library and encoded again by the reference of its form
    (rfc8785 for JCS, the standard library for the legacy form); refused unless canonical."""
    try:
        body = json.loads(line)
        if type(body) is dict and "canon" in body:  # numbers as RFC 8785 reads them: IEEE 754 doubles
            body = jcs_loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise TamperError(f"entry {n} of the batch is not JSON: {e}") from e
    if not _is_body(body):
        raise TamperError(f"entry {n} of the batch: expected an entry body (an object with exactly "
                          f"{', '.join(sorted(_BODY_KEYS))} and, for RFC 8785, \"canon\": \"{JCS}\", of the entry's types)")
    jcs_form = "canon" in body
    try:
        c = jcs(body) if jcs_form else _canonical_encode(body).encode("utf-8")
    except UnicodeEncodeError as ex:  # a lone surrogate (\ud800) in a string
        raise TamperError(f"entry seq {body['seq']}: text is not valid Unicode") from ex
    except InputError as ex:  # no RFC 8785 form: NaN, an integer beyond 2^53, a lone surrogate
        raise TamperError(f"entry seq {body['seq']}: {ex}") from ex
    if c != line:
        form = ('RFC 8785 (JCS), as its "canon" says' if jcs_form else
                "the JSON the shop hashes: sorted keys, no spaces, the standard escapes and number forms")
        raise TamperError(f"entry seq {body['seq']} is not in canonical form ({form})")
    return body


def _is_body(body: Any) -> bool:
    """Whether ``body`` has exactly the fields of ``Entry.body()``, of their types: the legacy
    seven, or those and ``"canon": "jcs"``."""
    return (type(body) is dict and (body.keys() == _BODY_KEYS or (body.keys() == _JCS_BODY_KEYS and body["canon"] == JCS))
            and type(body["seq"]) is int and
            type(body["device_id"]) is str and type(body["ts"]) is str and type(body["kind"]) is str and
            type(body["payload"]) is dict and type(body["prev_hash"]) is str and type(body["demo"]) is bool)


def _canonical_fast(body: dict) -> bytes | None:
    """orjson's encoding of an entry read by orjson, in the form its body names, or None when the
    reference must decide (a float orjson writes in another form, or something orjson cannot encode)."""
    jcs_form = "canon" in body
    try:
        c = orjson.dumps(body, option=_JCS_OPTIONS if jcs_form else _SORT_KEYS)
    except orjson.JSONEncodeError:
        return None
    return None if (jcs_departs(c) if jcs_form else float_form_departs(c)) else c


def _check_envelope(batch: Batch, last_hash: str) -> None:
    if batch.checkpoint is not None and batch.checkpoint.device_id != batch.device_id:
        raise TamperError(f"checkpoint belongs to device {batch.checkpoint.device_id!r}, batch is from {batch.device_id!r}")
    first, last = batch.entries[0], batch.entries[-1]
    if first.seq != batch.first_seq or last.seq != batch.last_seq:
        raise TamperError(f"batch claims seq {batch.first_seq}-{batch.last_seq}, entries are {first.seq}-{last.seq}")
    if batch.first_seq == 1 and batch.prev_hash != GENESIS and not batch.priority:
        raise TamperError("batch starting at seq 1 must link to the genesis hash")
    if last_hash != batch.head_hash:
        raise TamperError(f"batch head_hash {batch.head_hash[:16]}… but its last entry (seq {last.seq}) hashes to "
                          f"{last_hash[:16]}…: altered after it was hashed")


def check_batch(batch: Batch, digests: tuple[bytes, ...]) -> tuple[str, ...]:
    """Internal consistency: one device, seq range, hash links (normal batches), head hash.
    ``digests`` are those of ``batch.lines`` (:func:`line_digests`); returns them in hex, the
    entries' hashes."""
    hashes = []
    prev, expected = batch.prev_hash, batch.first_seq
    for i, (e, digest) in enumerate(zip(batch.entries, digests, strict=True)):
        if e.device_id != batch.device_id:
            raise TamperError(f"entry seq {e.seq} belongs to device {e.device_id!r}, batch is from {batch.device_id!r}")
        if e.kind not in KINDS:
            raise TamperError(f"entry seq {e.seq}: unknown kind {e.kind!r}")
        if len(e.ts) > 64 or not e.ts.isprintable() or len(e.prev_hash) != 64:
            raise TamperError(f"entry seq {e.seq}: malformed ts or prev_hash")
        if not batch.priority:
            if e.seq != expected:
                raise TamperError(f"entry seq {e.seq}: expected seq {expected} (gap or reordering)")
            if e.prev_hash != prev:
                raise TamperError(_broken_link(e, prev, i))
        h = digest.hex()
        hashes.append(h)
        prev, expected = h, e.seq + 1
    _check_envelope(batch, hashes[-1])
    if batch.priority:
        seqs = [e.seq for e in batch.entries]
        if seqs != sorted(set(seqs)):
            raise TamperError("priority batch entries are not in strictly increasing seq order")
    return tuple(hashes)

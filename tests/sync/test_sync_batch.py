"""The batch codec: round trip (Hypothesis), signature over the exact bytes, limits.

Entries of the legacy canonical form (written before RFC 8785: ``SigningDevice(canon=None)``)
still travel in the batch in the bytes they were hashed with; these tests check their fast and
reference reading. The RFC 8785 form of new entries: tests/sync/test_canonical_jcs.py."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math

import orjson

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import batch as batch_mod
from sync.testing import SigningDevice
from verifier.errors import InputError, LimitExceededError, TamperError
from verifier.ledger.canonical import JCS
from verifier.ledger.entry import canonical_json

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=40),
                     st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
_payloads = st.dictionaries(st.text(max_size=12), _json, max_size=6)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(payloads=st.lists(_payloads, min_size=1, max_size=6), kinds=st.lists(st.sampled_from(["transaction", "event"]), min_size=6))
def test_round_trip(payloads, kinds):
    dev = SigningDevice(device_id="shop-roundtrip", canon=None)
    for p, k in zip(payloads, kinds):
        dev.append(k, p)
    b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1), checkpoint=dev.checkpoint(), backlog=3)
    signed = batch_mod.decode(batch_mod.encode(b, dev.sign))
    signed.verify(dev.key.public_key())
    cb = batch_mod.checked(signed)
    assert cb.batch.entries == tuple(dev.entries)
    assert cb.hashes == tuple(e.hash for e in dev.entries)
    assert (cb.batch.first_seq, cb.batch.last_seq, cb.batch.backlog, cb.batch.checkpoint) == (1, len(payloads), 3, b.checkpoint)


# numbers at and beyond the 64-bit edges, floats of every kind (NaN and infinities included:
# the shop's ledger encodes them as the standard library does) and text of any code point
_wide_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(2**64) - 2, 2**64 + 2), st.text(max_size=40),
                          st.floats(), st.floats(allow_nan=False, allow_infinity=False, width=32))
_wide_json = st.recursive(_wide_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                          max_leaves=12)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(payloads=st.lists(st.dictionaries(st.text(max_size=12), _wide_json, max_size=6), min_size=1, max_size=6))
def test_fast_reading_accepts_exactly_what_the_reference_encoding_hashes(payloads):
    """The backend reads with orjson where it can; whatever the payload, the hashes it computes
    are the shop's (standard library) hashes, so no genuine batch is refused and no entry is
    stored in another encoding than the one the chain signs."""
    dev = SigningDevice(device_id="shop-wide", canon=None)
    for p in payloads:
        dev.append("transaction", p)
    wire = batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1)), dev.sign)
    cb = batch_mod.checked(batch_mod.decode(wire))
    assert cb.hashes == tuple(e.hash for e in dev.entries)
    assert cb.batch.lines == tuple(e.canonical() for e in dev.entries)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)))
def test_orjson_and_the_reference_encoder_agree_on_float_free_json(value):
    reference = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == reference
    assert orjson.loads(reference) == value


@settings(max_examples=1000, deadline=None)
@given(x=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.floats(1e-6, 1e-3), st.floats(1e14, 1e17)))
def test_orjson_floats_read_alike_and_any_other_form_is_seen(x):
    """Floats read to the same value; a float orjson writes in another form than the reference
    encoder sends its entry to the reference encoder."""
    text = json.dumps(x)
    assert math.copysign(1, orjson.loads(text)) == math.copysign(1, x) and orjson.loads(text) == json.loads(text)
    for body in ({"x": x}, {"x": [x, 1], "y": "z"}):
        assert batch_mod._canonical_fast(body) in (None, canonical_json(body))
    if abs(x) < 1e-4 and x != 0 or abs(x) >= 1e16:  # the reference writes these with an exponent
        assert batch_mod._canonical_fast({"x": x}) is None


def _orjson_decides(line: bytes) -> bool:
    try:
        body = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return batch_mod._canonical_fast(body) == line


def test_where_orjson_and_the_reference_part_ways_the_reference_decides():
    """orjson refuses NaN, reads 2**64 as a float and writes 6.1e-05 (and, before 3.13, 1e16)
    in another form: such a line is read and encoded again by the standard library; the
    hashes are the shop's in every case."""
    dev = SigningDevice(canon=None)
    cases = [({"big": 2**64}, False), ({"nan": float("nan")}, False), ({"f": 1e16}, False), ({"g": 6.103515625e-05}, False),
             # a time stamp and a model name are strings, not a small float or an exponent: fast path
             ({"rate": 18.25, "n": 42, "at": "2026-12-01T09:10:00.000000Z", "model": "Future-125"}, True)]
    for payload, _ in cases:
        dev.append("transaction", payload)
    for i, (payload, by_orjson) in enumerate(cases):
        assert _orjson_decides(dev.entries[i].canonical()) is by_orjson, payload
        signed = batch_mod.decode(batch_mod.encode(batch_mod.build_batch(dev.device_id, [dev.entries[i]],
                                                                         prev_hash=dev.prev_of(i + 1)), dev.sign))
        cb = batch_mod.checked(signed)
        assert cb.hashes == (dev.entries[i].hash,) and cb.batch.lines == (dev.entries[i].canonical(),), payload
        assert cb.batch.entries == (dev.entries[i],) or "nan" in payload, payload  # NaN is not equal to itself


def test_signature_covers_the_exact_bytes():
    dev = SigningDevice()
    dev.append("transaction", {"loan_vnd": 5})
    wire = gzip.decompress(batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1)), dev.sign))
    tampered = wire.replace(b'"loan_vnd":5', b'"loan_vnd":6')
    signed = batch_mod.decode(tampered, "identity")
    with pytest.raises(TamperError, match="signature does not verify"):
        signed.verify(dev.key.public_key())
    with pytest.raises(TamperError, match=r"last entry \(seq 1\) hashes to"):
        batch_mod.checked(signed)


def test_the_signature_is_over_the_header_and_each_lines_sha256():
    """Format 4's signed message, rebuilt from the wire with nothing but hashlib and verified with
    the device's public key: the format line, the header line, each entry line's SHA-256 digest.
    Any line changed, dropped or moved (the first of three here, not only the head) breaks it."""
    dev = SigningDevice()
    for i in range(3):
        dev.append("transaction", {"loan_vnd": i + 5})
    wire = gzip.decompress(batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1)), dev.sign))
    fmt, sig, header, *lines = wire.split(b"\n")
    assert fmt == b"chipid-sync-batch/4" and lines == [e.canonical() for e in dev.entries]
    digests = [hashlib.sha256(line).digest() for line in lines]
    assert [d.hex() for d in digests] == [e.hash for e in dev.entries]
    message = fmt + b"\n" + header + b"\n" + b"".join(digests)
    dev.key.public_key().verify(base64.b64decode(sig), message)  # raises if not
    changed = [lines[0].replace(b'"loan_vnd":5', b'"loan_vnd":6'), *lines[1:]]
    for other in (changed, lines[1:], [lines[1], lines[0], lines[2]]):
        signed = batch_mod.decode(b"\n".join((fmt, sig, header, *other)), "identity")
        with pytest.raises(TamperError, match="signature does not verify"):
            signed.verify(dev.key.public_key())
    signed = batch_mod.decode(b"\n".join((fmt, sig, header.replace(b'"backlog":0', b'"backlog":1'), *lines)), "identity")
    with pytest.raises(TamperError, match="signature does not verify"):
        signed.verify(dev.key.public_key())


def test_limits_and_malformed_input():
    with pytest.raises(InputError, match="Content-Encoding"):
        batch_mod.decode(b"x", "br")
    with pytest.raises(LimitExceededError):
        batch_mod.gunzip_limited(gzip.compress(b"0" * 2000), limit=1000)
    with pytest.raises(InputError, match="truncated"):
        batch_mod.gunzip_limited(gzip.compress(b"0" * 2000)[:-12])
    with pytest.raises(InputError, match="not gzip"):
        batch_mod.gunzip_limited(b"garbage")
    corrupt = bytearray(gzip.compress(bytes(range(256)) * 20))
    corrupt[-8] ^= 0xFF  # the CRC-32 of the content
    with pytest.raises(InputError, match="not valid gzip"):
        batch_mod.gunzip_limited(bytes(corrupt))
    assert batch_mod.gunzip_limited(gzip.compress(b"abc" * 100)) == b"abc" * 100  # zlib's gzip reads back
    with pytest.raises(InputError, match="at least one entry"):
        batch_mod.build_batch("d", [], prev_hash="0" * 64)
    dev = SigningDevice()
    for i in range(batch_mod.MAX_ENTRIES + 1):
        dev.append("event", {"i": i})
    with pytest.raises(LimitExceededError):
        batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1))
    with pytest.raises(TamperError, match="expected seq 2"):
        batch_mod.build_batch(dev.device_id, [dev.entries[0], dev.entries[2]], prev_hash=dev.prev_of(1))


def _checked_line(dev: SigningDevice, line: bytes) -> batch_mod.CheckedBatch:
    """A one-entry batch whose entry line is ``line``, signed by ``dev``."""
    header = batch_mod.build_batch(dev.device_id, dev.entries[:1], prev_hash=dev.prev_of(1)).header()
    return batch_mod.checked(batch_mod.decode(batch_mod.frame(header, [line], dev.sign), "identity"))


@settings(max_examples=100, deadline=None)
@given(payload=_payloads)
def test_an_entry_line_is_accepted_only_in_canonical_form(payload):
    """The backend hashes each line as received, so only the canonical JSON the shop hashed
    may pass: other spellings of the same entry (spaces, escaped non-ASCII, keys in another
    order) are refused, whatever the payload."""
    dev = SigningDevice(canon=None)
    e = dev.append("transaction", payload)
    assert _checked_line(dev, e.canonical()).hashes == (e.hash,)
    body = e.body()
    others = {json.dumps(body, sort_keys=True).encode(),  # spaces after separators
              json.dumps(body, sort_keys=True, separators=(",", ":")).encode(),  # non-ASCII escaped
              json.dumps(dict(reversed(body.items())), separators=(",", ":"), ensure_ascii=False).encode()} - {e.canonical()}
    for line in others:
        with pytest.raises(TamperError, match="not in canonical form"):
            _checked_line(dev, line)


@pytest.mark.parametrize("canon", [None, JCS])
def test_a_line_of_another_shape_is_refused(canon):
    """A line is an entry body exactly: no field missing (``demo``), none added (``hash``), each
    of its type, and a ``canon`` field only with the value ``"jcs"``."""
    dev = SigningDevice(canon=canon)
    e = dev.append("transaction", {"loan_vnd": 5})
    body = e.body()
    for bad in ({k: v for k, v in body.items() if k != "demo"}, body | {"hash": e.hash}, body | {"seq": "1"},
                body | {"demo": 0}, [body], body | {"canon": "json"}, body | {"canon": None}, body | {"canon": 1}):
        with pytest.raises(TamperError, match="expected an entry body"):
            _checked_line(dev, canonical_json(bad))


@pytest.mark.parametrize("canon", [None, JCS])
def test_lone_surrogate_in_an_entry_is_refused_not_a_crash(canon):
    dev = SigningDevice(canon=canon)
    e = dev.append("transaction", {"note": "x"})
    with pytest.raises(TamperError, match="not valid Unicode"):
        _checked_line(dev, e.canonical().replace(b'"note":"x"', b'"note":"\\ud800"'))


def test_framing_limits():
    """No entry line, or more than MAX_ENTRIES, is refused before anything is read."""
    dev = SigningDevice()
    e = dev.append("event", {"i": 0})
    header = batch_mod.build_batch(dev.device_id, [e], prev_hash=dev.prev_of(1)).header()
    with pytest.raises(InputError, match="no entries"):
        batch_mod.decode(batch_mod.frame(header, [], dev.sign), "identity")
    with pytest.raises(LimitExceededError, match="at most"):
        batch_mod.decode(batch_mod.frame(header, [e.canonical()] * (batch_mod.MAX_ENTRIES + 1), dev.sign), "identity")
    with pytest.raises(InputError, match="header is not JSON"):
        batch_mod.decode(batch_mod.FORMAT.encode() + b"\nAAAA\n{\n" + e.canonical(), "identity")

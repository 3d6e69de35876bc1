"""The batch codec: round trip (Hypothesis), signature over the exact bytes, limits."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import batch as batch_mod
from sync.testing import SigningDevice
from verifier.errors import InputError, LimitExceededError, TamperError

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=40),
                     st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
_payloads = st.dictionaries(st.text(max_size=12), _json, max_size=6)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(payloads=st.lists(_payloads, min_size=1, max_size=6), kinds=st.lists(st.sampled_from(["transaction", "event"]), min_size=6))
def test_round_trip(payloads, kinds):
    dev = SigningDevice(device_id="shop-roundtrip")
    for p, k in zip(payloads, kinds):
        dev.append(k, p)
    b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1), checkpoint=dev.checkpoint(), backlog=3)
    signed = batch_mod.decode(batch_mod.encode(b, dev.sign))
    signed.verify(dev.key.public_key())
    cb = batch_mod.checked(signed)
    assert cb.batch.entries == tuple(dev.entries)
    assert cb.hashes == tuple(e.hash for e in dev.entries)
    assert (cb.batch.first_seq, cb.batch.last_seq, cb.batch.backlog, cb.batch.checkpoint) == (1, len(payloads), 3, b.checkpoint)


def test_signature_covers_the_exact_bytes():
    dev = SigningDevice()
    dev.append("transaction", {"loan_vnd": 5})
    wire = gzip.decompress(batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1)), dev.sign))
    tampered = wire.replace(b'"loan_vnd":5', b'"loan_vnd":6')
    signed = batch_mod.decode(tampered, "identity")
    with pytest.raises(TamperError, match="signature does not verify"):
        signed.verify(dev.key.public_key())
    with pytest.raises(TamperError, match="content hashes to"):
        batch_mod.checked(signed)


def test_limits_and_malformed_input():
    with pytest.raises(InputError, match="Content-Encoding"):
        batch_mod.decode(b"x", "br")
    with pytest.raises(LimitExceededError):
        batch_mod.gunzip_limited(gzip.compress(b"0" * 2000), limit=1000)
    with pytest.raises(InputError, match="truncated"):
        batch_mod.gunzip_limited(gzip.compress(b"0" * 2000)[:-12])
    with pytest.raises(InputError, match="at least one entry"):
        batch_mod.build_batch("d", [], prev_hash="0" * 64)
    dev = SigningDevice()
    for i in range(batch_mod.MAX_ENTRIES + 1):
        dev.append("event", {"i": i})
    with pytest.raises(LimitExceededError):
        batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1))
    with pytest.raises(TamperError, match="expected seq 2"):
        batch_mod.build_batch(dev.device_id, [dev.entries[0], dev.entries[2]], prev_hash=dev.prev_of(1))

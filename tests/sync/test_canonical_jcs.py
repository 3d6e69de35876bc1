"""RFC 8785 (JCS) as the entry and batch hash input (issue 19 item 8): our encoder against the
``rfc8785`` reference (Hypothesis: floats of every kind, astral characters in keys, control
characters), the RFC's own examples, and the batch (format 3 and later) reading JCS entry lines."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import batch as batch_mod
from sync.testing import SigningDevice
from tests.sync.conftest import format_3_wire
from verifier.errors import InputError, TamperError
from verifier.ledger.canonical import JCS, canonical_json, jcs, jcs_departs, jcs_fast
from verifier.ledger.entry import Checkpoint, Entry

# text of any code point but lone surrogates (JCS has none for them), keys with astral characters
# and characters of U+E000..U+FFFF (the two orders part ways there), control characters
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_keys = st.one_of(_text, st.text(st.sampled_from(["a", "\ue000", "\uffff", "\U0001f600", "\U00010000", "\x00", "\x1f", "\x7f"]),
                                 max_size=4))
_floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.floats(1e-8, 1e-3), st.floats(1e14, 1e22),
                    st.integers(-(2**60), 2**60).map(float), st.sampled_from([20.0, -0.0, 18.5, 0.4231, 1e-6, 1e-7, 1e16, 1e21]))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), _text, _floats)
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
                     max_leaves=16)
# and values JCS has no form for: integers beyond ±(2^53 - 1), NaN, infinities
_wide = st.recursive(st.one_of(_scalars, st.integers(), st.floats()),
                     lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)), max_leaves=12)


def _reference(value) -> bytes | None:
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_json)
def test_jcs_is_the_reference_encoding(value):
    """jcs() writes rfc8785's bytes for every JSON value, and its fast path (orjson) answers
    only where it writes those very bytes."""
    want = rfc8785.dumps(value)
    assert jcs(value) == want
    assert jcs_fast(value) in (None, want)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_wide)
def test_values_without_a_jcs_form_are_refused_like_the_reference(value):
    want = _reference(value)
    if want is None:
        with pytest.raises(InputError, match="RFC 8785|not valid Unicode"):
            jcs(value)
        assert jcs_fast(value) is None
    else:
        assert jcs(value) == want


@settings(max_examples=1500, deadline=None)
@given(x=_floats)
def test_every_float_is_written_as_jcs_or_sent_to_the_reference(x):
    """The float forms where orjson and JCS part ways (integral floats, exponents, below 1e-4)
    are seen in orjson's output; every other float is the same bytes."""
    for value in (x, [x], {"x": x, "y": [1, x]}):
        c = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        assert jcs_departs(c) or c == rfc8785.dumps(value), value


def test_known_forms():
    """RFC 8785 §3.2.2's example (numbers as ECMAScript writes them, the string escapes),
    §3.2.3's sorting example (by UTF-16 code units, so U+1F600 sorts before U+FB33), and the
    shop's own numbers (an interest rate of 20.0 is written 20)."""
    src = r'''{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
               "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}'''
    assert jcs(json.loads(src)) == ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
                                    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}').encode()
    keys = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    assert list(json.loads(jcs(keys))) == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert list(orjson.loads(orjson.dumps(keys, option=orjson.OPT_SORT_KEYS)))[-2:] == ["\ufb33", "\U0001f600"]  # code points
    for x, text in ((20.0, b"20"), (-0.0, b"0"), (18.5, b"18.5"), (0.4231, b"0.4231"), (1e16, b"10000000000000000"),
                    (1e-6, b"0.000001"), (1e-7, b"1e-7"), (1e21, b"1e+21"), (2**53 - 1, b"9007199254740991")):
        assert jcs(x) == text and jcs({"r": x}) == b'{"r":' + text + b"}"
    assert jcs("\x00\x1f\x7f\u2028") == b'"\\u0000\\u001f\x7f\xe2\x80\xa8"'


@settings(max_examples=300, deadline=None)
@given(device_id=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30), seq=st.integers(0, 2**53 - 1),
       head=st.text("0123456789abcdef", min_size=64, max_size=64), ts=st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_a_checkpoint_body_is_the_same_bytes_in_both_forms(device_id, seq, head, ts):
    """Checkpoints are signed over JCS now; their fields are text and an integer, whose JCS and
    legacy forms are the same bytes, so every checkpoint signed before still verifies."""
    body = Checkpoint(device_id, seq, head, ts).body()
    assert jcs(body) == canonical_json(body)


def test_an_entry_names_its_form_and_is_hashed_over_it():
    legacy = Entry(1, "shop-a", "2026-01-01T00:00:00.000000Z", "transaction", {"rate": 20.0}, "0" * 64)
    new = Entry(1, "shop-a", "2026-01-01T00:00:00.000000Z", "transaction", {"rate": 20.0}, "0" * 64, canon=JCS)
    assert "canon" not in legacy.body() and legacy.canonical() == canonical_json(legacy.body())
    assert b'"rate":20.0' in legacy.canonical()
    assert new.body()["canon"] == "jcs" and new.canonical() == rfc8785.dumps(new.body())
    assert new.canonical().startswith(b'{"canon":"jcs",') and b'"rate":20}' in new.canonical()
    assert Entry.from_json(new.to_json()) == new and Entry.from_json(legacy.to_json()) == legacy
    with pytest.raises(TamperError, match="unknown canonical form"):
        Entry.from_json(new.to_json() | {"canon": "c14n"})
    with pytest.raises(TamperError, match="stored hash"):  # the marker is hashed: dropping it changes the hash
        Entry.from_json({k: v for k, v in new.to_json().items() if k != "canon"})
    with pytest.raises(TamperError, match="RFC 8785"):
        Entry.from_json(Entry(1, "shop-a", "t", "event", {"n": float("nan")}, "0" * 64, canon=JCS).body())
    # a JSON reader that keeps big integers (Python's) read the double 2^60 that JCS writes as digits
    big = Entry(1, "shop-a", "t", "event", {"n": float(2**60)}, "0" * 64, canon=JCS)
    assert b'"n":1152921504606847000' in big.canonical()
    assert Entry.from_json(json.loads(json.dumps(big.to_json()).replace("1.152921504606847e+18", "1152921504606847000"))).hash == big.hash


# --- the batch -----------------------------------------------------------------------------------
_payloads = st.dictionaries(_keys, _json, max_size=6)


def _wire(dev: SigningDevice, entries: list[Entry] | None = None) -> bytes:
    entries = dev.entries if entries is None else entries
    b = batch_mod.build_batch(dev.device_id, entries, prev_hash=dev.prev_of(entries[0].seq), checkpoint=dev.checkpoint())
    return batch_mod.encode(b, dev.sign)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads=st.lists(_payloads, min_size=1, max_size=5), legacy_first=st.integers(0, 3))
def test_a_batch_carries_legacy_and_jcs_entries_in_their_own_bytes(payloads, legacy_first):
    """A shop that updated has entries hashed before (legacy form) and after (JCS) in one chain:
    each line is the bytes its hash was made over, the backend reads both and computes the
    shop's hashes; every JCS line is rfc8785's encoding of the entry body."""
    dev = SigningDevice(canon=None)
    for i, p in enumerate(payloads):
        dev.canon = None if i < legacy_first else JCS
        dev.append("transaction", p)
    raw = gzip.decompress(_wire(dev))
    assert raw.startswith(b"chipid-sync-batch/4\n")
    header_line = raw.split(b"\n")[2]
    assert header_line == rfc8785.dumps(json.loads(header_line))
    signed = batch_mod.decode(raw, "identity")
    signed.verify(dev.key.public_key())
    cb = batch_mod.checked(signed)
    assert cb.hashes == tuple(e.hash for e in dev.entries)
    assert cb.batch.entries == tuple(dev.entries)
    for e, line in zip(dev.entries, cb.batch.lines):
        assert line == (rfc8785.dumps(e.body()) if e.canon == JCS else canonical_json(e.body()))
        assert (b'{"canon":"jcs",' in line) is (e.canon == JCS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_payloads)
def test_a_jcs_line_is_read_fast_only_where_it_is_the_reference(payload):
    """The backend's fast reading of a JCS entry line (orjson) answers only with rfc8785's bytes."""
    body = Entry(3, "shop-a", "2026-01-01T00:00:00.000000Z", "event", payload, "0" * 64, canon=JCS).body()
    line = rfc8785.dumps(body)
    parsed = orjson.loads(line) if b"\\ud8" not in line else json.loads(line)
    assert batch_mod._canonical_fast(parsed) in (None, line)


def _checked_line(dev: SigningDevice, line: bytes) -> batch_mod.CheckedBatch:
    header = batch_mod.build_batch(dev.device_id, dev.entries[:1], prev_hash=dev.prev_of(1)).header()
    return batch_mod.checked(batch_mod.decode(batch_mod.frame(header, [line], dev.sign), "identity"))


def test_a_jcs_entry_in_another_spelling_is_refused():
    """A body marked ``"canon": "jcs"`` must be its RFC 8785 bytes: the legacy spelling of the same
    body (20.0, 1e-07, keys by code point), a number JCS has no form for, a lone surrogate: all refused."""
    dev = SigningDevice()
    e = dev.append("transaction", {"rate": 20.0, "tiny": 1e-7, "k": {"\ufb33": 1, "\U0001f600": 2}, "distance": 0.4231})
    assert _checked_line(dev, e.canonical()).hashes == (e.hash,)
    body = e.body()
    others = [canonical_json(body),  # 20.0, 1e-07, keys in code point order
              e.canonical().replace(b'"rate":20', b'"rate":20.0'),
              e.canonical().replace(b'"tiny":1e-7', b'"tiny":1e-07'),
              e.canonical().replace(b'"rate":20', b'"rate":2e1'),
              e.canonical().replace(b'"distance":0.4231', b'"distance":0.42310'),
              e.canonical().replace(b'"\xf0\x9f\x98\x80":2,"\xef\xac\xb3":1', b'"\xef\xac\xb3":1,"\xf0\x9f\x98\x80":2'),
              e.canonical().replace('"k":{"😀"'.encode(), '"k":{"\\ud83d\\ude00"'.encode()),
              e.canonical().replace(b'"rate":20', b'"rate":9007199254740993')]  # a double has no such value
    assert len(set(others)) == len(others) and e.canonical() not in others
    for line in others:
        with pytest.raises(TamperError, match=r"not in canonical form \(RFC 8785"):
            _checked_line(dev, line)
    for number in (b"NaN", b"1e400", b"-Infinity"):
        with pytest.raises(TamperError, match="no RFC 8785 canonical form"):
            _checked_line(dev, e.canonical().replace(b'"rate":20', b'"rate":' + number))
    with pytest.raises(TamperError, match="not valid Unicode"):
        _checked_line(dev, e.canonical().replace(b'"rate":20', b'"rate":"\\udc00"'))


def test_an_older_format_is_told_to_upgrade():
    """A shop still on ``chipid-sync-batch/3`` (or 2, 1) is refused before anything is read, with
    the code the backend answers HTTP 426 for; an unknown format is garbage."""
    dev = SigningDevice(canon=None)
    dev.append("event", {"type": "redeemed"})
    raw = format_3_wire(gzip.decompress(_wire(dev)), dev.sign)
    for old in (raw, raw.replace(b"batch/3", b"batch/2", 1), raw.replace(b"batch/3", b"batch/1", 1)):
        with pytest.raises(InputError, match="update chipid") as info:
            batch_mod.decode(old, "identity")
        assert info.value.code == batch_mod.UPGRADE_REQUIRED == "upgrade_required"
    for other in (raw.replace(b"batch/3", b"batch/5", 1), raw.replace(b"batch/3", b"batch/x", 1),
                  raw.replace(b"batch/3", b"batch/" + b"0" * 5000 + b"3", 1), raw.replace(b"batch/3", b"batch/", 1)):
        with pytest.raises(InputError, match="expected a chipid-sync-batch/4 batch") as info:
            batch_mod.decode(other, "identity")
        assert getattr(info.value, "code", None) is None

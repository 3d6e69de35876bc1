"""The scans that tell where orjson's bytes may part from a canonical form (verifier/ledger/canonical.py:
``float_form_departs``, ``jcs_departs``) against the scans they replaced, kept here as the reference:
the same answer for every line (generated entries with floats of every magnitude, strings and keys
that only look like numbers, astral characters, hex and base64; every short byte string over the
bytes the patterns are made of; lines with such bytes spliced in anywhere), and the same decision of
the backend's entry reading (``sync.batch._entry_from_line``: the entry, or the refusal and its
message) for every generated entry line, canonical or not."""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
from unittest import mock

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync import batch as batch_mod
from sync.testing import pawn_payload
from verifier.errors import TamperError
from verifier.ledger import canonical
from verifier.ledger.canonical import JCS, canonical_json, float_form_departs, jcs_departs
from verifier.ledger.entry import Entry

# --- the reference: the scans as they were (one pass per pattern) ----------------------------------
_EXPONENT = re.compile(rb"e[-+][0-9]")
_SMALL = b"0.0000"
_INTEGRAL = re.compile(rb"\.0(?:[,\]}]|\Z)")
_DIGITS = b"0123456789"
_BEFORE_NUMBER = b":,[-"
_ASTRAL = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def reference_float_form_departs(c: bytes) -> bool:
    for m in _EXPONENT.finditer(c):
        if m.start() and c[m.start() - 1] in _DIGITS:
            return True
    i = c.find(_SMALL)
    while i >= 0:
        if i == 0 or c[i - 1] in _BEFORE_NUMBER:
            return True
        i = c.find(_SMALL, i + 1)
    return False


def reference_jcs_departs(c: bytes) -> bool:
    if reference_float_form_departs(c):
        return True
    for m in _INTEGRAL.finditer(c):
        if m.start() and c[m.start() - 1] in _DIGITS:
            return True
    return any(b in c for b in _ASTRAL)


def _same_scans(c: bytes) -> None:
    assert float_form_departs(c) is reference_float_form_departs(c), c
    assert jcs_departs(c) is reference_jcs_departs(c), c


# --- generated entries ------------------------------------------------------------------------------
_FLOATS = [1e-7, 5e-324, 1e21, -0.0, 0.0, 20.0, -20.0, 1e16, 1e-6, 1e-5, 1e-4, 0.0001, 0.00012, 6.103515625e-05,
           1.5e300, -1e-7, float(2**53), float(2**64), 0.1, 0.4231, 18.25, 1e22, 123456789.0, -1e21, 2.5e-8]
_FRAGMENTS = ["e-5", "1e-5", "1e+5", "2e+", "E-5", "e-", "0.0000", "0.00001", ":0.0000", "[0.0000", "-0.0000", ",0.0000",
              ".0,", ".0]", ".0}", ".0", "1.0", "20.0", "-0.0", "0.", ".", "😀", "\U00010000", "\U00040000", "\U00080000",
              "\U000c0000", "\U0010ffff", "\uffff", "\ue000", "\x00", '"', "\\", ",", ":", "[", "]", "}", "-", "+", "e", "0",
              "9", "Ệ", "ễ"]
_hex = st.binary(min_size=32, max_size=32).map(bytes.hex)
_base64 = st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())
_strings = st.one_of(st.text(max_size=12), _hex, _base64,
                     st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=3), _hex), max_size=6).map("".join))
_floats = st.one_of(st.sampled_from(_FLOATS), st.floats(allow_nan=False, allow_infinity=False), st.floats(1e-9, 1e-3),
                    st.floats(1e14, 1e23), st.integers(-(2**60), 2**60).map(float))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), _strings, _floats)
# keys with characters beyond U+FFFF and of U+E000..U+FFFF: JCS and orjson order them apart
_keys = st.one_of(_strings, st.text(st.sampled_from(["a", "\ue000", "\uffff", "😀", "\U00010000", "\U0010ffff"]), max_size=3))
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
                     max_leaves=16)
_payloads = st.dictionaries(_keys, _json, max_size=6)
# what the legacy form also holds: integers beyond 53 and 64 bits, NaN and infinities (Python's json writes them)
_wide = st.recursive(st.one_of(_scalars, st.integers(), st.floats()),
                     lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
                     max_leaves=12)


# each form where orjson's bytes part from a canonical one, in one payload (and Hypothesis finds others)
_DEPARTING = {"rate": 20.0, "zero": -0.0, "tiny": 1e-7, "small": 1e-5, "big": 1e21, "k": {"\uffff": 1, "😀": 2}}


def _decision(line: bytes) -> str:
    """What the backend makes of an entry line: the entry (its repr: NaN is not equal to itself), or
    the refusal with its message."""
    try:
        return repr(batch_mod._entry_from_line(line, 7))
    except TamperError as e:
        return f"refused: {e}"


def _decision_by_reference(line: bytes) -> str:
    """The decision with the reference scans, in the batch reading and in ``jcs()`` (its reference path)."""
    with mock.patch.multiple(batch_mod, float_form_departs=reference_float_form_departs, jcs_departs=reference_jcs_departs), \
            mock.patch.object(canonical, "jcs_departs", reference_jcs_departs):
        return _decision(line)


def _lines(entry: Entry) -> list[bytes]:
    """The entry's line, the legacy spelling of its body and orjson's (each either canonical or refused,
    by the fast path or the reference): every encoding the scans are run on."""
    out = [entry.canonical(), canonical_json(entry.body())]
    for option in (orjson.OPT_SORT_KEYS, orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER):
        try:
            out.append(orjson.dumps(entry.body(), option=option))
        except orjson.JSONEncodeError:  # an integer beyond 53 or 64 bits
            pass
    return list(dict.fromkeys(out))


def _check_entry(payload: dict, canon: str | None) -> None:
    entry = Entry(12, "shop-a", "2026-01-01T00:00:00.000000Z", "transaction", payload, "0" * 64, canon=canon)
    for line in _lines(entry):
        _same_scans(line)
        assert _decision(line) == _decision_by_reference(line), line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_payloads)
@example(payload=_DEPARTING)
def test_jcs_entries_scan_and_decide_alike(payload):
    _check_entry(payload, JCS)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.dictionaries(_keys, _wide, max_size=6))
@example(payload=_DEPARTING)
def test_legacy_entries_scan_and_decide_alike(payload):
    _check_entry(payload, None)


@settings(max_examples=500, deadline=None)
@given(value=_json)
def test_orjson_encodings_scan_alike(value):
    for option in (orjson.OPT_SORT_KEYS, orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER):
        _same_scans(orjson.dumps(value, option=option))
    _same_scans(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def test_every_short_byte_string_scans_alike():
    """Every string of up to 4 bytes over the bytes the patterns are made of and some others (so
    every hit at the start, at the end and beside another), and up to 7 over those of "0.0000"."""
    for alphabet, longest in ((b"0.e-+1,]}:[x\xf0", 4), (b"0.:-x", 7)):
        for n in range(longest + 1):
            for t in itertools.product(alphabet, repeat=n):
                _same_scans(bytes(t))


def test_realistic_lines_with_pieces_spliced_in_scan_alike():
    """Contracts as the shop writes them, holding hex digests and base64 like chip evidence, with a
    piece that looks like (or is) a number form the scans look for put anywhere: at the start, at
    the end, inside a string, in place of a value."""
    rng = random.Random(20261206)
    pieces = [f.encode() for f in _FRAGMENTS] + [b"1e-7", b"5e-324", b"1e+21", b":20.0}", b"[-0.0]", b",0.00001,",
                                                 b"\xf0\x9f\x98\x80"]
    for i in range(300):
        payload = pawn_payload(i)
        payload["evidence"] = {"sod": base64.b64encode(rng.randbytes(rng.randrange(1, 3000))).decode(),
                               "dg2_sha256": rng.randbytes(32).hex(), "distance": rng.choice(_FLOATS)}
        entry = Entry(i + 1, "shop-a", "2026-01-01T00:00:00.000000Z", "transaction", payload, "0" * 64, canon=JCS)
        line = orjson.dumps(entry.body(), option=orjson.OPT_SORT_KEYS)
        _same_scans(line)
        for _ in range(20):
            at = rng.randrange(len(line) + 1)
            spliced = line[:at] + rng.choice(pieces) + line[at:]
            _same_scans(spliced)
            _same_scans(spliced[at:])  # the piece at the very start
            _same_scans(spliced[:at + rng.randrange(1, 8)])  # and at the very end


def test_the_scans_find_each_form():
    """Each form the scans are for, where it departs and where a byte around it says it does not."""
    for c in (b'{"x":1e-7}', b'{"x":1.5e+16}', b'{"x":0.00001}', b"0.0000", b'[-0.00001]', b'{"\xf0\x9f\x98\x80":1}'):
        assert float_form_departs(c) or c.startswith(b'{"\xf0'), c
        assert jcs_departs(c), c
    for c in (b'{"x":20.0}', b'{"x":[-0.0]}', b"3.0"):
        assert jcs_departs(c) and not float_form_departs(c), c
    for c in (b'{"x":"e-7"}', b'{"x":"re+1"}', b'{"x":"00.00001"}', b'{"x":"a.0,"}', b'{"x":20.05}', b'{"x":1.01}',
              b'{"x":0.0001}', b'{"x":"\xef\xbf\xbf"}'):
        assert not jcs_departs(c) and not float_form_departs(c), c

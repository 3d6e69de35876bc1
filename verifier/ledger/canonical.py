"""The two canonical JSON forms an entry can be hashed over, and where orjson writes each of them.

* **JCS** (RFC 8785, JSON Canonicalization Scheme): the form of every entry written since the
  batch format ``chipid-sync-batch/3`` (the entry body says so: ``"canon": "jcs"``). Defined by
  the RFC, so a verifier in any language reproduces every hash: strings as UTF-8 with only
  ``"``, ``\\`` and the control characters escaped (RFC 8785 §3.2.2.2), numbers as ECMAScript
  writes an IEEE 754 double (§3.2.2.3: ``20.0`` is ``20``, ``1e-7`` stays ``1e-7``, ``1e16`` is
  ``10000000000000000``), object members sorted by the UTF-16 code units of their names
  (§3.2.3), no whitespace. Integers beyond ±(2^53 - 1), NaN and infinities have no JCS form.
  The reference is the maintained ``rfc8785`` package (:func:`jcs_reference`).
* **legacy**: entries written before (no ``canon`` field): Python's ``json.dumps`` with sorted
  keys, ``(",", ":")`` separators and ``ensure_ascii=False``, as UTF-8 (:func:`canonical_json`).
  Old entries keep the bytes they were hashed with; nothing new is written in this form.

**Fast path.** ``rfc8785`` is pure Python (about 0.5 ms for a 2 KB contract); orjson encodes the
same object in about 1/40 of that. orjson with sorted keys and the 53-bit integer limit writes
the JCS bytes of a JSON value except in three places, each seen in orjson's output
(:func:`jcs_departs`), where :func:`jcs` asks the reference instead:

1. a float with an exponent (orjson: ``1e-6``, ``1e+16``; JCS ``0.000001``, ``10000000000000000``)
   or below 1e-4 (``0.0000…``): the forms of the two libraries part ways around the edges;
2. an integral float (orjson ``20.0``, ``-0.0``; JCS ``20``, ``0``);
3. a character beyond U+FFFF anywhere (orjson sorts keys by code point, JCS by UTF-16 code unit:
   they differ only for such a character, a surrogate pair in UTF-16, against U+E000..U+FFFF).

Elsewhere (strings, integers within ±(2^53 - 1), true/false/null, floats written in plain decimal
with a fraction) the bytes are the same: tests/sync/test_canonical_jcs.py checks this with
Hypothesis against ``rfc8785`` (floats of every kind, astral characters in keys, control
characters). A string that merely looks like one of these (``"2.0, "``) only costs time.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import rfc8785

from verifier.errors import InputError

#: The value of an entry body's ``canon`` field for the RFC 8785 form (absent: the legacy form).
JCS = "jcs"

_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)


def canonical_json(obj: Any) -> bytes:
    """The legacy canonical form (entries without ``canon``; also the retry and idempotency
    fingerprints, which are never hashed into the chain)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def jcs_reference(obj: Any) -> bytes:
    """RFC 8785 by the reference implementation; :class:`InputError` when ``obj`` has no JCS form."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as e:
        if isinstance(e.__cause__, UnicodeEncodeError):
            raise InputError("text is not valid Unicode (a lone surrogate such as \\ud800)") from e
        raise InputError(f"the data has no RFC 8785 canonical form (integers beyond ±(2^53 - 1), NaN, infinities, "
                         f"text that is not Unicode and keys that are not text have none): {e}") from e


def jcs(obj: Any) -> bytes:
    """RFC 8785 canonical JSON of a JSON value (dict, list, str, int, float, bool, None): orjson where
    it writes the same bytes, else the reference (see the module docstring)."""
    c = jcs_fast(obj)
    return c if c is not None else jcs_reference(obj)


def jcs_fast(obj: Any) -> bytes | None:
    """orjson's encoding when it is the JCS form, None when the reference must decide. orjson
    writes NaN and infinities as ``null`` (JCS has no form for them) and a tuple as a list: the
    encoding must read back equal to ``obj`` (a comparison in C, cheap beside the encoding)."""
    try:
        c = orjson.dumps(obj, option=_OPTIONS)
    except orjson.JSONEncodeError:  # an integer beyond 53 bits, a lone surrogate, a type JSON has not
        return None
    return None if jcs_departs(c) or orjson.loads(c) != obj else c


def _jcs_int(text: str) -> int | float:
    n = int(text)
    return n if -_SAFE <= n <= _SAFE else float(text)


_SAFE = 2**53 - 1


def jcs_loads(data: bytes | str) -> Any:
    """JSON as RFC 8785 reads it (I-JSON, RFC 7493: every number is an IEEE 754 double): an integer
    within ±(2^53 - 1) is kept as an int (the same double), one beyond is the double it denotes
    (JCS writes the double 1e16 as ``10000000000000000``). So ``jcs(jcs_loads(jcs(x))) == jcs(x)``."""
    return json.loads(data, parse_int=_jcs_int)


def jcs_numbers(obj: Any) -> Any:
    """``obj`` with every int beyond ±(2^53 - 1) made the double JSON gives it (what :func:`jcs_loads`
    reads), for a JCS body that another JSON reader parsed."""
    if type(obj) is int:
        return obj if -_SAFE <= obj <= _SAFE else float(obj)
    if type(obj) is dict:
        return {k: jcs_numbers(v) for k, v in obj.items()}
    if type(obj) is list:
        return [jcs_numbers(v) for v in obj]
    return obj


# --- where orjson's output may differ from a canonical form ----------------------------------------
# These scans read every byte of every entry line at ingest, and a contract is kilobytes of hex
# digests and base64 (its chip evidence): each pattern is found by one pass in C that stops only at
# a byte that is rare there (a sign, a decimal point), and what surrounds it is checked at that hit.
# A pattern led by a class or an alternation ("[0-9]e", "[-+]", "[\xf0-\xf4]", "a|b") costs sre a
# test per byte, one led by "e" a match attempt at every "e" of the hex: several times more. search()
# rather than finditer(): a hit is rare, and building an iterator costs about as much as a pass.
_EXPONENT_MINUS = re.compile(rb"-(?<=[0-9]e-)[0-9]")  # "1e-7", "1.5e-7": a digit, e, the sign, a digit
_EXPONENT_PLUS = re.compile(rb"\+(?<=[0-9]e\+)[0-9]")  # "1e+16"
# ".0000" of "0.0000…" (below 1e-4), or ".0" of "20.0" and "-0.0": in compact JSON one of ,]} or the end follows
_POINT_ZERO = re.compile(rb"\.0(?:000|[,\]}]|\Z)")
_DIGITS = b"0123456789"
_BEFORE_NUMBER = b":,[-"  # a number in JSON follows one of these (or its minus sign does)
_PLUS = ord("+")
_ZERO = ord("0")


def _exponent(c: bytes) -> bool:
    """Whether ``c`` holds a digit, ``e``, a sign and a digit (a float with an exponent). Lines without
    base64 have no "+" at all: one memchr (``int in bytes``) spares them that pass."""
    return _EXPONENT_MINUS.search(c) is not None or (_PLUS in c and _EXPONENT_PLUS.search(c) is not None)


def _point_zero(c: bytes, integral: bool) -> bool:
    """Whether ``c`` holds ``0.0000`` at the start of a number (below 1e-4) or, when ``integral``, a
    digit followed by ``.0`` that ends a number (an integral float)."""
    m = _POINT_ZERO.search(c)
    while m is not None:
        i = m.start()
        if m.end() - i == 5:  # ".0000": departs when a "0" alone before it starts the number
            if i and c[i - 1] == _ZERO and (i == 1 or c[i - 2] in _BEFORE_NUMBER):
                return True
        elif integral and i and c[i - 1] in _DIGITS:
            return True
        m = _POINT_ZERO.search(c, i + 1)
    return False


def _astral(c: bytes) -> bool:
    """Whether ``c`` holds a UTF-8 lead byte of a character beyond U+FFFF: five memchr scans
    (``int in bytes``), together several times cheaper than a bytes needle's or a class's scan."""
    return 0xF0 in c or 0xF1 in c or 0xF2 in c or 0xF3 in c or 0xF4 in c


def float_form_departs(c: bytes) -> bool:
    """Whether orjson's encoding ``c`` may hold a float in another form than Python's ``json``
    writes (the legacy form): one with an exponent or below 1e-4 (item 1 of the module docstring)."""
    return _exponent(c) or _point_zero(c, integral=False)


def jcs_departs(c: bytes) -> bool:
    """Whether orjson's encoding ``c`` may differ from the JCS form (items 1-3 of the module docstring)."""
    return _exponent(c) or _point_zero(c, integral=True) or _astral(c)

"""Hypothesis fuzzing: the DG13 and card-QR parsers raise only chipid errors on any input.

Seeds are DG13s in the layout real chips write (``/work/shared/data/cccd/README.md``) and the
QR layouts of the front of the card; Hypothesis flips, inserts, deletes and truncates bytes.
Input sizes are bounded by the parsers' own limits (``MAX_DG13_BYTES``, ``MAX_FIELDS``,
``MAX_QR_CHARS``), which is what keeps each call short; the examples are few enough that the
file runs in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from verifier.cccd.access import keys_from_qr
from verifier.cccd.dg13 import encode_dg13, parse_dg13
from verifier.cccd.qr import expiry_candidates, parse_card_qr
from tests.mutations import mutated
from verifier.errors import ChipidError

#: CHIPID_FUZZ_SCALE=N multiplies the examples of every fuzz target (README "Fuzzing"); CI runs 1.
FUZZ_SCALE = int(os.environ.get("CHIPID_FUZZ_SCALE", "1"))

_PROFILE = dict(
    id_number="079090001234", full_name="Nguyễn Văn An", date_of_birth=dt.date(1990, 3, 15), sex="Nam",
    nationality="Việt Nam", ethnicity="Kinh", religion="Không", place_of_origin="Long An",
    place_of_residence="123 Lê Lợi, Quận 1, TP. Hồ Chí Minh" * 5, personal_identification="Nốt ruồi",
    date_of_issue=dt.date(2021, 4, 20), date_of_expiry=None, no_expiry=True, father_name="Nguyễn Văn Bình",
    mother_name="Trần Thị Cúc", spouse_name="Lê Thị Dung", old_id_number=None, field_16="0A1B2C3D4E5F6071",
)
#: Byte values that matter to DG13's TLVs (tags of its strings and sequences, lengths).
CCCD_BYTES = (0x00, 0x02, 0x06, 0x0C, 0x13, 0x30, 0x31, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF)
#: Real-layout seeds: a full card, a sparse one, every field a bare number, and the old flat layout.
SEEDS = [
    encode_dg13(_PROFILE),
    encode_dg13({"id_number": "001195012345", "full_name": "Bé"}),
    bytes.fromhex("6D 5A 30 58 02 01 01 06 06 28 D3 16 01 00 08 31 4B")
    + b"".join(bytes([0x30, 0x03, 0x02, 0x01, n]) for n in range(1, 16)),
    bytes.fromhex("6D 13 30 11 30 0F 02 01 01 13 0A") + b"0790900012",
]


@settings(max_examples=400 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SEEDS, set_values=CCCD_BYTES, insert_max=8))
def test_dg13_mutations_raise_only_chipid_errors(raw):
    try:
        dg13 = parse_dg13(raw)
    except ChipidError:
        return
    repr(dg13), dg13.no_expiry, dg13.sex_code  # what callers touch works on whatever parsed


@settings(max_examples=150 * FUZZ_SCALE, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b"\x6D" + b))
def test_dg13_random_bytes_raise_only_chipid_errors(raw):
    try:
        parse_dg13(raw)
    except ChipidError:
        pass


_QR = "079090001234|025123456|Nguyễn Văn An|15031990|Nam|123 Lê Lợi, Quận 1|20042021"
_digits = st.text("0123456789", min_size=0, max_size=14)
_qr_fields = st.lists(st.one_of(_digits, st.text(max_size=12)), min_size=5, max_size=9).map("|".join)


def _qr_all_the_way(text: str) -> None:
    """Parse, derive the expiry candidates and the access keys: only chipid errors may come out."""
    try:
        qr = parse_card_qr(text)
        expiry_candidates(qr.date_of_birth, qr.date_of_issue)
    except ChipidError:
        pass
    try:
        keys_from_qr(text)
    except ChipidError:
        pass


@settings(max_examples=300 * FUZZ_SCALE, deadline=None)
@given(st.one_of(_qr_fields, st.text(max_size=120)))
@example("079090001234|025123456|An|01019990|Nam|x|20042021")
@example("079090001234|025123456|An|31129985|Nam|x|")
@example("079090001234|An|29029984|Nam|x|01012000")
@example("079090001234|025123456|An|01010000|Nam|x|20042021")
def test_qr_text_raises_only_chipid_errors(text):
    _qr_all_the_way(text)


@settings(max_examples=200 * FUZZ_SCALE, deadline=None)
@given(st.integers(0, len(_QR) - 1), st.text(max_size=10), st.integers(0, 12))
def test_qr_mutations_raise_only_chipid_errors(pos, insert, delete):
    _qr_all_the_way(_QR[:pos] + insert + _QR[pos + delete:])


@settings(max_examples=200 * FUZZ_SCALE, deadline=None)
@given(st.dates(), st.none() | st.dates())
def test_expiry_rules_raise_only_chipid_errors(birth, issue):
    try:
        expiry_candidates(birth, issue)
    except ChipidError:
        pass

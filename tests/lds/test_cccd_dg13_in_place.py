"""DG13's real layout read in place (verifier/cccd/dg13.py ``_parse_real_layout``) gives exactly what
the TLV reading gives: the same DG13 for every input it takes, and every input it does not take (another
layout, a BER form, anything refused) left to the TLV reading, which refuses it with its own message.

Seeds are DG13s in the layout real chips write (``/work/shared/data/cccd/README.md``), with the forms a
reader meets: long-form and non-minimal lengths, two-byte field numbers, unknown fields, empty names,
invalid UTF-8; Hypothesis flips, sets, inserts, deletes and truncates bytes.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mutations import mutated
from verifier.cccd import dg13 as dg13_mod
from verifier.cccd.dg13 import encode_dg13, parse_dg13
from verifier.errors import ChipidError

_PROFILE = dict(
    id_number="079090001234", full_name="Nguyễn Văn An", date_of_birth=dt.date(1990, 3, 15), sex="Nam",
    nationality="Việt Nam", ethnicity="Kinh", religion="Không", place_of_origin="Long An",
    place_of_residence="123 Lê Lợi, Quận 1, TP. Hồ Chí Minh", personal_identification="Nốt ruồi",
    date_of_issue=dt.date(2021, 4, 20), date_of_expiry=None, no_expiry=True, father_name="Nguyễn Văn Bình",
    mother_name="Trần Thị Cúc", spouse_name="Lê Thị Dung", old_id_number="123456789", field_16="0A1B2C3D4E5F6071",
)
_HEAD = bytes.fromhex("020101 0606 28D316010008")


def _tlv(tag: int, value: bytes, long_form: int = 0) -> bytes:
    length = len(value)
    if long_form:
        header = bytes([0x80 | long_form]) + length.to_bytes(long_form, "big")
    else:
        header = bytes([length]) if length < 0x80 else bytes([0x81, length]) if length < 0x100 else \
            bytes([0x82]) + length.to_bytes(2, "big")
    return bytes([tag]) + header + value


def _dg13(*fields: bytes, long_form: int = 0) -> bytes:
    return _tlv(0x6D, _tlv(0x30, _HEAD + _tlv(0x31, b"".join(fields), long_form)))


def _field(number: bytes, *values: bytes) -> bytes:
    return _tlv(0x30, _tlv(0x02, number) + b"".join(values))


#: Byte values that steer the in-place reader (DG13's tags, lengths, the UTF-8 lead byte 0xC3).
IN_PLACE_BYTES = (0x00, 0x01, 0x02, 0x04, 0x06, 0x0C, 0x0D, 0x0E, 0x13, 0x1E, 0x1F, 0x30, 0x31, 0x7F, 0x80, 0x81, 0x82,
                  0x84, 0x85, 0xC3, 0xFF)
SEEDS = [
    encode_dg13(_PROFILE),
    encode_dg13({"id_number": "001195012345", "full_name": "Bé", "place_of_residence": "x" * 300}),
    _dg13(*(_field(bytes([n])) for n in range(1, 17))),
    _dg13(_field(b"\x00\x02", _tlv(0x0C, "Trần".encode())), _field(b"\x11", _tlv(0x04, b"raw")),
          _field(b"\x0d", _tlv(0x30, b""), _tlv(0x0C, "Mẹ".encode())), _field(b"\x03", _tlv(0x13, b"31/12/1999")),
          long_form=2),
    _dg13(_field(b"\x02", _tlv(0x0C, b"\xc3")), _field(b"\x01", _tlv(0x13, b""))),
    _dg13(_field(b"\x0e", _tlv(0x30, _tlv(0x1E, "Vợ".encode("utf-16-be")))), _field(b"\x0c", _tlv(0x0C, b"x"))),
    bytes.fromhex("6D 13 30 11 30 0F 02 01 01 13 0A") + b"0790900012",  # the old flat layout
    encode_dg13(_PROFILE) + b"\x00\x00padding",
    _dg13(_field(b"\x0e", _tlv(0x30, _tlv(0x0C, b"a") + _tlv(0x0C, b"b")))),  # two names in one SEQUENCE
    _dg13(_field(b"\x02", _tlv(0x0C, b"An", long_form=4)), _field(b"\x01", _tlv(0x13, b"1", long_form=5))),
]


def _outcome(data: bytes):
    try:
        return "ok", parse_dg13(data)
    except ChipidError as e:
        return type(e).__name__, str(e)


def _tlv_reading(data: bytes, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(dg13_mod, "_parse_real_layout", lambda raw: None)
        return _outcome(data)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated(SEEDS, min_ops=0, set_values=IN_PLACE_BYTES, insert_max=8))
def test_in_place_reading_is_the_tlv_reading(data, monkeypatch):
    assert _outcome(data) == _tlv_reading(data, monkeypatch)


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_the_seeds_read_alike_and_real_layouts_in_place(seed, monkeypatch):
    data = SEEDS[seed]
    fast = dg13_mod._parse_real_layout(data)
    got = _outcome(data)
    assert got == _tlv_reading(data, monkeypatch)
    if seed in (0, 1, 2, 3, 5, 7):  # the real layout in definite lengths and one-byte tags
        assert fast is not None and got == ("ok", fast)
    else:  # refused (invalid UTF-8, two names, a 5-byte length) or the old flat layout: the TLV reading decides
        assert fast is None


def test_a_real_card_reads_the_same_in_place(monkeypatch):
    got = _outcome(SEEDS[0])
    assert got[0] == "ok" and got[1].full_name == "Nguyễn Văn An" and got[1].date_of_birth == dt.date(1990, 3, 15)
    assert got[1].no_expiry and got[1].spouse_name == "Lê Thị Dung"

"""SecurityInfos in plain DER are read in place (verifier/icao/lds/security_infos.py ``_infos_in_place``):
:func:`_parse_info` on the elements where they lie instead of on decoded TLVs. Every SET, of every kind of
SecurityInfo, well formed, ill formed, in BER forms or mutated, gives what the TLV reading gives: the same
infos, or the same refusal (class and message)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import SHARED_DATA
from tests.mutations import mutated
from verifier.errors import ChipidError
from verifier.icao import chip_keys, curves, ecc, tlv
from verifier.icao.lds import security_infos as si
from verifier.icao.lds.dg14 import parse_dg14

CARD_ACCESS = bytes.fromhex((SHARED_DATA / "cccd" / "ef_cardaccess.hex").read_text().strip())
SPKI = bytes.fromhex("3014300b06092b240303020801010703050004010203")
_BP256 = curves.CURVES["brainpoolP256r1"]
#: A chip key as real CCCDs write it in DG14 (explicit brainpoolP256r1 parameters): over 255 bytes, a long length.
REAL_SPKI = chip_keys.ec_spki(_BP256, ecc.public_key(_BP256, 777), explicit=True)


def _outcome(raw: bytes, *, in_place: bool, what: str = "EF.DG14 SecurityInfos"):
    with pytest.MonkeyPatch.context() as m:
        if not in_place:
            m.setattr(si, "_infos_in_place", lambda raw: None)
        try:
            return "ok", si.parse_security_infos(raw, what=what)
        except ChipidError as e:
            return type(e).__name__, str(e)


def _same(raw: bytes):
    got = _outcome(raw, in_place=True)
    assert got == _outcome(raw, in_place=False)
    return got


def _seq(*parts: bytes) -> bytes:
    return tlv.encode(0x30, b"".join(parts))


_OIDS = [si.encode_oid(o) for o in ("0.4.0.127.0.7.2.2.4.2.2", "0.4.0.127.0.7.2.2.3.2.2", si.ID_PK_ECDH, si.ID_AA,
                                    si.ID_TA, "0.4.0.127.0.7.2.2.4.1", "1.3.6.1.4.1", "0.4.0.127.0.7.2.2.3.9")]
_ITEMS = [tlv.encode(0x02, b"\x01"), tlv.encode(0x02, b"\x0d"), tlv.encode(0x02, b""), tlv.encode(0x02, bytes(33)),
          si.encode_oid("0.4.0.127.0.7.1.1.4.1.3"), SPKI, REAL_SPKI, tlv.encode(0x04, b"\x01\x1c"), b"\x05\x00",
          b"\x02\x81\x01\x01", b"\x30\x80\x02\x01\x01\x00\x00"]  # the last two in BER forms: the TLV reading's


@st.composite
def security_infos(draw) -> bytes:
    infos = []
    for _ in range(draw(st.integers(0, 5))):
        head = draw(st.sampled_from(_OIDS + [tlv.encode(0x06, b""), tlv.encode(0x02, b"\x01")]))
        infos.append(_seq(head, *draw(st.lists(st.sampled_from(_ITEMS), max_size=3))))
    if draw(st.integers(0, 9)) == 0:
        infos.append(tlv.encode(0x04, b"x"))
    return tlv.encode(0x31, b"".join(infos))


@settings(max_examples=1500, deadline=None)
@given(raw=security_infos())
def test_every_kind_of_security_info_reads_as_the_tlv_reading(raw):
    _same(raw)


_DG14 = tlv.encode(0x31, CARD_ACCESS[2:] + _seq(_OIDS[2], REAL_SPKI) + _seq(_OIDS[3], _ITEMS[0], _ITEMS[4]))


@settings(max_examples=1500, deadline=None)
@given(raw=mutated([CARD_ACCESS, _DG14], max_ops=3))
def test_a_mutated_security_infos_reads_as_the_tlv_reading(raw):
    _same(raw)


def test_the_usual_sets_are_read_in_place_and_refusals_name_the_file():
    for raw in (CARD_ACCESS, _DG14):
        assert si._infos_in_place(raw) is not None
        assert _same(raw)[0] == "ok"
    too_many = tlv.encode(0x31, CARD_ACCESS[2:17] * (si.MAX_INFOS + 1))
    assert si._infos_in_place(too_many) is None
    assert _same(too_many)[0] == "LimitExceededError"
    assert _outcome(tlv.encode(0x31, _seq(_OIDS[0])), in_place=True, what="EF.CardAccess")[1].startswith("EF.CardAccess: ")
    dg14 = parse_dg14(tlv.encode(0x6E, _DG14)).security_infos
    assert dg14.active_auth.version == 1 and dg14.chip_auth_keys[0].public_key == REAL_SPKI

"""Hostile chips: every bad answer is a clear error from verifier/errors.py, in bounded time and memory."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.emulator.chip import EmulatedChip, Faults
from drivers.emulator.transport import EmulatorTransport
from drivers.scripted import ScriptedTransport
from verifier.errors import (AccessDeniedError, CardRemovedError, ChipError, ChipidError, LimitExceededError,
                             ResponseFormatError, SecureMessagingError, StatusWordError)
from verifier.icao.keys import BACKey
from verifier.icao.session import ChipSession
from verifier.icao.tlv import encode

pytestmark = pytest.mark.timeout(20)

KEY = BACKey("093047064", "930105", "330105")


def files(**override) -> dict[str, bytes]:
    base = {"COM": encode(0x60, b"\x5F\x01\x040107"), "SOD": encode(0x77, os.urandom(900)),
            "DG1": encode(0x61, b"I" * 90), "DG2": encode(0x75, os.urandom(3000))}
    base.update(override)
    return base


def open_session(chip, transport=None, **kw) -> ChipSession:
    return ChipSession(transport or EmulatorTransport(chip), [KEY], **kw).open()


class Hostile:
    """A transport that lets the real chip run until ``after`` APDUs, then answers with ``answer(apdu)``."""

    def __init__(self, chip, after: int, answer):
        self.inner = EmulatorTransport(chip)
        self.name, self.extended_length = "hostile", True
        self.after, self.answer, self.count = after, answer, 0

    def transmit(self, apdu: bytes) -> bytes:
        self.count += 1
        if self.count > self.after:
            return self.answer(apdu)
        return self.inner.transmit(apdu)

    def close(self):
        pass


@pytest.mark.parametrize("header", ["7584FFFFFFFF", "7584001FFFFF", "758300FFFF" + ""])
def test_huge_declared_length_is_refused_early(header):
    # the file really holds 100 bytes; its header claims 4 GiB / 2 MiB / 64 KiB (the last is allowed, then truncated)
    hostile = bytes.fromhex(header) + os.urandom(100)
    chip = EmulatedChip(files(DG2=hostile), KEY, max_le=223)
    s = open_session(chip)
    apdus = s.apdus
    expected = ResponseFormatError if header.startswith("7583") else LimitExceededError
    with pytest.raises(expected) as e:
        s.read_file("DG2")
    assert e.value.step.startswith("READ BINARY DG2")
    assert s.apdus - apdus <= 3


def test_five_byte_length_field_is_refused():
    chip = EmulatedChip(files(DG2=bytes.fromhex("7585FFFFFFFFFF") + bytes(50)), KEY)
    with pytest.raises(LimitExceededError):
        open_session(chip).read_file("DG2")


@pytest.mark.parametrize("max_le, reader_ext", [(223, False), (65536, True)])
def test_truncated_file(max_le, reader_ext):
    truncated = encode(0x75, os.urandom(5000))[:3000]
    chip = EmulatedChip(files(DG2=truncated), KEY, max_le=max_le)
    s = open_session(chip, EmulatorTransport(chip, extended_length=reader_ext))
    with pytest.raises(ResponseFormatError, match="truncated"):
        s.read_file("DG2")


def test_wrong_tag_for_the_file():
    chip = EmulatedChip(files(DG2=encode(0x61, b"x" * 10)), KEY)
    with pytest.raises(ResponseFormatError, match="tag 75"):
        open_session(chip).read_file("DG2")


def test_chip_returns_more_than_asked():
    chip = EmulatedChip(files(), KEY, faults=Faults(extra_bytes=5))
    with pytest.raises(ResponseFormatError, match="asked for"):
        open_session(chip).read_file("DG2")


@pytest.mark.parametrize("sw", [0x6C10, 0x6C00, 0x6700, 0x9000])
def test_endless_wrong_le_or_empty_answers(sw):
    chip = EmulatedChip(files(), KEY, faults=Faults(read_sw=sw))
    s = open_session(chip)
    with pytest.raises(ResponseFormatError):
        s.read_file("DG2")
    assert s.apdus < 60


def test_endless_61xx_get_response():
    chip = EmulatedChip(files(), KEY)
    t = Hostile(chip, after=10, answer=lambda apdu: b"\x01" * 16 + b"\x61\x10")
    s = ChipSession(t, [KEY])
    with pytest.raises(ChipError, match="61xx"):
        s.open() and s.read_file("DG2")
    assert t.count < 60


def test_response_without_status_word():
    chip = EmulatedChip(files(), KEY)
    s = ChipSession(Hostile(chip, after=8, answer=lambda apdu: b"\x90"), [KEY])
    with pytest.raises(ResponseFormatError, match="status word"):
        s.open()
        s.read_all()


def test_oversized_response_is_refused():
    chip = EmulatedChip(files(), KEY)
    s = ChipSession(Hostile(chip, after=8, answer=lambda apdu: bytes(200_000) + b"\x90\x00"), [KEY])
    with pytest.raises(LimitExceededError):
        s.open()
        s.read_all()


def test_bad_response_mac():
    chip = EmulatedChip(files(), KEY, faults=Faults(bad_mac=True))
    with pytest.raises(SecureMessagingError, match="MAC") as e:
        open_session(chip).read_all()
    assert "READ BINARY" in e.value.step


def test_corrupted_bac_answer_is_access_denied():
    # APDUs: SELECT MF, READ CardAccess (6A82), SELECT CardAccess (6A82), SELECT AID, GET CHALLENGE, EXT AUTH
    chip = EmulatedChip(files(), KEY, faults=Faults(wrong_answer_at=6))
    with pytest.raises(AccessDeniedError, match=r"key 1 of 1\): refused"):
        open_session(chip)


@pytest.mark.parametrize("n", [8, 9, 12])
def test_corrupted_protected_answer(n):
    chip = EmulatedChip(files(), KEY, faults=Faults(wrong_answer_at=n))
    with pytest.raises(SecureMessagingError):
        open_session(chip).read_all()


@pytest.mark.parametrize("after", [2, 5, 9, 11])
def test_card_removed_mid_read(after):
    chip = EmulatedChip(files(), KEY, max_le=223, faults=Faults(remove_after_apdus=after))
    with pytest.raises(CardRemovedError):
        open_session(chip).read_all()


def test_absent_and_protected_files_are_reported_not_raised():
    chip = EmulatedChip(files(DG3=encode(0x63, b"fingers")), KEY)
    read = open_session(chip).read_all(("COM", "DG3", "DG7"))
    assert read.not_readable == {"DG3": "access-protected (EAC) (SW 6982)", "DG7": "not present (SW 6A82)"}
    with pytest.raises(StatusWordError) as e:
        open_session(chip).read_file("DG3")
    assert e.value.sw == 0x6982


def test_every_error_is_a_chipid_error_under_random_corruption():
    # corrupt each APDU position in turn: never a crash, hang or non-chipid exception
    for n in range(1, 30):
        chip = EmulatedChip(files(), KEY, faults=Faults(wrong_answer_at=n))
        try:
            read = open_session(chip).read_all()
        except ChipidError:
            continue
        # a corruption the protocol cannot see (e.g. in a plain 6A82 probe) must not change file bytes
        assert read.files["DG2"] == chip.files["DG2"]


_sw = st.sampled_from([b"\x90\x00", b"\x62\x82", b"\x67\x00", b"\x6c\x10", b"\x61\x05", b"\x6a\x82", b"\x69\x82",
                       b"\x63\x00", b"\x6b\x00"])
_answer = st.one_of(st.binary(max_size=300), st.tuples(st.binary(max_size=40), _sw).map(lambda t: t[0] + t[1]))


@given(st.lists(_answer, max_size=25), st.sampled_from(["pace-then-bac", "bac"]))
@settings(max_examples=150, deadline=None)
def test_random_answers_give_only_chipid_errors(answers, policy):
    t = ScriptedTransport([(None, a) for a in answers], when_done="6A82")  # any command, then 6A82
    try:
        ChipSession(t, [KEY], policy=policy).read_all()
    except ChipidError:
        pass
    assert t.count < 200

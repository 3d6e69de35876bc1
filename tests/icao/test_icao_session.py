"""Full in-process reads of an EmulatedChip over EmulatorTransport: BAC, PACE, Le learning, B1, extended."""

from __future__ import annotations

import logging
import os

import pytest

from drivers.emulator.chip import EmulatedChip, Faults
from drivers.emulator.transport import EmulatorTransport
from verifier.errors import AccessDeniedError, AccessKeyError, InputError, TransportError
from verifier.icao.apdu import Command
from verifier.icao.keys import BACKey, CANKey
from verifier.icao.session import CCCD_READ_ORDER, ChipSession
from verifier.icao.tlv import encode

KEY = BACKey("093047064", "930105", "330105")
WRONG = BACKey("093047064", "930105", "310105")


def make_files(dg2_size: int = 20_000) -> dict[str, bytes]:
    rnd = os.urandom
    return {"COM": encode(0x60, encode(0x5F01, b"0107") + encode(0x5C, bytes.fromhex("61756D6E6F"))),
            "SOD": encode(0x77, rnd(1800)), "DG1": encode(0x61, encode(0x5F1F, b"I" * 90)),
            "DG2": encode(0x75, rnd(dg2_size)), "DG13": encode(0x6D, rnd(700)), "DG14": encode(0x6E, rnd(320)),
            "DG15": encode(0x6F, rnd(170)), "DG3": encode(0x63, rnd(400))}


class Recorder:
    """A transport wrapper recording the outer (possibly protected) command headers."""

    def __init__(self, inner):
        self.inner, self.name, self.extended_length = inner, inner.name, inner.extended_length
        self.commands: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(bytes(apdu))
        return self.inner.transmit(apdu)

    def close(self):
        self.inner.close()

    def ins(self, ins: int) -> list[bytes]:
        """Protected commands with this INS (the plain EF.CardAccess probe is not counted)."""
        return [c for c in self.commands if c[1] == ins and c[0] & 0x0C]


def session(chip, keys=(KEY,), reader_extended=True, **kw):
    rec = Recorder(EmulatorTransport(chip, extended_length=reader_extended))
    return ChipSession(rec, list(keys), **kw), rec


def test_full_bac_read_is_byte_exact():
    files = make_files()
    s, rec = session(EmulatedChip(files, KEY), keys=[WRONG, KEY])
    read = s.read_all(CCCD_READ_ORDER + ("DG3", "DG4"))
    for name in CCCD_READ_ORDER:
        assert read.files[name] == files[name]
    assert read.not_readable == {"DG3": "access-protected (EAC) (SW 6982)", "DG4": "not present (SW 6A82)"}
    assert read.access_protocol == "BAC"
    assert read.key_used == "MRZ key (date of expiry 330105) (key 2 of 2)"
    assert "093047064" not in read.key_used and "930105" not in read.key_used
    assert read.apdus == len(rec.commands) and read.bytes > sum(len(v) for v in files.values())
    assert any("refused" in a for a in read.attempts)


def test_context_manager_and_transmit_through_sm():
    files = make_files(500)
    chip = EmulatedChip(files, KEY)
    with ChipSession(EmulatorTransport(chip), [KEY]) as s:
        assert s.access_protocol == "BAC" and s.sm is not None
        ssc = s.sm.ssc
        resp = s.transmit(Command(0x00, 0xB0, 0x9E, 0x00, le=4))  # EF.COM by SFI
        assert resp.ok and resp.data == files["COM"][:4]
        assert s.sm.ssc == ssc + 2
    assert s.sm is None


def test_replace_sm_restarts_with_the_given_channel():
    chip = EmulatedChip(make_files(500), KEY)
    s = ChipSession(EmulatorTransport(chip), [KEY]).open()
    from verifier.icao.sm import SecureMessaging
    new_term = SecureMessaging(bytes(range(16)), bytes(range(16, 32)), 0, "AES")
    chip.sm = SecureMessaging(bytes(range(16)), bytes(range(16, 32)), 0, "AES")  # what chip authentication does
    s.replace_sm(new_term)
    assert s.read_file("DG1") == chip.files["DG1"]
    with pytest.raises(InputError):
        s.replace_sm("not a channel")


def test_wrong_keys_only_is_access_denied_with_all_attempts():
    s, _ = session(EmulatedChip(make_files(100), KEY), keys=[WRONG, BACKey("093047064", "930105", "320105")])
    with pytest.raises(AccessDeniedError) as e:
        s.open()
    assert "key 1 of 2): refused" in str(e.value) and "key 2 of 2): refused" in str(e.value)


def test_no_keys_and_bad_arguments():
    chip = EmulatedChip(make_files(100), KEY)
    with pytest.raises(AccessKeyError):
        ChipSession(EmulatorTransport(chip), []).open()
    with pytest.raises(InputError):
        ChipSession(EmulatorTransport(chip), [KEY], policy="whatever")
    with pytest.raises(InputError):
        ChipSession(EmulatorTransport(chip), ["L898902C"])


@pytest.mark.parametrize("wrong_le_sw", [0x6700, 0x6C00])
def test_le_learning_card_max_223(wrong_le_sw):
    files = make_files(20_000)
    chip = EmulatedChip(files, KEY, max_le=200, extended_length=False, wrong_le_sw=wrong_le_sw)
    s, rec = session(chip, reader_extended=False)
    read = s.read_all()
    assert all(read.files[n] == files[n] for n in CCCD_READ_ORDER)
    assert s._short_le == 200 if wrong_le_sw == 0x6C00 else s._short_le == 192
    reads = len(rec.ins(0xB0))
    size = sum(len(files[n]) for n in CCCD_READ_ORDER)
    assert reads <= size // s._short_le + 2 * len(CCCD_READ_ORDER) + 4  # learnt once, not per file


def test_card_max_223_extended_refused_learnt_once():
    files = make_files(20_000)
    s, rec = session(EmulatedChip(files, KEY, max_le=223, extended_length=False))
    read = s.read_all()
    assert all(read.files[n] == files[n] for n in CCCD_READ_ORDER)
    extended = [c for c in rec.commands if Command.is_extended(c)]
    assert len(extended) == 1  # tried once, then short APDUs for the whole session
    assert s._ext is False


def test_short_file_answered_with_6282():
    files = {"COM": encode(0x60, b"\x5F\x01\x0401075C\x00"[:6]), "DG1": encode(0x61, b"x" * 10)}
    s, rec = session(EmulatedChip(files, KEY, max_le=223), reader_extended=False)
    assert s.open().read_file("DG1") == files["DG1"]
    assert len(rec.ins(0xB0)) == 1  # one READ BINARY, answered 6282 with the 12 bytes


def test_odd_ins_past_32767_for_a_40_kb_file():
    files = make_files(40_000)
    s, rec = session(EmulatedChip(files, KEY, max_le=256), reader_extended=False)
    assert s.open().read_file("DG2") == files["DG2"]
    odd = rec.ins(0xB1)
    assert odd and all(c[0] == 0x0C for c in odd)
    assert len(rec.ins(0xB0)) == -(-32768 // 223)  # even INS up to offset 32767, odd beyond


@pytest.mark.parametrize("wrong_le_sw", [0x6700, 0x6C00])
def test_odd_ins_with_le_learning(wrong_le_sw):
    files = make_files(40_000)
    chip = EmulatedChip(files, KEY, max_le=150, extended_length=False, wrong_le_sw=wrong_le_sw)
    s, rec = session(chip, reader_extended=False)
    assert s.open().read_file("DG2") == files["DG2"]
    assert rec.ins(0xB1)


def test_extended_length_reads_dg2_in_one_apdu():
    files = make_files(40_000)
    s, rec = session(EmulatedChip(files, KEY, max_le=65536))
    assert s.open().read_file("DG2") == files["DG2"]
    reads = rec.ins(0xB0)
    assert len(reads) == 1 and Command.is_extended(reads[0])


def test_reader_without_extended_length_is_never_sent_one():
    files = make_files(5_000)
    s, rec = session(EmulatedChip(files, KEY, max_le=65536), reader_extended=False)
    assert s.read_all().files["DG2"] == files["DG2"]
    assert not any(Command.is_extended(c) for c in rec.commands)


def test_sfi_refused_falls_back_to_select():
    files = make_files(1_000)
    chip = EmulatedChip(files, KEY)
    original = chip._find

    def no_sfi(*, fid=None, sfi=None):
        return None if sfi is not None else original(fid=fid)
    chip._find = no_sfi
    s, rec = session(chip)
    read = s.read_all()
    assert all(read.files[n] == files[n] for n in CCCD_READ_ORDER)
    assert s._use_sfi is False


def test_short_reads_are_tolerated():
    files = make_files(3_000)
    s, _ = session(EmulatedChip(files, KEY, faults=Faults(short_read=True)))
    read = s.read_all()
    assert all(read.files[n] == files[n] for n in CCCD_READ_ORDER)


@pytest.mark.parametrize("cipher, parameter_id", [("AES-128", 13), ("3DES", 12)])
def test_pace_then_select_and_read(cipher, parameter_id):
    from verifier.icao import pace
    files = make_files(5_000)
    chip = EmulatedChip(files, KEY, can="047064", card_access=pace.card_access_for(parameter_id, cipher))
    s, rec = session(chip, keys=[CANKey("111111"), CANKey("047064")])
    read = s.read_all()
    assert read.access_protocol == "PACE" and read.key_used == "CAN key (key 2 of 2)"
    assert all(read.files[n] == files[n] for n in CCCD_READ_ORDER)
    assert read.files["CardAccess"] == chip.card_access


def test_pace_refused_falls_back_to_bac():
    from verifier.icao import pace
    files = make_files(500)
    chip = EmulatedChip(files, KEY, can="047064", card_access=pace.card_access_for(13))
    s, _ = session(chip, keys=[CANKey("111111"), KEY])
    read = s.read_all()
    assert read.access_protocol == "PACE" and read.key_used.startswith("MRZ key")
    s2, _ = session(chip, keys=[KEY], policy="bac")
    assert s2.read_all().access_protocol == "BAC"


def test_debug_trace_is_redacted(caplog):
    files = make_files(300)
    with caplog.at_level(logging.DEBUG):
        s, _ = session(EmulatedChip(files, KEY))
        s.read_all()
    text = caplog.text
    assert "B0" in text  # the trace is there
    for secret in ("093047064", "930105", files["DG13"][10:20].hex(), files["DG13"][10:20].hex().upper(),
                   s.sm.ks_enc.hex(), s.sm.ks_enc.hex().upper()):
        assert secret not in text


def test_closed_transport_is_a_transport_error():
    t = EmulatorTransport(EmulatedChip(make_files(100), KEY))
    t.close()
    with pytest.raises(TransportError):
        ChipSession(t, [KEY]).open()


def test_configured_max_le_caps_short_reads():
    files = make_files(3_000)
    s, rec = session(EmulatedChip(files, KEY), reader_extended=False, max_le=100)
    assert s.read_all().files["DG2"] == files["DG2"]
    les = [c[7] for c in rec.ins(0xB0) if c[5:7] == b"\x97\x01"]
    assert les and max(les) == 100
    with pytest.raises(InputError):
        ChipSession(EmulatorTransport(EmulatedChip(files, KEY)), [KEY], max_le=300)


def test_pace_aes_short_apdus_and_odd_ins():
    from verifier.icao import pace
    files = make_files(40_000)
    chip = EmulatedChip(files, KEY, can="047064", card_access=pace.card_access_for(13, "AES-128"), max_le=256)
    s, rec = session(chip, keys=[CANKey("047064")], reader_extended=False)
    read = s.read_all()
    assert read.access_protocol == "PACE" and s.sm.cipher == "AES"
    assert all(read.files[n] == files[n] for n in CCCD_READ_ORDER)
    assert rec.ins(0xB1)


def test_sfi_refused_with_6b00_falls_back_to_select():
    # SFI lives in P1: some chips answer "wrong P1-P2" (6B00) to READ BINARY by SFI
    files = make_files(1_000)
    chip = EmulatedChip(files, KEY)
    original = chip._read_binary

    def sfi_is_wrong_p1p2(cmd, capacity):
        if cmd.ins == 0xB0 and cmd.p1 & 0x80:
            return b"", 0x6B00
        return original(cmd, capacity)
    chip._read_binary = sfi_is_wrong_p1p2
    s, rec = session(chip)
    read = s.read_all()
    assert all(read.files[n] == files[n] for n in CCCD_READ_ORDER)
    assert s._use_sfi is False
    # learnt once: later files are selected by FID straight away
    assert sum(1 for c in rec.commands if c[1] == 0xB0 and c[2] & 0x80) == 1

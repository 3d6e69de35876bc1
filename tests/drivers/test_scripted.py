"""drivers.scripted: the one scripted card of the tests fails on any other APDU (issue 16 item 5)."""

from __future__ import annotations

import pytest

from drivers.scripted import ScriptedTransport, ScriptMismatch
from verifier.icao.apdu import Command


def test_answers_the_script_and_records_the_commands():
    card = ScriptedTransport([("0084000008", "4608F919887022129000"), (b"\x00\xa4\x02\x0c\x02\x01\x1e", b"\x90\x00")])
    r = card.send(Command(0x00, 0x84, 0x00, 0x00, le=8))
    assert (r.data, r.sw) == (bytes.fromhex("4608F91988702212"), 0x9000)
    assert card.transmit(bytes.fromhex("00A4020C02011E")) == b"\x90\x00"
    card.assert_done()
    assert card.sent == [bytes.fromhex("0084000008"), bytes.fromhex("00A4020C02011E")] and card.count == 2


def test_a_different_command_fails_with_both_apdus():
    card = ScriptedTransport([("0084000008", "9000")])
    with pytest.raises(ScriptMismatch, match="expected 0084000008, found 0084000010"):
        card.transmit(bytes.fromhex("0084000010"))


def test_an_extra_command_and_a_missing_one_fail():
    card = ScriptedTransport([("0084000008", "9000"), ("00B0000004", "9000")])
    card.transmit(bytes.fromhex("0084000008"))
    with pytest.raises(ScriptMismatch, match="1 scripted commands never sent, the next one 00B0000004"):
        card.assert_done()
    card.transmit(bytes.fromhex("00B0000004"))
    with pytest.raises(ScriptMismatch, match="unexpected extra command 00B0000008"):
        card.transmit(bytes.fromhex("00B0000008"))


def test_any_command_then_a_fixed_answer():
    card = ScriptedTransport([(None, "6982")], when_done="6A82")
    assert card.transmit(b"\x00\xb0\x00\x00\x04") == b"\x69\x82"
    assert card.transmit(b"\x00\xb0\x00\x00\x04") == b"\x6a\x82"
    card.close()
    assert card.closed

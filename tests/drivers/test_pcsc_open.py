"""drivers/open.py: reader specs, auto selection and reader description."""

from __future__ import annotations

import pytest

from drivers.open import describe_readers, open_transport, parse_spec
from drivers import pcsc
from drivers.pcsc import PcscTransport
from verifier.errors import ConfigError, NoCardError, NoReaderError


def test_parse_spec():
    assert parse_spec("auto") == ("auto", None)
    assert parse_spec("emulator") == ("emulator", None)
    assert parse_spec("pcsc") == ("pcsc", None)
    assert parse_spec("pcsc:ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 00") == (
        "pcsc", "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 00")
    assert parse_spec("nfc") == ("nfc", "usb")
    assert parse_spec("nfc:udp:127.0.0.1:54321") == ("nfc", "udp:127.0.0.1:54321")
    for bad in ("", "serial", "emulator:x", "auto:1"):
        with pytest.raises(ConfigError):
            parse_spec(bad)


def test_emulator_spec_uses_the_factory(fake_card):
    t = open_transport("emulator", emulator_factory=lambda: fake_card)
    assert t.name == "emulator"
    assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"
    t.close()
    assert fake_card.apdus == [bytes.fromhex("00A4000C")]
    with pytest.raises(ConfigError, match="factory"):
        open_transport("emulator")


@pytest.mark.pcsc
def test_pcsc_specs(virtual_card, fake_card):
    _card, reader = virtual_card(fake_card)
    for spec in ("pcsc", f"pcsc:{reader}", "pcsc:Virtual PCD"):
        t = open_transport(spec, timeout_s=1)
        try:
            assert isinstance(t, PcscTransport) and t.reader == reader
            assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"
        finally:
            t.close()


@pytest.mark.pcsc
def test_auto_picks_the_reader_holding_a_card(virtual_card, fake_card):
    # slot 00 00 holds the card; the other virtual slot stays empty
    _card, reader = virtual_card(fake_card)
    t = open_transport("auto", timeout_s=5)
    try:
        assert t.name == f"pcsc:{reader}"
    finally:
        t.close()


@pytest.mark.pcsc
def test_auto_ignores_idle_virtual_readers(pcscd, virtual_card):
    # only vpcd's empty slots and no NFC reader on USB: no reader (demo-mode fallback)
    with pytest.raises(NoReaderError, match="no card reader"):
        open_transport("auto", timeout_s=0.5)


@pytest.mark.pcsc
def test_auto_waits_for_a_card_on_physical_readers(virtual_card, monkeypatch):
    # no physical reader exists here: let the two vpcd slots stand in for empty ones
    monkeypatch.setattr(pcsc, "VIRTUAL_READER_PREFIXES", ("No such prefix",))
    with pytest.raises(NoCardError, match="no card was presented to any PC/SC reader"):
        open_transport("auto", timeout_s=0.5)


@pytest.mark.pcsc
def test_describe_readers(virtual_card, fake_card):
    _card, reader = virtual_card(fake_card)
    found = {r["spec"]: r for r in describe_readers(nfc_usb=False)}
    assert found[f"pcsc:{reader}"] == {"spec": f"pcsc:{reader}", "kind": "pcsc", "name": reader, "virtual": True,
                                       "card_present": True, "atr": "3B80800101"}
    other = found["pcsc:Virtual PCD 00 01"]
    assert other["card_present"] is False and other["atr"] is None

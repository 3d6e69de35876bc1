"""Access keys from MRZ, ID number + dates, the card QR and the CAN."""

from __future__ import annotations

import pytest

from verifier.cccd.access import keys_from_can, keys_from_id, keys_from_mrz, keys_from_qr, keys_from_text
from verifier.errors import AccessKeyError
from verifier.icao.keys import BACKey, CANKey
from verifier.icao.mrz import format_cccd_td1

MRZ = format_cccd_td1("079090001234", "900315", "M", "300315", "NGUYEN", "VAN AN")
QR = "079090001234|025123456|Nguyễn Văn An|15031990|Nam|123 Lê Lợi|20042021"


def test_from_mrz():
    c = keys_from_mrz(MRZ)
    assert c.keys == [BACKey("090001234", "900315", "300315"), CANKey("001234")]
    assert c.warnings == []


def test_from_mrz_bad_check_digit_is_a_warning():
    flat = MRZ.replace("\n", "")
    broken = flat[:30] + flat[30:36] + ("0" if flat[36] != "0" else "1") + flat[37:]
    c = keys_from_mrz(broken)
    assert any("date_of_birth" in w for w in c.warnings)
    assert isinstance(c.keys[0], BACKey)


def test_from_passport_mrz_has_no_can():
    td3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
    c = keys_from_mrz(td3)
    assert c.keys == [BACKey("L898902C3", "740812", "120415")]
    assert c.keys[0].mrz_information() == "L898902C3674081221204159"


@pytest.mark.parametrize("bad", ["", "IDVNM", "x" * 90])
def test_bad_mrz(bad):
    with pytest.raises(AccessKeyError):
        keys_from_mrz(bad)


def test_from_id():
    c = keys_from_id("079090001234", "900315", "300315")
    assert c.keys == [BACKey("090001234", "900315", "300315"), CANKey("001234")]
    assert c.warnings == []


def test_from_id_accepts_dates_and_iso():
    import datetime as dt

    c = keys_from_id("079090001234", dt.date(1990, 3, 15), "2030-03-15")
    assert c.keys[0] == BACKey("090001234", "900315", "300315")


def test_from_id_warns_on_birth_year_mismatch():
    c = keys_from_id("079090001234", "910315", "300315")
    assert any("1990" in w for w in c.warnings)


@pytest.mark.parametrize("args", [("07909000123", "900315", "300315"), ("079090001234", "9003", "300315"),
                                  ("079090001234", "900315", "30-03")])
def test_from_id_malformed(args):
    with pytest.raises(AccessKeyError):
        keys_from_id(*args)


def test_from_qr_one_bac_key_per_candidate_and_the_can():
    c = keys_from_qr(QR)
    assert c.keys[0] == BACKey("090001234", "900315", "300315")
    assert c.keys[1] == CANKey("001234")
    expiries = [k.date_of_expiry for k in c.keys if isinstance(k, BACKey)]
    assert expiries[0] == "300315" and "300314" in expiries and "500315" in expiries
    assert len(expiries) == len(set(expiries))


def test_from_qr_warns_on_inconsistent_id():
    c = keys_from_qr(QR.replace("|Nam|", "|Nữ|"))
    assert any("sex" in w for w in c.warnings)


def test_from_qr_no_expiry_card_still_yields_the_can():
    c = keys_from_qr("079060001234|025123456|Nguyễn Văn An|15031960|Nam|x|01022019")
    assert CANKey("001234") in c.keys
    assert BACKey("060001234", "600315", "200315") in c.keys
    assert BACKey("060001234", "600315", "<<<<<<") in c.keys  # no expiry after 60 (ICAO filler)


@pytest.mark.parametrize("bad", ["", "garbage", "a|b|c|d|e|f"])
def test_from_qr_garbage(bad):
    with pytest.raises(AccessKeyError):
        keys_from_qr(bad)


def test_from_can():
    assert keys_from_can("001234").keys == [CANKey("001234")]
    with pytest.raises(AccessKeyError):
        keys_from_can("12345")


def test_from_text_dispatch():
    assert keys_from_text("001234").keys == [CANKey("001234")]
    assert keys_from_text(QR).keys[1] == CANKey("001234")
    assert keys_from_text(MRZ).keys[0] == BACKey("090001234", "900315", "300315")
    with pytest.raises(AccessKeyError):
        keys_from_text("  ")


def test_keys_never_show_in_repr():
    assert "090001234" not in repr(keys_from_qr(QR))


def test_from_id_without_expiry_still_gives_the_can_and_the_2099_key():
    c = keys_from_id("079060001234", "600315", "none")
    assert c.keys == [BACKey("060001234", "600315", "<<<<<<"), CANKey("001234"), BACKey("060001234", "600315", "990315")]


def test_from_qr_ends_with_the_no_expiry_keys_in_order():
    expiries = [k.date_of_expiry for k in keys_from_qr(QR).keys if isinstance(k, BACKey)]
    assert expiries[-2:] == ["<<<<<<", "990315"]
    assert expiries.count("<<<<<<") == 1  # the renewal rule may list it too: tried once


def test_the_2099_key_is_described_without_the_day_and_month_of_birth():
    key = keys_from_qr(QR).keys[-1]
    assert key.date_of_expiry == "990315"
    assert "0315" not in key.describe() and "2099" in key.describe()


def test_from_document_number_normalises_dates_and_refuses_garbage():
    from verifier.cccd.access import keys_from_document

    assert keys_from_document("L898902C3", "1974-08-12", "120415").keys == [BACKey("L898902C3", "740812", "120415")]
    assert keys_from_document("L898902C3", "740812", None).keys == [BACKey("L898902C3", "740812", "<<<<<<")]
    with pytest.raises(AccessKeyError, match="cannot build a BAC key"):
        keys_from_document("not a doc number!", "740812", "120415")

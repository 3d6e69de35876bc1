"""A tiny fake card for proving the transport stacks (the real chip is drivers/emulator)."""

from __future__ import annotations

import pytest


class FakeCard:
    """Answers like a minimal ISO/IEC 7816-4 card.

    SELECT (A4) -> 9000; READ BINARY (B0) -> ``file[offset:offset+Le]`` (short or extended
    Le, Le=0 meaning 256 / 65536); UPDATE BINARY (D6) -> echoes its command data + 9000
    (proves long commands arrive whole); INS 0x0E -> a reply of 61XX/6CXX style given by
    ``scripted``; anything else -> 6D00. Records every APDU and counts resets.
    ``on_apdu`` (if set) runs before each answer; a test uses it to pull the card.
    """

    def __init__(self, file: bytes = bytes(range(256)) * 8) -> None:
        self.file = file
        self.apdus: list[bytes] = []
        self.resets = 0
        self.on_apdu = None
        self.scripted: dict[bytes, bytes] = {}

    def reset(self) -> None:
        self.resets += 1

    def process(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        if self.on_apdu is not None:
            self.on_apdu(apdu)
        if apdu in self.scripted:
            return self.scripted[apdu]
        ins = apdu[1]
        if ins == 0xA4:
            return b"\x90\x00"
        if ins == 0xB0:
            offset = int.from_bytes(apdu[2:4], "big") & 0x7FFF
            if len(apdu) == 5:
                le = apdu[4] or 256
            elif len(apdu) == 7 and apdu[4] == 0:
                le = int.from_bytes(apdu[5:7], "big") or 65536
            else:
                return b"\x67\x00"
            return self.file[offset:offset + le] + b"\x90\x00"
        if ins == 0xD6:
            if len(apdu) > 7 and apdu[4] == 0:
                lc = int.from_bytes(apdu[5:7], "big")
                data = apdu[7:7 + lc]
            else:
                data = apdu[5:5 + apdu[4]]
            return data + b"\x90\x00"
        return b"\x6d\x00"


@pytest.fixture
def fake_card() -> FakeCard:
    return FakeCard()


# -- the emulated CCCD (drivers/emulator) ------------------------------------------------

DEMO_CARD = "drivers/emulator/demo/card"


@pytest.fixture(scope="session")
def demo_profile():
    from pathlib import Path

    from drivers.emulator.profile import load_profile

    return load_profile(Path(__file__).resolve().parents[2] / DEMO_CARD)


@pytest.fixture
def demo_chip(demo_profile):
    """Factory: ``demo_chip(**options) -> EmulatedChip`` of the demo citizen (fresh each call)."""
    from drivers.emulator.personalise import make_chip

    return lambda **options: make_chip(demo_profile, **options)


@pytest.fixture(scope="session")
def demo_keys(demo_profile):
    """The demo card's access keys: ``{"mrz": BACKey, "can": CANKey, "wrong": BACKey}``."""
    from verifier.icao.keys import BACKey, CANKey

    p = demo_profile
    return {
        "mrz": BACKey(p.id_number[-9:], p.date_of_birth.strftime("%y%m%d"), p.date_of_expiry.strftime("%y%m%d")),
        "can": CANKey(p.id_number[-6:]),
        "wrong": BACKey(p.id_number[-9:], p.date_of_birth.strftime("%y%m%d"), "991231"),
    }


@pytest.fixture
def check_demo_read(demo_profile):
    """``check_demo_read(read, chip)``: the files read are the chip's bytes, exactly, and parse
    to the demo citizen."""
    import hashlib

    from verifier.cccd.dg13 import parse_dg13
    from verifier.icao.lds.com import parse_com
    from verifier.icao.lds.dg1 import parse_dg1
    from verifier.icao.lds.dg2 import parse_dg2
    from verifier.icao.lds.dg14 import parse_dg14
    from verifier.icao.lds.dg15 import parse_dg15
    from verifier.trust.sod import parse_sod

    def check(read, chip, *, same_signature: bool = True) -> None:
        """``same_signature=False``: ``chip`` is another personalisation of the same citizen
        (ECDSA signatures differ), so the SOD is compared by size only."""
        # EAC-protected files (DG3 on a CCCD) answer 6982 to BAC / PACE: never in a read
        skip = {"CardAccess"} | set(chip.eac_protected) | (set() if same_signature else {"SOD"})
        expected = {n: b for n, b in chip.files.items() if n not in skip}
        got = {n: b for n, b in read.files.items() if n not in skip}
        if not same_signature:
            assert abs(len(read.files["SOD"]) - len(chip.files["SOD"])) <= 2
            assert read.files["SOD"][:1] == b"\x77"
        assert sorted(got) == sorted(expected)
        for name in expected:
            assert got[name] == expected[name], f"{name}: {len(got[name])} bytes read, {len(expected[name])} on chip"
        assert read.not_readable == {}
        mrz = parse_dg1(read.files["DG1"]).mrz
        p = demo_profile
        assert mrz.valid
        assert mrz.document_number == p.id_number[-9:]
        assert mrz.date_of_birth == p.date_of_birth.strftime("%y%m%d")
        assert mrz.date_of_expiry == p.date_of_expiry.strftime("%y%m%d")
        assert mrz.issuing_state == "VNM"
        # every DG1 field
        primary, secondary = mrz.primary_identifier, mrz.secondary_identifier
        assert (mrz.format, mrz.document_code[:1], mrz.nationality) == ("TD1", "I", "VNM")
        assert mrz.sex == p.sex
        assert mrz.optional_data[:12] == p.id_number  # CCCD: ID12 + "<<" + its check digit
        assert primary and secondary and fold(f"{primary} {secondary}") == fold(p.full_name)
        # every DG13 field
        dg13 = parse_dg13(read.files["DG13"])
        assert dg13.id_number == p.id_number
        assert dg13.full_name == p.full_name
        assert dg13.date_of_birth == p.date_of_birth
        assert dg13.sex == p.sex_vi and dg13.sex_code == p.sex
        for name in ("nationality", "ethnicity", "religion", "place_of_origin", "place_of_residence",
                     "personal_identification", "father_name", "mother_name", "old_id_number"):
            assert getattr(dg13, name) == getattr(p, name), name
        assert dg13.spouse_name == (p.spouse_name or None)
        assert dg13.date_of_issue == p.date_of_issue
        assert dg13.date_of_expiry == p.date_of_expiry
        assert dg13.unknown == {}
        # EF.COM, DG2 (the portrait byte for byte), DG14, DG15, EF.SOD
        com = parse_com(read.files["COM"])
        dgs = sorted(int(n[2:]) for n in read.files if n.startswith("DG"))
        protected = {int(n[2:]) for n in chip.eac_protected}
        assert sorted(set(com.dg_numbers) - protected) == dgs
        faces = parse_dg2(read.files["DG2"]).faces
        assert len(faces) == 1 and faces[0].image == p.photo
        assert faces[0].format == ("jpeg2000" if p.photo_name.endswith(".jp2") else "jpeg")
        ca_keys = parse_dg14(read.files["DG14"]).security_infos.chip_auth_keys
        # DG14 writes the key with explicit curve parameters, as real CCCDs: compare the keys, not the encodings
        from verifier.icao.chip_keys import parse_public_key
        assert [parse_public_key(k.public_key).point for k in ca_keys] == [parse_public_key(spki(p.chip_auth_key_pem)).point]
        assert parse_dg15(read.files["DG15"]).public_key_info == spki(p.active_auth_key_pem)
        sod = parse_sod(read.files["SOD"])
        assert sorted(sod.dg_hashes) == dgs
        for n in dgs:
            assert sod.dg_hashes[n] == hashlib.new(sod.hash_algorithm, read.files[f"DG{n}"]).digest(), f"DG{n}"

    return check


def fold(text: str) -> str:
    """Upper case without diacritics, as the MRZ writes a Vietnamese name."""
    import unicodedata

    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).upper()


def spki(pem: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

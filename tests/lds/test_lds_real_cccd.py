"""Real CCCD bytes (``/work/shared/data/cccd/``): EF.CardAccess, EF.COM and the Document Signer
certificate parse, and the real EF.CardAccess drives PACE with the CAN on the emulated chip."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from drivers.emulator.chip import EmulatedChip
from drivers.emulator.personalise import personalise
from drivers.emulator.profile import DEMO_PROFILE_DIR, load_profile
from drivers.emulator.transport import EmulatorTransport
from verifier.cccd.access import keys_from_can
from verifier.icao import pace
from verifier.icao.lds.com import parse_com
from verifier.icao.lds.security_infos import (
    ID_CA_ECDH,
    ID_PACE_ECDH_GM,
    ID_TA,
    ChipAuthenticationInfo,
    PACEInfo,
    TerminalAuthenticationInfo,
    encode_security_infos,
    parse_card_access,
)
from verifier.icao.session import ChipSession

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as tests/conftest.py's SHARED_DATA
CCCD = SHARED_DATA / "cccd"
REAL_CARD_ACCESS = bytes.fromhex((CCCD / "ef_cardaccess.hex").read_text().strip())
REAL_COM = bytes.fromhex((CCCD / "ef_com.hex").read_text().strip())
REAL_DSC = (CCCD / "dsc_national_identification_00013.der").read_bytes()


def test_real_card_access_reports_every_info():
    infos = parse_card_access(REAL_CARD_ACCESS)
    assert infos.raw == REAL_CARD_ACCESS
    assert infos.infos == (
        TerminalAuthenticationInfo(ID_TA, 1),
        ChipAuthenticationInfo(f"{ID_CA_ECDH}.2", 1, None),  # id-CA-ECDH-AES-CBC-CMAC-128 v1, no keyId
        PACEInfo(f"{ID_PACE_ECDH_GM}.2", 2, 13),  # id-PACE-ECDH-GM-AES-CBC-CMAC-128 v2, brainpoolP256r1
    )
    assert infos.unknown == ()
    (ca,) = infos.chip_auth
    assert (ca.agreement, ca.cipher, ca.key_id) == ("ECDH", ("AES", 128), None)
    (p,) = infos.pace
    assert (p.agreement, p.mapping, p.cipher) == ("ECDH", "GM", ("AES", 128))
    assert pace.supported(p) and pace.group_for(p).curve.name == "brainpoolP256r1"
    assert encode_security_infos(infos.infos) == REAL_CARD_ACCESS  # our encoder writes the same bytes


def test_real_com_reports_dg3_and_the_order():
    com = parse_com(REAL_COM)
    assert (com.lds_version, com.unicode_version) == ("1.7", "4.0.0")
    assert com.dg_numbers == (1, 2, 3, 13, 15, 14)


@pytest.fixture(scope="module")
def demo_files():
    return personalise(load_profile(DEMO_PROFILE_DIR))


def test_pace_with_the_can_over_the_real_card_access(demo_files):
    files = {k: v for k, v in demo_files.items() if k != "CardAccess"}
    chip = EmulatedChip(files, bac_key=None, can="001234", card_access=REAL_CARD_ACCESS)
    assert chip.files["CardAccess"] == REAL_CARD_ACCESS
    with ChipSession(EmulatorTransport(chip), keys_from_can("001234").keys, policy="pace") as session:
        dg1 = session.read_file("DG1")
        assert session.access_protocol == "PACE"
    assert dg1 == demo_files["DG1"]


def test_pace_with_a_wrong_can_is_refused_over_the_real_card_access(demo_files):
    from verifier.errors import AccessDeniedError

    chip = EmulatedChip(demo_files, bac_key=None, can="001234", card_access=REAL_CARD_ACCESS)
    with pytest.raises(AccessDeniedError):
        ChipSession(EmulatorTransport(chip), keys_from_can("001235").keys, policy="pace").open()


def test_real_dsc_certificate_summary():
    from verifier.trust.certs import load_certificate

    cert = load_certificate(REAL_DSC)
    s = cert.summary()
    assert s["curve"] == "brainpoolP384r1" and s["key_algorithm"] == "ec" and s["country"] == "VN"
    assert s["subject"].endswith("CN=Document Signer National Identification 00013")
    assert s["issuer"] == "C=VN, O=Vietnam Government Information Security Commission, serialNumber=001, CN=CSCA Vietnam"
    assert (s["not_before"], s["not_after"]) == ("2021-05-28T03:58:26+00:00", "2043-08-21T03:58:26+00:00")
    assert s["sha256"] == hashlib.sha256(REAL_DSC).hexdigest()
    # the extension set the demo DSC imitates (drivers/emulator/pki.py make_cccd_dsc)
    assert set(cert.extensions) == {"2.5.29.19", "2.5.29.35", "1.3.6.1.5.5.7.1.1", "2.5.29.17", "2.5.29.31",
                                    "2.5.29.14", "2.5.29.16", "2.5.29.15"}
    assert cert.critical_extensions == frozenset({"2.5.29.15", "2.5.29.19"})
    assert cert.key_usage == frozenset({"digital_signature"}) and not cert.is_ca
    assert cert.authority_key_identifier.hex().upper() == "57AB7508224483F049CC635B2C95C4E446A58808"
    assert cert.not_after - cert.not_before > dt.timedelta(days=22 * 365)


def test_demo_dsc_has_the_real_dscs_extension_set():
    from cryptography.hazmat.primitives import serialization

    from drivers.emulator.pki import load_demo
    from verifier.trust.certs import load_certificate

    real = load_certificate(REAL_DSC)
    _csca, dsc, _key = load_demo()
    demo = load_certificate(dsc.public_bytes(serialization.Encoding.DER))
    assert set(demo.extensions) == set(real.extensions)
    assert demo.critical_extensions == real.critical_extensions
    assert demo.key_usage == real.key_usage
    assert demo.public_key.curve == real.public_key.curve == "brainpoolP384r1"
    assert "DEMO" in demo.subject and "DEMO" in demo.issuer

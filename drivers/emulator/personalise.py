"""Personalise an emulated CCCD from a card profile: build every file the chip serves.

Shaped like real CCCD chips (the facts in ``/work/shared/data/cccd/README.md``, from public
dumps of real cards):

* EF.CardAccess: TerminalAuthenticationInfo v1, ChipAuthenticationInfo
  id-CA-ECDH-AES-CBC-CMAC-128 v1 without keyId, PACEInfo id-PACE-ECDH-GM-AES-CBC-CMAC-128 v2
  parameterId 13 (ICAO 9303-11 §9.2; byte for byte the real file with the default options);
* EF.COM: LDS 1.7, Unicode 4.0.0, tags DG1, DG2, DG3, DG13, DG15, DG14 in that order
  (ICAO 9303-10 §4.6.1); DG3 (fingerprints) exists but answers 6982 (needs EAC);
* DG1: TD1 MRZ, document code "ID", state "VNM", document number = last 9 digits of the
  ID number, the full ID number in the optional data (ICAO 9303-5 §4.2);
* DG2: ISO/IEC 19794-5:2005 record holding the portrait byte for byte (real cards: a JPEG,
  JFIF 1.01, about 15 KB); chip option ``dg2_header_size`` writes another width x height in the
  record header than the image has, as real cards do (480 x 400 for a 300 x 400 JPEG);
* DG13: the Vietnamese personal data (:func:`verifier.cccd.dg13.encode_dg13`);
* DG14: TA, CA and PACE infos as in EF.CardAccess plus the ChipAuthenticationPublicKeyInfo
  (id-PK-ECDH) with EXPLICIT curve parameters (ICAO 9303-11 §9.2.5, §9.2.6); an EC Active
  Authentication key adds ActiveAuthenticationInfo (§9.2.10);
* DG15: the Active Authentication public key, RSA-2048 e=65537 on real cards (ICAO 9303-11 §6.1);
* EF.SOD: SignedData v3, LDSSecurityObject v0, SHA-256 hashes of DG1, DG2, DG13, DG14, DG15,
  ecdsa-with-SHA256 by the Document Signer, signed within its private key usage period
  (ICAO 9303-10 §4.6.2).

A card without expiry carries ``<<<<<<`` as MRZ date of expiry (check digit 0).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from drivers.emulator.profile import CardProfile
from verifier.cccd.dg13 import encode_dg13
from verifier.cccd.qr import NO_EXPIRY
from verifier.errors import InputError
from verifier.icao.chip_keys import ID_PK_ECDH, ec_spki
from verifier.icao.lds.com import encode_com
from verifier.icao.lds.dg1 import encode_dg1
from verifier.icao.lds.dg2 import encode_dg2
from verifier.icao.lds.dg14 import encode_dg14
from verifier.icao.lds.dg15 import encode_dg15
from verifier.icao.lds.security_infos import (
    ID_AA,
    ID_CA_ECDH,
    ID_TA,
    ActiveAuthenticationInfo,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    TerminalAuthenticationInfo,
    encode_security_infos,
    parse_card_access,
)
from verifier.icao.mrz import format_cccd_td1

log = logging.getLogger(__name__)

#: Data groups a CCCD lists in EF.COM, in the order real cards list them (``ef_com.hex``).
CCCD_DGS = (1, 2, 3, 13, 15, 14)
#: EF.COM versions of real CCCDs.
CCCD_LDS_VERSION = "1.7"
CCCD_UNICODE_VERSION = "4.0.0"
#: DG3 of the emulated chip: a biometric information group template with no fingerprint. It is
#: never served (6982: Extended Access Control), only present, and not in the SOD, as on real cards.
DG3_PLACEHOLDER = bytes.fromhex("63067F6103020100")


def mrz_text(profile: CardProfile) -> str:
    """The TD1 MRZ of the card (three lines joined by "\\n")."""
    primary, secondary = profile.mrz_names
    expiry = profile.date_of_expiry.strftime("%y%m%d") if profile.date_of_expiry else "000000"
    text = format_cccd_td1(profile.id_number, profile.date_of_birth.strftime("%y%m%d"), profile.sex, expiry,
                           primary, secondary)
    if profile.date_of_expiry is None:
        # '<' and '0' both weigh 0 in the check digit (ICAO 9303-3 §4.9): every check digit stays valid.
        lines = text.split("\n")
        lines[1] = lines[1][:8] + NO_EXPIRY.mrz + lines[1][14:]
        text = "\n".join(lines)
    return text


def dg13_fields(profile: CardProfile) -> dict:
    return {
        "id_number": profile.id_number, "full_name": profile.full_name, "date_of_birth": profile.date_of_birth,
        "sex": profile.sex_vi, "nationality": profile.nationality, "ethnicity": profile.ethnicity,
        "religion": profile.religion, "place_of_origin": profile.place_of_origin,
        "place_of_residence": profile.place_of_residence,
        "personal_identification": profile.personal_identification, "date_of_issue": profile.date_of_issue,
        "date_of_expiry": profile.date_of_expiry, "no_expiry": profile.no_expiry,
        "father_name": profile.father_name, "mother_name": profile.mother_name,
        "spouse_name": profile.spouse_name, "write_empty_spouse": True, "old_id_number": profile.old_id_number,
    }


def _private_key(pem: bytes | None, what: str):
    if not pem:
        return None
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise InputError(f"card profile: {what} is not an unencrypted PEM private key: {e}") from e


def _spki(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _security_infos(profile: CardProfile) -> list:
    """TA, CA and PACE infos as real CCCDs list them in EF.CardAccess and again in DG14 (ICAO 9303-11 §9.2):
    TA when DG3 is on the chip, CA (ECDH, AES-128, no keyId) with chip authentication, PACE with PACE."""
    from verifier.icao.pace import card_access_for

    chip = profile.chip
    infos: list = []
    if chip.get("dg3", True):
        infos.append(TerminalAuthenticationInfo(ID_TA, 1))
    if chip.get("chip_auth", True) and profile.chip_auth_key_pem:
        infos.append(ChipAuthenticationInfo(f"{ID_CA_ECDH}.2", 1))
    if chip.get("pace", True):
        bits = int(chip.get("pace_key_bits", 128))
        cipher = "3DES" if chip.get("pace_cipher", "AES") == "3DES" else f"AES-{bits}"
        infos.extend(parse_card_access(card_access_for(int(chip.get("pace_parameter_id", 13)), cipher)).pace)
    return infos


def card_access(profile: CardProfile) -> bytes:
    """EF.CardAccess of a PACE chip (ICAO 9303-10 §3.11.3): TA, CA and PACE infos in the real cards' order."""
    return encode_security_infos(_security_infos(profile))


def dg14(profile: CardProfile) -> bytes | None:
    """The infos of EF.CardAccess, the ChipAuthenticationPublicKeyInfo with explicit curve parameters
    (as real CCCDs write it), and for an EC Active Authentication key the ActiveAuthenticationInfo
    naming the plain-ECDSA algorithm the emulated chip signs with (ICAO 9303-11 §9.2.5, §9.2.6, §9.2.10)."""
    from drivers.emulator.card_protocols import ActiveAuthResponder, as_private_key

    infos = _security_infos(profile)
    ca_key = _private_key(profile.chip_auth_key_pem, "chip authentication key")
    if ca_key is not None and profile.chip.get("chip_auth", True):
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise InputError("card profile: chip authentication key must be an EC key")
        key = as_private_key(ca_key)
        infos.append(ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, ec_spki(key.curve, key.public, algorithm=ID_PK_ECDH,
                                                                         explicit=True)))
    aa_key = _private_key(profile.active_auth_key_pem, "active authentication key")
    if aa_key is not None and profile.chip.get("active_auth", True):
        algorithm = ActiveAuthResponder(aa_key).signature_algorithm
        if algorithm:
            infos.append(ActiveAuthenticationInfo(ID_AA, 1, algorithm))
    return encode_dg14(infos) if any(not isinstance(i, TerminalAuthenticationInfo) for i in infos) else None


def dg15(profile: CardProfile) -> bytes | None:
    key = _private_key(profile.active_auth_key_pem, "active authentication key")
    if key is None or not profile.chip.get("active_auth", True):
        return None
    return encode_dg15(_spki(key))


def _signer(profile: CardProfile):
    """(dsc_key, dsc_cert): the profile's own signer, or the committed demo DSC (``pki.load_demo``)."""
    if profile.dsc_cert_pem and profile.dsc_key_pem:
        key = _private_key(profile.dsc_key_pem, "document signer key")
        try:
            cert = x509.load_pem_x509_certificate(profile.dsc_cert_pem)
        except ValueError:
            try:
                cert = x509.load_der_x509_certificate(profile.dsc_cert_pem)
            except ValueError as e:
                raise InputError("card profile: document signer certificate is neither PEM nor DER") from e
        return key, cert
    from drivers.emulator.pki import load_demo

    _csca, cert, key = load_demo()
    return key, cert


def _version_digits(version: str) -> str:
    return "".join(f"{int(p):02d}" for p in version.split("."))


def signing_time(cert, profile: CardProfile) -> _dt.datetime:
    """When the emulated issuer signed the SOD: the card's issue date (or now), moved into the Document
    Signer's private key usage period when the certificate has one (ITU-T X.509 privateKeyUsagePeriod,
    part of the ICAO 9303-12 DSC profile: the key signs only within it, as on real CCCDs)."""
    when = _dt.datetime.now(_dt.timezone.utc)
    if profile.date_of_issue is not None:
        when = _dt.datetime.combine(profile.date_of_issue, _dt.time(3, 0), tzinfo=_dt.timezone.utc)
    try:
        period = cert.extensions.get_extension_for_class(x509.PrivateKeyUsagePeriod).value
    except x509.ExtensionNotFound:
        return when
    start = period.not_before.replace(tzinfo=_dt.timezone.utc) if period.not_before else None
    end = period.not_after.replace(tzinfo=_dt.timezone.utc) if period.not_after else None
    if start is not None and when < start:
        when = start
    if end is not None and when > end:
        when = end
    return when


def sod(profile: CardProfile, dg_raw: dict[int, bytes], *, lds_version: str | None = None,
        unicode_version: str = CCCD_UNICODE_VERSION, **options) -> bytes:
    """EF.SOD over ``dg_raw`` (DG number -> file bytes) signed by the profile's DSC or the demo DSC
    (:func:`drivers.emulator.pki.build_sod`; ``options`` go to it, e.g. tamper options).

    As on real CCCDs: LDSSecurityObject v0 (``lds_version=None``; give e.g. "1.8" for v1 with
    LDSVersionInfo), SHA-256, ecdsa-with-SHA256 for an EC signer, signed within its key usage period.
    """
    from drivers.emulator.pki import build_sod

    key, cert = _signer(profile)
    options.setdefault("sig", "ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-pss")
    options.setdefault("lds_version", (_version_digits(lds_version), _version_digits(unicode_version))
                       if lds_version else None)
    options.setdefault("signing_time", signing_time(cert, profile))
    return build_sod(dg_raw, key, cert, **options)


def dg2(profile: CardProfile, standard: str = "19794-5") -> bytes:
    """DG2 holding the profile's portrait byte for byte; chip option ``dg2_header_size`` ([w, h]) writes
    that size in the 19794-5 record header instead of the image's own (the real cards' 480 x 400 quirk)."""
    header = profile.chip.get("dg2_header_size")
    size: dict = {}
    if header:
        try:
            width, height = (int(v) for v in header)
        except (TypeError, ValueError) as e:
            raise InputError(f"card profile: chip.dg2_header_size must be [width, height], found {header!r}") from e
        if not (0 < width < 65536 and 0 < height < 65536):
            raise InputError(f"card profile: chip.dg2_header_size out of range: {header!r}")
        size = {"width": width, "height": height}
    return encode_dg2(profile.photo, standard=standard, gender="male" if profile.sex == "M" else "female", **size)


def personalise(profile: CardProfile, *, dg2_standard: str = "19794-5", lds_version: str = CCCD_LDS_VERSION,
                unicode_version: str = CCCD_UNICODE_VERSION, sign: bool = True,
                sod_options: dict | None = None) -> dict[str, bytes]:
    """Every file of the card: ``{"CardAccess", "COM", "DG1", "DG2", "DG3", "DG13", "DG14", "DG15", "SOD"}``
    (names as in :mod:`verifier.icao.lds.files`; CardAccess only with PACE, DG3 unless chip option
    ``dg3`` is off, DG14/DG15 only with keys, SOD only with ``sign``). ``lds_version`` and
    ``unicode_version`` go into EF.COM; the SOD is v0 unless ``sod_options`` say otherwise."""
    dgs: dict[int, bytes] = {
        1: encode_dg1(mrz_text(profile)),
        2: dg2(profile, dg2_standard),
        13: encode_dg13(dg13_fields(profile)),
    }
    d14 = dg14(profile)
    if d14:
        dgs[14] = d14
    d15 = dg15(profile)
    if d15:
        dgs[15] = d15
    files: dict[str, bytes] = {}
    if profile.chip.get("pace", True):
        files["CardAccess"] = card_access(profile)
    listed = [n for n in CCCD_DGS if n in dgs or (n == 3 and profile.chip.get("dg3", True))]
    files["COM"] = encode_com(listed, lds_version, unicode_version)
    for n in sorted(dgs):
        files[f"DG{n}"] = dgs[n]
    if profile.chip.get("dg3", True):
        files["DG3"] = DG3_PLACEHOLDER
    if sign:
        files["SOD"] = sod(profile, dgs, **(sod_options or {}))
    log.debug("personalised %s", ", ".join(f"{k} ({len(v)} B)" for k, v in files.items()))
    return files


def mrz_information(profile: CardProfile) -> str:
    """Document number + cd, date of birth + cd, date of expiry + cd, as on the card's MRZ
    (ICAO 9303-11 §4.3.2); works for cards without expiry ("<<<<<<" + "0")."""
    l1, l2, _ = mrz_text(profile).split("\n")
    return l1[5:15] + l2[0:7] + l2[8:15]


def make_chip(profile: CardProfile | str | Path, *, dg2_standard: str = "19794-5", sign: bool = True,
              sod_options: dict | None = None, replace_files: dict[str, bytes] | None = None,
              clone: bool = False, **options):
    """An :class:`drivers.emulator.chip.EmulatedChip` personalised from ``profile``.

    ``profile``: a :class:`CardProfile` or a profile directory. The chip answers BAC with the
    card's MRZ key (unless ``chip.bac`` is off; a card without expiry has ``<<<<<<`` as its MRZ
    date of expiry), PACE with the MRZ or the CAN (last 6 digits of the ID), chip authentication and
    active authentication with the profile's keys.

    ``replace_files``: files swapped in *after* signing (tampered cards); ``clone``: the chip
    runs chip/active authentication with fresh keys that do not match DG14/DG15 (a clone).
    Other ``options`` go to :class:`EmulatedChip` (``faults``, ``max_le``, ``extended_length``, ...).
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    from drivers.emulator.card_protocols import ActiveAuthResponder, ChipAuthResponder, PaceResponder
    from drivers.emulator.chip import EmulatedChip
    from drivers.emulator.profile import load_profile
    from verifier.icao.keys import NO_EXPIRY, BACKey

    if not isinstance(profile, CardProfile):
        profile = load_profile(profile)
    files = personalise(profile, dg2_standard=dg2_standard, sign=sign, sod_options=sod_options)
    files.update(replace_files or {})
    chip = profile.chip
    bac_key = None
    if chip.get("bac", True):
        expiry = NO_EXPIRY if profile.date_of_expiry is None else profile.date_of_expiry.strftime("%y%m%d")
        bac_key = BACKey(profile.id_number[-9:], profile.date_of_birth.strftime("%y%m%d"), expiry)
    mrz_password = hashlib.sha1(mrz_information(profile).encode("ascii")).digest()  # ICAO 9303-11 §9.7.3
    can = profile.id_number[-6:]

    def password_for(ref: int) -> bytes | None:
        return {1: mrz_password, 2: can.encode("ascii")}.get(ref)

    pace_responder = None
    if chip.get("pace", True) and "CardAccess" in files:
        pace_responder = PaceResponder(password_for, files["CardAccess"])
    ca_key = _private_key(profile.chip_auth_key_pem, "chip authentication key")
    aa_key = _private_key(profile.active_auth_key_pem, "active authentication key")
    if clone:
        if ca_key is not None:
            ca_key = ec.generate_private_key(ca_key.curve)
        if isinstance(aa_key, ec.EllipticCurvePrivateKey):
            aa_key = ec.generate_private_key(aa_key.curve)
        elif aa_key is not None:
            aa_key = rsa.generate_private_key(public_exponent=65537, key_size=aa_key.key_size)
    ca_responder = ChipAuthResponder(ca_key) if ca_key is not None and chip.get("chip_auth", True) else None
    aa_responder = ActiveAuthResponder(aa_key) if aa_key is not None and chip.get("active_auth", True) else None
    return EmulatedChip(files, bac_key, can=can, pace_responder=pace_responder, aa_responder=aa_responder,
                        ca_responder=ca_responder, **options)


__all__ = ["personalise", "make_chip", "mrz_text", "mrz_information", "dg13_fields", "card_access", "CCCD_DGS"]

"""Personalise an emulated CCCD from a card profile: build every file the chip serves.

What a chipped CCCD carries (public readers; ``/work/shared/data/README.md``):

* EF.CardAccess: PACEInfo (ECDH generic mapping) when PACE is on (ICAO 9303-11 §9.2.1);
* EF.COM listing DG1, DG2, DG13, DG14, DG15 (ICAO 9303-10 §4.6.1);
* DG1: TD1 MRZ, document code "ID", state "VNM", document number = last 9 digits of the
  ID number, the full ID number in the optional data (ICAO 9303-5 §4.2);
* DG2: the portrait (ISO/IEC 19794-5 record, JPEG 2000 or JPEG);
* DG13: the Vietnamese personal data (:mod:`verifier.cccd.dg13`);
* DG14: ChipAuthenticationPublicKeyInfo + ChipAuthenticationInfo (+ PACEInfo,
  ActiveAuthenticationInfo for an EC AA key) (ICAO 9303-11 §9.2);
* DG15: the Active Authentication public key (ICAO 9303-11 §6.1);
* EF.SOD: hashes of the DGs signed by the document signer (ICAO 9303-10 §4.6.2).

A card without expiry carries ``<<<<<<`` as MRZ date of expiry (check digit 0).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from drivers.emulator.profile import CardProfile
from verifier.cccd.dg13 import encode_dg13
from verifier.cccd.qr import NO_EXPIRY
from verifier.errors import InputError
from verifier.icao.lds.com import encode_com
from verifier.icao.lds.dg1 import encode_dg1
from verifier.icao.lds.dg2 import encode_dg2
from verifier.icao.lds.dg14 import encode_dg14
from verifier.icao.lds.dg15 import encode_dg15
from verifier.icao.lds.security_infos import ID_AA, ActiveAuthenticationInfo, PACEInfo, parse_card_access
from verifier.icao.mrz import format_cccd_td1

log = logging.getLogger(__name__)

#: Data groups a CCCD lists in EF.COM, in order.
CCCD_DGS = (1, 2, 13, 14, 15)


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


def _pace_info(profile: CardProfile) -> PACEInfo:
    """The PACEInfo of EF.CardAccess, repeated in DG14."""
    return parse_card_access(card_access(profile)).pace[0]


def card_access(profile: CardProfile) -> bytes:
    """EF.CardAccess for a PACE chip (P2's :func:`verifier.icao.pace.card_access_for`)."""
    from verifier.icao.pace import card_access_for

    chip = profile.chip
    bits = int(chip.get("pace_key_bits", 128))
    cipher = "3DES" if chip.get("pace_cipher", "AES") == "3DES" else f"AES-{bits}"
    return card_access_for(int(chip.get("pace_parameter_id", 13)), cipher)


def dg14(profile: CardProfile) -> bytes | None:
    """ChipAuthenticationPublicKeyInfo + ChipAuthenticationInfo (AES-128), PACEInfo, and for an EC
    Active Authentication key the ActiveAuthenticationInfo naming the plain-ECDSA algorithm the
    emulated chip signs with (ICAO 9303-11 §9.2.5, §9.2.6, §9.2.10)."""
    from drivers.emulator.card_protocols import ActiveAuthResponder, as_private_key, chip_auth_infos

    infos = []
    ca_key = _private_key(profile.chip_auth_key_pem, "chip authentication key")
    if ca_key is not None and profile.chip.get("chip_auth", True):
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise InputError("card profile: chip authentication key must be an EC key")
        infos.extend(chip_auth_infos(as_private_key(ca_key), _spki(ca_key), cipher="AES-128"))
    if profile.chip.get("pace", True):
        infos.append(_pace_info(profile))
    aa_key = _private_key(profile.active_auth_key_pem, "active authentication key")
    if aa_key is not None and profile.chip.get("active_auth", True):
        algorithm = ActiveAuthResponder(aa_key).signature_algorithm
        if algorithm:
            infos.append(ActiveAuthenticationInfo(ID_AA, 1, algorithm))
    return encode_dg14(infos) if infos else None


def dg15(profile: CardProfile) -> bytes | None:
    key = _private_key(profile.active_auth_key_pem, "active authentication key")
    if key is None or not profile.chip.get("active_auth", True):
        return None
    return encode_dg15(_spki(key))


def _signer(profile: CardProfile):
    """(dsc_key, dsc_cert): the profile's own signer, or T's committed demo DSC (``pki.load_demo``)."""
    from cryptography import x509

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


def sod(profile: CardProfile, dg_raw: dict[int, bytes], *, lds_version: str = "1.8",
        unicode_version: str = "4.0.0", **options) -> bytes:
    """EF.SOD over ``dg_raw`` (DG number -> file bytes) signed by the profile's DSC or the demo DSC
    (T's :func:`drivers.emulator.pki.build_sod`; ``options`` go to it, e.g. tamper options)."""
    from drivers.emulator.pki import build_sod

    key, cert = _signer(profile)
    options.setdefault("sig", "ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-pss")
    options.setdefault("lds_version", (_version_digits(lds_version), _version_digits(unicode_version)))
    return build_sod(dg_raw, key, cert, **options)


def personalise(profile: CardProfile, *, dg2_standard: str = "19794-5", lds_version: str = "1.8",
                unicode_version: str = "4.0.0", sign: bool = True, sod_options: dict | None = None) -> dict[str, bytes]:
    """Every file of the card: ``{"CardAccess", "COM", "DG1", "DG2", "DG13", "DG14", "DG15", "SOD"}``
    (names as in :mod:`verifier.icao.lds.files`; CardAccess only with PACE, DG14/DG15 only with keys,
    SOD only with ``sign``)."""
    dgs: dict[int, bytes] = {
        1: encode_dg1(mrz_text(profile)),
        2: encode_dg2(profile.photo, standard=dg2_standard, gender="male" if profile.sex == "M" else "female"),
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
    files["COM"] = encode_com(sorted(dgs), lds_version, unicode_version)
    for n in sorted(dgs):
        files[f"DG{n}"] = dgs[n]
    if sign:
        files["SOD"] = sod(profile, dgs, lds_version=lds_version, unicode_version=unicode_version,
                           **(sod_options or {}))
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

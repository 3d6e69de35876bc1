"""What an LDS file holds, as plain JSON-able fields: for ``chipid lds show`` and ``chipid read --diagnose``.

A file is recognised by its first tag (ICAO 9303-10 §4.6, Table 34; EF.CardAccess is a bare
``SET OF SecurityInfo``, ICAO 9303-10 §3.11.3) and parsed with the project's own parsers:

=======  ===============  =====================================================
tag      file             parser
=======  ===============  =====================================================
``31``   EF.CardAccess    :func:`verifier.icao.lds.security_infos.parse_card_access`
``60``   EF.COM           :func:`verifier.icao.lds.com.parse_com`
``77``   EF.SOD           :func:`verifier.trust.sod.parse_sod`
``61``   DG1              :func:`verifier.icao.lds.dg1.parse_dg1`
``75``   DG2              :func:`verifier.icao.lds.dg2.parse_dg2`
``6D``   DG13 (CCCD)      :func:`verifier.cccd.dg13.parse_dg13`
``6E``   DG14             :func:`verifier.icao.lds.dg14.parse_dg14`
``6F``   DG15             :func:`verifier.icao.lds.dg15.parse_dg15`
=======  ===============  =====================================================

A bare ISO/IEC 19794-5 face record (``FAC\\0``, the biometric data block inside DG2) is
accepted too. Dumps are often hex text: :func:`decode_dump` takes raw bytes or hex.

Nothing here decides what may be shown: ``lds show`` prints everything (the operator's own
files, personal data included); :mod:`verifier.diagnose` picks only non-personal fields.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import re

from verifier.errors import ChipidError, ParseError
from verifier.icao.lds import security_infos as si

#: First tag -> file name, for the files ``lds show`` understands.
KINDS = {0x31: "EF.CardAccess", 0x60: "EF.COM", 0x77: "EF.SOD", 0x61: "DG1", 0x75: "DG2",
         0x6D: "DG13", 0x6E: "DG14", 0x6F: "DG15"}
FACE_RECORD = "ISO/IEC 19794-5 face record"
FACE_RECORD_MAGIC = b"FAC\x00"
EXPECTED = ("an LDS file starting with tag 31 (EF.CardAccess), 60 (EF.COM), 77 (EF.SOD), 61 (DG1), 75 (DG2), "
            "6D (DG13), 6E (DG14) or 6F (DG15), or an ISO/IEC 19794-5 face record (FAC\\0)")

_HEX_TEXT = re.compile(rb"(?:0[xX])?[0-9A-Fa-f:\s]+")

#: Protocol OID families of SecurityInfos (ICAO 9303-11 §9.2, BSI TR-03110-3 A.1) -> names.
_FAMILY_NAMES = {
    si.ID_PACE_DH_GM: "id-PACE-DH-GM", si.ID_PACE_ECDH_GM: "id-PACE-ECDH-GM", si.ID_PACE_DH_IM: "id-PACE-DH-IM",
    si.ID_PACE_ECDH_IM: "id-PACE-ECDH-IM", si.ID_PACE_ECDH_CAM: "id-PACE-ECDH-CAM",
    si.ID_CA_DH: "id-CA-DH", si.ID_CA_ECDH: "id-CA-ECDH",
}
_CIPHER_NAMES = {1: "3DES-CBC-CBC", 2: "AES-CBC-CMAC-128", 3: "AES-CBC-CMAC-192", 4: "AES-CBC-CMAC-256"}
_OID_NAMES = {si.ID_PK_DH: "id-PK-DH", si.ID_PK_ECDH: "id-PK-ECDH", si.ID_TA: "id-TA", si.ID_AA: "id-AA",
              si.ID_TA + ".1": "id-TA-RSA", si.ID_TA + ".2": "id-TA-ECDSA"}


def decode_dump(data: bytes) -> bytes:
    """The file's bytes: ``data`` itself, or the bytes it spells when it is hex text
    (whitespace, ``:`` separators and a leading ``0x`` allowed; an odd digit count is not hex)."""
    text = bytes(data).strip()
    if text and _HEX_TEXT.fullmatch(text):
        digits = re.sub(rb"0[xX]|[:\s]", b"", text) if text[:2].lower() == b"0x" else re.sub(rb"[:\s]", b"", text)
        if digits and len(digits) % 2 == 0 and re.fullmatch(rb"[0-9A-Fa-f]+", digits):
            return bytes.fromhex(digits.decode("ascii"))
    return bytes(data)


def identify(raw: bytes) -> str:
    """The file's name ("EF.SOD", "DG13", ...) from its first tag; :class:`ParseError` when it is none of them."""
    if raw[:4] == FACE_RECORD_MAGIC:
        return FACE_RECORD
    if not raw:
        raise ParseError(f"the file is empty: expected {EXPECTED}")
    if raw[0] not in KINDS:
        raise ParseError(f"first byte {raw[0]:02X}: expected {EXPECTED}")
    return KINDS[raw[0]]


def plain(value):
    """A JSON-able copy of ``value``: dates as ISO text, bytes as hex, dataclasses and tuples opened up."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "raw"}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def protocol_name(oid: str) -> str:
    """A readable name of a SecurityInfo protocol OID (the OID itself when unknown)."""
    if oid in _OID_NAMES:
        return _OID_NAMES[oid]
    parts = si.split_cipher_suffix(oid)
    if parts and parts[0] in _FAMILY_NAMES and parts[1] in _CIPHER_NAMES:
        return f"{_FAMILY_NAMES[parts[0]]}-{_CIPHER_NAMES[parts[1]]}"
    return oid


def security_info_fields(info, *, with_keys: bool = True) -> dict:
    """One SecurityInfo as fields (generic over the parser's dataclasses); a public key is also
    described ("ECDSA brainpoolP256r1"). ``with_keys=False`` leaves out key bytes and unknown contents."""
    out = {"kind": type(info).__name__, "protocol": info.protocol, "protocol_name": protocol_name(info.protocol)}
    fields = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
    fields.pop("protocol", None)
    key = fields.pop("public_key", None)
    unknown = fields.pop("raw", None)
    out.update({k: plain(v) for k, v in fields.items()})
    if isinstance(out.get("signature_algorithm"), str):  # ActiveAuthenticationInfo: an OID
        from verifier.trust.signatures import algorithm_name

        out["signature_algorithm_name"] = algorithm_name(out["signature_algorithm"])
    if isinstance(key, (bytes, bytearray)):
        out["key"] = chip_key_text(bytes(key))
        if with_keys:
            out.update(public_key_sha256=hashlib.sha256(key).hexdigest(), public_key=bytes(key).hex())
    if unknown is not None and with_keys:
        out["raw"] = plain(unknown)
    return out


def chip_key_text(spki: bytes) -> str:
    """A chip's public key (DG14 chip authentication, DG15 active authentication) in words, read with
    :func:`verifier.icao.chip_keys.parse_public_key` (id-PK-ECDH and explicit curves included)."""
    from verifier.icao.chip_keys import DHPublicKey, ECPublicKey, parse_public_key

    try:
        key = parse_public_key(spki)
    except ChipidError as e:
        return f"unusable key: {e.message}"
    if isinstance(key, ECPublicKey):
        return f"EC {key.curve.name} ({key.curve.p.bit_length()} bits)"
    if isinstance(key, DHPublicKey):
        return f"DH {key.params.p.bit_length()} bits"
    return f"RSA-{key.bits} (e={key.e})"


def card_access_fields(raw: bytes) -> dict:
    """EF.CardAccess (ICAO 9303-10 §3.11.3): its SecurityInfos."""
    from verifier.icao.lds.security_infos import parse_card_access

    return {"security_infos": [security_info_fields(i) for i in parse_card_access(raw).infos]}


def com_fields(raw: bytes) -> dict:
    """EF.COM (ICAO 9303-10 §4.6.1): LDS and Unicode versions, the data groups listed, in order."""
    from verifier.icao.lds.com import parse_com

    com = parse_com(raw)
    return {"lds_version": com.lds_version, "unicode_version": com.unicode_version,
            "data_groups": [f"DG{n}" for n in com.dg_numbers], "unknown_tags": [f"{t:02X}" for t in com.unknown_tags]}


def certificate_fields(der: bytes, index: int = 0) -> dict:
    """An X.509 certificate (RFC 5280): names, serial, validity, key, signature algorithm, SHA-256."""
    from verifier.trust import signatures
    from verifier.trust.certs import load_certificate

    cert = load_certificate(der, what=f"embedded certificate {index + 1}")
    out = cert.summary()
    out["signature_algorithm"] = signatures.algorithm_name(cert.signature_algorithm)
    return out


def sod_fields(raw: bytes) -> dict:
    """EF.SOD (ICAO 9303-10 §4.6.2): the LDSSecurityObject, the SignerInfo and the embedded certificates.

    ``certificates[i].signer`` is True for the Document Signer the SignerInfo names (RFC 5652 §5.3)."""
    from verifier.trust.sod import parse_sod
    from verifier.trust import cms, signatures
    from verifier.trust.certs import load_certificate

    sod = parse_sod(raw)
    signer = sod.signer
    certificates = []
    for i, der in enumerate(sod.certificates):
        try:
            fields = certificate_fields(der, i)
            fields["signer"] = cms.signer_matches(signer, load_certificate(der)) is not None
        except ChipidError as e:
            fields = {"error": str(e), "sha256": hashlib.sha256(der).hexdigest(), "signer": False}
        certificates.append(fields)
    signing_time = signer.signing_time
    return {
        "signed_data_version": sod.signed_data_version,
        "content_type": sod.content_type,
        "digest_algorithms": [signatures.DIGESTS.get(o, o) for o in sod.digest_algorithms],
        "lds_object_version": sod.lds_object_version,
        "hash_algorithm": sod.hash_algorithm,
        "lds_version": sod.lds_version,
        "unicode_version": sod.unicode_version,
        "data_groups": [f"DG{n}" for n in sorted(sod.dg_hashes)],
        "dg_hashes": {f"DG{n}": h.hex() for n, h in sorted(sod.dg_hashes.items())},
        "signer": {
            "version": signer.version,
            "identified_by": signer.sid_kind,
            "serial": format(signer.sid_serial, "x") if signer.sid_serial is not None else None,
            "key_identifier": signer.sid_key_identifier.hex() if signer.sid_key_identifier else None,
            "digest_algorithm": signatures.DIGESTS.get(signer.digest_algorithm, signer.digest_algorithm),
            "signature_algorithm": signatures.algorithm_name(signer.signature_algorithm),
            "signing_time": signing_time.isoformat() if signing_time else None,
        },
        "certificates": certificates,
    }


def dg1_fields(raw: bytes) -> dict:
    """DG1 (ICAO 9303-10 §4.7.1): the MRZ, line by line and field by field."""
    from verifier.icao.lds.dg1 import parse_dg1

    mrz = parse_dg1(raw).mrz
    fields = {f.name: plain(getattr(mrz, f.name)) for f in dataclasses.fields(mrz) if f.name != "raw"}
    return {"mrz": mrz.lines, **fields}


def _face_fields(face) -> dict:
    out = plain(face)
    out.pop("image", None)
    out.update(image_bytes=len(face.image), image_sha256=hashlib.sha256(face.image).hexdigest())
    return out


def dg2_fields(raw: bytes) -> dict:
    """DG2 (ICAO 9303-10 §4.7.2): each face's record fields; the image by size and SHA-256."""
    from verifier.icao.lds.dg2 import parse_dg2

    dg2 = parse_dg2(raw)
    return {"faces": [_face_fields(f) for f in dg2.faces],
            "biometric_header": {f"{t:02X}": v.hex() for t, v in dg2.header.items()}}


def face_record_fields(raw: bytes) -> dict:
    """A bare ISO/IEC 19794-5 face record (the data block of DG2's 5F2E)."""
    from verifier.icao.lds.face_19794 import parse_19794_5

    return {"faces": [_face_fields(f) for f in parse_19794_5(raw, "face record")]}


def dg13_fields(raw: bytes) -> dict:
    """DG13 of a CCCD: whatever :func:`verifier.cccd.dg13.parse_dg13` returns, field by field."""
    from verifier.cccd.dg13 import parse_dg13

    return plain(parse_dg13(raw))


def dg14_fields(raw: bytes) -> dict:
    """DG14 (ICAO 9303-10 §4.7.14): its SecurityInfos, chip authentication keys included."""
    from verifier.icao.lds.dg14 import parse_dg14

    return {"security_infos": [security_info_fields(i) for i in parse_dg14(raw).security_infos.infos]}


def dg15_fields(raw: bytes) -> dict:
    """DG15 (ICAO 9303-10 §4.7.15): the active authentication public key."""
    from verifier.icao.lds.dg15 import parse_dg15

    spki = parse_dg15(raw).public_key_info
    return {"key": chip_key_text(spki), "public_key_sha256": hashlib.sha256(spki).hexdigest(),
            "public_key": spki.hex()}


_FIELDS = {"EF.CardAccess": card_access_fields, "EF.COM": com_fields, "EF.SOD": sod_fields, "DG1": dg1_fields,
           "DG2": dg2_fields, "DG13": dg13_fields, "DG14": dg14_fields, "DG15": dg15_fields,
           FACE_RECORD: face_record_fields}


def summarise(raw: bytes) -> dict:
    """``{"file", "tag", "size", "sha256", "fields"}`` of one LDS file.

    Raises :class:`ParseError` (or another :class:`ChipidError`) naming what was expected."""
    raw = bytes(raw)
    kind = identify(raw)
    try:
        fields = _FIELDS[kind](raw)
    except ChipidError as e:
        raise ParseError(f"not a valid {kind}: {e}") from e
    return {"file": kind, "tag": "" if kind == FACE_RECORD else f"{raw[0]:02X}", "size": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(), "fields": fields}


def flatten(value, prefix: str = "") -> list[tuple[str, str]]:
    """``(key.path, text)`` rows of nested fields, for a readable table."""
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for k, v in value.items():
            rows += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return rows
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        rows = []
        for i, v in enumerate(value):
            rows += flatten(v, f"{prefix}[{i}]")
        return rows
    if isinstance(value, list):
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, "-" if value is None else str(value))]

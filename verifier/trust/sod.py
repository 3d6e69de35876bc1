"""EF.SOD, the Document Security Object (ICAO 9303-10 §4.6.2, ICAO 9303-12 §4.1.6 / App. D).

EF.SOD is tag 0x77 wrapping a CMS ContentInfo of type signedData (RFC 5652 §5) whose
encapsulated content is the LDSSecurityObject (ICAO 9303-10 §4.6.2.2), declared below as
asn1crypto specs with the spec's field names::

    LDSSecurityObject ::= SEQUENCE {
        version                LDSSecurityObjectVersion,       -- v0(0) or v1(1)
        hashAlgorithm          DigestAlgorithmIdentifier,
        dataGroupHashValues    SEQUENCE SIZE (2..ub-DataGroups) OF DataGroupHash,
        ldsVersionInfo         LDSVersionInfo OPTIONAL }       -- only in v1
    DataGroupHash ::= SEQUENCE { dataGroupNumber DataGroupNumber, dataGroupHashValue OCTET STRING }
    DataGroupNumber ::= INTEGER (1..16)
    LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }

Two readers, each where it serves: the CMS envelope (tag 77, ContentInfo, SignedData, SignerInfo,
embedded certificates) goes through :func:`verifier.trust.cms.parse_signed_data`, the bounded
byte-offset reader also used for multi-megabyte master lists (:mod:`verifier.trust.der`: sizes,
depth, node counts, OID limits); the LDSSecurityObject, a small fixed structure, is loaded
through :class:`LDSSecurityObject` once its size is bounded (:data:`MAX_LDS_SECURITY_OBJECT_BYTES`).

Every byte is kept as received: ``SOD.econtent`` is what the message-digest attribute covers and
is hashed as read, the signed attributes are verified re-tagged from [0] IMPLICIT to SET OF by
changing the first byte only (RFC 5652 §5.4), the embedded certificates are kept as embedded.
Nothing is re-encoded ("hash the bytes that were read"). Signature checks live in
:mod:`verifier.trust.passive`.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import algos, core

from verifier.errors import ChipidError, LimitExceededError, ParseError
from verifier.icao import tlv
from verifier.trust import cms, der, signatures
from verifier.trust.cms import SignerInfo

__all__ = ["SOD", "SignerInfo", "parse_sod", "parse_lds_security_object", "LDSSecurityObject",
           "ACCEPTED_CONTENT_TYPES", "LDS_SECURITY_OBJECT"]

SOD_TAG = 0x77
MAX_SOD_BYTES = 256 * 1024
MAX_SOD_NODES = 10_000
#: ub-DataGroups (ICAO 9303-10 §4.6.2.2): data groups 1 to 16.
MAX_DATA_GROUPS = 16
#: Largest LDSSecurityObject accepted: 16 SHA-512 hashes take about 1.2 KB, so a larger one is
#: hostile; bounding it keeps the asn1crypto load small whatever the content claims.
MAX_LDS_SECURITY_OBJECT_BYTES = 4096

#: eContentType of the LDSSecurityObject (ICAO 9303-10 §4.6.2.1: id-icao-mrtd-security-ldsSecurityObject).
LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
#: Legacy OID written by early passports before ICAO's arc was assigned.
LDS_SECURITY_OBJECT_LEGACY = "1.3.27.1.1.1"
#: id-data, written by some issuers instead of the ICAO OID.
ID_DATA = "1.2.840.113549.1.7.1"
ACCEPTED_CONTENT_TYPES = (LDS_SECURITY_OBJECT, LDS_SECURITY_OBJECT_LEGACY, ID_DATA)

#: What asn1crypto raises, lazily, on malformed input; each becomes a :class:`ParseError`.
_ASN1_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)


# --- ICAO 9303-10 §4.6.2.2, as asn1crypto specs ---------------------------------------------


class DataGroupHash(core.Sequence):
    _fields = [("dataGroupNumber", core.Integer), ("dataGroupHashValue", core.OctetString)]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class VersionString(core.Choice):
    """PrintableString in the spec; UTF8String and IA5String are read too, as issuers write them."""

    _alternatives = [("printable", core.PrintableString), ("utf8", core.UTF8String), ("ia5", core.IA5String)]


class LDSVersionInfo(core.Sequence):
    _fields = [("ldsVersion", VersionString), ("unicodeVersion", VersionString)]


class LDSSecurityObject(core.Sequence):
    """``hashAlgorithm`` is asn1crypto's DigestAlgorithmIdentifier (RFC 5652 §10.1.1: ``algorithm``,
    ``parameters``)."""

    _fields = [
        ("version", core.Integer),
        ("hashAlgorithm", algos.DigestAlgorithm),
        ("dataGroupHashValues", DataGroupHashValues),
        ("ldsVersionInfo", LDSVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class SOD:
    """A parsed EF.SOD. ``raw`` is the file as read (up to the end of tag 77); ``econtent`` the
    LDSSecurityObject bytes that the message-digest attribute covers."""

    raw: bytes
    content_type: str  # eContentType OID
    signed_data_version: int
    digest_algorithms: tuple[str, ...]
    econtent: bytes
    lds_object_version: int
    hash_algorithm_oid: str
    hash_algorithm: str  # "sha256", ... (the OID itself when unknown)
    dg_hashes: dict[int, bytes]
    lds_version: str | None
    unicode_version: str | None
    signer: SignerInfo
    certificates: tuple[bytes, ...]  # DER exactly as embedded

    @property
    def legacy_content_type(self) -> bool:
        return self.content_type != LDS_SECURITY_OBJECT


def parse_sod(data: bytes) -> SOD:
    """Parse EF.SOD (tag 0x77; BER or DER; padding after the file is ignored).

    Raises :class:`ParseError` for a malformed file and :class:`LimitExceededError` for
    hostile sizes, depths, tags or OIDs. Exactly one SignerInfo is required (ICAO 9303-10 §4.6.2.2).
    """
    data = bytes(data)
    if len(data) > MAX_SOD_BYTES:
        raise LimitExceededError(f"EF.SOD of {len(data)} bytes: at most {MAX_SOD_BYTES} allowed")
    if not data:
        raise ParseError("EF.SOD is empty")
    outer = der.read_node(data, 0)
    if not outer.is_(SOD_TAG & 0x1F, der.APPLICATION, True):
        raise ParseError(f"EF.SOD: expected tag 77, found {data[0]:02X}")
    der.validate(outer, MAX_SOD_NODES)
    inner = outer.children()
    if len(inner) != 1:
        raise ParseError(f"EF.SOD: expected one ContentInfo inside tag 77, found {len(inner)} elements")
    sd = cms.parse_signed_data(inner[0], "EF.SOD", max_nodes=MAX_SOD_NODES, validated=True)
    if sd.content_type not in ACCEPTED_CONTENT_TYPES:
        raise ParseError(f"EF.SOD eContentType {sd.content_type}: expected the LDSSecurityObject {LDS_SECURITY_OBJECT} "
                         f"(or legacy {LDS_SECURITY_OBJECT_LEGACY} / id-data {ID_DATA})")
    if len(sd.signer_infos) != 1:
        raise ParseError(f"EF.SOD: expected exactly one SignerInfo (ICAO 9303-10 §4.6.2.2), found {len(sd.signer_infos)}")
    lds = parse_lds_security_object(sd.econtent)
    return SOD(raw=data[: outer.end], content_type=sd.content_type, signed_data_version=sd.version,
               digest_algorithms=sd.digest_algorithms, econtent=sd.econtent, certificates=sd.certificates,
               signer=sd.signer_infos[0], **lds)


def parse_lds_security_object(econtent: bytes) -> dict:
    """The fields of an LDSSecurityObject (ICAO 9303-10 §4.6.2.2) read through :class:`LDSSecurityObject`:
    ``lds_object_version``, ``hash_algorithm_oid``, ``hash_algorithm``, ``dg_hashes`` {number: hash},
    ``lds_version``, ``unicode_version`` (None in v0). ``econtent`` is only read, never re-encoded.

    The plain DER shape every issuer writes is read by :func:`_lds_fields_der` (the bounded reader, a few
    microseconds); anything else, and every refusal, goes through the asn1crypto spec, which decides."""
    econtent = bytes(econtent)
    if len(econtent) > MAX_LDS_SECURITY_OBJECT_BYTES:
        raise LimitExceededError(f"LDSSecurityObject of {len(econtent)} bytes: at most "
                                 f"{MAX_LDS_SECURITY_OBJECT_BYTES} allowed")
    try:
        fields = _lds_fields_der(econtent)
    except ChipidError:
        fields = None
    if fields is not None:
        return fields
    return _lds_fields_asn1(econtent)


def _lds_fields_asn1(econtent: bytes) -> dict:
    """:func:`parse_lds_security_object` through the asn1crypto spec (any shape, and every refusal)."""
    try:
        obj = LDSSecurityObject.load(econtent, strict=True)
        return _lds_fields(obj)
    except _ASN1_ERRORS as e:
        raise ParseError(f"LDSSecurityObject: malformed ({_first_line(e)})") from e


def _lds_fields(obj: LDSSecurityObject) -> dict:
    _declared_fields_only(obj, "LDSSecurityObject")
    _declared_fields_only(obj["hashAlgorithm"], "LDSSecurityObject hashAlgorithm")
    version = _small_int(obj["version"], "LDSSecurityObject version")
    if version not in (0, 1):
        raise ParseError(f"LDSSecurityObject version {version}: expected 0 (v0) or 1 (v1)")
    # the OID limits of the bounded reader (size, arcs), then its dotted form
    hash_oid = der.decode_oid(obj["hashAlgorithm"]["algorithm"].contents, "LDSSecurityObject hashAlgorithm")
    hash_name = signatures.DIGESTS.get(hash_oid, hash_oid)
    size = signatures.DIGEST_SIZES.get(hash_name)
    values = obj["dataGroupHashValues"]
    if len(values) == 0:
        raise ParseError("LDSSecurityObject: dataGroupHashValues is empty")
    if len(values) > MAX_DATA_GROUPS:
        raise ParseError(f"LDSSecurityObject: {len(values)} data group hashes, at most {MAX_DATA_GROUPS} data groups exist")
    dg_hashes: dict[int, bytes] = {}
    for entry in values:
        _declared_fields_only(entry, "DataGroupHash")
        number = _small_int(entry["dataGroupNumber"], "dataGroupNumber")
        if not 1 <= number <= MAX_DATA_GROUPS:
            raise ParseError(f"DataGroupHash: data group number {number} out of range 1-16")
        if number in dg_hashes:
            raise ParseError(f"DataGroupHash: data group {number} listed twice")
        value = entry["dataGroupHashValue"].native
        if size is not None and len(value) != size:
            raise ParseError(f"DataGroupHash of DG{number}: {len(value)} bytes, but {hash_name} gives {size}")
        dg_hashes[number] = value
    info = obj["ldsVersionInfo"]
    lds_version = unicode_version = None
    if not isinstance(info, core.Void):
        if version != 1:
            raise ParseError("LDSSecurityObject: ldsVersionInfo present but version is not v1")
        _declared_fields_only(info, "LDSVersionInfo")
        lds_version = info["ldsVersion"].chosen.native
        unicode_version = info["unicodeVersion"].chosen.native
    return dict(lds_object_version=version, hash_algorithm_oid=hash_oid, hash_algorithm=hash_name,
                dg_hashes=dg_hashes, lds_version=lds_version, unicode_version=unicode_version)


#: The character strings of LDSVersionInfo (:class:`VersionString`), by tag -> how asn1crypto decodes each.
_VERSION_STRINGS = {der.PRINTABLESTRING: "latin1", der.UTF8STRING: "utf-8", der.IA5STRING: "ascii"}
#: The tag of a SEQUENCE (constructed); the other universal tags read below are primitive: the tag is the number.
_SEQUENCE_TAG = 0x20 | der.SEQUENCE


def _lds_fields_der(econtent: bytes) -> dict | None:
    """The fields of :func:`_lds_fields` for an LDSSecurityObject in plain DER (universal one-byte tags,
    shortest definite lengths: :func:`verifier.icao.tlv.der_elements`; primitive values, hashAlgorithm
    parameters absent or NULL, nothing after it), read in place; None for any other shape or any refusal (the
    asn1crypto spec then decides, with its own message). For what it accepts, it gives what
    :func:`_lds_fields` gives: tests hold the two together on generated and mutated objects."""
    top = tlv.der_elements(econtent, 0, len(econtent))
    parts = top and len(top) == 1 and top[0][0] == _SEQUENCE_TAG and tlv.der_elements(econtent, *top[0][1:])
    if not parts or len(parts) not in (3, 4):
        return None
    (version_tag, version_start, version_end), (alg_tag, alg_start, alg_end), (values_tag, *values_span) = parts[:3]
    if (version_tag != der.INTEGER or not 1 <= version_end - version_start <= 2 or alg_tag != _SEQUENCE_TAG
            or values_tag != _SEQUENCE_TAG):
        return None
    version = int.from_bytes(econtent[version_start:version_end], "big", signed=True)
    alg = tlv.der_elements(econtent, alg_start, alg_end)
    if version not in (0, 1) or not alg or len(alg) > 2 or alg[0][0] != der.OID:
        return None
    if len(alg) == 2 and (alg[1][0] != der.NULL or alg[1][1] != alg[1][2]):
        return None
    hash_oid = der.decode_oid(econtent[alg[0][1] : alg[0][2]], "LDSSecurityObject hashAlgorithm")
    hash_name = signatures.DIGESTS.get(hash_oid, hash_oid)
    size = signatures.DIGEST_SIZES.get(hash_name)
    values = tlv.der_elements(econtent, *values_span)
    if not values or len(values) > MAX_DATA_GROUPS:
        return None
    dg_hashes: dict[int, bytes] = {}
    for tag, start, end in values:
        pair = tlv.der_elements(econtent, start, end) if tag == _SEQUENCE_TAG else None
        if not pair or len(pair) != 2:
            return None
        (number_tag, number_start, number_end), (value_tag, value_start, value_end) = pair
        if number_tag != der.INTEGER or value_tag != der.OCTET_STRING or not 1 <= number_end - number_start <= 2:
            return None
        number = int.from_bytes(econtent[number_start:number_end], "big", signed=True)
        value = econtent[value_start:value_end]
        if not 1 <= number <= MAX_DATA_GROUPS or number in dg_hashes or (size is not None and len(value) != size):
            return None
        dg_hashes[number] = value
    lds_version = unicode_version = None
    if len(parts) == 4:
        info_tag, *info_span = parts[3]
        info = tlv.der_elements(econtent, *info_span) if version == 1 and info_tag == _SEQUENCE_TAG else None
        if not info or len(info) != 2 or info[0][0] not in _VERSION_STRINGS or info[1][0] not in _VERSION_STRINGS:
            return None
        try:
            lds_version, unicode_version = (econtent[start:end].decode(_VERSION_STRINGS[tag]) for tag, start, end in info)
        except UnicodeDecodeError:
            return None
    return dict(lds_object_version=version, hash_algorithm_oid=hash_oid, hash_algorithm=hash_name,
                dg_hashes=dg_hashes, lds_version=lds_version, unicode_version=unicode_version)


def _declared_fields_only(seq: core.Sequence, what: str) -> None:
    """asn1crypto keeps fields beyond the declared ones (X.680 extensibility); these structures have none."""
    if len(seq) > len(seq._fields):
        names = ", ".join(name for name, *_ in seq._fields)
        raise ParseError(f"{what}: expected {names}, found {len(seq)} elements")


def _small_int(value: core.Integer, what: str) -> int:
    """An INTEGER of at most 2 bytes (versions, data group numbers); larger ones are out of range."""
    if not value.contents:
        raise ParseError(f"{what}: empty INTEGER")
    if len(value.contents) > 2:
        raise ParseError(f"{what}: INTEGER of {len(value.contents)} bytes, out of range")
    return value.native


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__

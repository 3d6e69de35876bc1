"""EF.SOD, the Document Security Object (ICAO 9303-10 §4.6.2, ICAO 9303-12 §4.1.6 / App. D).

EF.SOD is tag 0x77 wrapping a CMS ContentInfo of type signedData (RFC 5652 §5) whose
encapsulated content is the LDSSecurityObject::

    LDSSecurityObject ::= SEQUENCE {
        version                LDSSecurityObjectVersion,       -- v0(0) or v1(1)
        hashAlgorithm          DigestAlgorithmIdentifier,
        dataGroupHashValues    SEQUENCE SIZE (2..ub-DataGroups) OF DataGroupHash,
        ldsVersionInfo         LDSVersionInfo OPTIONAL }       -- only in v1
    DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER (1..16), dataGroupHashValue OCTET STRING }

Parsing is bounded (:mod:`verifier.trust.der`; BER indefinite lengths accepted) and keeps every
byte as received: the eContent to hash, the signed attributes to verify (re-tagged from
[0] IMPLICIT to SET OF by changing the first byte only, RFC 5652 §5.4), the embedded
certificates. Nothing is re-encoded. Signature checks live in :mod:`verifier.trust.passive`.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import LimitExceededError, ParseError
from verifier.trust import cms, der, signatures
from verifier.trust.cms import SignerInfo

__all__ = ["SOD", "SignerInfo", "parse_sod", "ACCEPTED_CONTENT_TYPES", "LDS_SECURITY_OBJECT"]

SOD_TAG = 0x77
MAX_SOD_BYTES = 256 * 1024
MAX_SOD_NODES = 10_000

#: eContentType of the LDSSecurityObject (ICAO 9303-10 §4.6.2.1: id-icao-mrtd-security-ldsSecurityObject).
LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
#: Legacy OID written by early passports before ICAO's arc was assigned.
LDS_SECURITY_OBJECT_LEGACY = "1.3.27.1.1.1"
#: id-data, written by some issuers instead of the ICAO OID.
ID_DATA = "1.2.840.113549.1.7.1"
ACCEPTED_CONTENT_TYPES = (LDS_SECURITY_OBJECT, LDS_SECURITY_OBJECT_LEGACY, ID_DATA)


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
    lds = _lds_security_object(sd.econtent)
    return SOD(raw=data[: outer.end], content_type=sd.content_type, signed_data_version=sd.version,
               digest_algorithms=sd.digest_algorithms, econtent=sd.econtent, certificates=sd.certificates,
               signer=sd.signer_infos[0], **lds)


def _lds_security_object(econtent: bytes) -> dict:
    node = der.parse(econtent, "LDSSecurityObject").expect(der.SEQUENCE, "LDSSecurityObject", constructed=True)
    der.validate(node, MAX_SOD_NODES)
    f = node.children()
    if len(f) not in (3, 4):
        raise ParseError(f"LDSSecurityObject: expected 3 or 4 fields, found {len(f)}")
    version = f[0].as_int("LDSSecurityObject version", 2)
    if version not in (0, 1):
        raise ParseError(f"LDSSecurityObject version {version}: expected 0 (v0) or 1 (v1)")
    hash_oid, _ = signatures.algorithm_identifier(f[1], "LDSSecurityObject hashAlgorithm")
    hash_name = signatures.DIGESTS.get(hash_oid, hash_oid)
    size = signatures.DIGEST_SIZES.get(hash_name)
    dg_hashes: dict[int, bytes] = {}
    entries = f[2].expect(der.SEQUENCE, "dataGroupHashValues", constructed=True).children()
    if not entries:
        raise ParseError("LDSSecurityObject: dataGroupHashValues is empty")
    for entry in entries:
        parts = entry.expect(der.SEQUENCE, "DataGroupHash", constructed=True).children()
        if len(parts) != 2:
            raise ParseError(f"DataGroupHash: expected dataGroupNumber and dataGroupHashValue, found {len(parts)} elements")
        number = parts[0].as_int("dataGroupNumber", 2)
        if not 1 <= number <= 16:
            raise ParseError(f"DataGroupHash: data group number {number} out of range 1-16")
        if number in dg_hashes:
            raise ParseError(f"DataGroupHash: data group {number} listed twice")
        value = parts[1].expect(der.OCTET_STRING, "dataGroupHashValue", constructed=False).content
        if size is not None and len(value) != size:
            raise ParseError(f"DataGroupHash of DG{number}: {len(value)} bytes, but {hash_name} gives {size}")
        dg_hashes[number] = value
    lds_version = unicode_version = None
    if len(f) == 4:
        if version != 1:
            raise ParseError("LDSSecurityObject: ldsVersionInfo present but version is not v1")
        info = f[3].expect(der.SEQUENCE, "LDSVersionInfo", constructed=True).children()
        if len(info) != 2:
            raise ParseError("LDSVersionInfo: expected ldsVersion and unicodeVersion")
        lds_version = info[0].as_string("ldsVersion")
        unicode_version = info[1].as_string("unicodeVersion")
    return dict(lds_object_version=version, hash_algorithm_oid=hash_oid, hash_algorithm=hash_name,
                dg_hashes=dg_hashes, lds_version=lds_version, unicode_version=unicode_version)

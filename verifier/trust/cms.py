"""CMS SignedData (RFC 5652 §5) as used by EF.SOD and CSCA master lists, parsed and verified
on the bytes received.

:func:`parse_signed_data` reads ContentInfo -> SignedData with the bounded reader of
:mod:`verifier.trust.der`, keeping eContent, certificates and signed attributes as the exact
bytes received. That reader rather than asn1crypto's ``cms`` specs: the same code reads master
lists of several megabytes and hundreds of certificates from the network, which its size, depth,
node-count and OID limits bound before anything is decoded. The eContent itself is interpreted
by its owner (the SOD's LDSSecurityObject: an asn1crypto spec in :mod:`verifier.trust.sod`). :func:`check_signer` verifies one SignerInfo against a public key the way
RFC 5652 §5.4 / §5.6 requires: the content-type attribute equals eContentType, the single
message-digest attribute equals the hash of eContent, and the signature verifies over the
signed attributes re-tagged as SET OF (first byte A0 -> 31, nothing re-encoded).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime

from verifier.errors import LimitExceededError, ParseError, VerificationError
from verifier.trust import der, signatures
from verifier.trust.certs import parse_name, parse_time

SIGNED_DATA = "1.2.840.113549.1.7.2"
ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ATTR_SIGNING_TIME = "1.2.840.113549.1.9.5"
MAX_CERTIFICATES = 64


@dataclass(frozen=True)
class SignerInfo:
    """CMS SignerInfo (RFC 5652 §5.3), every byte string as received."""

    version: int
    sid_kind: str  # "issuer_and_serial_number" | "subject_key_identifier"
    sid_issuer: bytes | None  # DER of the issuer Name as received
    sid_serial: int | None
    sid_key_identifier: bytes | None
    digest_algorithm: str  # OID
    signature_algorithm: str  # OID
    signature_params: bytes | None  # raw parameters (RSASSA-PSS-params); None when absent or NULL
    signature: bytes
    signed_attrs: bytes | None  # the [0] IMPLICIT encoding exactly as received
    attributes: dict[str, tuple[bytes, ...]] = field(default_factory=dict)  # OID -> raw values
    duplicate_attributes: tuple[str, ...] = ()

    @property
    def signed_attrs_der(self) -> bytes | None:
        """What the signature covers: the received bytes with tag A0 replaced by SET OF (31), RFC 5652 §5.4."""
        if self.signed_attrs is None:
            return None
        return b"\x31" + self.signed_attrs[1:]

    @property
    def version_consistent(self) -> bool:
        """RFC 5652 §5.3: version 1 with issuerAndSerialNumber, version 3 with subjectKeyIdentifier."""
        return self.version == (1 if self.sid_kind == "issuer_and_serial_number" else 3)

    def _single(self, oid: str, what: str, read):
        """The one value of signed attribute ``oid`` read as ``read(node, what)``; None when the
        attribute is absent, repeated, multi-valued or malformed."""
        values = self.attributes.get(oid)
        if not values or len(values) != 1 or oid in self.duplicate_attributes or not values[0]:
            return None
        try:
            return read(der.parse(values[0], what), what)
        except ParseError:
            return None

    @property
    def content_type(self) -> str | None:
        """The content-type signed attribute (an OID), or None when absent, repeated or malformed."""
        return self._single(ATTR_CONTENT_TYPE, "content-type attribute", der.Node.as_oid)

    @property
    def message_digest(self) -> bytes | None:
        """The message-digest signed attribute, or None when absent, repeated or malformed."""
        return self._single(ATTR_MESSAGE_DIGEST, "message-digest attribute", der.Node.as_octets)

    @property
    def signing_time(self) -> datetime | None:
        """The signing-time signed attribute, or None when absent, repeated or malformed."""
        return self._single(ATTR_SIGNING_TIME, "signing-time attribute", parse_time)


@dataclass(frozen=True)
class SignedData:
    version: int
    digest_algorithms: tuple[str, ...]
    content_type: str  # eContentType
    econtent: bytes  # as received (a constructed BER OCTET STRING is concatenated)
    certificates: tuple[bytes, ...]  # DER exactly as embedded
    signer_infos: tuple[SignerInfo, ...]
    end: int  # offset just past the ContentInfo in the input


def parse_signed_data(content_info: der.Node, what: str, *, max_nodes: int, validated: bool = False) -> SignedData:
    """ContentInfo { signedData, [0] SignedData } -> :class:`SignedData` (structure only, nothing verified).

    The whole tree is first walked by :func:`verifier.trust.der.validate` unless the caller
    already did (``validated=True``).
    """
    if not validated:
        der.validate(content_info, max_nodes)
    ci = content_info.expect(der.SEQUENCE, f"{what} ContentInfo", constructed=True).children()
    if len(ci) != 2:
        raise ParseError(f"{what} ContentInfo: expected contentType and content, found {len(ci)} elements")
    ct = ci[0].as_oid("ContentInfo contentType")
    if ct != SIGNED_DATA:
        raise ParseError(f"{what} ContentInfo: expected signedData ({SIGNED_DATA}), found {ct}")
    wrapped = ci[1].expect(0, "ContentInfo content", der.CONTEXT, True).children()
    if len(wrapped) != 1:
        raise ParseError(f"{what}: expected exactly one SignedData")
    sd = wrapped[0].expect(der.SEQUENCE, "SignedData", constructed=True).children()
    if len(sd) < 4:
        raise ParseError(f"{what} SignedData: expected at least 4 fields, found {len(sd)}")
    version = sd[0].as_int("SignedData version", 2)
    digest_algs = tuple(signatures.algorithm_identifier(a, "SignedData digestAlgorithms")[0]
                        for a in sd[1].expect(der.SET, "SignedData digestAlgorithms", constructed=True).children())
    eci = sd[2].expect(der.SEQUENCE, "EncapsulatedContentInfo", constructed=True).children()
    if len(eci) != 2:
        raise ParseError(f"{what} EncapsulatedContentInfo: expected eContentType and eContent (detached content is not allowed)")
    econtent_type = eci[0].as_oid("eContentType")
    econtent_wrapped = eci[1].expect(0, "eContent", der.CONTEXT, True).children()
    if len(econtent_wrapped) != 1:
        raise ParseError(f"{what} eContent: expected exactly one OCTET STRING")
    econtent = econtent_wrapped[0].as_octets("eContent")

    certificates: list[bytes] = []
    pos = 3
    while pos < len(sd) and sd[pos].cls == der.CONTEXT:
        if sd[pos].number == 0:
            for cert in sd[pos].children():
                if cert.indefinite:
                    raise ParseError(f"{what}: an embedded certificate uses an indefinite length; certificates must be DER")
                certificates.append(cert.expect(der.SEQUENCE, "embedded certificate", constructed=True).raw)
                if len(certificates) > MAX_CERTIFICATES:
                    raise LimitExceededError(f"{what}: more than {MAX_CERTIFICATES} embedded certificates")
        elif sd[pos].number != 1:
            raise ParseError(f"{what} SignedData: unexpected field [{sd[pos].number}]")
        pos += 1
    if pos != len(sd) - 1:
        raise ParseError(f"{what} SignedData: expected signerInfos as the last field")
    signer_nodes = sd[pos].expect(der.SET, "signerInfos", constructed=True).children()
    return SignedData(version, digest_algs, econtent_type, econtent, tuple(certificates),
                      tuple(_signer_info(n) for n in signer_nodes), content_info.end)


def _signer_info(node: der.Node) -> SignerInfo:
    f = node.expect(der.SEQUENCE, "SignerInfo", constructed=True).children()
    if len(f) < 5:
        raise ParseError(f"SignerInfo: expected at least 5 fields, found {len(f)}")
    version = f[0].as_int("SignerInfo version", 2)
    sid = f[1]
    issuer = serial = ski = None
    if sid.is_(der.SEQUENCE, constructed=True):
        kind = "issuer_and_serial_number"
        parts = sid.children()
        if len(parts) != 2:
            raise ParseError("IssuerAndSerialNumber: expected issuer and serialNumber")
        issuer = parts[0].expect(der.SEQUENCE, "sid issuer", constructed=True).raw
        serial = parts[1].as_int("sid serialNumber", 64)
    elif sid.is_(0, der.CONTEXT, constructed=False):
        kind = "subject_key_identifier"
        ski = sid.content
    else:
        raise ParseError(f"SignerInfo sid: expected IssuerAndSerialNumber or [0] SubjectKeyIdentifier, found {sid.describe()}")
    digest_alg, _ = signatures.algorithm_identifier(f[2], "SignerInfo digestAlgorithm")
    i = 3
    signed_attrs = None
    attributes: dict[str, list[bytes]] = {}
    duplicates: list[str] = []
    if f[i].is_(0, der.CONTEXT):
        signed_attrs = f[i].raw
        for attr in f[i].children():
            parts = attr.expect(der.SEQUENCE, "signed attribute", constructed=True).children()
            if len(parts) != 2:
                raise ParseError("signed attribute: expected attrType and attrValues")
            oid = parts[0].as_oid("signed attribute type")
            values = [v.raw for v in parts[1].expect(der.SET, "signed attribute values", constructed=True).children()]
            if oid in attributes:
                duplicates.append(oid)
            attributes.setdefault(oid, []).extend(values)
        i += 1
    if i + 1 >= len(f):
        raise ParseError("SignerInfo: signatureAlgorithm or signature missing")
    sig_alg, sig_params = signatures.algorithm_identifier(f[i], "SignerInfo signatureAlgorithm")
    signature = f[i + 1].as_octets("SignerInfo signature")
    rest = f[i + 2:]
    if rest and not (len(rest) == 1 and rest[0].is_(1, der.CONTEXT)):
        raise ParseError("SignerInfo: unexpected fields after the signature")
    return SignerInfo(version=version, sid_kind=kind, sid_issuer=issuer, sid_serial=serial, sid_key_identifier=ski,
                      digest_algorithm=digest_alg, signature_algorithm=sig_alg, signature_params=sig_params,
                      signature=signature, signed_attrs=signed_attrs,
                      attributes={k: tuple(v) for k, v in attributes.items()}, duplicate_attributes=tuple(duplicates))


def signer_matches(signer: SignerInfo, cert) -> str | None:
    """How ``cert`` (a :class:`verifier.trust.certs.Certificate`) matches the SignerInfo's sid.

    Returns "exact" (same key identifier, or same serial and issuer Name), "rdn_order" (same
    serial, same issuer attributes in another RDN order: Malaysia's passports write the sid
    that way), or None. The sid only locates the certificate; what proves anything is the
    signature verifying with that certificate's key and the certificate's chain.
    """
    if signer.sid_kind == "subject_key_identifier":
        ok = cert.subject_key_identifier is not None and cert.subject_key_identifier == signer.sid_key_identifier
        return "exact" if ok else None
    if cert.serial != signer.sid_serial:
        return None
    if cert.issuer_raw == signer.sid_issuer:
        return "exact"
    try:
        sid_name = parse_name(signer.sid_issuer, "sid issuer")
    except ParseError:
        return None
    if sid_name == cert.issuer_name:
        return "exact"
    if sid_name.unordered_key() == cert.issuer_name.unordered_key():
        return "rdn_order"
    return None


@dataclass(frozen=True)
class SignerCheck:
    """Outcome of :func:`check_signer`: ``valid`` plus what failed, in plain words."""

    valid: bool
    problem: str = ""
    problem_vi: str = ""
    hash_algorithm: str = ""


def check_signer(signer: SignerInfo, econtent: bytes, econtent_type: str, public_key) -> SignerCheck:
    """Verify a SignerInfo over ``econtent`` (RFC 5652 §5.4, §5.6; ICAO 9303-10 §4.6.2.2).

    Raises :class:`VerificationError` when the check cannot be attempted (MD5, unknown
    algorithm, key mismatch); returns ``SignerCheck(valid=False, ...)`` when it fails.
    """
    h = signatures.digest_name(signer.digest_algorithm)
    if h in signatures.REFUSED_DIGESTS:
        raise VerificationError(f"the signature uses {h.upper()}, which is refused as broken")
    if not signer.version_consistent:
        return SignerCheck(False, f"SignerInfo version {signer.version} does not match its signer identifier "
                                  f"({signer.sid_kind}); RFC 5652 requires "
                                  f"{1 if signer.sid_kind == 'issuer_and_serial_number' else 3}",
                           "Cấu trúc chữ ký không đúng chuẩn (phiên bản SignerInfo sai)", h)
    if signer.signed_attrs is None:
        return SignerCheck(False, "the signature has no signed attributes, which ICAO 9303 requires",
                           "Chữ ký thiếu các thuộc tính bắt buộc theo chuẩn ICAO", h)
    if signer.duplicate_attributes:
        return SignerCheck(False, f"signed attribute {signer.duplicate_attributes[0]} appears more than once",
                           "Chữ ký có thuộc tính bị lặp lại", h)
    if signer.content_type != econtent_type:
        return SignerCheck(False, f"the signed content-type attribute ({signer.content_type or 'missing'}) "
                                  f"does not match the content ({econtent_type})",
                           "Loại nội dung được ký không khớp với dữ liệu", h)
    md = signer.message_digest
    if md is None:
        return SignerCheck(False, "the signed message-digest attribute is missing or malformed",
                           "Thiếu giá trị băm của dữ liệu được ký", h)
    if not hmac.compare_digest(md, hashlib.new(h, econtent).digest()):
        return SignerCheck(False, "the signed message digest does not match the hash of the signed content",
                           "Giá trị băm được ký không khớp với dữ liệu", h)
    ok = signatures.verify(public_key, signer.signature_algorithm, signer.signature_params, signer.signature,
                           signer.signed_attrs_der, signer.digest_algorithm)
    if not ok:
        return SignerCheck(False, "the digital signature does not verify with the signer's public key",
                           "Chữ ký số không hợp lệ", h)
    return SignerCheck(True, hash_algorithm=h)

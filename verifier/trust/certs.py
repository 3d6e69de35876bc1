"""X.509 certificates of the eMRTD PKI (ICAO 9303-12 §7): loading, public keys, signatures.

Certificates are kept as the DER bytes received; the to-be-signed part, the names and the
public key are sliced from those bytes (:mod:`verifier.trust.der`), never re-encoded.
Names and extensions are decoded by the same bounded reader.

Public keys: RSA (rsaEncryption or RSASSA-PSS SPKI) and EC (id-ecPublicKey), parsed by the
project's one SubjectPublicKeyInfo parser, :func:`verifier.icao.chip_keys.parse_public_key`. EC
keys with explicit domain parameters, as Vietnam's and Germany's CSCAs use (BSI TR-03111 §5.1.1),
are mapped to the named curve they equal, or refused; implicitlyCA (NULL parameters) is refused.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from verifier.errors import ChipidError, LimitExceededError, ParseError, TrustError
from verifier.icao import chip_keys, curves, ecc
from verifier.trust import der, signatures

MAX_CERT_BYTES = 64 * 1024
MAX_CERT_NODES = 4000



@dataclass(frozen=True)
class PublicKey:
    """A subject public key: ``algorithm`` "rsa" or "ec"; ``key`` is the ``cryptography`` key
    (None for EC on a curve ``cryptography`` lacks; ``point`` then carries it)."""

    algorithm: str
    bits: int
    curve: str | None
    key: object | None
    point: ecc.Point | None
    spki: bytes
    explicit_curve: bool = False

    def describe(self) -> str:
        if self.algorithm == "rsa":
            return f"RSA-{self.bits}"
        return f"ECDSA {self.curve}" + (" (explicit parameters)" if self.explicit_curve else "")


#: SubjectPublicKeyInfo algorithms of the eMRTD PKI's certificates (ICAO 9303-12 §7.1.2).
CERTIFICATE_KEY_ALGORITHMS = frozenset({signatures.RSA_ENCRYPTION, signatures.RSASSA_PSS, signatures.EC_PUBLIC_KEY})


def load_public_key(spki: bytes) -> PublicKey:
    """Parse a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) taken from received bytes, through the one
    SPKI parser :func:`verifier.icao.chip_keys.parse_public_key` (RSA and EC keys only), and attach
    the ``cryptography`` key the signature checks use."""
    spki = bytes(spki)
    parsed = chip_keys.parse_public_key(spki, what="SubjectPublicKeyInfo", algorithms=CERTIFICATE_KEY_ALGORITHMS)
    if isinstance(parsed, chip_keys.RSAPublicKey):
        return PublicKey("rsa", parsed.bits, None, rsa.RSAPublicNumbers(parsed.e, parsed.n).public_key(), None, spki)
    if not isinstance(parsed, chip_keys.ECPublicKey):  # pragma: no cover - excluded by the algorithm list
        raise TrustError(f"unsupported public key {type(parsed).__name__}: expected RSA or EC")
    c = parsed.curve
    crypto_curve = curves.cryptography_curve(c.name)
    key = None
    if crypto_curve is not None:
        try:
            key = ec.EllipticCurvePublicNumbers(parsed.point.x, parsed.point.y, crypto_curve).public_key()
        except ValueError as e:
            raise ParseError(f"EC public key: the point is not a valid point on {c.name}") from e
    return PublicKey("ec", c.p.bit_length(), c.name, key, parsed.point, spki, parsed.explicit_parameters)


_ATTR_LABELS = {
    "2.5.4.6": "C", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.3": "CN", "2.5.4.5": "serialNumber",
    "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.4": "SN", "2.5.4.42": "GN",
    "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC", "2.5.4.97": "organizationIdentifier",
}
_STRING_TAGS = {12: "utf-8", 19: "ascii", 22: "ascii", 20: "latin-1", 26: "ascii", 28: "utf-32-be", 30: "utf-16-be"}


@dataclass(frozen=True)
class Name:
    """An X.501 Name as received (``raw``) with its attributes decoded.

    Equality follows RFC 5280 §7.1 in simplified form: same RDN sequence, attribute values
    compared case-insensitively with whitespace collapsed (enough for CSCA/DSC names).
    """

    raw: bytes
    rdns: tuple[tuple[tuple[str, str], ...], ...]

    @functools.cached_property
    def key(self) -> tuple:
        return tuple(tuple(sorted((oid, " ".join(v.casefold().split())) for oid, v in rdn)) for rdn in self.rdns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and (self.raw == other.raw or self.key == other.key)

    def __hash__(self) -> int:
        return hash(self.key)

    def get(self, oid: str) -> str | None:
        for rdn in self.rdns:
            for t, v in rdn:
                if t == oid:
                    return v
        return None

    @property
    def text(self) -> str:
        return ", ".join(f"{_ATTR_LABELS.get(t, t)}={v}" for rdn in self.rdns for t, v in rdn)

    def unordered_key(self) -> tuple:
        return tuple(sorted(a for rdn in self.key for a in rdn))


def parse_name(node: der.Node | bytes, what: str = "Name") -> Name:
    """X.501 Name (RFC 5280 §4.1.2.4) from its DER, kept as received."""
    if isinstance(node, (bytes, bytearray)):
        node = der.parse(bytes(node), what)
    node.expect(der.SEQUENCE, what, constructed=True)
    rdns = []
    for rdn in node.children():
        atvs = []
        for atv in rdn.expect(der.SET, f"{what} RDN", constructed=True).children():
            parts = atv.expect(der.SEQUENCE, f"{what} attribute", constructed=True).children()
            if len(parts) != 2:
                raise ParseError(f"{what}: attribute must hold a type and a value")
            oid = parts[0].as_oid(f"{what} attribute type")
            v = parts[1]
            enc = _STRING_TAGS.get(v.number) if v.cls == der.UNIVERSAL and not v.constructed else None
            if enc is None:
                value = v.content.hex()
            else:
                try:
                    value = v.content.decode(enc)
                except UnicodeDecodeError:
                    value = v.content.decode("latin-1")
            atvs.append((oid, value))
        rdns.append(tuple(atvs))
    return Name(node.raw, tuple(rdns))


_EXT_SKI, _EXT_KU, _EXT_BC, _EXT_AKI = "2.5.29.14", "2.5.29.15", "2.5.29.19", "2.5.29.35"
_EXT_CRL_DP, _EXT_AIA = "2.5.29.31", "1.3.6.1.5.5.7.1.1"
_EXT_PKUP = "2.5.29.16"
#: Names of the extensions seen in the eMRTD PKI (RFC 5280 §4.2, RFC 3280 §4.2.1.4 for the private
#: key usage period, ICAO 9303-12 §7.1.1.3 for the document type list); others show as their OID.
EXTENSION_NAMES = {
    "2.5.29.14": "subjectKeyIdentifier", "2.5.29.15": "keyUsage", "2.5.29.16": "privateKeyUsagePeriod",
    "2.5.29.17": "subjectAltName", "2.5.29.18": "issuerAltName", "2.5.29.19": "basicConstraints",
    "2.5.29.30": "nameConstraints", "2.5.29.31": "cRLDistributionPoints", "2.5.29.32": "certificatePolicies",
    "2.5.29.35": "authorityKeyIdentifier", "2.5.29.37": "extKeyUsage", "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
    "2.23.136.1.1.6.2": "documentTypeList", "2.16.840.1.113730.1.13": "netscapeComment",
}
_AD_CA_ISSUERS = "1.3.6.1.5.5.7.48.2"
_GN_URI = 6  # GeneralName uniformResourceIdentifier [6] IA5String (RFC 5280 §4.2.1.6)
_KU_BITS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
            "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")


@dataclass(frozen=True)
class Extension:
    oid: str
    critical: bool
    value: bytes  # extnValue contents as received


def parse_extensions(node: der.Node) -> dict[str, Extension]:
    """[3] EXPLICIT Extensions (RFC 5280 §4.1.2.9); a repeated extension is an error."""
    out: dict[str, Extension] = {}
    seq = node.children()
    if len(seq) != 1:
        raise ParseError("extensions: expected one SEQUENCE")
    for ext in seq[0].expect(der.SEQUENCE, "extensions", constructed=True).children():
        parts = ext.expect(der.SEQUENCE, "extension", constructed=True).children()
        if len(parts) not in (2, 3):
            raise ParseError("extension: expected extnID, critical, extnValue")
        oid = parts[0].as_oid("extnID")
        critical = False
        if len(parts) == 3:
            parts[1].expect(der.BOOLEAN, "extension critical", constructed=False)
            critical = parts[1].content not in (b"", b"\x00")
        value = parts[-1].expect(der.OCTET_STRING, "extnValue", constructed=False).content
        if oid in out:
            raise ParseError(f"extension {oid} appears twice")
        out[oid] = Extension(oid, critical, value)
    return out


@dataclass(frozen=True)
class Certificate:
    """One X.509 certificate, as received (``der``) with the fields the PKI checks need."""

    der: bytes
    tbs: bytes
    signature_algorithm: str
    signature_params: bytes | None
    signature: bytes
    serial: int
    issuer_name: Name
    subject_name: Name
    spki: bytes
    not_before: datetime
    not_after: datetime
    extensions: dict[str, Extension] = field(default_factory=dict, repr=False, compare=False)

    # --- identities ---------------------------------------------------------------------
    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @property
    def issuer_raw(self) -> bytes:
        return self.issuer_name.raw

    @property
    def subject_raw(self) -> bytes:
        return self.subject_name.raw

    @property
    def subject(self) -> str:
        return self.subject_name.text

    @property
    def issuer(self) -> str:
        return self.issuer_name.text

    @property
    def country(self) -> str | None:
        """Subject country (C), upper case; None when absent."""
        c = self.subject_name.get("2.5.4.6")
        return c.strip().upper() if c else None

    @property
    def issuer_country(self) -> str | None:
        c = self.issuer_name.get("2.5.4.6")
        return c.strip().upper() if c else None

    @functools.cached_property
    def self_issued(self) -> bool:
        return self.issuer_name == self.subject_name

    # --- extensions -------------------------------------------------------------------
    def _ext_node(self, oid: str) -> der.Node | None:
        ext = self.extensions.get(oid)
        if ext is None:
            return None
        return der.parse(ext.value, f"extension {oid}")

    @functools.cached_property
    def subject_key_identifier(self) -> bytes | None:
        node = self._ext_node(_EXT_SKI)
        return node.as_octets("subjectKeyIdentifier") if node is not None else None

    @functools.cached_property
    def authority_key_identifier(self) -> bytes | None:
        node = self._ext_node(_EXT_AKI)
        if node is None:
            return None
        for part in node.expect(der.SEQUENCE, "authorityKeyIdentifier", constructed=True).children():
            if part.is_(0, der.CONTEXT, constructed=False):
                return part.content
        return None

    @functools.cached_property
    def key_usage(self) -> frozenset[str] | None:
        node = self._ext_node(_EXT_KU)
        if node is None:
            return None
        node.expect(der.BIT_STRING, "keyUsage", constructed=False)
        c = node.content
        if not c or c[0] > 7:
            raise ParseError("keyUsage: malformed BIT STRING")
        bits = int.from_bytes(c[1:], "big") if len(c) > 1 else 0
        total = 8 * (len(c) - 1)
        return frozenset(name for i, name in enumerate(_KU_BITS) if i < total and bits >> (total - 1 - i) & 1)

    @functools.cached_property
    def is_ca(self) -> bool:
        node = self._ext_node(_EXT_BC)
        if node is None:
            return False
        parts = node.expect(der.SEQUENCE, "basicConstraints", constructed=True).children()
        return bool(parts and parts[0].is_(der.BOOLEAN) and parts[0].content not in (b"", b"\x00"))

    @functools.cached_property
    def crl_urls(self) -> tuple[str, ...]:
        """URIs of the CRL distribution points (RFC 5280 §4.2.1.13: DistributionPoint ->
        fullName GeneralNames -> uniformResourceIdentifier), in order; () when absent."""
        node = self._ext_node(_EXT_CRL_DP)
        if node is None:
            return ()
        out = []
        for dp in node.expect(der.SEQUENCE, "cRLDistributionPoints", constructed=True).children():
            for part in dp.expect(der.SEQUENCE, "DistributionPoint", constructed=True).children():
                if not part.is_(0, der.CONTEXT, constructed=True):
                    continue
                for name in part.children():
                    if name.is_(0, der.CONTEXT, constructed=True):  # fullName
                        out += [_uri(gn) for gn in name.children() if gn.is_(_GN_URI, der.CONTEXT, constructed=False)]
        return tuple(out)

    @functools.cached_property
    def ca_issuer_urls(self) -> tuple[str, ...]:
        """URIs where the issuer's certificate is published (RFC 5280 §4.2.2.1, id-ad-caIssuers)."""
        node = self._ext_node(_EXT_AIA)
        if node is None:
            return ()
        out = []
        for ad in node.expect(der.SEQUENCE, "authorityInfoAccess", constructed=True).children():
            parts = ad.expect(der.SEQUENCE, "AccessDescription", constructed=True).children()
            if len(parts) != 2:
                raise ParseError(f"AccessDescription: expected accessMethod and accessLocation, found {len(parts)} elements")
            if parts[0].as_oid("accessMethod") == _AD_CA_ISSUERS and parts[1].is_(_GN_URI, der.CONTEXT, constructed=False):
                out.append(_uri(parts[1]))
        return tuple(out)

    @functools.cached_property
    def private_key_usage_period(self) -> tuple[datetime | None, datetime | None] | None:
        """PrivateKeyUsagePeriod (RFC 3280 §4.2.1.4; ICAO 9303-12 §7.1.1.2 for Document Signers):
        ``(notBefore, notAfter)``, either None when absent; None without the extension."""
        node = self._ext_node(_EXT_PKUP)
        if node is None:
            return None
        bounds: list[datetime | None] = [None, None]
        for part in node.expect(der.SEQUENCE, "privateKeyUsagePeriod", constructed=True).children():
            if part.cls != der.CONTEXT or part.constructed or part.number not in (0, 1) or bounds[part.number]:
                raise ParseError(f"privateKeyUsagePeriod: unexpected {part.describe()}")
            # [0]/[1] IMPLICIT GeneralizedTime: read as the universal type it replaces
            as_time = der.Node(part.data, der.UNIVERSAL, False, der.GENERALIZEDTIME, part.start, part.cstart,
                               part.cend, part.end)
            bounds[part.number] = parse_time(as_time, "privateKeyUsagePeriod")
        return bounds[0], bounds[1]

    @property
    def critical_extensions(self) -> frozenset[str]:
        return frozenset(oid for oid, e in self.extensions.items() if e.critical)

    # --- key and signature ------------------------------------------------------------
    @functools.cached_property
    def public_key(self) -> PublicKey:
        return load_public_key(self.spki)

    def valid_at(self, when: datetime) -> bool:
        return self.not_before <= when <= self.not_after

    def is_signed_by(self, issuer: "Certificate") -> bool:
        """True when ``issuer``'s key verifies this certificate's signature over the TBS bytes as received."""
        return signatures.verify(issuer.public_key, self.signature_algorithm, self.signature_params,
                                 self.signature, self.tbs)

    def summary(self) -> dict:
        """What ``chipid trust list``, ``chipid lds show`` and the diagnose bundle show (JSON types only):
        names, serial, the key (algorithm, curve or bits), validity (RFC 5280 §4.1.2), the extensions
        in order with their critical flags (§4.2), the private key usage period (RFC 3280 §4.2.1.4),
        the key identifiers in hex (§4.2.1.1-2), the CRL distribution points (§4.2.1.13) and the
        caIssuers URLs (§4.2.2.1). A malformed extension shows as None with its reason under
        ``extension_errors``; the summary itself never fails."""
        try:
            key = self.public_key
            key_text, curve, algorithm, bits = key.describe(), key.curve, key.algorithm, key.bits
        except ChipidError as e:
            key_text, curve, algorithm, bits = f"unusable key: {e}", None, "unknown", None
        errors: dict[str, str] = {}

        def read(name: str, show):
            try:
                return show(getattr(self, name))
            except ChipidError as e:
                errors[name] = str(e)
                return None

        def iso(when: datetime | None) -> str | None:
            return when.isoformat() if when else None

        return {
            "subject": self.subject, "issuer": self.issuer, "country": self.country,
            "serial": format(self.serial, "x"), "key": key_text, "key_algorithm": algorithm, "curve": curve,
            "key_bits": bits, "not_before": self.not_before.isoformat(), "not_after": self.not_after.isoformat(),
            "sha256": self.sha256,
            "extensions": [{"oid": e.oid, "name": EXTENSION_NAMES.get(e.oid, e.oid), "critical": e.critical}
                           for e in self.extensions.values()],
            "private_key_usage": read("private_key_usage_period",
                                      lambda p: p and {"not_before": iso(p[0]), "not_after": iso(p[1])}),
            "key_usage": read("key_usage", lambda ku: None if ku is None else [n for n in _KU_BITS if n in ku]),
            "subject_key_identifier": read("subject_key_identifier", lambda k: k.hex().upper() if k is not None else None),
            "authority_key_identifier": read("authority_key_identifier",
                                             lambda k: k.hex().upper() if k is not None else None),
            "crl_urls": read("crl_urls", list) or [],
            "ca_issuer_urls": read("ca_issuer_urls", list) or [],
            "extension_errors": errors,
        }


def _uri(node: der.Node) -> str:
    try:
        return node.content.decode("ascii")
    except UnicodeDecodeError as e:
        raise ParseError("uniformResourceIdentifier: expected IA5String (ASCII) text") from e


def parse_time(node: der.Node, what: str) -> datetime:
    """UTCTime / GeneralizedTime (RFC 5280 §4.1.2.5) -> aware datetime in UTC."""
    text = node.content.decode("ascii", "replace")
    try:
        if node.is_(der.UTCTIME):
            m = re.fullmatch(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z", text)
            if not m:
                raise ValueError(text)
            yy = int(m.group(1))
            year = 1900 + yy if yy >= 50 else 2000 + yy
            return datetime(year, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)),
                            int(m.group(6) or 0), tzinfo=timezone.utc)
        if node.is_(der.GENERALIZEDTIME):
            m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z", text)
            if not m:
                raise ValueError(text)
            return datetime(*map(int, m.groups()), tzinfo=timezone.utc)
    except ValueError as e:
        raise ParseError(f"{what}: expected a UTC time like 250131235959Z, found {text!r}") from e
    raise ParseError(f"{what}: expected UTCTime or GeneralizedTime, found {node.describe()}")


def load_certificate(data: bytes, *, what: str = "certificate") -> Certificate:
    """Parse one DER certificate. The bytes are kept exactly; the TBS is sliced, not re-encoded."""
    data = bytes(data)
    if len(data) > MAX_CERT_BYTES:
        raise LimitExceededError(f"{what} of {len(data)} bytes: at most {MAX_CERT_BYTES} allowed")
    try:
        tbs, sig_oid, sig_params, signature = parse_signed(data, what, "certificate", "tbsCertificate", MAX_CERT_NODES)
        fields = tbs.children()
        i = 0
        if fields and fields[0].is_(0, der.CONTEXT):
            i = 1
        serial = fields[i].as_int("serialNumber", 64)
        issuer = parse_name(fields[i + 2], "issuer")
        validity = fields[i + 3].expect(der.SEQUENCE, "validity", constructed=True).children()
        subject = parse_name(fields[i + 4], "subject")
        spki = fields[i + 5].expect(der.SEQUENCE, "subjectPublicKeyInfo", constructed=True)
        if len(validity) != 2:
            raise ParseError(f"{what}: validity must hold notBefore and notAfter")
        extensions: dict[str, Extension] = {}
        for extra in fields[i + 6:]:
            if extra.is_(3, der.CONTEXT, constructed=True):
                extensions = parse_extensions(extra)
        return Certificate(
            der=data, tbs=tbs.raw, signature_algorithm=sig_oid, signature_params=sig_params,
            signature=signature, serial=serial, issuer_name=issuer, subject_name=subject,
            spki=spki.raw, not_before=parse_time(validity[0], "notBefore"), not_after=parse_time(validity[1], "notAfter"),
            extensions=extensions,
        )
    except IndexError as e:
        raise ParseError(f"{what}: tbsCertificate has too few fields") from e
    except ValueError as e:
        raise ParseError(f"{what}: {e}") from e


def parse_signed(data: bytes, what: str, kind: str, tbs_name: str,
                 max_nodes: int) -> tuple[der.Node, str, bytes | None, bytes]:
    """The SIGNED envelope of a certificate or CRL (RFC 5280 §4.1.1, §5.1.1): a validated
    ``SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING }`` of at most ``max_nodes``
    nodes -> (tbs node, signature algorithm OID, raw parameters, signature bytes).
    ``kind`` ("certificate", "CRL") and ``tbs_name`` name the parts in error messages."""
    node = der.parse(data, what).expect(der.SEQUENCE, what, constructed=True)
    der.validate(node, max_nodes)
    parts = node.children()
    if len(parts) != 3:
        raise ParseError(f"{what}: expected {tbs_name}, signatureAlgorithm, signature; found {len(parts)} elements")
    tbs, sig_alg, sig = parts
    tbs.expect(der.SEQUENCE, tbs_name, constructed=True)
    sig_oid, sig_params = signatures.algorithm_identifier(sig_alg, f"{kind} signatureAlgorithm")
    sig.expect(der.BIT_STRING, f"{kind} signature", constructed=False)
    if not sig.content or sig.content[0] != 0:
        raise ParseError(f"{what}: signature BIT STRING has unused bits")
    return tbs, sig_oid, sig_params, sig.content[1:]


_PEM = re.compile(rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(.*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----", re.S)


def load_certificates(data: bytes, *, what: str = "certificate file") -> list[Certificate]:
    """DER (one certificate) or PEM (one or more) -> certificates."""
    data = bytes(data)
    if b"-----BEGIN" in data:
        blocks = _PEM.findall(data)
        if not blocks:
            raise ParseError(f"{what}: PEM text without a CERTIFICATE block")
        out = []
        for i, block in enumerate(blocks):
            try:
                raw = base64.b64decode(b"".join(block.split()), validate=True)
            except ValueError as e:
                raise ParseError(f"{what}: PEM block {i + 1} is not valid base64") from e
            out.append(load_certificate(raw, what=f"{what} #{i + 1}"))
        return out
    return [load_certificate(data, what=what)]


_SIGNED_BY: dict[tuple[str, str], bool] = {}
_SIGNED_BY_MAX = 4096


def signed_by(cert: Certificate, issuer: Certificate) -> bool:
    """:meth:`Certificate.is_signed_by`, memoised by the SHA-256 of both certificates' DER.

    A Document Signer signs thousands of cards: its certificate's signature is verified
    once per process. The key covers every byte of both certificates (signature included),
    so a cached answer can only be reused for the very same pair.
    """
    key = (cert.sha256, issuer.sha256)
    ok = _SIGNED_BY.get(key)
    if ok is None:
        ok = cert.is_signed_by(issuer)
        if len(_SIGNED_BY) >= _SIGNED_BY_MAX:
            _SIGNED_BY.pop(next(iter(_SIGNED_BY)))
        _SIGNED_BY[key] = ok
    return ok

"""Test PKI of the emulated CCCD chip: CSCA, Document Signer, CRLs, link certificates, EF.SOD.

ICAO 9303-12 §7 profiles (CSCA: CA, keyCertSign+cRLSign; DSC: digitalSignature) built with
``cryptography``; EF.SOD (ICAO 9303-10 §4.6.2) is encoded here by hand so that tests can
produce every malformation the verifier must refuse (``build_sod(..., **tamper_options)``).

Everything this module makes is a *test* PKI: the names carry "DEMO" by default and the
committed demo trust in ``drivers/emulator/demo/`` is trusted only when ``trust.demo`` is on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from verifier.errors import InputError
from verifier.icao import chip_keys, curves, ecc
from verifier.trust.der import encode_oid

DEMO_DIR = Path(__file__).with_name("demo")
DEMO_CSCA_FILE = DEMO_DIR / "DEMO_CSCA.der"
DEMO_DSC_FILE = DEMO_DIR / "DEMO_DSC.pem"
DEMO_DSC_KEY_FILE = DEMO_DIR / "DEMO_DSC_key.pem"
DEMO_CSCA_KEY_FILE = DEMO_DIR / "DEMO_CSCA_key.pem"

LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
_HASH_OIDS = {"sha1": "1.3.14.3.2.26", "sha224": "2.16.840.1.101.3.4.2.4", "sha256": "2.16.840.1.101.3.4.2.1",
              "sha384": "2.16.840.1.101.3.4.2.2", "sha512": "2.16.840.1.101.3.4.2.3", "md5": "1.2.840.113549.2.5"}
_HASHES = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
           "sha512": hashes.SHA512, "md5": hashes.MD5}
_ECDSA_OIDS = {"sha1": "1.2.840.10045.4.1", "sha224": "1.2.840.10045.4.3.1", "sha256": "1.2.840.10045.4.3.2",
               "sha384": "1.2.840.10045.4.3.3", "sha512": "1.2.840.10045.4.3.4"}
_ECDSA_PLAIN_OIDS = {"sha1": "0.4.0.127.0.7.1.1.4.1.1", "sha224": "0.4.0.127.0.7.1.1.4.1.2",
                     "sha256": "0.4.0.127.0.7.1.1.4.1.3", "sha384": "0.4.0.127.0.7.1.1.4.1.4",
                     "sha512": "0.4.0.127.0.7.1.1.4.1.5"}
_RSA_OIDS = {"md5": "1.2.840.113549.1.1.4", "sha1": "1.2.840.113549.1.1.5", "sha224": "1.2.840.113549.1.1.14",
             "sha256": "1.2.840.113549.1.1.11", "sha384": "1.2.840.113549.1.1.12", "sha512": "1.2.840.113549.1.1.13"}
_EC_CURVES = {"brainpoolP256r1": ec.BrainpoolP256R1, "brainpoolP384r1": ec.BrainpoolP384R1,
              "brainpoolP512r1": ec.BrainpoolP512R1, "secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1,
              "secp521r1": ec.SECP521R1, "secp224r1": ec.SECP224R1, "secp192r1": ec.SECP192R1}

UTC = timezone.utc


# --- minimal DER encoder (X.690 §10) ---------------------------------------------------------

def _len(n: int, indefinite: bool = False) -> bytes:
    if indefinite:
        return b"\x80"
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int | bytes, value: bytes, indefinite: bool = False) -> bytes:
    t = tag if isinstance(tag, bytes) else bytes([tag])
    if indefinite:
        return t + b"\x80" + value + b"\x00\x00"
    return t + _len(len(value)) + value


def seq(*items: bytes, indefinite: bool = False) -> bytes:
    return tlv(0x30, b"".join(items), indefinite)


def set_of(*items: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(items)))


def oid(dotted: str) -> bytes:
    return tlv(0x06, encode_oid(dotted))


def integer(v: int) -> bytes:
    return tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def octets(v: bytes) -> bytes:
    return tlv(0x04, v)


def ctx(n: int, value: bytes, constructed: bool = True, indefinite: bool = False) -> bytes:
    return tlv(0x80 | (0x20 if constructed else 0) | n, value, indefinite)


def printable(s: str) -> bytes:
    return tlv(0x13, s.encode("ascii"))


def utctime(t: datetime) -> bytes:
    return tlv(0x17, t.astimezone(UTC).strftime("%y%m%d%H%M%SZ").encode())


def alg_id(dotted: str, params: bytes | None = None) -> bytes:
    return seq(oid(dotted), params) if params is not None else seq(oid(dotted))


# --- keys and certificates -------------------------------------------------------------------

@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: object

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def serial(self) -> int:
        return self.cert.serial_number


def new_key(kind: str = "brainpoolP256r1"):
    """``kind``: a curve name from the table above, or "rsa2048" / "rsa3072" / "rsa4096"."""
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:] or 2048))
    if kind not in _EC_CURVES:
        raise InputError(f"unknown key kind {kind!r}: expected rsaNNNN or one of {', '.join(_EC_CURVES)}")
    return ec.generate_private_key(_EC_CURVES[kind]())


def _name(country: str, cn: str, org: str = "chipid DEMO") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _sign_hash(key) -> hashes.HashAlgorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384() if key.curve.key_size < 512 else hashes.SHA512()
    return hashes.SHA256()


def _ski(public_key) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def make_csca(country: str = "VN", key: str | object = "brainpoolP384r1", name: str = "chipid DEMO CSCA", *,
              not_before: datetime | None = None, not_after: datetime | None = None, serial: int | None = None,
              key_usage: tuple[str, ...] = ("key_cert_sign", "crl_sign"), ca: bool = True,
              subject: x509.Name | None = None, ski: bytes | None = None) -> Issued:
    """A self-signed CSCA (ICAO 9303-12 §7.1.1, table 6). ``subject`` replaces the whole name and
    ``ski`` the subject key identifier (for look-alikes of a real CSCA in negative tests)."""
    priv = new_key(key) if isinstance(key, str) else key
    nb = not_before or datetime(2024, 1, 1, tzinfo=UTC)
    na = not_after or nb + timedelta(days=365 * 20)
    subject = subject or _name(country, name)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(priv.public_key()).serial_number(serial or x509.random_serial_number())
               .not_valid_before(nb).not_valid_after(na)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(_key_usage(key_usage), critical=True)
               .add_extension(x509.SubjectKeyIdentifier(ski) if ski else _ski(priv.public_key()), critical=False))
    return Issued(builder.sign(priv, _sign_hash(priv)), priv)


def _key_usage(names: tuple[str, ...]) -> x509.KeyUsage:
    flags = {k: k in names for k in ("digital_signature", "content_commitment", "key_encipherment",
                                    "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")}
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


def make_dsc(csca: Issued | None, country: str | None = None, key: str | object = "brainpoolP256r1",
             name: str = "chipid DEMO Document Signer", *, not_before: datetime | None = None,
             not_after: datetime | None = None, serial: int | None = None,
             key_usage: tuple[str, ...] = ("digital_signature",), issuer_name: x509.Name | None = None,
             signing_key: object | None = None, authority_key: object | None = None, with_aki: bool = True,
             subject: x509.Name | None = None,
             private_key_usage: tuple[datetime, datetime] | None = None, crl_urls: tuple[str, ...] = (),
             ca_issuer_urls: tuple[str, ...] = (), alt_name_uri: str | None = None,
             basic_constraints: bool = False, key_usage_critical: bool | None = True,
             with_extensions: bool = True) -> Issued:
    """A Document Signer certificate (ICAO 9303-12 §7.1.1) issued by ``csca``.

    Profile breaches for negative tests: ``key_usage_critical=False`` (keyUsage not critical),
    ``None`` (no keyUsage at all), ``with_aki=False`` (no authorityKeyIdentifier),
    ``with_extensions=False`` (no extensions at all).

    ``csca=None`` makes a self-signed DSC; ``issuer_name`` / ``signing_key`` override the issuer
    name written and the key that signs (for negative tests); ``authority_key``, the public key the
    authority key identifier names (default: the signer's). The optional extensions of
    ICAO 9303-12 §7.1.1.2 table 6: ``private_key_usage`` (PrivateKeyUsagePeriod), ``crl_urls``
    (CRLDistributionPoints, one point per URL), ``ca_issuer_urls`` (AuthorityInfoAccess),
    ``alt_name_uri`` (SubjectAltName: the country as a directoryName L=C plus this URI, as CCCD
    signers write it), ``basic_constraints`` (CA:FALSE, critical).
    """
    priv = new_key(key) if isinstance(key, str) else key
    if csca is None:
        country = country or "VN"
    country = country or csca.cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    subject = subject or _name(country, name)
    issuer = issuer_name or (csca.cert.subject if csca else subject)
    signer = signing_key or (csca.key if csca else priv)
    nb = not_before or datetime(2025, 1, 1, tzinfo=UTC)
    na = not_after or nb + timedelta(days=365 * 15)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(priv.public_key()).serial_number(serial or x509.random_serial_number())
               .not_valid_before(nb).not_valid_after(na))
    if not with_extensions:
        return Issued(builder.sign(signer, _sign_hash(signer)), priv)
    if key_usage_critical is not None:
        builder = builder.add_extension(_key_usage(key_usage), critical=key_usage_critical)
    builder = builder.add_extension(_ski(priv.public_key()), critical=False)
    if with_aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key or signer.public_key()), critical=False)
    if basic_constraints:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    if private_key_usage:
        builder = builder.add_extension(x509.PrivateKeyUsagePeriod(*private_key_usage), critical=False)
    if crl_urls:
        builder = builder.add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None) for u in crl_urls]),
            critical=False)
    if ca_issuer_urls:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u))
            for u in ca_issuer_urls]), critical=False)
    if alt_name_uri:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.LOCALITY_NAME, country)])),
            x509.UniformResourceIdentifier(alt_name_uri)]), critical=False)
    return Issued(builder.sign(signer, _sign_hash(signer)), priv)


#: A CCCD Document Signer's key is used for 90 days (its PrivateKeyUsagePeriod) and its certificate
#: stays valid 8030 days (22 years) beyond that, as on the real "Document Signer National
#: Identification 00013" (2021-05-28, key until 2021-08-26, certificate until 2043-08-21); ICAO
#: 9303-12 §5.3: DSC validity = key usage period + the validity of the documents it signed.
CCCD_DSC_KEY_USAGE_DAYS = 90
CCCD_DSC_AFTER_USAGE_DAYS = 8030
#: Where the demo PKI "publishes" its CSCA and CRL: the reserved .invalid domain (RFC 2606), never resolved.
DEMO_PKD = "http://pkd.chipid-demo.invalid"


def make_cccd_dsc(csca: Issued, *, not_before: datetime, serial: int | None = None, number: int = 1,
                  key: str | object = "brainpoolP384r1") -> Issued:
    """A Document Signer shaped like a real CCCD signer: brainpoolP384r1, KeyUsage digitalSignature
    (critical), BasicConstraints CA:FALSE, AKI, SKI, a 90-day PrivateKeyUsagePeriod, 22 years of
    validity after it, CRL distribution points, AIA and a SubjectAltName (names say DEMO)."""
    country = csca.cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    usage_end = not_before + timedelta(days=CCCD_DSC_KEY_USAGE_DAYS)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chipid DEMO"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DEMO test authority, not a real issuer"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"chipid DEMO Document Signer National Identification {number:05d}"),
    ])
    return make_dsc(csca, key=key, subject=subject, not_before=not_before,
                    not_after=usage_end + timedelta(days=CCCD_DSC_AFTER_USAGE_DAYS), serial=serial,
                    private_key_usage=(not_before, usage_end), basic_constraints=True,
                    crl_urls=(f"{DEMO_PKD}/crl/demo-csca.crl",), ca_issuer_urls=(f"{DEMO_PKD}/crt/demo-csca.crt",),
                    alt_name_uri=f"{DEMO_PKD}/csca")


def make_link_cert(old: Issued, new: Issued) -> Issued:
    """Link certificate: ``new``'s subject and key, issued and signed by ``old`` (ICAO 9303-12 §5.5.2)."""
    builder = (x509.CertificateBuilder().subject_name(new.cert.subject).issuer_name(old.cert.subject)
               .public_key(new.key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(new.cert.not_valid_before_utc).not_valid_after(new.cert.not_valid_after_utc)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_key_usage(("key_cert_sign", "crl_sign")), critical=True)
               .add_extension(_ski(new.key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(old.key.public_key()), critical=False))
    return Issued(builder.sign(old.key, _sign_hash(old.key)), new.key)


def make_crl(csca: Issued, revoked: list | tuple = (), *, this_update: datetime | None = None,
             next_update: datetime | None = None, signing_key: object | None = None) -> bytes:
    """A CSCA CRL (ICAO 9303-12 §7.1.4) in DER. ``revoked``: serial numbers or :class:`Issued`."""
    tu = this_update or datetime.now(UTC) - timedelta(days=1)
    nu = next_update or tu + timedelta(days=90)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(csca.cert.subject)
               .last_update(tu).next_update(nu)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(csca.key.public_key()), critical=False)
               .add_extension(x509.CRLNumber(1), critical=False))
    for item in revoked:
        serial = item.serial if isinstance(item, Issued) else int(item)
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(tu).build())
    signer = signing_key or csca.key
    return builder.sign(signer, _sign_hash(signer)).public_bytes(serialization.Encoding.DER)


# --- EF.SOD ------------------------------------------------------------------------------------

def lds_security_object(dg_hashes: dict[int, bytes], hash_alg: str = "sha256",
                        lds_version: tuple[str, str] | None = ("0108", "040000")) -> bytes:
    """LDSSecurityObject (ICAO 9303-10 §4.6.2.2): v1 with LDSVersionInfo, or v0 when ``lds_version`` is None."""
    entries = [seq(integer(n), octets(h)) for n, h in sorted(dg_hashes.items())]
    fields = [integer(1 if lds_version else 0), alg_id(_HASH_OIDS[hash_alg]), seq(*entries)]
    if lds_version:
        fields.append(seq(printable(lds_version[0]), printable(lds_version[1])))
    return seq(*fields)


def _sign(key, sig: str, h: str, data: bytes) -> tuple[str, bytes | None, bytes]:
    """Returns (signature algorithm OID, raw parameters or None, signature)."""
    halg = _HASHES[h]()
    if sig in ("ecdsa", "ecdsa-plain"):
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InputError(f"signature {sig} needs an EC key")
        der_sig = key.sign(data, ec.ECDSA(halg))
        if sig == "ecdsa":
            return _ECDSA_OIDS[h], None, der_sig
        r, s = decode_dss_signature(der_sig)
        size = (key.curve.key_size + 7) // 8
        return _ECDSA_PLAIN_OIDS[h], None, r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InputError(f"signature {sig} needs an RSA key")
    if sig == "rsa-pss":
        salt = halg.digest_size
        params = seq(ctx(0, alg_id(_HASH_OIDS[h], b"\x05\x00")),
                     ctx(1, alg_id("1.2.840.113549.1.1.8", alg_id(_HASH_OIDS[h], b"\x05\x00"))),
                     ctx(2, integer(salt)))
        return "1.2.840.113549.1.1.10", params, key.sign(data, padding.PSS(padding.MGF1(halg), salt), halg)
    if sig in ("rsa-pkcs1", "rsa-pkcs1-rsaenc"):
        signature = key.sign(data, padding.PKCS1v15(), halg)
        return ("1.2.840.113549.1.1.1" if sig == "rsa-pkcs1-rsaenc" else _RSA_OIDS[h]), b"\x05\x00", signature
    raise InputError(f"unknown signature kind {sig!r}: expected ecdsa, ecdsa-plain, rsa-pss, rsa-pkcs1, rsa-pkcs1-rsaenc")


def build_sod(dg_raw: dict[int, bytes], dsc_key, dsc_cert, hash_alg: str = "sha256", sig: str = "ecdsa",
              content_type: str = LDS_SECURITY_OBJECT, **tamper) -> bytes:
    """EF.SOD bytes (tag 0x77) over the data groups ``dg_raw`` (DG number -> file bytes as stored on the chip).

    ``dsc_cert``: a ``cryptography`` certificate, :class:`Issued`, or DER bytes.

    Tamper options, for negative tests (defaults build a correct SOD):
    ``signer_hash`` digest for the signature (default ``hash_alg``); ``dg_hashes`` dict replacing
    hash values; ``extra_dg_hashes`` added; ``drop_dgs`` removed; ``lds_version`` (tuple or None for v0);
    ``econtent`` raw LDSSecurityObject; ``message_digest`` bytes (wrong) or ``"omit"``;
    ``omit_content_type_attr``; ``content_type_attr`` OID; ``signing_time`` datetime or None;
    ``signer_version``; ``sid`` "issuer_serial" | "ski"; ``flip_signature_bit``; ``include_certificate``;
    ``extra_certificates`` list of DER; ``no_signed_attrs``; ``indefinite`` (BER indefinite lengths);
    ``signer_infos`` count (duplicate SignerInfo); ``digest_algorithm_oid`` override in SignerInfo.
    """
    if isinstance(dsc_cert, Issued):
        dsc_cert = dsc_cert.cert
    if isinstance(dsc_cert, (bytes, bytearray)):
        dsc_cert = x509.load_der_x509_certificate(bytes(dsc_cert))
    cert_der = dsc_cert.public_bytes(serialization.Encoding.DER)
    signer_hash = tamper.get("signer_hash", hash_alg)
    indefinite = bool(tamper.get("indefinite", False))

    hashes_ = {n: hashlib.new(hash_alg, raw).digest() for n, raw in dg_raw.items()}
    hashes_.update(tamper.get("dg_hashes", {}))
    hashes_.update(tamper.get("extra_dg_hashes", {}))
    for n in tamper.get("drop_dgs", ()):
        hashes_.pop(n, None)
    econtent = tamper.get("econtent") or lds_security_object(hashes_, hash_alg, tamper.get("lds_version", ("0108", "040000")))

    attrs = []
    if not tamper.get("omit_content_type_attr"):
        attrs.append(seq(oid("1.2.840.113549.1.9.3"), set_of(oid(tamper.get("content_type_attr", content_type)))))
    if tamper.get("signing_time", ...) is not None:
        when = tamper.get("signing_time", ...)
        when = datetime.now(UTC) if when is ... else when
        attrs.append(seq(oid("1.2.840.113549.1.9.5"), set_of(utctime(when))))
    md = tamper.get("message_digest", hashlib.new(signer_hash, econtent).digest())
    if md != "omit":
        attrs.append(seq(oid("1.2.840.113549.1.9.4"), set_of(octets(md))))
    signed_attrs = set_of(*attrs)

    key_bytes = signed_attrs if not tamper.get("no_signed_attrs") else econtent
    sig_oid, sig_params, signature = _sign(dsc_key, sig, signer_hash, key_bytes)
    if tamper.get("flip_signature_bit"):
        signature = signature[:-1] + bytes([signature[-1] ^ 0x01])

    if tamper.get("sid", "issuer_serial") == "ski":
        ski = dsc_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        sid = ctx(0, ski, constructed=False)
        version = 3
    else:
        sid = seq(dsc_cert.issuer.public_bytes(), integer(dsc_cert.serial_number))
        version = 1
    version = tamper.get("signer_version", version)
    digest_alg = alg_id(tamper.get("digest_algorithm_oid", _HASH_OIDS[signer_hash]))
    signer_fields = [integer(version), sid, digest_alg]
    if not tamper.get("no_signed_attrs"):
        signer_fields.append(b"\xa0" + signed_attrs[1:])
    signer_fields += [alg_id(sig_oid, sig_params), octets(signature)]
    signer_info = seq(*signer_fields)

    certs = []
    if tamper.get("include_certificate", True):
        certs.append(cert_der)
    certs += list(tamper.get("extra_certificates", ()))
    econtent_field = ctx(0, octets(econtent), indefinite=indefinite)
    fields = [integer(3), set_of(alg_id(_HASH_OIDS[signer_hash])),
              seq(oid(content_type), econtent_field, indefinite=indefinite)]
    if certs:
        fields.append(ctx(0, b"".join(certs), indefinite=indefinite))
    fields.append(tlv(0x31, signer_info * int(tamper.get("signer_infos", 1))))
    signed_data = seq(*fields, indefinite=indefinite)
    content_info = seq(oid("1.2.840.113549.1.7.2"), ctx(0, signed_data, indefinite=indefinite), indefinite=indefinite)
    return tlv(0x77, content_info, indefinite)


# --- the committed demo trust ------------------------------------------------------------------

def load_demo() -> tuple[bytes, x509.Certificate, object]:
    """(demo CSCA DER, demo DSC certificate, demo DSC private key) from ``drivers/emulator/demo/``."""
    csca_der = DEMO_CSCA_FILE.read_bytes()
    dsc = x509.load_pem_x509_certificate(DEMO_DSC_FILE.read_bytes())
    key = serialization.load_pem_private_key(DEMO_DSC_KEY_FILE.read_bytes(), password=None)
    return csca_der, dsc, key


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


#: The demo CSCA's validity: it covers the demo DSC's whole life (2021-04-01 to 2043), so every
#: validity policy accepts the demo card.
DEMO_CSCA_VALIDITY = (datetime(2021, 1, 1, tzinfo=UTC), datetime(2049, 12, 31, tzinfo=UTC))
#: The demo DSC's start: its 90-day key usage covers the demo card's issue date (2021-04-20).
DEMO_DSC_NOT_BEFORE = datetime(2021, 4, 1, tzinfo=UTC)


def generate_demo(directory: Path = DEMO_DIR) -> None:  # pragma: no cover - run by build_demo_card, output committed
    """Write the demo PKI: the CSCA (kept when its key is already there) and a CCCD-shaped DSC.

    The CSCA key is committed beside the certificate (``DEMO_CSCA_key.pem``: a demo key, trusted
    only in demo mode) so that a later run can issue a new DSC without replacing the CSCA that
    operators' demo setups already trust. Copy ``DEMO_CSCA.der`` to ``verifier/trust/data/``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    csca_file, key_file = directory / DEMO_CSCA_FILE.name, directory / DEMO_CSCA_KEY_FILE.name
    if key_file.exists() and csca_file.exists():
        csca = Issued(x509.load_der_x509_certificate(csca_file.read_bytes()),
                      serialization.load_pem_private_key(key_file.read_bytes(), password=None))
    else:
        csca = make_csca("VN", "brainpoolP384r1", "chipid DEMO CSCA", not_before=DEMO_CSCA_VALIDITY[0],
                         not_after=DEMO_CSCA_VALIDITY[1], serial=0x0DE30001)
        csca_file.write_bytes(csca.der)
        key_file.write_bytes(_pem_key(csca.key))
    dsc = make_cccd_dsc(csca, not_before=DEMO_DSC_NOT_BEFORE, serial=0x0DE30003, number=1)
    (directory / DEMO_DSC_FILE.name).write_bytes(dsc.cert.public_bytes(serialization.Encoding.PEM))
    (directory / DEMO_DSC_KEY_FILE.name).write_bytes(_pem_key(dsc.key))


if __name__ == "__main__":  # pragma: no cover
    generate_demo()
    print(f"demo PKI written to {DEMO_DIR}")


# --- explicit EC parameters (as Vietnam's and Germany's certificates carry) ---------------------

def explicit_spki(public_key, *, tamper: str | None = None) -> bytes:
    """SubjectPublicKeyInfo of an EC key with *explicit* domain parameters (SpecifiedECDomain,
    SEC 1 §C.2). ``tamper`` names a field (p, a, b, gx, n) to alter, for negative tests."""
    c = curves.curve(public_key.curve.name)
    if tamper:
        c = replace(c, **{tamper: getattr(c, tamper) + 2})
    numbers = public_key.public_numbers()
    return chip_keys.ec_spki(c, ecc.Point(numbers.x, numbers.y), explicit=True)


def make_dsc_explicit(csca: Issued, key: str = "brainpoolP256r1", name: str = "chipid DEMO Document Signer explicit",
                      *, tamper: str | None = None) -> tuple[bytes, object]:
    """A DSC whose public key carries explicit curve parameters: (certificate DER, private key).

    ``cryptography`` cannot write explicit parameters, so the TBSCertificate is encoded here
    and signed with the CSCA's key (ECDSA with SHA-256/384 as for :func:`make_csca`).
    """
    priv = new_key(key)
    h = _sign_hash(csca.key)
    sig_oid = _ECDSA_OIDS[h.name] if isinstance(csca.key, ec.EllipticCurvePrivateKey) else _RSA_OIDS[h.name]
    sig_alg = alg_id(sig_oid) if isinstance(csca.key, ec.EllipticCurvePrivateKey) else alg_id(sig_oid, b"\x05\x00")
    ski = x509.SubjectKeyIdentifier.from_public_key(priv.public_key()).digest
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(csca.key.public_key()).key_identifier
    country = csca.cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    exts = seq(
        seq(oid("2.5.29.15"), tlv(0x01, b"\xff"), octets(tlv(0x03, b"\x07\x80"))),
        seq(oid("2.5.29.14"), octets(octets(ski))),
        seq(oid("2.5.29.35"), octets(seq(ctx(0, aki, constructed=False)))),
    )
    tbs = seq(ctx(0, integer(2)), integer(x509.random_serial_number()), sig_alg, csca.cert.subject.public_bytes(),
              seq(utctime(datetime(2025, 1, 1, tzinfo=UTC)), utctime(datetime(2040, 1, 1, tzinfo=UTC))),
              _name(country, name).public_bytes(), explicit_spki(priv.public_key(), tamper=tamper), ctx(3, exts))
    if isinstance(csca.key, ec.EllipticCurvePrivateKey):
        signature = csca.key.sign(tbs, ec.ECDSA(h))
    else:
        signature = csca.key.sign(tbs, padding.PKCS1v15(), h)
    return seq(tbs, sig_alg, tlv(0x03, b"\x00" + signature)), priv

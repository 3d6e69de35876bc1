"""CSCA certificate revocation lists (ICAO 9303-12 §7.1.4, RFC 5280 §5).

A CRL is kept as the DER received; the TBSCertList is sliced from it for verification.
A CRL counts only when its signature verifies with a CSCA of the same name
(:meth:`verifier.trust.store.TrustStore.add_crl` refuses any other). Freshness: a CRL is
*current* until nextUpdate, *late* until nextUpdate + ``trust.crl_max_age_days``, and
*stale* after that (reported, never silently ignored).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from verifier.errors import LimitExceededError, ParseError, TrustError, VerificationError
from verifier.trust import der, signatures
from verifier.trust.certs import Certificate, Name, parse_extensions, parse_name, parse_signed, parse_time

MAX_CRL_BYTES = 16 * 1024 * 1024
MAX_CRL_NODES = 2_000_000
#: A CRL issued up to this long "in the future" is accepted (shop computers' clocks drift).
CLOCK_SKEW = timedelta(days=1)


@dataclass(frozen=True)
class CRL:
    der: bytes
    tbs: bytes
    signature_algorithm: str
    signature_params: bytes | None
    signature: bytes
    issuer_name: Name
    this_update: datetime
    next_update: datetime | None
    revoked: frozenset[int]
    authority_key_identifier: bytes | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @property
    def issuer(self) -> str:
        return self.issuer_name.text

    def is_signed_by(self, csca: Certificate) -> bool:
        return signatures.verify(csca.public_key, self.signature_algorithm, self.signature_params,
                                 self.signature, self.tbs)

    def freshness(self, at: datetime, max_age_days: int) -> str:
        """"current" (before nextUpdate), "late" (within the grace period), "stale", or "future"
        (thisUpdate more than a day ahead of ``at``: the computer's clock is probably wrong)."""
        if at < self.this_update - CLOCK_SKEW:
            return "future"
        if self.next_update is None or at <= self.next_update:
            return "current"
        if at <= self.next_update + timedelta(days=max_age_days):
            return "late"
        return "stale"

    def summary(self) -> dict:
        return {"issuer": self.issuer, "this_update": self.this_update.isoformat(),
                "next_update": self.next_update.isoformat() if self.next_update else None,
                "revoked": len(self.revoked), "sha256": self.sha256}


_PEM = re.compile(rb"-----BEGIN X509 CRL-----(.*?)-----END X509 CRL-----", re.S)


def load_crl(data: bytes, *, what: str = "CRL") -> CRL:
    """Parse a CRL (DER or PEM). Structure only; the signature is checked by the trust store."""
    data = bytes(data)
    if b"-----BEGIN" in data:
        m = _PEM.search(data)
        if not m:
            raise ParseError(f"{what}: PEM text without an X509 CRL block")
        try:
            data = base64.b64decode(b"".join(m.group(1).split()), validate=True)
        except ValueError as e:
            raise ParseError(f"{what}: PEM block is not valid base64") from e
    if len(data) > MAX_CRL_BYTES:
        raise LimitExceededError(f"{what} of {len(data)} bytes: at most {MAX_CRL_BYTES} allowed")
    try:
        tbs, sig_oid, sig_params, signature = parse_signed(data, what, "CRL", "tbsCertList", MAX_CRL_NODES)
        fields = tbs.children()
        i = 1 if fields and fields[0].is_(der.INTEGER) else 0
        issuer = parse_name(fields[i + 1], "CRL issuer")
        this_update = parse_time(fields[i + 2], "thisUpdate")
        next_update = None
        j = i + 3
        if j < len(fields) and fields[j].cls == der.UNIVERSAL and fields[j].number in (der.UTCTIME, der.GENERALIZEDTIME):
            next_update = parse_time(fields[j], "nextUpdate")
            j += 1
        revoked: set[int] = set()
        if j < len(fields) and fields[j].is_(der.SEQUENCE):
            for entry in fields[j].children():
                revoked.add(entry.expect(der.SEQUENCE, "revoked certificate", constructed=True)
                            .children()[0].as_int("revoked serialNumber", 64))
            j += 1
        aki = None
        for extra in fields[j:]:
            if extra.is_(0, der.CONTEXT, constructed=True):
                ext = parse_extensions(extra).get("2.5.29.35")
                if ext is not None:
                    for part in der.parse(ext.value, "CRL authorityKeyIdentifier").children():
                        if part.is_(0, der.CONTEXT, constructed=False):
                            aki = part.content
        return CRL(der=data, tbs=tbs.raw, signature_algorithm=sig_oid, signature_params=sig_params,
                   signature=signature, issuer_name=issuer, this_update=this_update,
                   next_update=next_update, revoked=frozenset(revoked), authority_key_identifier=aki)
    except IndexError as e:
        raise ParseError(f"{what}: tbsCertList has too few fields") from e
    except ValueError as e:
        raise ParseError(f"{what}: {e}") from e


def check_crl_signed_by(crl: CRL, csca: Certificate) -> None:
    """Raise :class:`TrustError` unless ``csca`` signed ``crl``."""
    try:
        ok = crl.is_signed_by(csca)
    except (VerificationError, ParseError) as e:
        raise TrustError(f"cannot verify the CRL of {crl.issuer} with {csca.subject}: {e}") from e
    if not ok:
        raise TrustError(f"the signature on the CRL of {crl.issuer} does not verify with the key of {csca.subject}")

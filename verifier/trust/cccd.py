"""Vietnam's CCCD trust: the eID CSCA ("CSCA Vietnam"), its witness, and whether CCCDs can be verified.

CCCD Document Signers are issued by ``C=VN, O=Vietnam Government Information Security
Commission, serialNumber=001, CN=CSCA Vietnam`` (authority key identifier
``57AB7508224483F049CC635B2C95C4E446A58808``), the eID hierarchy. It is in no ICAO master list;
Vietnam publishes it at :data:`EID_CSCA_CERT_URLS` with its CRL at :data:`EID_CSCA_CRL_URLS`
(the AIA and CRL distribution points of every CCCD Document Signer).

**The witness rule.** A certificate *presented as* that CSCA (subject CN "CSCA Vietnam", or
subject key identifier 57AB…) is trusted only when its key verifies the signature of a
genuine CCCD Document Signer shipped with chipid (the *witness*,
``data/CCCD_DSC_witness_00013.der``, taken from a real card's EF.SOD). A look-alike (same name,
another key) cannot pass: the signature was made by the real CSCA's private key, and a
certificate only enters the store when its own key also verifies its self-signature
(:meth:`verifier.trust.store.TrustStore.add_certificate`), which needs the matching private key.

:func:`cccd_status` says, for ``chipid trust status``, ``GET /api/v1/health`` and the counter
page, whether CCCDs can be fully verified with a store and, if not, what to install and where.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from verifier.errors import ChipidError, ParseError, TrustError
from verifier.text import fold
from verifier.trust.certs import Certificate, load_certificate, signed_by

DATA_DIR = Path(__file__).with_name("data")
WITNESS_FILE = DATA_DIR / "CCCD_DSC_witness_00013.der"

EID_CSCA_NAME = "CSCA Vietnam"
EID_CSCA_KEY_ID = bytes.fromhex("57AB7508224483F049CC635B2C95C4E446A58808")
EID_CSCA_CERT_URLS = ("http://npkd.gov.vn/crt/eid-csca-vietnam.crt", "http://ca.gov.vn/crt/eid-csca-vietnam.crt")
EID_CSCA_CRL_URLS = ("http://npkd.gov.vn/crl/eid-csca-vietnam.crl", "http://ca.gov.vn/crl/eid-csca-vietnam.crl")

_CN = "2.5.4.3"


@dataclass(frozen=True)
class Witness:
    """A genuine Document Signer certificate that vouches for its issuer's key.

    ``cert_urls`` / ``crl_urls``: where the issuer's certificate and CRL are published.
    """

    cert: Certificate
    cert_urls: tuple[str, ...] = ()
    crl_urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, cert: Certificate | bytes, *, cert_urls: tuple[str, ...] = (), crl_urls: tuple[str, ...] = ()) -> "Witness":
        """A witness from a DSC; the URLs default to the DSC's own AIA and CRL distribution points."""
        cert = cert if isinstance(cert, Certificate) else load_certificate(cert, what="witness certificate")
        try:
            own_certs, own_crls = cert.ca_issuer_urls, cert.crl_urls
        except ParseError:
            own_certs, own_crls = (), ()
        return cls(cert, _unique(cert_urls + own_certs), _unique(crl_urls + own_crls))

    @property
    def authority_name(self) -> str | None:
        """The CN of the CSCA this witness vouches for."""
        return self.cert.issuer_name.get(_CN)

    @property
    def authority_key_id(self) -> bytes | None:
        try:
            return self.cert.authority_key_identifier
        except ParseError:
            return None

    def presents(self, cert: Certificate) -> bool:
        """Does ``cert`` present itself as this witness's CSCA (same CN, compared as :func:`verifier.text.fold`
        folds it: case, spacing and diacritics ignored; or same key identifier)?"""
        cn, want = cert.subject_name.get(_CN), self.authority_name
        if cn and want and fold(cn) == fold(want):
            return True
        try:
            ski = cert.subject_key_identifier
        except ParseError:
            ski = None
        return bool(ski and self.authority_key_id and ski == self.authority_key_id)

    def vouches_for(self, cert: Certificate) -> bool:
        """Does ``cert``'s key verify this witness's signature?"""
        try:
            return signed_by(self.cert, cert)
        except ChipidError:
            return False

    def describe(self) -> dict:
        return {"name": self.authority_name, "issuer": self.cert.issuer,
                "key_id": self.authority_key_id.hex().upper() if self.authority_key_id else None,
                "certificate_urls": list(self.cert_urls), "crl_urls": list(self.crl_urls),
                "witness": self.cert.subject, "witness_sha256": self.cert.sha256}


@functools.lru_cache(maxsize=1)
def _shipped_witness() -> Witness:
    return Witness.of(load_certificate(WITNESS_FILE.read_bytes(), what=WITNESS_FILE.name),
                      cert_urls=EID_CSCA_CERT_URLS, crl_urls=EID_CSCA_CRL_URLS)


def shipped_witnesses() -> tuple[Witness, ...]:
    """The witnesses shipped in the package (the real CCCD Document Signer)."""
    return (_shipped_witness(),)


def check_presented_csca(cert: Certificate, witnesses: tuple[Witness, ...] | list[Witness]) -> Witness | None:
    """Apply the witness rule (module docstring) to a certificate about to be trusted.

    Returns the witness that vouched for it, None when it presents itself as no witnessed
    CSCA, and raises :class:`TrustError` (English and Vietnamese) for a look-alike.
    """
    presented = [w for w in witnesses if w.presents(cert)]
    if not presented:
        return None
    for w in presented:
        if w.vouches_for(cert):
            return w
    w = presented[0]
    key_id = w.authority_key_id.hex().upper() if w.authority_key_id else "?"
    raise TrustError(
        f"{cert.subject} presents itself as the CSCA {w.authority_name!r} (key identifier {key_id}) that issues "
        f"CCCD Document Signers, but its key does not verify the signature of a genuine Document Signer of that "
        f"CSCA ({w.cert.subject}): a look-alike, refused. Get the certificate from "
        f"{' or '.join(w.cert_urls) or 'the issuing authority'} / "
        f"Chứng thư {cert.subject} tự nhận là CSCA {w.authority_name!r} cấp cơ quan ký của thẻ CCCD, nhưng khóa của nó "
        f"không xác thực được chữ ký của một cơ quan ký CCCD thật: đây là chứng thư mạo danh, bị từ chối. "
        f"Hãy tải chứng thư đúng tại {' hoặc '.join(w.cert_urls) or 'cơ quan cấp'}")


def cccd_status(store, at: datetime, *, max_age_days: int = 90) -> dict:
    """Can CCCDs be fully verified with ``store`` (a :class:`verifier.trust.store.TrustStore`)?

    ``can_verify``: a CSCA that vouches for a witness is installed (the chain of a genuine
    CCCD can be proven); ``revocation``: the freshness of its newest CRL ("current", "late",
    "stale", "future") or "missing"; ``fully``: both. Messages in English and Vietnamese say
    what to install and where Vietnam publishes it.
    """
    out: dict = {"can_verify": False, "fully": False, "revocation": "missing", "csca": None,
                 "authorities": [], "demo": False}
    found = None
    for w in store.witnesses:
        out["authorities"].append(w.describe())
        for entry in store.issuer_candidates(w.cert):
            if w.vouches_for(entry.cert):
                found = (w, entry)
                break
        if found:
            break
    if found is None:
        w = store.witnesses[0] if store.witnesses else None
        where = " or ".join(w.cert_urls) if w else ""
        name = w.authority_name if w else EID_CSCA_NAME
        key_id = (w.authority_key_id.hex().upper() if w and w.authority_key_id else "")
        out["message"] = (f"CCCD chips cannot be fully verified: the eID CSCA {name!r} (key identifier {key_id}) that "
                          f"issues their Document Signers is not installed, so genuine cards come out 'unverified' "
                          f"(signature and data intact, chain not proven). Install it with `chipid trust refresh` "
                          f"or `chipid trust import` of the certificate Vietnam publishes at {where}.")
        out["message_vi"] = (f"Chưa xác thực đầy đủ được thẻ CCCD: chưa cài đặt chứng thư gốc {name!r} (mã khóa {key_id}) "
                             f"của cơ quan cấp cơ quan ký thẻ CCCD, nên thẻ thật chỉ được báo 'chưa xác thực đầy đủ' "
                             f"(chữ ký và dữ liệu toàn vẹn, chưa chứng minh được chuỗi chứng thực). Hãy cài đặt bằng "
                             f"`chipid trust refresh` hoặc nhập chứng thư do Việt Nam công bố tại {where.replace(' or ', ' hoặc ')}.")
        return out
    w, entry = found
    out.update(can_verify=True, demo=entry.demo,
               csca={"subject": entry.cert.subject, "sha256": entry.sha256, "source": entry.source,
                     "not_after": entry.cert.not_after.isoformat()})
    crls = store.crls_for(entry.cert.subject_name)
    if crls:
        newest = crls[0].crl
        out["revocation"] = newest.freshness(at, max_age_days)
        out["crl"] = {"this_update": newest.this_update.isoformat(),
                      "next_update": newest.next_update.isoformat() if newest.next_update else None,
                      "sha256": newest.sha256}
    out["fully"] = out["revocation"] in ("current", "late")
    crl_where = " or ".join(w.crl_urls)
    if out["fully"]:
        out["message"] = f"CCCD chips can be fully verified: {entry.cert.subject} and its current CRL are installed."
        out["message_vi"] = "Có thể xác thực đầy đủ thẻ CCCD: đã cài đặt chứng thư gốc CSCA và danh sách thu hồi còn hiệu lực."
    else:
        state_en = "no CRL of it is loaded" if out["revocation"] == "missing" else f"its CRL is {out['revocation']}"
        out["message"] = (f"CCCD chains can be verified ({entry.cert.subject} is installed) but {state_en}: revocation is "
                          f"not checked. Run `chipid trust refresh` (Vietnam publishes the CRL at {crl_where}).")
        out["message_vi"] = (f"Đã cài đặt chứng thư gốc CSCA của thẻ CCCD nhưng chưa có danh sách thu hồi (CRL) còn hiệu lực: "
                             f"chưa kiểm tra được việc thu hồi. Hãy chạy `chipid trust refresh` (CRL được công bố tại "
                             f"{crl_where.replace(' or ', ' hoặc ')}).")
    return out


def is_eid_issuer(dsc: Certificate, witnesses) -> Witness | None:
    """The witness whose CSCA issued ``dsc`` by name or key identifier (for "what to install" advice)."""
    try:
        aki = dsc.authority_key_identifier
    except ParseError:
        aki = None
    cn = dsc.issuer_name.get(_CN)
    for w in witnesses:
        if (aki and aki == w.authority_key_id) or (cn and w.authority_name and fold(cn) == fold(w.authority_name)
                                                   and dsc.issuer_name == w.cert.issuer_name):
            return w
    return None


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))

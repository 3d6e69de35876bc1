"""``chipid trust refresh``, sans-I/O: which URLs to download, and what to keep of what came back.

The URLs are those the installed CSCAs name (RFC 5280 §4.2.1.13 CRL distribution points,
§4.2.2.1 authority information access, caIssuers) plus, for Vietnam, where the eID CSCA and
its CRL are published (the witnesses' URLs, :mod:`verifier.trust.cccd`). Only ``http://`` and
``https://`` URLs are fetched (CSCA certificates and CRLs are signed objects: the transport
needs no trust of its own).

What is kept (the trust store verifies each, :class:`verifier.trust.store.TrustStore`):

* a **certificate** that is not in the store yet, only when a witness vouches for it (the
  witness rule) or it is a link certificate signed by an installed CSCA: a self-signed CSCA
  downloaded from a URL is never trusted on its own;
* a **CRL**, only when it verifies under an installed CSCA of its issuer's name.

Downloading is the caller's: ``fetch(url) -> bytes`` raises :class:`TrustError` when the URL
cannot be reached (no network, HTTP error, too large). Nothing here raises for bad data.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from verifier.errors import ChipidError, ParseError, TrustError
from verifier.trust.certs import load_certificates
from verifier.trust.crl import load_crl
from verifier.trust.store import CSCA, classify

ADDED, UNCHANGED, REFUSED, UNREACHABLE, SKIPPED = "added", "unchanged", "refused", "unreachable", "skipped"
_VI = {ADDED: "đã thêm", UNCHANGED: "không đổi", REFUSED: "bị từ chối", UNREACHABLE: "không tải được",
       SKIPPED: "bỏ qua"}

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class RefreshItem:
    url: str
    kind: str  # "certificate" or "crl"
    outcome: str  # ADDED, UNCHANGED, REFUSED, UNREACHABLE, SKIPPED
    detail: str = ""

    def to_json(self) -> dict:
        return {"url": self.url, "kind": self.kind, "outcome": self.outcome, "outcome_vi": _VI[self.outcome],
                "detail": self.detail}


@dataclass
class RefreshReport:
    items: list[RefreshItem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(i.outcome == ADDED for i in self.items)

    @property
    def offline(self) -> bool:
        """Every download failed (no network, or every server down)."""
        tried = [i for i in self.items if i.outcome != SKIPPED]
        return bool(tried) and all(i.outcome == UNREACHABLE for i in tried)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in _VI}
        for i in self.items:
            out[i.outcome] += 1
        return out

    def summary(self) -> str:
        c = self.counts()
        text = (f"{c[ADDED]} added, {c[UNCHANGED]} unchanged, {c[REFUSED]} refused, "
                f"{c[UNREACHABLE]} unreachable, {c[SKIPPED]} skipped")
        return text + (" (no network: nothing could be downloaded)" if self.offline else "")

    def summary_vi(self) -> str:
        c = self.counts()
        text = (f"{c[ADDED]} đã thêm, {c[UNCHANGED]} không đổi, {c[REFUSED]} bị từ chối, "
                f"{c[UNREACHABLE]} không tải được, {c[SKIPPED]} bỏ qua")
        return text + (" (không có mạng: không tải được gì)" if self.offline else "")

    def to_json(self) -> dict:
        return {"changed": self.changed, "offline": self.offline, "counts": self.counts(),
                "summary": self.summary(), "summary_vi": self.summary_vi(), "items": [i.to_json() for i in self.items]}


def refresh_urls(store, countries: tuple[str, ...] | None = None) -> tuple[list[str], list[str]]:
    """(certificate URLs, CRL URLs) named by the installed CSCAs (and the witnesses, for their
    country), limited to ``countries`` (alpha-2) when given; deduplicated, in a stable order."""
    wanted = {c.upper() for c in countries} if countries else None
    certs: dict[str, None] = {}
    crls: dict[str, None] = {}
    for w in store.witnesses:
        if wanted is None or (w.cert.issuer_country or "") in wanted:
            certs.update(dict.fromkeys(w.cert_urls))
            crls.update(dict.fromkeys(w.crl_urls))
    for entry in store.entries(kind="csca"):
        if wanted is not None and (entry.cert.country or "") not in wanted:
            continue
        try:
            crls.update(dict.fromkeys(entry.cert.crl_urls))
            certs.update(dict.fromkeys(entry.cert.ca_issuer_urls))
        except ParseError:
            continue
    return [u for u in certs if _fetchable(u)], [u for u in crls if _fetchable(u)]


def refresh(store, fetch: Fetch, *, cert_urls: list[str] | None = None, crl_urls: list[str] | None = None,
            countries: tuple[str, ...] | None = None, workers: int = 8) -> RefreshReport:
    """Download, verify and add to ``store`` (in memory; the caller saves it). URLs default to
    :func:`refresh_urls`. Certificates first, so that a CRL of a newly added CSCA verifies."""
    if cert_urls is None or crl_urls is None:
        found_certs, found_crls = refresh_urls(store, countries)
        cert_urls = found_certs if cert_urls is None else cert_urls
        crl_urls = found_crls if crl_urls is None else crl_urls
    report = RefreshReport()
    for url, data in _download(fetch, cert_urls, workers):
        report.items.append(_add_certificates(store, url, data))
    for url, data in _download(fetch, crl_urls, workers):
        report.items.append(_add_crl(store, url, data))
    return report


def _fetchable(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _download(fetch: Fetch, urls: list[str], workers: int):
    """(url, bytes or the TrustError) for each URL, in order; downloads run in parallel."""
    def one(url: str):
        if not _fetchable(url):
            return url, None
        try:
            return url, fetch(url)
        except TrustError as e:
            return url, e

    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(urls)))) as pool:
        return list(pool.map(one, urls))


def _not_downloaded(url: str, kind: str, data) -> RefreshItem | None:
    """The item for a URL that gave no bytes (not http(s), or unreachable), None when ``data`` holds bytes."""
    if data is None:
        return RefreshItem(url, kind, SKIPPED, "only http:// and https:// URLs are downloaded")
    if isinstance(data, TrustError):
        return RefreshItem(url, kind, UNREACHABLE, str(data))
    return None


def _add_certificates(store, url: str, data) -> RefreshItem:
    kind = "certificate"
    if (failed := _not_downloaded(url, kind, data)) is not None:
        return failed
    try:
        certs = load_certificates(data, what=url)
    except ChipidError as e:
        return RefreshItem(url, kind, REFUSED, f"not a certificate: {e}")
    added, unchanged, refused = [], [], []
    for cert in certs:
        if store.entry(cert.sha256) is not None:
            unchanged.append(cert.subject)
            continue
        presented = any(w.presents(cert) for w in store.witnesses)  # then the store's witness rule decides
        try:
            if not presented and classify(cert) == CSCA:
                raise TrustError(f"{cert.subject} is a self-signed CSCA that no shipped witness vouches for: a "
                                 f"downloaded CSCA is not trusted on its own; check its fingerprint "
                                 f"({cert.sha256}) with the issuing state and import it with `chipid trust import`")
            entry = store.add_certificate(cert, source=f"refresh:{url}")
        except ChipidError as e:
            refused.append(str(e))
            continue
        added.append(f"{entry.kind.upper()} {cert.subject}")
    if added:
        return RefreshItem(url, kind, ADDED, "; ".join(added + refused))
    if refused:
        return RefreshItem(url, kind, REFUSED, "; ".join(refused))
    return RefreshItem(url, kind, UNCHANGED, "; ".join(unchanged))


def _add_crl(store, url: str, data) -> RefreshItem:
    kind = "crl"
    if (failed := _not_downloaded(url, kind, data)) is not None:
        return failed
    try:
        crl = load_crl(data, what=url)
    except ChipidError as e:
        return RefreshItem(url, kind, REFUSED, f"not a CRL: {e}")
    if any(c.crl.sha256 == crl.sha256 for c in store.crls()):
        return RefreshItem(url, kind, UNCHANGED, f"CRL of {crl.issuer} already stored")
    if not store.cscas_named(crl.issuer_name):
        return RefreshItem(url, kind, SKIPPED, f"the issuer of this CRL ({crl.issuer}) is not installed")
    try:
        stored = store.add_crl(crl, source=f"refresh:{url}")
    except ChipidError as e:
        return RefreshItem(url, kind, REFUSED, str(e))
    nu = stored.crl.next_update
    return RefreshItem(url, kind, ADDED, f"CRL of {crl.issuer}, {len(crl.revoked)} revoked, next update "
                                         f"{nu.date().isoformat() if nu else 'not stated'}")

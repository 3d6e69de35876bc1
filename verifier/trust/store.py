"""The trust store: CSCA certificates (every generation), link certificates, CRLs, master-list roots.

Trust is data (ARCHITECTURE.md): the operator loads master lists, single certificates and
CRLs; the store keeps each as the DER received, indexed by subject key identifier and by
subject name so that the issuer of a Document Signer is found by authority key identifier
and issuer name (RFC 5280 §4.2.1.1, §6.1). Only self-issued CSCA certificates are trust
anchors. Link certificates (ICAO 9303-12 §5.5.2: new CSCA key, signed by the old one) are
recognised and listed, but never used as intermediates in a Document Signer chain: a new
CSCA generation is trusted only when its own self-signed certificate is loaded.

``TrustStore.default()`` is the production trust shipped in ``verifier/trust/data/``: the
German master list verified against the German CSCA that roots its signer.
``TrustStore.demo()`` is the demo CSCA only, every entry marked demo.
``TrustStore.open(data_dir)`` is the default trust plus what the operator imported
(persisted in ``<data_dir>/trust/``), minus what the operator removed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from verifier.errors import ChipidError, ParseError, TrustError
from verifier.private_file import write_private_file
from verifier.trust import cccd, cms, der
from verifier.trust.certs import Certificate, load_certificate, load_certificates
from verifier.trust.crl import CRL, check_crl_signed_by, load_crl
from verifier.trust.masterlist import MasterList, load_master_list

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).with_name("data")
SHIPPED_MASTER_LIST = DATA_DIR / "DE_ML_2026-05-28.ml"
SHIPPED_ML_ROOT = DATA_DIR / "DE_ML_signer_root_CSCA07.cer"
DEMO_CSCA = DATA_DIR / "DEMO_CSCA.der"
MANIFEST = "manifest.json"

CSCA, LINK = "csca", "link"


@dataclass(frozen=True)
class TrustEntry:
    """A certificate in the store: ``kind`` "csca" (a trust anchor) or "link"."""

    cert: Certificate
    kind: str
    source: str
    demo: bool = False
    shipped: bool = False

    @property
    def sha256(self) -> str:
        return self.cert.sha256

    def summary(self) -> dict:
        out = self.cert.summary()
        out.update(kind=self.kind, source=self.source, demo=self.demo, shipped=self.shipped)
        return out


@dataclass(frozen=True)
class StoredCRL:
    crl: CRL
    csca_sha256: str  # the CSCA whose key verified it
    source: str
    shipped: bool = False


class TrustStore:
    """CSCAs, link certificates, CRLs and master-list roots. Not thread-safe for writes."""

    def __init__(self, *, witnesses: tuple | list | None = None) -> None:
        self._witnesses = tuple(witnesses) if witnesses is not None else None
        self._entries: dict[str, TrustEntry] = {}
        self._by_ski: dict[bytes, list[str]] = {}
        self._by_subject: dict[str, list[str]] = {}
        self._crls: dict[str, StoredCRL] = {}
        self._ml_roots: dict[str, tuple[Certificate, bool]] = {}  # sha256 -> (cert, shipped)
        self._distrusted: set[str] = set()

    # --- construction ------------------------------------------------------------------
    @classmethod
    def default(cls) -> "TrustStore":
        """The production trust shipped with chipid (588 CSCAs of the German master list)."""
        store = cls()
        root, ml = _shipped()
        store._ml_roots[root.sha256] = (root, True)
        store._add_master_list_entries(ml, source=f"shipped:{SHIPPED_MASTER_LIST.name}", shipped=True)
        return store

    @classmethod
    def demo(cls) -> "TrustStore":
        """The demo CSCA of the emulated chip only; everything verified under it is marked DEMO."""
        store = cls()
        store.add_certificate(DEMO_CSCA.read_bytes(), source="demo", demo=True, shipped=True)
        return store

    @classmethod
    def open(cls, data_dir: str | os.PathLike | None, *, demo: bool = False) -> "TrustStore":
        """Default trust + the operator's imports from ``<data_dir>/trust/`` (+ the demo CSCA when ``demo``)."""
        store = cls.default()
        if demo:
            store.add_certificate(DEMO_CSCA.read_bytes(), source="demo", demo=True, shipped=True)
        if data_dir is not None:
            store.load(Path(data_dir) / "trust")
        return store

    @property
    def witnesses(self) -> tuple:
        """Genuine Document Signers that vouch for their CSCA (:mod:`verifier.trust.cccd`); the
        shipped CCCD witness unless the store was made with others (tests)."""
        return self._witnesses if self._witnesses is not None else cccd.shipped_witnesses()

    @witnesses.setter
    def witnesses(self, value) -> None:
        self._witnesses = tuple(value)

    def copy(self) -> "TrustStore":
        other = TrustStore(witnesses=self._witnesses)
        other._entries = dict(self._entries)
        other._by_ski = {k: list(v) for k, v in self._by_ski.items()}
        other._by_subject = {k: list(v) for k, v in self._by_subject.items()}
        other._crls = dict(self._crls)
        other._ml_roots = dict(self._ml_roots)
        other._distrusted = set(self._distrusted)
        return other

    # --- adding ------------------------------------------------------------------------
    def add_certificate(self, data: bytes | Certificate, *, source: str = "imported", demo: bool = False,
                        shipped: bool = False) -> TrustEntry:
        """Add a CSCA (self-issued CA certificate, self-signature checked) or a link certificate
        (CA certificate issued by a CSCA already in the store, signature checked).

        Anything else (a Document Signer, an end-entity certificate) is refused with :class:`TrustError`,
        and so is a look-alike of a witnessed CSCA (:func:`verifier.trust.cccd.check_presented_csca`).
        """
        cert = data if isinstance(data, Certificate) else load_certificate(data)
        if not _is_ca(cert):
            raise TrustError(f"{cert.subject} is not a CSCA certificate (no CA basic constraint or keyCertSign usage); "
                             f"Document Signer certificates come inside EF.SOD and are not trust anchors")
        if classify(cert) == CSCA:
            try:
                ok = cert.is_signed_by(cert)
            except ChipidError as e:
                raise TrustError(f"cannot verify the self-signature of {cert.subject}: {e}") from e
            if not ok:
                raise TrustError(f"the self-signature of {cert.subject} does not verify: the certificate is damaged or forged")
            kind = CSCA
        else:
            issuers = [e for e in self._issuer_candidates(cert) if e.kind == CSCA and _signs(e.cert, cert)]
            if not issuers:
                raise TrustError(f"{cert.subject} is a link certificate issued by {cert.issuer}, but no CSCA in the "
                                 f"store with that name verifies it; load the issuing CSCA first")
            kind = LINK
        if not demo:
            try:
                cccd.check_presented_csca(cert, self.witnesses)
            except TrustError:
                if not self._rolled_over(cert, kind):
                    raise
        entry = TrustEntry(cert, kind, source, demo, shipped)
        self._put(entry)
        return entry

    def _rolled_over(self, cert: Certificate, kind: str) -> bool:
        """A new generation of a witnessed CSCA (ICAO 9303-12 §5.5.2 key rollover): a link certificate
        signed by an installed CSCA that a witness vouches for, or a CSCA whose key such a link
        certificate in the store already carries."""
        if kind == LINK:
            return any(_signs(e.cert, cert) and any(w.vouches_for(e.cert) for w in self.witnesses)
                       for e in self._issuer_candidates(cert) if e.kind == CSCA)
        return any(e.kind == LINK and e.cert.spki == cert.spki and e.cert.subject_name == cert.subject_name
                   for e in self._entries_named(cert.subject_name))

    def _put(self, entry: TrustEntry) -> None:
        sha = entry.sha256
        if sha in self._entries:
            old = self._entries[sha]
            if old.shipped and not entry.shipped:
                return
        self._entries[sha] = entry
        self._distrusted.discard(sha) if not entry.shipped else None
        cert = entry.cert
        try:
            ski = cert.subject_key_identifier
        except ParseError:
            ski = None
        if ski:
            lst = self._by_ski.setdefault(ski, [])
            if sha not in lst:
                lst.append(sha)
        lst = self._by_subject.setdefault(_name_key(cert.subject_name), [])
        if sha not in lst:
            lst.append(sha)

    def add_ml_root(self, data: bytes | Certificate) -> Certificate:
        """Trust ``data`` as a root for master-list signers (a state's CSCA; never a DSC anchor by itself)."""
        cert = data if isinstance(data, Certificate) else load_certificate(data)
        if not _is_ca(cert) or classify(cert) != CSCA or not self_signed(cert):
            raise TrustError(f"{cert.subject} cannot root master lists: expected a self-signed CSCA certificate")
        self._ml_roots[cert.sha256] = (cert, False)
        return cert

    def add_master_list(self, data: bytes, *, roots: list[Certificate] | None = None, source: str = "imported",
                        at: datetime | None = None) -> MasterList:
        """Verify a CSCA master list against ``roots`` (default: the store's master-list roots) and add its CSCAs."""
        roots = list(roots) if roots is not None else [c for c, _ in self._ml_roots.values()]
        ml = load_master_list(data, roots, at=at)
        self._add_master_list_entries(ml, source=source)
        return ml

    def _add_master_list_entries(self, ml: MasterList, *, source: str, shipped: bool = False) -> None:
        for cert in ml.cscas:
            kind = classify(cert)
            self._put(TrustEntry(cert, kind, source, False, shipped))

    def add_crl(self, data: bytes | CRL, *, source: str = "imported", shipped: bool = False) -> StoredCRL:
        """Add a CRL after verifying its signature with a CSCA of the issuer's name (any generation)."""
        crl = data if isinstance(data, CRL) else load_crl(data)
        candidates = [e for e in self._entries_named(crl.issuer_name) if e.kind == CSCA]
        if not candidates:
            raise TrustError(f"no CSCA named {crl.issuer} is loaded: the CRL cannot be verified")
        aki = crl.authority_key_identifier
        candidates.sort(key=lambda e: 0 if aki and e.cert.subject_key_identifier == aki else 1)
        errors = []
        for entry in candidates:
            try:
                check_crl_signed_by(crl, entry.cert)
            except TrustError as e:
                errors.append(str(e))
                continue
            stored = StoredCRL(crl, entry.sha256, source, shipped)
            self._crls[crl.sha256] = stored
            return stored
        raise TrustError(f"the CRL of {crl.issuer} is not signed by any loaded CSCA of that name: {errors[0]}")

    def import_bytes(self, data: bytes, *, name: str = "input", demo: bool = False) -> str:
        """Add a master list, certificate(s) or CRL, recognised by content; returns what was added."""
        data = bytes(data)
        kind = sniff(data)
        if kind == "master_list":
            ml = self.add_master_list(data, source=f"imported:{name}")
            return f"master list {name}: {len(ml.cscas)} CSCA certificates (signed by {ml.signer.subject})"
        if kind == "crl":
            stored = self.add_crl(data, source=f"imported:{name}")
            return f"CRL of {stored.crl.issuer}: {len(stored.crl.revoked)} revoked"
        added = [self.add_certificate(c, source=f"imported:{name}", demo=demo) for c in load_certificates(data, what=name)]
        return "; ".join(f"{e.kind.upper()} {e.cert.subject}" for e in added)

    # --- removing ----------------------------------------------------------------------
    def remove(self, sha256: str) -> TrustEntry:
        """Remove a certificate by the SHA-256 of its DER (a shipped one is remembered as distrusted)."""
        sha256 = sha256.strip().lower()
        entry = self._entries.pop(sha256, None)
        if entry is None:
            raise TrustError(f"no certificate with SHA-256 {sha256} in the trust store")
        for index in (self._by_ski, self._by_subject):
            for lst in index.values():
                if sha256 in lst:
                    lst.remove(sha256)
        if entry.shipped:
            self._distrusted.add(sha256)
        for key in [k for k, v in self._crls.items() if v.csca_sha256 == sha256]:
            del self._crls[key]
        return entry

    # --- queries -----------------------------------------------------------------------
    def entries(self, *, country: str | None = None, kind: str | None = None) -> list[TrustEntry]:
        out = [e for e in self._entries.values() if (kind is None or e.kind == kind)]
        if country:
            out = [e for e in out if (e.cert.country or "") == country.upper()]
        return sorted(out, key=lambda e: (e.cert.country or "", e.cert.subject, e.cert.not_before))

    def cscas(self, country: str | None = None) -> list[Certificate]:
        return [e.cert for e in self.entries(country=country, kind=CSCA)]

    def links(self) -> list[Certificate]:
        return [e.cert for e in self.entries(kind=LINK)]

    def crls(self) -> list[StoredCRL]:
        return list(self._crls.values())

    def ml_roots(self) -> list[Certificate]:
        return [c for c, _ in self._ml_roots.values()]

    def entry(self, sha256: str) -> TrustEntry | None:
        return self._entries.get(sha256.lower())

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:  # an empty store is still a store
        return True

    def cscas_named(self, name) -> list[Certificate]:
        """The CSCA anchors (any generation) whose subject is ``name``."""
        return [e.cert for e in self._entries_named(name) if e.kind == CSCA]

    def _entries_named(self, name) -> list[TrustEntry]:
        return [self._entries[s] for s in self._by_subject.get(_name_key(name), []) if s in self._entries]

    def _issuer_candidates(self, cert: Certificate) -> list[TrustEntry]:
        found: dict[str, TrustEntry] = {}
        try:
            aki = cert.authority_key_identifier
        except ParseError:
            aki = None
        if aki:
            for s in self._by_ski.get(aki, []):
                if s in self._entries:
                    found[s] = self._entries[s]
        for e in self._entries_named(cert.issuer_name):
            found.setdefault(e.sha256, e)
        return list(found.values())

    def issuer_candidates(self, cert: Certificate) -> list[TrustEntry]:
        """CSCA entries (anchors only) that may have issued ``cert``: same key identifier or same name."""
        return [e for e in self._issuer_candidates(cert) if e.kind == CSCA]

    def link_candidates(self, cert: Certificate) -> list[TrustEntry]:
        """Link certificates whose key may have signed ``cert`` (reported, never used as intermediates)."""
        return [e for e in self._issuer_candidates(cert) if e.kind == LINK]

    def crls_for(self, issuer_name) -> list[StoredCRL]:
        """Verified CRLs whose issuer is ``issuer_name`` (any CSCA generation of that name), newest first."""
        key = _name_key(issuer_name)
        out = [c for c in self._crls.values() if _name_key(c.crl.issuer_name) == key]
        return sorted(out, key=lambda c: c.crl.this_update, reverse=True)

    # --- persistence -------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        """Write the operator's part (imports, removals of shipped entries) to ``directory``."""
        directory = Path(directory)
        (directory / "certs").mkdir(parents=True, exist_ok=True)
        (directory / "crls").mkdir(parents=True, exist_ok=True)
        manifest: dict = {"version": 1, "certificates": [], "crls": [], "ml_roots": [],
                          "distrusted": sorted(self._distrusted)}
        for e in self._entries.values():
            if e.shipped:
                continue
            path = directory / "certs" / f"{e.sha256}.der"
            write_private_file(path, e.cert.der)
            manifest["certificates"].append({"sha256": e.sha256, "kind": e.kind, "source": e.source, "demo": e.demo})
        for c in self._crls.values():
            if c.shipped:
                continue
            write_private_file(directory / "crls" / f"{c.crl.sha256}.crl", c.crl.der)
            manifest["crls"].append({"sha256": c.crl.sha256, "source": c.source})
        for sha, (cert, shipped) in self._ml_roots.items():
            if not shipped:
                write_private_file(directory / "certs" / f"{sha}.der", cert.der)
                manifest["ml_roots"].append({"sha256": sha})
        keep = {f"{x['sha256']}.der" for x in manifest["certificates"] + manifest["ml_roots"]}
        for f in (directory / "certs").glob("*.der"):
            if f.name not in keep:
                f.unlink()
        keep_crl = {f"{x['sha256']}.crl" for x in manifest["crls"]}
        for f in (directory / "crls").glob("*.crl"):
            if f.name not in keep_crl:
                f.unlink()
        write_private_file(directory / MANIFEST, json.dumps(manifest, indent=1).encode())

    def load(self, directory: str | os.PathLike) -> "TrustStore":
        """Apply a directory written by :meth:`save` (missing directory: nothing to add)."""
        directory = Path(directory)
        path = directory / MANIFEST
        if not path.exists():
            return self
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise TrustError(f"trust store manifest {path} is unreadable: {e}") from e
        for item in manifest.get("ml_roots", []):
            self.add_ml_root(_read_checked(directory / "certs" / f"{item['sha256']}.der", item["sha256"]))
        # Each file was verified when it was imported; on reload its bytes are checked against
        # the SHA-256 recorded in the manifest and it keeps the kind it was given then.
        for item in manifest.get("certificates", []):
            raw = _read_checked(directory / "certs" / f"{item['sha256']}.der", item["sha256"])
            kind = item.get("kind", CSCA)
            if kind not in (CSCA, LINK):
                raise TrustError(f"trust store manifest {path}: unknown kind {kind!r} for {item['sha256']}")
            self._put(TrustEntry(load_certificate(raw), kind, item.get("source", "imported"), bool(item.get("demo"))))
        for item in manifest.get("crls", []):
            raw = _read_checked(directory / "crls" / f"{item['sha256']}.crl", item["sha256"])
            self.add_crl(raw, source=item.get("source", "imported"))
        for sha in manifest.get("distrusted", []):
            if sha in self._entries:
                self.remove(sha)
            self._distrusted.add(sha)
        return self


def _read_checked(path: Path, sha: str) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TrustError(f"trust store file {path} is missing: {e}") from e
    if hashlib.sha256(raw).hexdigest() != sha:
        raise TrustError(f"trust store file {path} does not match its recorded SHA-256: changed on disk")
    return raw


def _name_key(name) -> tuple:
    return name.key


def classify(cert: Certificate) -> str:
    """"csca" for a self-signed CA certificate, "link" for one signed by another key.

    Self-issued link certificates exist (same name, new key signed by the old one, as
    Germany and the USA publish them): a self-issued certificate whose authority key
    identifier differs from its subject key identifier is a link. Cheap by design (no
    signature check): a CSCA's self-signature is verified when it is first used
    (:func:`self_signed`)."""
    if not cert.self_issued:
        return LINK
    try:
        aki, ski = cert.authority_key_identifier, cert.subject_key_identifier
    except ParseError:
        return LINK
    if aki and ski and aki != ski:
        return LINK
    return CSCA


_SELF_SIGNED: dict[str, bool] = {}


def self_signed(cert: Certificate) -> bool:
    """Does the certificate's own key verify its signature? (memoised by SHA-256)"""
    ok = _SELF_SIGNED.get(cert.sha256)
    if ok is None:
        ok = _signs(cert, cert)
        if len(_SELF_SIGNED) < 100_000:
            _SELF_SIGNED[cert.sha256] = ok
    return ok


def _is_ca(cert: Certificate) -> bool:
    try:
        ku = cert.key_usage
        return cert.is_ca or (ku is not None and "key_cert_sign" in ku)
    except ParseError:
        return False


def _signs(issuer: Certificate, cert: Certificate) -> bool:
    try:
        return cert.is_signed_by(issuer)
    except ChipidError:
        return False


def sniff(data: bytes) -> str:
    """"master_list", "crl" or "certificate" by content (PEM or DER)."""
    if b"-----BEGIN X509 CRL" in data:
        return "crl"
    if b"-----BEGIN" in data:
        return "certificate"
    try:
        node = der.parse(data, "trust file", allow_trailing=True)
        parts = node.children()
        if len(parts) == 2 and parts[0].is_(der.OID) and parts[0].as_oid("contentType") == cms.SIGNED_DATA:
            return "master_list"
        if len(parts) == 3:
            tbs = parts[0].children()
            # TBSCertList: [version] signature issuer thisUpdate ...; TBSCertificate starts with [0] or serial INTEGER.
            i = 1 if tbs and tbs[0].is_(der.INTEGER) and len(tbs) > 1 and tbs[1].is_(der.SEQUENCE) else 0
            if len(tbs) > i + 2 and tbs[i].is_(der.SEQUENCE) and tbs[i + 1].is_(der.SEQUENCE) and (
                    tbs[i + 2].is_(der.UTCTIME) or tbs[i + 2].is_(der.GENERALIZEDTIME)):
                return "crl"
    except ChipidError:
        pass
    return "certificate"


@functools.lru_cache(maxsize=1)
def _shipped() -> tuple[Certificate, MasterList]:
    """The shipped master list, verified once per process."""
    root = load_certificate(SHIPPED_ML_ROOT.read_bytes(), what=SHIPPED_ML_ROOT.name)
    ml = load_master_list(SHIPPED_MASTER_LIST.read_bytes(), [root])
    if ml.rejected:
        log.warning("shipped master list: %d entries unreadable: %s", len(ml.rejected), "; ".join(ml.rejected[:3]))
    return root, ml

"""ICAO CSCA master lists (ICAO 9303-12 §8 / Doc 9303-12 App. on Master Lists).

A master list is a CMS SignedData (RFC 5652) whose eContentType is id-icao-cscaMasterList
(2.23.136.1.1.2) and whose content is::

    CscaMasterList ::= SEQUENCE { version CscaMasterListVersion (v0), certList SET OF Certificate }

Loading verifies, in this order, and refuses with :class:`TrustError` on any failure:
the signer certificate is embedded and named by the SignerInfo; it is issued and signed by
one of the ``roots`` given (the publishing state's CSCA, loaded separately: a list is never
trusted on its own say-so); it has the digitalSignature key usage and was valid when the
list was signed; the CMS signature verifies (:func:`verifier.trust.cms.check_signer`).
Only then are the CSCA certificates read (kept as DER exactly as listed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from verifier.errors import ChipidError, LimitExceededError, ParseError, TrustError, VerificationError
from verifier.trust import cms, der
from verifier.trust.certs import Certificate, load_certificate

log = logging.getLogger(__name__)

CSCA_MASTER_LIST = "2.23.136.1.1.2"
MAX_ML_BYTES = 32 * 1024 * 1024
MAX_ML_OUTER_NODES = 20_000
MAX_ML_CERTIFICATES = 10_000


@dataclass(frozen=True)
class MasterList:
    signer: Certificate
    root: Certificate
    signing_time: datetime | None
    cscas: tuple[Certificate, ...]
    rejected: tuple[str, ...]  # entries that could not be read, with the reason


def load_master_list(data: bytes, roots: list[Certificate] | tuple[Certificate, ...], *,
                     at: datetime | None = None) -> MasterList:
    """Verify and read a CSCA master list against ``roots`` (see the module docstring)."""
    data = bytes(data)
    if len(data) > MAX_ML_BYTES:
        raise LimitExceededError(f"master list of {len(data)} bytes: at most {MAX_ML_BYTES} allowed")
    if not roots:
        raise TrustError("cannot verify the master list: no root certificate given for its signer "
                         "(load the publishing state's CSCA, e.g. DE_ML_signer_root_CSCA07.cer)")
    node = der.read_node(data, 0)
    if node.end != len(data):
        raise ParseError(f"master list: {len(data) - node.end} trailing bytes after the ContentInfo")
    sd = cms.parse_signed_data(node, "master list", max_nodes=MAX_ML_OUTER_NODES)
    if sd.content_type != CSCA_MASTER_LIST:
        raise TrustError(f"not a CSCA master list: eContentType {sd.content_type}, expected {CSCA_MASTER_LIST}")
    if len(sd.signer_infos) != 1:
        raise TrustError(f"master list: expected exactly one SignerInfo, found {len(sd.signer_infos)}")
    signer_info = sd.signer_infos[0]
    embedded = [load_certificate(c, what="master list signer certificate") for c in sd.certificates]
    signer = next((c for c in embedded if cms.signer_matches(signer_info, c)), None)
    if signer is None:
        raise TrustError("master list: the signer's certificate is not embedded in the list")

    root = None
    problems = []
    for candidate in roots:
        if candidate.subject_name != signer.issuer_name:
            problems.append(f"{candidate.subject} is not the issuer {signer.issuer}")
            continue
        try:
            if signer.is_signed_by(candidate):
                root = candidate
                break
            problems.append(f"signature does not verify with {candidate.subject} ({candidate.sha256[:16]})")
        except (VerificationError, ParseError) as e:
            problems.append(f"{candidate.subject}: {e}")
    if root is None:
        raise TrustError(f"master list signer {signer.subject} does not chain to any given root: "
                         + "; ".join(problems[:5]))
    if signer.key_usage is not None and "digital_signature" not in signer.key_usage:
        raise TrustError(f"master list signer {signer.subject} lacks the digitalSignature key usage")
    signing_time = signer_info.signing_time
    when = signing_time or at or datetime.now(timezone.utc)
    if not signer.valid_at(when):
        raise TrustError(f"master list signer {signer.subject} was not valid at {when:%Y-%m-%d} "
                         f"(valid {signer.not_before:%Y-%m-%d} to {signer.not_after:%Y-%m-%d})")
    if not root.valid_at(when):
        raise TrustError(f"master list root {root.subject} was not valid at {when:%Y-%m-%d}")
    try:
        check = cms.check_signer(signer_info, sd.econtent, sd.content_type, signer.public_key)
    except (VerificationError, ParseError) as e:
        raise TrustError(f"master list signature cannot be verified: {e}") from e
    if not check.valid:
        raise TrustError(f"master list signature is invalid: {check.problem}")

    cscas, rejected = _read_cert_list(sd.econtent)
    log.info("master list signed by %s: %d CSCA certificates, %d unreadable", signer.subject, len(cscas), len(rejected))
    return MasterList(signer, root, signing_time, tuple(cscas), tuple(rejected))


def _read_cert_list(econtent: bytes) -> tuple[list[Certificate], list[str]]:
    node = der.parse(econtent, "CscaMasterList").expect(der.SEQUENCE, "CscaMasterList", constructed=True)
    fields = node.children()
    if len(fields) != 2:
        raise ParseError(f"CscaMasterList: expected version and certList, found {len(fields)} elements")
    version = fields[0].as_int("CscaMasterList version", 2)
    if version != 0:
        raise ParseError(f"CscaMasterList version {version}: expected 0")
    entries = fields[1].expect(der.SET, "CscaMasterList certList", constructed=True).children()
    if len(entries) > MAX_ML_CERTIFICATES:
        raise LimitExceededError(f"master list with {len(entries)} certificates: at most {MAX_ML_CERTIFICATES}")
    cscas: list[Certificate] = []
    rejected: list[str] = []
    for i, entry in enumerate(entries):
        try:
            cscas.append(load_certificate(entry.raw, what=f"master list entry {i + 1}"))
        except ChipidError as e:
            rejected.append(f"entry {i + 1}: {e}")
    return cscas, rejected

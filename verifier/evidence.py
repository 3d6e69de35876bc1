"""A contract's chip evidence, and its independent re-verification (issue 19 item 1).

A contract carries, besides the shop's verdict, what the chip gave at the counter, byte for byte
(ARCHITECTURE.md "Hash the bytes that were read"): EF.SOD, DG1, DG13, DG14, DG15, the SHA-256 of
DG2 (the photo stays at the shop), and an Active Authentication signature (ICAO 9303-11 §6.1)
over a challenge bound to this transaction (:func:`aa_challenge`)::

    challenge = SHA-256("chipid-aa/1|" device_id "|" scan_id "|" head_seq "|" head_hash)[:8]

``device_id`` is the shop ledger's device id, ``scan_id`` the scan's id, ``head_seq`` /
``head_hash`` the ledger head when the scan started. A chip signs only what it is sent, and
nobody can know a ledger head before it exists, so a signature over this challenge shows that
the chip holding DG15's private key was at this counter after that head: a copied dump cannot
produce it, and a signature from an earlier contract names another scan (and is caught as a
replay by who keeps the signatures seen: the police backend).

:func:`verify_evidence` is pure: anybody holding a trust store re-runs passive authentication
(ICAO 9303-11 §5.1: SOD signature, DSC -> CSCA chain, revocation, each data-group hash), holds
DG1/DG13 against the contract's holder fields and verifies the AA signature against DG15's key
and the recomputed challenge, whose ledger head must be a hash of the device's own chain at a
seq before the contract (``chain_hash``). It returns graded checks and a verdict
(``authentic`` / ``not_authentic`` / ``unverified``), never a bare boolean: a CSCA the verifier
lacks is ``unverified`` (the authority is not installed), never "forged".
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from verifier import verdict as V
from verifier.cccd.dg13 import parse_dg13
from verifier.errors import ChipidError
from verifier.icao.active_auth import verify_active_auth
from verifier.icao.lds.dg1 import parse_dg1
from verifier.icao.lds.dg14 import parse_dg14
from verifier.icao.lds.dg15 import parse_dg15
from verifier.inspection import holder_fields
from verifier.results import HOLDER_FIELDS, AAEvidence, ContractEvidence
from verifier.trust.certs import Certificate, load_certificate
from verifier.trust.passive import PAPolicy, verify_passive
from verifier.trust.store import MANIFEST, TrustStore

#: The first field of the challenge's input text: a new derivation gets a new name.
CHALLENGE_FORMAT = "chipid-aa/1"
#: The ledger's genesis hash (verifier/ledger/LEDGER.md): the head of an empty chain, seq 0.
GENESIS = "0" * 64

#: Checks of the re-verification besides passive authentication's.
EVIDENCE_COMPLETE = "evidence_complete"
HOLDER_MATCH = "holder_match"
AA_BINDING = "aa_binding"

#: The checks that prove the chip signed this transaction's challenge (both passed: the AA signature is its own).
AA_CHECKS = (V.ACTIVE_AUTHENTICATION, AA_BINDING)

#: A failure of one of these means the evidence does not prove what the contract says.
DECISIVE = V.DECISIVE | {EVIDENCE_COMPLETE, HOLDER_MATCH, AA_BINDING}

#: The passive-authentication checks that need files the contract does not carry (EF.COM).
_NOT_CARRIED = (V.SOD_COMPLETENESS,)


def challenge_inputs(device_id: str, scan_id: str, head_seq: int, head_hash: str) -> dict:
    """The inputs of a scan's AA challenge, as the contract carries them."""
    return {"format": CHALLENGE_FORMAT, "device_id": str(device_id), "scan_id": str(scan_id),
            "head_seq": int(head_seq), "head_hash": str(head_hash)}


def aa_challenge(inputs: Mapping) -> bytes:
    """The 8-byte AA challenge (ICAO 9303-11 §6.1: INTERNAL AUTHENTICATE takes 8 bytes) of ``inputs``:
    the first 8 bytes of SHA-256 over the format, device id, scan id and ledger head, ``|``-separated.
    Raises KeyError / ValueError for inputs of another shape."""
    if inputs.get("format") != CHALLENGE_FORMAT:
        raise ValueError(f"AA challenge inputs: expected format {CHALLENGE_FORMAT!r}, found {inputs.get('format')!r}")
    parts = (CHALLENGE_FORMAT, str(inputs["device_id"]), str(inputs["scan_id"]), str(int(inputs["head_seq"])),
             str(inputs["head_hash"]))
    if any("|" in p for p in parts):
        raise ValueError("AA challenge inputs must not contain '|'")
    return hashlib.sha256("|".join(parts).encode("utf-8")).digest()[:8]


class CertificateCache:
    """Parsed certificates (with their public keys, loaded once) by the SHA-256 of every byte of their DER,
    for a verifier of many cards: a Document Signer signs thousands of cards, so parsing its certificate
    and loading its key once leaves the SOD signature and the AA signature as the only per-card public-key
    operations. A drop-in for :func:`verifier.trust.certs.load_certificate` (``verify_passive(certificate=)``).

    Only what is a pure function of the bytes is kept: a certificate that differs in any byte (another
    key, signature or extension under the same subject and serial) is another entry, and the chain and
    revocation checks still run for every card against the trust store of the moment (a CRL imported
    since revokes at once; the DSC -> CSCA signature is memoised by both certificates' bytes,
    :func:`verifier.trust.certs.signed_by`). Bounded: at most ``size`` certificates, each for ``ttl_s``
    seconds; a certificate that does not parse is never kept (its error is raised every time)."""

    def __init__(self, size: int = 1024, ttl_s: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.ttl_s, self._clock = size, ttl_s, clock
        self._certs: OrderedDict[bytes, tuple[float, Certificate]] = OrderedDict()
        self.hits = self.misses = 0

    def __call__(self, data: bytes, *, what: str = "certificate") -> Certificate:
        key = hashlib.sha256(data).digest()
        now = self._clock()
        found = self._certs.get(key)
        if found is not None and found[0] > now and found[1].der == bytes(data):
            self._certs.move_to_end(key)
            self.hits += 1
            return found[1]
        self.misses += 1
        cert = load_certificate(data, what=what)
        try:
            cert.public_key  # noqa: B018 - loaded once, kept with the certificate
        except ChipidError:
            pass  # an unusable key fails the signature check, every time
        self._certs[key] = (now + self.ttl_s, cert)
        self._certs.move_to_end(key)
        while len(self._certs) > self.size:
            self._certs.popitem(last=False)
        return cert

    def __len__(self) -> int:
        return len(self._certs)


@dataclass(frozen=True)
class EvidenceCheck:
    """The outcome of :func:`verify_evidence`: the checks and the verdict they grade to, and the
    SHA-256 of the AA signature (what a replay detector remembers), None without one."""

    checks: tuple[V.Check, ...]
    verdict: V.Outcome
    aa_signature_sha256: str | None = None


def decide(checks) -> V.Outcome:
    """``not_authentic`` when a decisive check failed; ``authentic`` when the SOD signature, the DSC
    chain, every data-group hash and (when present) the evidence checks passed; else ``unverified``."""
    checks = list(checks)
    if any(c.status is V.Status.FAILED and (c.name.startswith("dg_hash_") or c.name in DECISIVE) for c in checks):
        return V.Outcome.NOT_AUTHENTIC
    by_name = {c.name: c for c in checks}
    hashes = [c for c in checks if c.name.startswith("dg_hash_")]
    needed = [by_name.get(V.SOD_SIGNATURE), by_name.get(V.DSC_CHAIN), by_name.get(HOLDER_MATCH)]
    if not hashes or any(c is None or c.status is not V.Status.PASSED for c in needed + hashes):
        return V.Outcome.UNVERIFIED
    aa = [by_name[n] for n in (V.ACTIVE_AUTHENTICATION, AA_BINDING) if n in by_name]
    if any(c.status is not V.Status.PASSED for c in aa):
        return V.Outcome.UNVERIFIED
    return V.Outcome.AUTHENTIC


def _holder_match(files: dict[str, bytes], pawner: Mapping) -> tuple[V.Check, str | None]:
    """DG1 (MRZ) and DG13 against the contract's holder fields: the fields the chip gives must be
    the ones recorded, field by field (values are never quoted: they are personal data)."""
    mrz = dg13 = None
    try:
        mrz = parse_dg1(files["DG1"]).mrz if "DG1" in files else None
    except ChipidError as e:
        return V.failed(HOLDER_MATCH, f"DG1 cannot be parsed: {e}", "Không đọc được DG1 (MRZ) trong bằng chứng"), None
    if "DG13" in files:
        try:
            dg13 = parse_dg13(files["DG13"])
        except ChipidError:
            dg13 = None  # the shop fell back to the MRZ field by field too (scan dg13_error)
    chip = holder_fields(mrz, dg13)
    differ = [k for k in HOLDER_FIELDS if (chip.get(k) or None) != (pawner.get(k) or None)]
    state = mrz.issuing_state if mrz is not None else None
    if differ:
        return V.failed(HOLDER_MATCH, f"the contract's holder fields differ from DG1/DG13 as read: {', '.join(differ)}",
                        f"Thông tin người cầm đồ trong hợp đồng không khớp với DG1/DG13 của chip: {', '.join(differ)}",
                        fields=differ), state
    return V.passed(HOLDER_MATCH, "the contract's holder fields are those of DG1/DG13",
                    "Thông tin người cầm đồ trong hợp đồng khớp với DG1/DG13 của chip"), state


def _aa_checks(files: dict[str, bytes], aa: AAEvidence | None, *, scan_id: str | None, device_id: str, seq: int,
               chain_hash: Callable[[int], str | None]) -> list[V.Check]:
    """The AA signature against DG15's key and the recomputed, transaction-bound challenge."""
    if "DG15" not in files:
        return []
    if aa is None:
        return [V.failed(AA_BINDING, "the chip has DG15 (active authentication) but the contract carries no AA signature",
                         "Chip có xác thực chủ động (DG15) nhưng hợp đồng không có chữ ký xác thực chủ động")]
    inputs = aa.challenge_inputs
    try:
        expected = aa_challenge(inputs)
        head_seq, head_hash = int(inputs["head_seq"]), str(inputs["head_hash"])
    except (KeyError, TypeError, ValueError) as e:
        return [V.failed(AA_BINDING, f"the AA challenge inputs are malformed: {e}",
                         "Dữ liệu tạo thử thách xác thực chủ động bị lỗi")]
    problems: list[tuple[str, str]] = []
    if expected != aa.challenge:
        problems.append(("the challenge is not the one its inputs give", "thử thách không khớp với dữ liệu tạo ra nó"))
    if inputs.get("device_id") != device_id:
        problems.append(("the challenge names another device", "thử thách thuộc thiết bị khác"))
    if scan_id is None or inputs.get("scan_id") != scan_id:
        problems.append(("the challenge names another scan", "thử thách thuộc lần quét khác"))
    if not 0 <= head_seq < seq:
        problems.append((f"the challenge's ledger head (seq {head_seq}) is not before the contract (seq {seq})",
                         f"đầu sổ của thử thách (số {head_seq}) không đứng trước hợp đồng (số {seq})"))
    elif (GENESIS if head_seq == 0 else chain_hash(head_seq)) != head_hash:
        problems.append((f"the challenge's ledger head is not this device's entry {head_seq}",
                         f"đầu sổ của thử thách không phải bản ghi số {head_seq} của thiết bị này"))
    if problems:
        binding = V.failed(AA_BINDING, "the AA challenge is not bound to this transaction: "
                           + "; ".join(p[0] for p in problems),
                           "Thử thách xác thực chủ động không gắn với giao dịch này: " + "; ".join(p[1] for p in problems))
    else:
        binding = V.passed(AA_BINDING, "the AA challenge is bound to this device, scan and ledger head",
                           "Thử thách xác thực chủ động gắn với thiết bị, lần quét và đầu sổ này", head_seq=head_seq)
    try:
        dg15 = parse_dg15(files["DG15"])
        sig_alg = None
        if "DG14" in files:
            info = parse_dg14(files["DG14"]).security_infos.active_auth
            sig_alg = info.signature_algorithm if info is not None else None
        result = verify_active_auth(dg15.public_key_info, expected, aa.signature, sig_alg)
    except ChipidError as e:
        aa_check = V.failed(V.ACTIVE_AUTHENTICATION, f"the AA signature cannot be verified: {e}",
                            "Không kiểm tra được chữ ký xác thực chủ động")
    else:
        aa_check = (V.passed(V.ACTIVE_AUTHENTICATION, f"the chip signed this transaction's challenge ({result.algorithm})",
                             "Chip đã ký thử thách của giao dịch này bằng khóa DG15", algorithm=result.algorithm)
                    if result.valid else
                    V.failed(V.ACTIVE_AUTHENTICATION, f"the AA signature does not verify over the challenge: {result.reason}",
                             "Chữ ký xác thực chủ động không hợp lệ với thử thách của giao dịch này",
                             algorithm=result.algorithm))
    return [binding, aa_check]


def verify_evidence(evidence: ContractEvidence, *, pawner: Mapping, scan_id: str | None, device_id: str, seq: int,
                    store, at: _dt.datetime, chain_hash: Callable[[int], str | None],
                    policy: PAPolicy = PAPolicy(),
                    certificate: Callable[..., Certificate] = load_certificate) -> EvidenceCheck:
    """Re-verify a contract's chip evidence (see the module docstring). ``pawner``: the contract's
    holder fields; ``device_id`` / ``seq``: the contract's entry; ``chain_hash(seq)``: the hash of the
    device's entry at ``seq`` (None when unknown); ``at``: the time of the check; ``certificate``: how
    EF.SOD's embedded certificate is parsed (a :class:`CertificateCache` for many cards). Never raises
    for bad evidence: it is a failed check."""
    files = dict(evidence.files)
    checks: list[V.Check] = []
    if "SOD" not in files:
        checks.append(V.failed(EVIDENCE_COMPLETE, "the evidence carries no EF.SOD", "Bằng chứng không có EF.SOD"))
        return EvidenceCheck(tuple(checks), decide(checks))
    holder_check, state = _holder_match(files, pawner)
    pa = verify_passive(files["SOD"], {k: v for k, v in files.items() if k != "SOD"}, store, at=at,
                        mrz_issuing_state=state, com_dgs=None, policy=policy, certificate=certificate)
    checks += [c for c in pa.checks if c.name not in _NOT_CARRIED]
    if pa.sod is not None:
        listed = set(pa.sod.dg_hashes)
        missing = sorted(n for n in listed & {1, 13, 14, 15} if f"DG{n}" not in files)
        if 2 in listed:
            if evidence.dg2_sha256 is None:
                missing.append(2)
            elif pa.sod.hash_algorithm != "sha256":
                checks.append(V.not_performed("dg_hash_2", f"EF.SOD hashes with {pa.sod.hash_algorithm}: DG2's SHA-256 "
                                              "cannot be compared", "Không đối chiếu được giá trị băm DG2"))
            elif pa.sod.dg_hashes[2].hex() == evidence.dg2_sha256.lower():
                checks.append(V.passed("dg_hash_2", "DG2 (the photo, by its hash) is exactly as signed by the issuer",
                                       "Ảnh DG2 (theo giá trị băm) đúng như cơ quan cấp đã ký"))
            else:
                checks.append(V.failed("dg_hash_2", "DG2's hash is not the one EF.SOD signs",
                                       "Giá trị băm của ảnh DG2 không khớp với dữ liệu đã ký"))
        if missing or not {1, 13} & listed:
            names = ", ".join(f"DG{n}" for n in missing) or "DG1/DG13"
            checks.append(V.failed(EVIDENCE_COMPLETE, f"the evidence lacks data groups EF.SOD signs: {names}",
                                   f"Bằng chứng thiếu nhóm dữ liệu được ký: {names}", missing=missing))
        else:
            checks.append(V.passed(EVIDENCE_COMPLETE, "the evidence carries every data group needed",
                                   "Bằng chứng có đủ các nhóm dữ liệu cần thiết"))
    checks.append(holder_check)
    checks += _aa_checks(files, evidence.aa, scan_id=scan_id, device_id=device_id, seq=seq, chain_hash=chain_hash)
    sig = hashlib.sha256(evidence.aa.signature).hexdigest() if evidence.aa is not None else None
    return EvidenceCheck(tuple(checks), decide(checks), sig)


# --- the verifier's trust (the police backend's own, in its data directory) ----------------------------------

def trust_dir(data_dir: str | os.PathLike) -> Path:
    """Where a data directory keeps its trust imports (:meth:`verifier.trust.store.TrustStore.save`)."""
    return Path(data_dir) / "trust"


def open_trust(data_dir: str | os.PathLike | None, *, demo: bool = False) -> TrustStore:
    """The shipped trust plus the imports of ``data_dir`` (None: the shipped trust only); with ``demo``
    the emulator's demo CSCA too (for entries marked demo only: what it verifies is marked DEMO)."""
    return TrustStore.open(data_dir, demo=demo)


def trust_version(data_dir: str | os.PathLike | None) -> float:
    """The modification time of ``data_dir``'s trust manifest (0 without one): changes when trust is imported."""
    if data_dir is None:
        return 0.0
    try:
        return (trust_dir(data_dir) / MANIFEST).stat().st_mtime
    except OSError:
        return 0.0


def import_trust(data_dir: str | os.PathLike, data: bytes, *, name: str) -> str:
    """Import a CSCA, link certificate, master list or CRL into ``data_dir``'s trust; returns what was added."""
    store = TrustStore.open(data_dir)
    added = store.import_bytes(data, name=name)
    store.save(trust_dir(data_dir))
    return added

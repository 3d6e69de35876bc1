"""One card at the counter, end to end: reader -> chip session -> checks -> a result.

The result is a :class:`verifier.results.ScanResult`; its ``to_json()`` is what ``chipid read
--json`` prints and ``GET /api/v1/scans/{id}`` returns (README "chipid read --json"). Progress
is a :class:`verifier.results.ScanStep` per step, emitted here.

Order of work on the chip (ICAO 9303-11 §7, inspection procedure):

1. access control (PACE, else BAC by ``chip.access_policy``) with the candidate keys;
2. read EF.SOD, then EF.COM (unsigned: read when present, its absence reported, never fatal),
   then the data groups EF.SOD lists (without a usable EF.SOD: those EF.COM lists, else
   :data:`DEFAULT_DGS`), DG14 last (:func:`reading_plan`);
3. chip authentication with DG14's key, then restart secure messaging under the new keys
   and read DG15 through them: a chip that lacks DG14's private key fails here (clone);
4. active authentication with DG15's key over the challenge bound to the transaction when the caller
   gives its inputs (``aa_challenge_inputs``: device id, scan id, ledger head; :mod:`verifier.evidence`),
   else a random one, then DG3 when the card lists it (EAC-protected on a
   CCCD: reported in ``not_readable``, not as an error);
5. passive authentication and the remaining checks (:mod:`verifier.inspection`), and the
   ``access_protocol`` check (:mod:`verifier.access_protocol`: PACE offered, BAC used).

A file the chip refuses is reported in ``not_readable`` with its status word and the read goes
on; secure messaging the chip ended is re-opened with the same key, and chip authentication is
run again before DG15 and active authentication (:class:`verifier.icao.session.ChipSession`).
A card lifted mid-read is waited for up to ``reader.timeout_s`` (step ``CARD_LIFTED``, then ``CARD_BACK``),
checked to be the same chip and read on from where it stopped, at most :data:`MAX_RESUMES`
times; the result says how many times (``resumes``).

The result's ``evidence`` (:class:`verifier.results.ContractEvidence`: EF.SOD, DG1, DG13, DG14, DG15
as read, DG2's hash, the AA challenge's inputs and the chip's signature) goes into the contract.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from verifier import verdict as V
from verifier.access_protocol import access_protocol_check
from verifier.cccd import access as access_keys
from verifier.cccd.access_match import AccessData, with_keys
from verifier.evidence import aa_challenge
from verifier.config import Config
from verifier.errors import (
    AccessKeyError,
    ChipError,
    ChipidError,
)
from verifier.icao.active_auth import perform_active_authentication
from verifier.icao.chip_auth import confirm_chip_authentication, run_chip_authentication
from verifier.icao.lds.dg15 import parse_dg15
from verifier.icao.session import ChipSession
from verifier.inspection import ParsedLds, inspect_document
from verifier.results import AAEvidence, AccessEvidence, ChipEvidence, ContractEvidence, FileRead, Holder, \
    PortraitInfo, Progress, ScanResult, ScanStep, is_demo
from verifier.trust.passive import PAPolicy
from verifier.transport import CardTransport

log = logging.getLogger(__name__)

DEMO_CARD_DIR = Path(__file__).resolve().parents[1] / "drivers" / "emulator" / "demo" / "card"
#: Data groups read when neither EF.SOD nor EF.COM says which: a CCCD's (public dumps).
DEFAULT_DGS = (1, 2, 13, 14, 15)
#: Read after chip authentication, through its keys: a chip without DG14's private key fails first.
AFTER_CA_DGS = (15,)
#: Data groups behind Extended Access Control (fingerprints, iris): asked for last, only when EF.COM
#: or EF.SOD lists them, and reported in ``not_readable`` (6982: "access-protected"), never as an error.
EAC_DGS = (3, 4)
#: Lifted cards waited for in one scan.
MAX_RESUMES = 3
#: Step of the error raised when chip authentication, run again after re-opening, fails.
CA_AGAIN = "chip authentication again"


@dataclass
class ScanOutcome:
    result: ScanResult
    portrait: bytes | None = None  # the chip's face image, byte for byte
    files: dict[str, bytes] = field(default_factory=dict)


def keys_from_access(access: dict | None, *, demo_card: Path | None = None) -> access_keys.AccessCandidates:
    """Access keys from what the clerk typed or scanned.

    ``access`` may hold one of: ``mrz``; ``qr``; ``id_number`` + ``birth_date`` + ``expiry_date``;
    ``doc_number`` + ``birth_date`` + ``expiry_date``; ``can``. With nothing given, the emulated
    demo card's CAN is used in demo mode; otherwise an :class:`AccessKeyError` says what is needed.
    """
    access = {k: v for k, v in (access or {}).items() if v not in (None, "")}
    if "mrz" in access:
        return access_keys.keys_from_mrz(str(access["mrz"]))
    if "qr" in access:
        return access_keys.keys_from_qr(str(access["qr"]))
    if "can" in access:
        return access_keys.keys_from_can(str(access["can"]))
    if "id_number" in access or "doc_number" in access:
        missing = [k for k in ("birth_date", "expiry_date") if k not in access]
        if missing:
            raise AccessKeyError(f"an ID or document number needs {' and '.join(missing)} too")
        if "id_number" in access:
            return access_keys.keys_from_id(str(access["id_number"]), access["birth_date"], access["expiry_date"])
        return access_keys.keys_from_document(str(access["doc_number"]), access["birth_date"], access["expiry_date"])
    if demo_card is not None:
        from drivers.emulator.profile import load_profile

        return access_keys.keys_from_can(load_profile(demo_card).id_number[-6:])
    raise AccessKeyError(
        "an access key is needed: the card's QR code, its MRZ, the ID number with birth and expiry dates, or the CAN"
    )


def usable_readers() -> list[dict]:
    """Attached PC/SC and NFC readers; vsmartcard's virtual test readers count only while they hold a card."""
    from drivers.open import describe_readers

    return [r for r in describe_readers() if not r.get("virtual") or r.get("card_present")]


def demo_mode(config: Config, spec: str | None = None) -> bool:
    """True when scans use the emulated demo card: ``reader.name = "emulator"``, or ``auto`` with no reader."""
    spec = spec or config["reader.name"]
    if spec == "emulator":
        return True
    return spec == "auto" and not usable_readers()


def open_reader(config: Config, spec: str | None = None, *, card_dir: Path | None = None) -> tuple[CardTransport, bool]:
    """Open the configured reader; returns (transport, demo).

    ``emulator`` (or ``auto`` with no reader attached) gives the emulated CCCD of
    ``card_dir`` (the bundled demo card by default): demo mode.
    """
    from drivers.open import open_transport

    spec = spec or config["reader.name"]

    def emulator_factory():
        from drivers.emulator.personalise import make_chip

        return make_chip(card_dir or DEMO_CARD_DIR)

    demo = demo_mode(config, spec)
    if demo and spec != "emulator":
        log.warning("no card reader attached: demo mode with the emulated CCCD")
    transport = open_transport("emulator" if demo else spec, emulator_factory=emulator_factory,
                               timeout_s=config["reader.timeout_s"])
    return transport, demo


def trust_store(config: Config, demo: bool):
    from verifier.trust.store import TrustStore

    if is_demo(demo, config["trust.demo"]):
        return TrustStore.demo()
    return TrustStore.open(config.data_dir)


def _sod_dgs(lds: ParsedLds) -> set[int]:
    return set(lds.sod.dg_hashes) if lds.sod is not None else set()


def _com_dgs(lds: ParsedLds) -> set[int]:
    return set(lds.com.dg_numbers) if lds.com is not None else set()


def reading_plan(dgs) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(before chip authentication, after it, EAC-protected last) for the data groups ``dgs``:
    DG14 last before chip authentication, DG15 after it, DG3/DG4 at the very end."""
    dgs = set(dgs)
    before = sorted(n for n in dgs if n not in AFTER_CA_DGS + EAC_DGS + (14,)) + ([14] if 14 in dgs else [])
    return (tuple(f"DG{n}" for n in before), tuple(f"DG{n}" for n in AFTER_CA_DGS if n in dgs),
            tuple(f"DG{n}" for n in EAC_DGS if n in dgs))


def _read(session: ChipSession, names, files: dict[str, bytes], not_readable: dict[str, str]) -> None:
    """Read ``names`` into ``files``; what the chip refuses goes to ``not_readable`` (with its SW)."""
    if names:
        got = session.read_all(names)
        files.update(got.files)
        not_readable.update(got.not_readable)


def _chip_authentication(session: ChipSession, files: dict[str, bytes], lds: ParsedLds,
                         required: bool) -> tuple[V.Check | None, bool]:
    """Run CA when DG14 was read and confirm the restarted channel (ICAO 9303-11 §6.2).

    Returns (check, session_still_usable). A chip without DG14's private key cannot follow
    the restarted secure messaging: that is the clone the check exists to catch.
    """
    if "DG14" not in files:
        if required:
            return V.failed(V.CHIP_AUTHENTICATION, "the SOD lists DG14 but the chip did not return it",
                            "SOD có DG14 nhưng chip không trả về DG14"), True
        return None, True
    dg14 = lds.dg14
    try:
        if dg14 is None:  # DG14 read but malformed
            raise lds.errors["DG14"]
        if not dg14.security_infos.chip_auth_keys:  # e.g. only PACE / active authentication infos
            return V.not_performed(V.CHIP_AUTHENTICATION, "DG14 holds no chip authentication key",
                                   "DG14 không có khóa xác thực chip"), True
        ca = run_chip_authentication(session, dg14)
    except ChipError as e:
        return V.failed(V.CHIP_AUTHENTICATION, f"the chip refused chip authentication: {e}: suspected clone",
                        "Chip từ chối xác thực chip: nghi chip sao chép"), False
    except ChipidError as e:  # malformed DG14, a refused (crafted) curve, an unsupported protocol
        check = V.failed if required else V.not_performed
        return check(V.CHIP_AUTHENTICATION, f"chip authentication could not run: {e}",
                     "Không thực hiện được xác thực chip"), True
    session.replace_sm(ca.sm)
    confirmation = confirm_chip_authentication(session, ca.protocol)
    if confirmation.valid:
        session.after_reopen.append(lambda: _chip_authentication_again(session, dg14))
    return confirmation.to_check(), confirmation.valid


def _chip_authentication_again(session: ChipSession, dg14) -> None:
    """After secure messaging was re-opened (SM error, card put back), run chip authentication
    again so DG15 and active authentication keep running under its keys (ICAO 9303-11 §6.2)."""
    try:
        ca = run_chip_authentication(session, dg14)
        session.replace_sm(ca.sm)
        confirmation = confirm_chip_authentication(session, ca.protocol)
    except ChipidError as e:
        raise ChipError(f"chip authentication failed when run again after re-opening: {e}", step=CA_AGAIN) from e
    if not confirmation.valid:
        raise ChipError(f"chip authentication failed when run again after re-opening: {confirmation.reason}",
                        step=CA_AGAIN)


def _active_authentication(session: ChipSession, files: dict[str, bytes], lds: ParsedLds,
                           required: bool, challenge_inputs=None) -> tuple[V.Check | None, AAEvidence | None]:
    """(check, evidence): AA over the transaction-bound challenge of ``challenge_inputs``
    (:func:`verifier.evidence.aa_challenge`), or a random one without them (no evidence then)."""
    if "DG15" not in files:
        if required:
            return V.failed(V.ACTIVE_AUTHENTICATION, "the SOD lists DG15 but the chip did not return it",
                            "SOD có DG15 nhưng chip không trả về DG15"), None
        return None, None
    try:
        challenge = aa_challenge(challenge_inputs) if challenge_inputs is not None else None
        dg15 = parse_dg15(files["DG15"])
        if "DG14" in lds.errors:  # AA's algorithm for ECDSA keys is in DG14 (ICAO 9303-11 §6.1)
            raise lds.errors["DG14"]
        outcome = perform_active_authentication(session, dg15, lds.dg14, challenge=challenge)
    except ChipError as e:
        return V.failed(V.ACTIVE_AUTHENTICATION, f"the chip refused active authentication: {e}: suspected clone",
                        "Chip từ chối xác thực chủ động: nghi chip sao chép"), None
    except ChipidError as e:  # malformed DG15, a refused (crafted) curve, an unknown algorithm
        check = V.failed if required else V.not_performed
        return check(V.ACTIVE_AUTHENTICATION, f"active authentication could not run: {e}",
                     "Không thực hiện được xác thực chủ động"), None
    evidence = AAEvidence(dict(challenge_inputs), outcome.challenge, outcome.signature) if challenge else None
    return outcome.to_check(), evidence


def read_and_verify(transport: CardTransport, keys: list, store, *, config: Config, demo: bool = False,
                    progress: Progress | None = None, warnings: list[str] | None = None,
                    now: _dt.datetime | None = None, access_data: AccessData | None = None,
                    aa_challenge_inputs: dict | None = None) -> ScanOutcome:
    """Read a card already on ``transport`` and verify it; raises only when nothing could be read.

    ``access_data`` (:attr:`AccessCandidates.data`), ``keys`` and the key that opened the chip
    are compared with DG1/DG13 (ICAO 9303-11 §4.3). ``aa_challenge_inputs``
    (:func:`verifier.evidence.challenge_inputs`) bind active authentication to the transaction. EF.SOD, EF.COM and DG14 are parsed once
    (:class:`verifier.inspection.ParsedLds`) and handed on to the checks."""
    progress = progress or (lambda step: None)
    started = time.perf_counter()
    warnings = list(warnings or [])
    session = ChipSession(transport, keys, policy=config["chip.access_policy"],
                          extended_length=config["chip.extended_length"], max_le=config["chip.max_le"],
                          max_resumes=MAX_RESUMES, resume_wait_s=config["reader.timeout_s"],
                          on_card=lambda event: progress(ScanStep.CARD_LIFTED if event == "lifted"
                                                         else ScanStep.CARD_BACK))
    progress(ScanStep.READING)
    session.open()
    access_check = V.passed(V.CHIP_ACCESS, f"chip opened with {session.access_protocol} ({session.key_used})",
                            f"Mở chip bằng {session.access_protocol}", protocol=session.access_protocol)
    files: dict[str, bytes] = {}
    not_readable: dict[str, str] = {}
    _read(session, ("SOD", "COM"), files, not_readable)  # EF.SOD decides; EF.COM is not signed
    lds = ParsedLds().parse(files, ("SOD", "COM"))
    listed = _sod_dgs(lds)
    before_ca, after_ca, eac = reading_plan(listed or _com_dgs(lds) or DEFAULT_DGS)
    eac = tuple(dict.fromkeys(eac + reading_plan(_com_dgs(lds))[2]))
    _read(session, before_ca, files, not_readable)
    lds = lds.parse(files, ("DG14",))

    progress(ScanStep.VERIFYING)
    ca_check, usable = _chip_authentication(session, files, lds, required=14 in listed)
    aa_check = aa_evidence = None
    if usable:
        try:
            _read(session, after_ca, files, not_readable)
        except ChipError as e:
            if CA_AGAIN not in (e.step or ""):
                raise
            ca_check = V.failed(V.CHIP_AUTHENTICATION, f"{e.message}: suspected clone",
                                "Xác thực chip thất bại khi thực hiện lại: nghi chip sao chép")
            usable = False
    if usable:
        aa_check, aa_evidence = _active_authentication(session, files, lds, required=15 in listed,
                                                       challenge_inputs=aa_challenge_inputs)
        _read(session, eac, files, not_readable)  # last: some chips drop secure messaging after 6982
    if aa_check is None and not usable and 15 in listed:
        aa_check = V.not_performed(V.ACTIVE_AUTHENTICATION, "not attempted: the session broke at chip authentication",
                                   "Không thực hiện: phiên làm việc bị ngắt khi xác thực chip")

    inspection = inspect_document(files, store, access_check=access_check, chip_auth_check=ca_check,
                                  active_auth_check=aa_check, now=now, policy=PAPolicy.from_config(config),
                                  access_data=with_keys(access_data, keys), access_key=session.key, lds=lds)
    warnings += inspection.warnings
    checks = inspection.checks + (access_protocol_check(session.access_protocol, session.policy, files, lds.dg14),)
    chip = ChipEvidence(
        reader=transport.name,
        access=AccessEvidence(session.access_protocol, session.key_used, tuple(session.attempts)),
        files={name: FileRead.of(data) for name, data in files.items()},
        not_readable=not_readable,
        resumes=session.resumes,
        apdus=session.apdus,
        bytes=session.bytes,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        opened_with=session.key,
    )
    result = ScanResult(
        chip=chip,
        demo=is_demo(demo),
        holder=Holder.from_json(inspection.holder),
        checks=checks,
        verdict=V.decide(checks),
        mrz=inspection.mrz.raw.replace("\n", "") if inspection.mrz else None,
        holder_source=inspection.holder_source,
        dg13_error=inspection.dg13_error,
        face_image=PortraitInfo.from_json(inspection.face_image),
        warnings=tuple(warnings),
        evidence=ContractEvidence.of(files, aa_evidence) if "SOD" in files else None,
    )
    return ScanOutcome(result, inspection.portrait, files)


def run_scan(config: Config, access: dict | None = None, progress: Progress | None = None, *,
             reader: str | None = None, card_dir: Path | None = None,
             wrap: Callable[[CardTransport], CardTransport] | None = None,
             aa_challenge_inputs: dict | None = None) -> ScanOutcome:
    """Open the reader, wait for a card, read and verify it. Raises ChipidError when the card cannot be read.

    ``wrap`` (optional) wraps the opened transport, e.g. the recorder of ``chipid read --diagnose``.
    ``aa_challenge_inputs``: the transaction's AA challenge inputs (:func:`verifier.evidence.challenge_inputs`).
    """
    progress = progress or (lambda step: None)
    progress(ScanStep.WAITING_FOR_CARD)
    transport, demo = open_reader(config, reader, card_dir=card_dir)
    if wrap is not None:
        transport = wrap(transport)
    try:
        candidates = keys_from_access(access, demo_card=(card_dir or DEMO_CARD_DIR) if demo else None)
        if not candidates.keys:
            raise AccessKeyError("the access data yields no usable key")
        demo = is_demo(demo, config["trust.demo"])  # anything verified under demo trust is marked demo
        store = trust_store(config, demo)
        return read_and_verify(transport, candidates.keys, store, config=config, demo=demo,
                               progress=progress, warnings=candidates.warnings, access_data=candidates.data,
                               aa_challenge_inputs=aa_challenge_inputs)
    finally:
        try:
            transport.close()
        except ChipidError:
            pass



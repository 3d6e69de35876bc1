"""The emulated CCCD / eMRTD chip: the whole card side, in process, bytes in and bytes out.

``EmulatedChip.process(apdu) -> rapdu`` implements what a reader meets on a real chip
(ICAO 9303-10 / -11, ISO/IEC 7816-4):

* SELECT: MF (P1 00), eMRTD application by AID (P1 04), EF by FID in the current DF (P1 02 or 00).
* READ BINARY: B0 with a 15-bit offset or an SFI in P1 (bit 8 set), B1 (odd INS) with the
  offset in DO'54' and the data in DO'53'; 6282 when Le runs past the end of the file,
  6B00 past the end, 6700 or 6Cxx (``wrong_le_sw``) when Le exceeds what the chip gives.
* GET CHALLENGE + EXTERNAL AUTHENTICATE (BAC); MSE:Set AT + GENERAL AUTHENTICATE (PACE),
  INTERNAL AUTHENTICATE (active authentication), MSE:Set AT / KAT + GENERAL AUTHENTICATE
  (chip authentication) delegated to responders (``drivers/emulator/card_protocols.py``).
* After access control every command must use secure messaging; a bad SM object ends the
  session (plain 6988, access rights dropped) like a real chip; a plain command drops SM.
* 6982 for files that need more than BAC/PACE (DG3 / DG4: EAC), 6A82 for absent files.

:class:`Faults` injects hostile behaviour for tests.
"""

from __future__ import annotations

import functools
import inspect
import logging
from dataclasses import dataclass
from typing import Any

from verifier.errors import CardRemovedError, ChipidError, InputError, ParseError, SecureMessagingError
from verifier.icao import apdu as A
from verifier.icao.apdu import Command
from verifier.icao.bac import BACCard
from verifier.icao.keys import BACKey
from verifier.icao.lds.files import EMRTD_AID, FILES, EFInfo
from verifier.icao.sm import SecureMessaging
from verifier.icao.tlv import decode, encode

log = logging.getLogger(__name__)

#: Data groups that need Extended Access Control: BAC / PACE alone gets 6982.
EAC_PROTECTED = frozenset({"DG3", "DG4"})

MF_FID = 0x3F00


@dataclass
class Faults:
    """Hostile chip behaviour, for tests.

    ``wrong_answer_at``: corrupt the response to the n-th APDU (1-based).
    ``short_read``: answer READ BINARY with fewer bytes than asked (and 9000).
    ``remove_after_apdus``: after n APDUs every call raises :class:`CardRemovedError`.
    ``bad_mac``: protected responses carry a wrong MAC.
    ``read_sw``: answer every READ BINARY with this status word and no data
    (e.g. 0x6C10 for endless 6Cxx, 0x6700, or 0x9000 for empty answers).
    ``extra_bytes``: READ BINARY returns this many bytes more than asked.
    """

    wrong_answer_at: int | None = None
    short_read: bool = False
    remove_after_apdus: int | None = None
    bad_mac: bool = False
    read_sw: int | None = None
    extra_bytes: int = 0


class EmulatedChip:
    """An eMRTD chip serving ``files`` (name -> raw bytes, names as in ``verifier.icao.lds.files``).

    ``bac_key`` enables BAC (and PACE with the MRZ password); ``can`` the PACE CAN password;
    ``card_access`` (or ``files["CardAccess"]``) enables PACE: without a ``pace_responder`` the
    chip builds P2's :class:`PaceResponder` with its passwords. ``max_le``: the most plaintext
    bytes one READ BINARY returns (beyond it: ``wrong_le_sw``, 6700 or 6Cxx); under secure
    messaging also no more than fits the response APDU. ``extended_length``: the chip accepts
    extended-length APDUs. ``chip_auth_key`` / ``active_auth_key`` build the CA / AA
    responders when none are given. ``eac_protected`` files answer 6982.
    """

    def __init__(self, files: dict[str, bytes], bac_key: BACKey | None, can: str | None = None,
                 card_access: bytes | None = None, max_le: int = 256, extended_length: bool = True,
                 pace_responder: Any = None, aa_responder: Any = None, ca_responder: Any = None,
                 faults: Faults | None = None, *, wrong_le_sw: int = A.SW_WRONG_LENGTH,
                 eac_protected: frozenset[str] = EAC_PROTECTED, chip_auth_key: Any = None,
                 active_auth_key: Any = None) -> None:
        unknown = [name for name in files if name not in FILES]
        if unknown:
            raise InputError(f"unknown file names for the emulated chip: {', '.join(unknown)}")
        if not 1 <= max_le <= 65536:
            raise InputError(f"max_le must be 1-65536, found {max_le}")
        if wrong_le_sw not in (A.SW_WRONG_LENGTH, 0x6C00):
            raise InputError(f"wrong_le_sw must be 0x6700 or 0x6C00, found {wrong_le_sw:04X}")
        self.files = {name: bytes(data) for name, data in files.items()}
        if card_access is not None:
            self.files["CardAccess"] = bytes(card_access)
        self.card_access = self.files.get("CardAccess")
        self.bac_key = bac_key
        self.can = can
        self.max_le = max_le
        self.extended_length = extended_length
        self.pace_responder = pace_responder
        self.aa_responder = aa_responder
        self.ca_responder = ca_responder
        self.faults = faults or Faults()
        self.wrong_le_sw = wrong_le_sw
        self.eac_protected = eac_protected
        if self.pace_responder is None and self.card_access is not None and (bac_key is not None or can):
            self.pace_responder = _default_pace_responder(self.card_access, bac_key, can)
        if self.ca_responder is None and chip_auth_key is not None:
            from drivers.emulator.card_protocols import ChipAuthResponder
            self.ca_responder = ChipAuthResponder(chip_auth_key)
        if self.aa_responder is None and active_auth_key is not None:
            from drivers.emulator.card_protocols import ActiveAuthResponder
            self.aa_responder = ActiveAuthResponder(active_auth_key)
        self.access_control = bac_key is not None or self.pace_responder is not None
        self.apdu_count = 0
        self._bac = BACCard(bac_key) if bac_key is not None else None
        self.reset()

    # --- power ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Power cycle: back to the MF, no secure messaging, no access rights."""
        self.sm: SecureMessaging | None = None
        self.access_granted = False
        self.in_application = False
        self.current_ef: EFInfo | None = None
        self._mse_target: str | None = None
        self._pending_sm: SecureMessaging | None = None
        if self._bac is not None:
            self._bac.rnd_icc = None
        for responder in (self.pace_responder, self.aa_responder, self.ca_responder):
            if responder is not None and hasattr(responder, "reset"):
                responder.reset()

    # --- the APDU entry point -------------------------------------------------------------
    def process(self, apdu: bytes) -> bytes:
        f = self.faults
        if f.remove_after_apdus is not None and self.apdu_count >= f.remove_after_apdus:
            raise CardRemovedError(f"emulated card removed after {f.remove_after_apdus} APDUs")
        self.apdu_count += 1
        rapdu = self._process(bytes(apdu))
        if f.wrong_answer_at is not None and self.apdu_count == f.wrong_answer_at:
            rapdu = _corrupt(rapdu)
        return rapdu

    def _process(self, apdu: bytes) -> bytes:
        try:
            outer = Command.parse(apdu)
        except ParseError:
            return _sw(A.SW_WRONG_LENGTH)
        extended = Command.is_extended(apdu)
        if extended and not self.extended_length:
            return _sw(A.SW_WRONG_LENGTH)
        protected = outer.cla & 0x0C == 0x0C
        if protected:
            if self.sm is None:
                return _sw(A.SW_SM_DO_MISSING)
            try:
                cmd = Command.parse(self.sm.unwrap_command(apdu))
            except (SecureMessagingError, ParseError) as e:
                log.debug("emulated chip: SM error (%s): session closed", e)
                self._drop_session()
                return _sw(A.SW_SM_DO_INCORRECT)
        else:
            cmd = outer
            if self.sm is not None:  # a plain command ends secure messaging (ICAO 9303-11 §9.8.4)
                self._drop_session()
        response_capacity = (65536 if extended else 256) if protected else None
        sm_before = self.sm
        data, sw = self._dispatch(cmd, protected, response_capacity)
        if protected and sm_before is not None:
            rapdu = sm_before.wrap_response(data, sw)
            if self.faults.bad_mac:
                rapdu = rapdu[:-3] + bytes([rapdu[-3] ^ 0x01]) + rapdu[-2:]
        else:
            rapdu = data + sw.to_bytes(2, "big")
        if self._pending_sm is not None:  # chip authentication: new keys from the next command on
            self.sm, self._pending_sm = self._pending_sm, None
        return rapdu

    def _drop_session(self) -> None:
        self.sm = None
        self._pending_sm = None
        self.access_granted = False
        self._mse_target = None

    # --- commands -------------------------------------------------------------------------
    def _dispatch(self, cmd: Command, protected: bool, capacity: int | None) -> tuple[bytes, int]:
        ins = cmd.ins
        if cmd.cla & 0x10 and ins != A.INS_GENERAL_AUTHENTICATE:
            return b"", A.SW_CLA_NOT_SUPPORTED  # chaining only for GENERAL AUTHENTICATE
        try:
            if ins == A.INS_SELECT:
                return self._select(cmd)
            if ins in (A.INS_READ_BINARY, A.INS_READ_BINARY_ODD):
                return self._read_binary(cmd, capacity)
            if ins == A.INS_GET_CHALLENGE:
                return self._get_challenge(cmd)
            if ins == A.INS_EXTERNAL_AUTHENTICATE:
                return self._external_authenticate(cmd)
            if ins == A.INS_MSE:
                return self._mse(cmd)
            if ins == A.INS_GENERAL_AUTHENTICATE:
                return self._general_authenticate(cmd)
            if ins == A.INS_INTERNAL_AUTHENTICATE:
                return self._internal_authenticate(cmd)
        except ChipidError as e:  # a responder refused malformed input
            log.debug("emulated chip: %s", e)
            return b"", A.SW_WRONG_DATA
        return b"", A.SW_INS_NOT_SUPPORTED

    def _select(self, cmd: Command) -> tuple[bytes, int]:
        if cmd.p2 not in (0x0C, 0x00):
            return b"", A.SW_INCORRECT_P1P2
        if cmd.p1 == 0x04:
            if cmd.data == EMRTD_AID:
                self.in_application, self.current_ef = True, None
                return b"", A.SW_OK
            return b"", A.SW_FILE_NOT_FOUND
        if cmd.p1 not in (0x00, 0x02):
            return b"", A.SW_INCORRECT_P1P2
        if cmd.p1 == 0x00 and cmd.data in (b"", MF_FID.to_bytes(2, "big")):
            self.in_application, self.current_ef = False, None
            return b"", A.SW_OK
        if len(cmd.data) != 2:
            return b"", A.SW_WRONG_LENGTH
        info = self._find(fid=int.from_bytes(cmd.data, "big"))
        if info is None:
            return b"", A.SW_FILE_NOT_FOUND
        if self._needs_access(info):
            return b"", A.SW_SECURITY_NOT_SATISFIED
        self.current_ef = info
        return b"", A.SW_OK

    def _find(self, *, fid: int | None = None, sfi: int | None = None) -> EFInfo | None:
        for name in self.files:
            info = FILES[name]
            if info.in_master_file == (not self.in_application) and \
                    (info.fid == fid if fid is not None else info.sfi == sfi):
                return info
        return None

    def _needs_access(self, info: EFInfo) -> bool:
        return not info.in_master_file and self.access_control and not self.access_granted

    def _read_binary(self, cmd: Command, capacity: int | None) -> tuple[bytes, int]:
        odd = cmd.ins == A.INS_READ_BINARY_ODD
        if odd:
            try:
                do54 = decode(cmd.data)
            except ParseError:
                return b"", A.SW_WRONG_DATA
            if do54.tag != 0x54 or not 1 <= len(do54.value) <= 3:
                return b"", A.SW_WRONG_DATA
            offset, info = int.from_bytes(do54.value, "big"), self.current_ef
        elif cmd.p1 & 0x80:
            info = self._find(sfi=cmd.p1 & 0x1F)
            if info is None:
                return b"", A.SW_FILE_NOT_FOUND
            offset = cmd.p2
        else:
            offset, info = (cmd.p1 << 8) | cmd.p2, self.current_ef
        if info is None:
            return b"", 0x6986  # command not allowed: no current EF
        if self._needs_access(info) or info.name in self.eac_protected:
            return b"", A.SW_SECURITY_NOT_SATISFIED
        if cmd.le is None:
            return b"", A.SW_WRONG_LENGTH
        if self.faults.read_sw is not None:
            return b"", self.faults.read_sw
        self.current_ef = info
        content = self.files[info.name]
        if offset >= len(content):
            return b"", A.SW_WRONG_P1P2
        remaining = len(content) - offset
        limit = self.max_le
        if capacity is not None:
            limit = min(limit, _sm_fit(capacity, self.sm.block if self.sm else 8))
        if cmd.le > limit:
            if self.wrong_le_sw == A.SW_WRONG_LENGTH:
                return b"", A.SW_WRONG_LENGTH
            return b"", 0x6C00 | (min(limit, remaining) & 0xFF)
        n = min(cmd.le, remaining)
        if odd:
            while n > 0 and len(encode(0x53, bytes(n))) > cmd.le:
                n -= 1
        if self.faults.short_read and n > 1:
            n = max(1, n // 2)
        n += self.faults.extra_bytes
        chunk = content[offset:offset + n]
        if odd:
            chunk = encode(0x53, chunk)
        at_end = offset + len(content[offset:offset + n]) >= len(content)
        sw = A.SW_END_OF_FILE if cmd.le > remaining and at_end and not odd else A.SW_OK
        return chunk, sw

    def _get_challenge(self, cmd: Command) -> tuple[bytes, int]:
        if self._bac is None:
            return b"", A.SW_INS_NOT_SUPPORTED
        if cmd.le != 8:
            return b"", A.SW_WRONG_LENGTH
        return self._bac.get_challenge(), A.SW_OK

    def _external_authenticate(self, cmd: Command) -> tuple[bytes, int]:
        if self._bac is None:
            return b"", A.SW_INS_NOT_SUPPORTED
        if not self.in_application:
            return b"", A.SW_CONDITIONS_NOT_SATISFIED
        answer, sw, sm = self._bac.external_authenticate(cmd.data)
        if sm is not None:
            self.sm, self.access_granted = sm, True
        return answer, sw

    def _mse(self, cmd: Command) -> tuple[bytes, int]:
        p1p2 = (cmd.p1 << 8) | cmd.p2
        if p1p2 == 0xC1A4:  # MSE:Set AT for PACE (ICAO 9303-11 §4.4.4.1)
            if self.pace_responder is None:
                return b"", A.SW_FUNC_NOT_SUPPORTED
            self._mse_target = "pace"
            return b"", self.pace_responder.mse_set_at(cmd.data)
        if p1p2 in (0x41A4, 0x41A6):  # MSE:Set AT / Set KAT for chip authentication (§6.2)
            if self.ca_responder is None or not self.access_granted:
                return b"", A.SW_FUNC_NOT_SUPPORTED if self.ca_responder is None else A.SW_SECURITY_NOT_SATISFIED
            self._mse_target = "ca"
            sw = self.ca_responder.mse_set(cmd.data) if p1p2 == 0x41A4 else self._ca_kat(cmd.data)
            return b"", sw
        return b"", A.SW_INCORRECT_P1P2

    def _ca_kat(self, data: bytes) -> int:
        """MSE:Set KAT (chip authentication in 3DES, ICAO 9303-11 §6.2.4.1): key agreement in one step."""
        if hasattr(self.ca_responder, "mse_set_kat"):
            sw, sm = self.ca_responder.mse_set_kat(data)
            if sm is not None:
                self._pending_sm = sm
            return sw
        return self.ca_responder.mse_set(data)

    def _general_authenticate(self, cmd: Command) -> tuple[bytes, int]:
        if self._mse_target == "ca" and self.ca_responder is not None:
            data, sw, sm = self.ca_responder.general_authenticate(cmd.data)
            if sm is not None:
                self._switch_after_response(sm)
            return data, sw
        if self._mse_target == "pace" and self.pace_responder is not None:
            if _accepts_last(self.pace_responder):  # chaining: CLA 10 on all but the last step
                data, sw, sm = self.pace_responder.general_authenticate(cmd.data, last=not cmd.cla & 0x10)
            else:
                data, sw, sm = self.pace_responder.general_authenticate(cmd.data)
            if sm is not None:  # PACE runs in plain; SM starts with the next command
                self.sm, self.access_granted, self._mse_target = sm, True, None
            return data, sw
        return b"", A.SW_CONDITIONS_NOT_SATISFIED

    def _switch_after_response(self, sm: SecureMessaging) -> None:
        """Chip authentication: this response still goes out under the old keys, then SM restarts."""
        self._pending_sm = sm

    def _internal_authenticate(self, cmd: Command) -> tuple[bytes, int]:
        if self.aa_responder is None:
            return b"", A.SW_INS_NOT_SUPPORTED
        if self.access_control and not self.access_granted:
            return b"", A.SW_SECURITY_NOT_SATISFIED
        return self.aa_responder.internal_authenticate(cmd.data), A.SW_OK


def _default_pace_responder(card_access: bytes, bac_key: BACKey | None, can: str | None):
    """P2's PACE responder with the card's passwords (1 = MRZ, 2 = CAN, ICAO 9303-11 §9.7.3)."""
    from drivers.emulator.card_protocols import PaceResponder
    from verifier.icao.keys import CANKey, pace_password

    passwords = {}
    if bac_key is not None:
        passwords[1] = pace_password(bac_key)
    if can:
        passwords[2] = pace_password(CANKey(can))
    return PaceResponder(passwords.get, card_access)


def _accepts_last(responder: Any) -> bool:
    try:
        return "last" in inspect.signature(responder.general_authenticate).parameters
    except (TypeError, ValueError):
        return False


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


@functools.lru_cache(maxsize=8)
def _sm_fit(capacity: int, block: int) -> int:
    """Largest plaintext whose protected response (DO'87' + DO'99' + DO'8E') fits in ``capacity`` bytes."""
    def size(n: int) -> int:
        padded = (n // block + 1) * block
        return len(encode(0x87, bytes(padded + 1))) + 4 + 10
    lo, hi = 0, capacity
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size(mid) <= capacity:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _corrupt(rapdu: bytes) -> bytes:
    if len(rapdu) > 2:
        i = len(rapdu) // 2
        return rapdu[:i] + bytes([rapdu[i] ^ 0x5A]) + rapdu[i + 1:]
    return b"\x6f\x00"

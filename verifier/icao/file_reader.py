"""The file-reading strategy of a chip session: whole elementary files in few, bounded READ BINARY APDUs.

ICAO 9303-10 §3.6, ISO/IEC 7816-4 §7.2: the first READ BINARY selects the file by its SFI and
returns its first bytes; the TLV header gives the length, the rest comes in as few APDUs as the
reader and chip allow: extended length when both carry it (learnt once), else the largest Le the
chip accepts (learnt once per session from 6700 / 6Cxx), B1 (odd INS, offset in DO'54', ISO/IEC
7816-4 §7.2.2) beyond offset 32767. Everything is bounded: file size, APDUs per file, retries
without progress.

:class:`FileReader` is mixed into :class:`verifier.icao.session.ChipSession`, which owns the
state it learns (``_ext``, ``_short_le``, ``_use_sfi``) and the exchange it uses (``transmit``).
"""

from __future__ import annotations

import logging

from verifier.errors import LimitExceededError, ParseError, ResponseFormatError, TLVError
from verifier.icao import apdu as A
from verifier.icao.apdu import Command
from verifier.icao.lds.files import EFInfo
from verifier.icao.tlv import decode_first, encode, read_header

log = logging.getLogger(__name__)

#: Largest file the session reads (a CCCD's DG2 is ~20 KB): anything bigger is hostile.
MAX_FILE_BYTES = 1 << 20
#: READ BINARY APDUs for one file, all retries included.
MAX_APDUS_PER_FILE = 8192
#: Consecutive READ BINARY answers that bring no new byte before giving up.
MAX_STALLS = 16

#: Le for short READ BINARY under secure messaging: the largest plaintext whose protected
#: response (DO'87' + DO'99' + DO'8E') fits in 256 bytes with 3DES and AES (JMRTD's 0xDF).
SHORT_SM_LE = 223
SHORT_PLAIN_LE = 256
#: Extended-length Le: the largest multiple of 256 whose protected response fits in 65536 bytes.
EXTENDED_LE = 0xFF00
SHORT_LE_STEPS = (256, 231, 223, 192, 160, 128, 96, 64, 32, 16, 8, 4, 1)


class FileReader:
    """READ BINARY of whole files, learning the chip's limits once per session (see the module
    docstring). Needs from the session: ``transmit(Command) -> Response``, ``sm``, ``max_le``
    and the learnt state ``_ext`` (extended length: None unknown), ``_short_le``, ``_use_sfi``."""

    def _select_ef(self, info: EFInfo) -> None:
        resp = self.transmit(Command(0x00, A.INS_SELECT, 0x02, 0x0C, info.fid.to_bytes(2, "big")))
        resp.require_ok(f"SELECT {info.name}", f"selecting EF.{info.name}")

    def _chunk(self) -> int:
        """The Le to ask for now (learnt once per session)."""
        if self._ext is not False:
            return EXTENDED_LE
        le = self._short_le or (SHORT_SM_LE if self.sm is not None else SHORT_PLAIN_LE)
        return min(le, self.max_le) if self.max_le else le

    def _learn_smaller_le(self, asked: int, name: str) -> None:
        """6700 to Le=``asked``: an extended Le refused means short APDUs from now on; a short Le
        steps down the ladder (ISO/IEC 7816-4 §5.1)."""
        if asked > SHORT_PLAIN_LE:
            self._ext = False
            log.debug("reading %s: extended Le %d refused, short APDUs from now on", name, asked)
            return
        smaller = [s for s in SHORT_LE_STEPS if s < asked]
        if not smaller:
            raise ResponseFormatError(f"chip refuses even Le=1 reading EF.{name}", step=f"READ BINARY {name}",
                                      sw=A.SW_WRONG_LENGTH)
        self._ext = False
        self._short_le = smaller[0]
        log.debug("reading %s: Le %d refused, short Le now %d", name, asked, self._short_le)

    def _read_binary(self, info: EFInfo, offset: int, le: int, by_sfi: bool) -> tuple[bytes, int, int, int]:
        """One READ BINARY for ``le`` data bytes; returns (data, sw, data bytes asked, Le sent)."""
        if by_sfi:
            cmd = Command(0x00, A.INS_READ_BINARY, 0x80 | info.sfi, offset, le=le)
        elif offset <= 0x7FFF:
            cmd = Command(0x00, A.INS_READ_BINARY, offset >> 8, offset & 0xFF, le=le)
        else:  # odd INS: offset in DO'54', data in DO'53' (ISO/IEC 7816-4 §7.2.2, ICAO 9303-10 §3.6.3)
            limit = self._chunk()
            le = max(1, min(le, limit - _do53_header(limit)))
            offset_bytes = offset.to_bytes((offset.bit_length() + 7) // 8, "big")
            cmd = Command(0x00, A.INS_READ_BINARY_ODD, 0, 0, encode(0x54, offset_bytes),
                          le=min(le + _do53_header(le), 65536))
        resp = self.transmit(cmd)
        data = resp.data
        if cmd.ins == A.INS_READ_BINARY_ODD and resp.sw in (A.SW_OK, A.SW_END_OF_FILE) and data:
            try:
                do53 = decode_first(data)
            except ParseError as e:
                raise ResponseFormatError(f"odd-INS READ BINARY: expected DO'53', found malformed data ({e.message})",
                                          step=f"READ BINARY {info.name}") from e
            if do53.tag != 0x53 or len(do53.raw) != len(data):
                raise ResponseFormatError(f"odd-INS READ BINARY: expected exactly one DO'53', found tag {do53.tag:X} "
                                          f"and {len(data) - len(do53.raw)} extra bytes", step=f"READ BINARY {info.name}")
            data = do53.value
        return data, resp.sw, le, cmd.le

    def read_into(self, info: EFInfo, buf: bytearray, limit: int | None = None) -> bytes:
        """Read EF.``info`` into ``buf`` from ``len(buf)`` on (selecting it by FID when resuming);
        stops after ``limit`` bytes when given."""
        name = info.name
        by_sfi = not buf and info.sfi is not None and self._use_sfi is not False
        if not by_sfi:
            self._select_ef(info)
        total: int | None = self._total_from_header(info, buf, complete=False) if buf else None
        apdus = stalls = 0
        once_le: int | None = None  # a 6Cxx answer: ask exactly that once
        while (total is None or len(buf) < total) and (limit is None or len(buf) < limit):
            apdus += 1
            if apdus > MAX_APDUS_PER_FILE:
                raise LimitExceededError(f"EF.{name} needs more than {MAX_APDUS_PER_FILE} READ BINARY commands")
            offset = len(buf)
            le = once_le or self._chunk()
            once_le = None
            if total is not None:
                le = min(le, total - offset)
            if limit is not None:
                le = min(le, limit - offset)
            first = offset == 0 and by_sfi
            data, sw, asked, le_sent = self._read_binary(info, offset, le, first)
            if sw in (A.SW_OK, A.SW_END_OF_FILE):
                if len(data) > asked:
                    raise ResponseFormatError(f"asked for {asked} bytes of EF.{name}, the chip returned {len(data)}")
                if first:
                    self._use_sfi = True
                if le_sent > SHORT_PLAIN_LE and data:
                    self._ext = True
                buf += data
                if total is None:
                    total = self._total_from_header(info, buf, complete=sw == A.SW_END_OF_FILE)
                if sw == A.SW_END_OF_FILE and (total is None or len(buf) < total):
                    raise ResponseFormatError(
                        f"EF.{name} ends after {len(buf)} bytes, but its header declares {total} (truncated file)",
                        sw=sw)
                if data:
                    stalls = 0
                else:
                    stalls += 1
            elif sw == A.SW_WRONG_LENGTH:
                stalls += 1
                self._learn_smaller_le(le_sent, name)
            elif sw >> 8 == A.SW1_WRONG_LE:
                stalls += 1
                exact = sw & 0xFF or 256
                if exact >= le_sent:
                    raise ResponseFormatError(f"chip answered 6C{sw & 0xFF:02X} to Le={le_sent}: not a smaller length",
                                              sw=sw)
                if total is not None and exact < total - offset:
                    self._short_le, self._ext = exact, False  # the chip's per-command limit
                once_le = max(1, exact - (le_sent - asked))  # B1: the DO'53' header counts in Le
            elif sw == A.SW_WRONG_P1P2 and not first:
                raise ResponseFormatError(
                    f"EF.{name}: offset {offset} is beyond the end of the file, but its header declares "
                    f"{total if total is not None else 'more'} bytes (truncated file)", sw=sw)
            elif first and sw in (A.SW_INCORRECT_P1P2, A.SW_WRONG_P1P2, A.SW_FUNC_NOT_SUPPORTED,
                                  A.SW_INS_NOT_SUPPORTED, A.SW_WRONG_DATA, 0x6986):
                # offset 0 cannot lie past the end of a file: 6B00 here refuses the SFI in P1
                log.debug("reading %s: SFI refused (%04X), selecting by FID from now on", name, sw)
                self._use_sfi, by_sfi = False, False
                self._select_ef(info)
                stalls += 1
            elif first and sw == A.SW_FILE_NOT_FOUND:
                by_sfi = False
                self._select_ef(info)  # raises 6A82 when the file really is absent
                self._use_sfi = False
                stalls += 1
            else:
                raise A.unexpected_sw(sw, f"reading EF.{name} at offset {offset}")
            if stalls > MAX_STALLS:
                raise ResponseFormatError(f"no progress reading EF.{name} at offset {offset} after {MAX_STALLS} "
                                          f"answers (last SW {sw:04X})", sw=sw)
        end = total if limit is None else min(limit, total if total is not None else limit)
        return bytes(buf[:end])

    def _total_from_header(self, info: EFInfo, buf: bytearray, complete: bool) -> int | None:
        """The file's total size from its TLV header, or None if more bytes are needed."""
        try:
            tag, length, header = read_header(bytes(buf))
        except LimitExceededError:
            raise
        except TLVError as e:
            if len(buf) >= 6 or complete:
                raise ResponseFormatError(f"EF.{info.name} does not start with a valid TLV header: {e.message}") from e
            return None
        if info.tag is not None and tag != info.tag:
            raise ResponseFormatError(f"EF.{info.name} should start with tag {info.tag:02X}, found {tag:02X}")
        if length is None:
            raise ResponseFormatError(f"EF.{info.name} uses an indefinite length: LDS files have definite lengths")
        total = header + length
        if total > MAX_FILE_BYTES:
            raise LimitExceededError(f"EF.{info.name} declares {total} bytes: more than the {MAX_FILE_BYTES}-byte limit")
        return total


def _do53_header(n: int) -> int:
    """Bytes of tag + length in front of ``n`` bytes of DO'53'."""
    return 2 if n < 0x80 else 3 if n < 0x100 else 4 if n < 0x10000 else 5

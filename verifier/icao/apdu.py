"""Command and response APDUs (ISO/IEC 7816-4 §5.1), short and extended length.

``Le`` is the number of bytes expected, 1-65536, or ``None`` when absent: 256 encodes
as ``00`` in short form, 65536 as ``0000`` in extended form.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import InputError, ParseError, ResponseFormatError, StatusWordError

# --- status words (ISO/IEC 7816-4 §5.6, ICAO 9303-11 §9.8.4) ---------------------------
SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # end of file reached before reading Le bytes
SW_WARNING_NO_INFO = 0x6300  # e.g. authentication failed
SW_WRONG_LENGTH = 0x6700
SW_SM_DO_MISSING = 0x6987  # expected secure messaging data objects missing
SW_SM_DO_INCORRECT = 0x6988  # incorrect secure messaging data objects
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_DATA = 0x6A80
SW_FUNC_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1P2 = 0x6A86
SW_WRONG_P1P2 = 0x6B00  # offset outside the file
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW1_WRONG_LE = 0x6C  # 6Cxx: wrong Le, xx = exact length available
SW1_BYTES_REMAINING = 0x61  # 61xx: xx more bytes available with GET RESPONSE

# --- instruction bytes -----------------------------------------------------------------
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_READ_BINARY_ODD = 0xB1
INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_INTERNAL_AUTHENTICATE = 0x88
INS_MSE = 0x22
INS_GENERAL_AUTHENTICATE = 0x86
INS_GET_RESPONSE = 0xC0

MAX_SHORT_LC = 255
MAX_SHORT_LE = 256
MAX_EXTENDED_LC = 65535
MAX_EXTENDED_LE = 65536


def sw_text(sw: int) -> str:
    """A short English meaning of a status word, for error messages."""
    known = {
        SW_OK: "success", SW_END_OF_FILE: "end of file reached before Le bytes",
        SW_WARNING_NO_INFO: "authentication failed", SW_WRONG_LENGTH: "wrong length",
        SW_SM_DO_MISSING: "secure messaging data objects missing",
        SW_SM_DO_INCORRECT: "secure messaging data objects incorrect",
        SW_SECURITY_NOT_SATISFIED: "security status not satisfied",
        SW_CONDITIONS_NOT_SATISFIED: "conditions of use not satisfied", SW_WRONG_DATA: "wrong data",
        SW_FUNC_NOT_SUPPORTED: "function not supported", SW_FILE_NOT_FOUND: "file or application not found",
        SW_INCORRECT_P1P2: "incorrect P1-P2", SW_WRONG_P1P2: "wrong parameters (offset outside the file)",
        SW_INS_NOT_SUPPORTED: "instruction not supported", SW_CLA_NOT_SUPPORTED: "class not supported",
    }
    if sw in known:
        return known[sw]
    if sw >> 8 == SW1_WRONG_LE:
        return f"wrong Le, {sw & 0xFF} bytes available"
    if sw >> 8 == SW1_BYTES_REMAINING:
        return f"{sw & 0xFF or 256} more bytes available"
    return "unknown status"


def unexpected_sw(sw: int, doing: str = "", *, step: str | None = None) -> StatusWordError:
    """The one error for a status word other than 9000:
    ``expected 9000 <doing>, found 6A82 (file or application not found)``."""
    return StatusWordError(f"expected 9000{' ' + doing if doing else ''}, found {sw:04X} ({sw_text(sw)})",
                           step=step, sw=sw)


def _check_byte(name: str, v: int) -> None:
    if not isinstance(v, int) or not 0 <= v <= 0xFF:
        raise InputError(f"{name} must be a byte 0-255, found {v!r}")


@dataclass(frozen=True)
class Command:
    """A command APDU: CLA INS P1 P2 [Lc data] [Le]."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            _check_byte(name, getattr(self, name))
        object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > MAX_EXTENDED_LC:
            raise InputError(f"command data of {len(self.data)} bytes: at most {MAX_EXTENDED_LC}")
        if self.le is not None and not 1 <= self.le <= MAX_EXTENDED_LE:
            raise InputError(f"Le must be 1-{MAX_EXTENDED_LE} or None, found {self.le}")

    @property
    def needs_extended(self) -> bool:
        return len(self.data) > MAX_SHORT_LC or (self.le is not None and self.le > MAX_SHORT_LE)

    def encode(self, extended: bool = False) -> bytes:
        """Encode in short form, or in extended form when ``extended`` (ISO/IEC 7816-4 §5.1)."""
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        if not extended and self.needs_extended:
            raise InputError(
                f"command with {len(self.data)} data bytes and Le={self.le} needs extended length, "
                "but short encoding was requested")
        if not self.data and self.le is None:
            return header
        out = bytearray(header)
        if extended:
            out.append(0x00)
            if self.data:
                out += len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                out += (self.le % 65536).to_bytes(2, "big")
        else:
            if self.data:
                out.append(len(self.data))
                out += self.data
            if self.le is not None:
                out.append(self.le % 256)
        return bytes(out)

    @staticmethod
    def is_extended(apdu: bytes) -> bool:
        """True if the encoded command uses the extended-length form."""
        return len(apdu) >= 7 and apdu[4] == 0x00

    @classmethod
    def parse(cls, apdu: bytes) -> "Command":
        """Decode a command APDU of any of the four cases, short or extended (card side).

        Raises :class:`ParseError` when the length fields do not match the bytes.
        """
        apdu = bytes(apdu)
        n = len(apdu)
        if n < 4:
            raise ParseError(f"command APDU needs at least 4 header bytes, found {n}")
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:  # case 2 short
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0x00:  # short case 3 / 4
            lc = body[0]
            if len(body) == 1 + lc:
                return cls(cla, ins, p1, p2, body[1:])
            if len(body) == 2 + lc:
                return cls(cla, ins, p1, p2, body[1:1 + lc], le=body[-1] or 256)
            raise ParseError(f"short command: Lc={lc} but {len(body) - 1} bytes follow")
        # extended: 00 then either Le (2 bytes) or Lc (2 bytes) + data [+ Le (2)]
        if len(body) == 3:
            le = int.from_bytes(body[1:3], "big")
            return cls(cla, ins, p1, p2, le=le or 65536)
        if len(body) < 3:
            raise ParseError(f"extended command: {len(body)} bytes after the header is not a valid length field")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise ParseError("extended command: Lc of zero")
        if len(body) == 3 + lc:
            return cls(cla, ins, p1, p2, body[3:])
        if len(body) == 5 + lc:
            le = int.from_bytes(body[-2:], "big")
            return cls(cla, ins, p1, p2, body[3:3 + lc], le=le or 65536)
        raise ParseError(f"extended command: Lc={lc} but {len(body) - 3} bytes follow")

    def describe(self) -> str:
        """Header and lengths only (the data may be personal or secret): for DEBUG traces."""
        return (f"{self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X} "
                f"Lc={len(self.data)} Le={self.le if self.le is not None else '-'}")


@dataclass(frozen=True)
class Response:
    """A response APDU: data || SW1 SW2."""

    data: bytes
    sw: int

    @classmethod
    def parse(cls, rapdu: bytes) -> "Response":
        rapdu = bytes(rapdu)
        if len(rapdu) < 2:
            raise ResponseFormatError(f"response APDU must end in a 2-byte status word, found {len(rapdu)} bytes")
        return cls(rapdu[:-2], int.from_bytes(rapdu[-2:], "big"))

    def encode(self) -> bytes:
        return bytes(self.data) + self.sw.to_bytes(2, "big")

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def require_ok(self, step: str, doing: str = "") -> "Response":
        """This response when its status word is 9000; else raise :func:`unexpected_sw`."""
        if self.sw != SW_OK:
            raise unexpected_sw(self.sw, doing, step=step)
        return self

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    def describe(self) -> str:
        return f"{len(self.data)} bytes SW={self.sw:04X}"

"""Access keys and the key derivation function (ICAO 9303-11 §4.3.2, §9.7).

* :class:`BACKey` -- document number, date of birth, date of expiry from the MRZ
  (or, for a CCCD, from the ID number and the QR code): the "MRZ information"
  (ICAO 9303-11 §4.3.2 / §9.7.2) keys BAC and is one of PACE's passwords.
* :class:`CANKey` -- the 6-digit Card Access Number printed on the card (PACE only).
* :func:`derive_key` -- KDF(K, c) of ICAO 9303-11 §9.7.1; :func:`derive_keys` -- the (K_enc, K_mac) pair.
* :func:`pace_password` -- the PACE password before derivation (§9.7.3).

Keys never appear in ``repr`` or logs: use :meth:`describe` for reports.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from verifier.errors import AccessKeyError, InputError
from verifier.icao.crypto import adjust_des_parity
from verifier.icao.mrz import check_digit

#: KDF counters (ICAO 9303-11 §9.7.1).
KDF_ENC = 1
KDF_MAC = 2
KDF_PACE = 3

_DOCNO = re.compile(r"^[0-9A-Z<]{1,22}$")
_DATE = re.compile(r"^[0-9]{6}$")
#: The MRZ date of expiry of a card that does not expire (all filler, check digit 0).
NO_EXPIRY = "<<<<<<"


@dataclass(frozen=True)
class BACKey:
    """The MRZ-derived access key (ICAO 9303-11 §4.3.2). Dates are YYMMDD."""

    document_number: str = field(repr=False)
    date_of_birth: str = field(repr=False)
    date_of_expiry: str = field(repr=False)

    def __post_init__(self) -> None:
        docno = self.document_number.strip().upper().replace(" ", "<")
        object.__setattr__(self, "document_number", docno)
        if not _DOCNO.match(docno):
            raise AccessKeyError(
                f"document number must be 1-22 characters of 0-9, A-Z or '<', found {len(docno)} characters")
        for name in ("date_of_birth", "date_of_expiry"):
            value = getattr(self, name).strip()
            object.__setattr__(self, name, value)
            if name == "date_of_expiry" and value == NO_EXPIRY:
                continue
            if not _DATE.match(value):
                raise AccessKeyError(f"{name.replace('_', ' ')} must be YYMMDD (6 digits), found {len(value)} characters")

    def __repr__(self) -> str:
        return "BACKey(<redacted>)"

    def mrz_information(self) -> str:
        """Document number + check digit + date of birth + cd + date of expiry + cd.

        The document number is padded with '<' to 9 characters; a longer one is used in
        full (ICAO 9303-11 §9.7.2, TD1 long document numbers).
        """
        docno = self.document_number.ljust(9, "<")
        return (docno + check_digit(docno) + self.date_of_birth + check_digit(self.date_of_birth)
                + self.date_of_expiry + check_digit(self.date_of_expiry))

    def kseed(self) -> bytes:
        """K_seed = the first 16 bytes of SHA-1(MRZ information) (ICAO 9303-11 §4.3.2)."""
        return hashlib.sha1(self.mrz_information().encode("ascii")).digest()[:16]

    def describe(self) -> str:
        """A report-safe description: no document number, no date of birth."""
        if self.date_of_expiry == NO_EXPIRY:
            return "MRZ key (no date of expiry)"
        if self.date_of_expiry.startswith("99"):  # 99MMDD: day and month of birth, not for reports
            return "MRZ key (no expiry, year 2099)"
        return f"MRZ key (date of expiry {self.date_of_expiry})"


@dataclass(frozen=True)
class CANKey:
    """The Card Access Number (6 digits), a PACE password (ICAO 9303-11 §9.7.3)."""

    can: str = field(repr=False)

    def __post_init__(self) -> None:
        can = self.can.strip()
        object.__setattr__(self, "can", can)
        if not re.fullmatch(r"[0-9]{6}", can):
            raise AccessKeyError(f"CAN must be exactly 6 digits, found {len(can)} characters")

    def __repr__(self) -> str:
        return "CANKey(<redacted>)"

    def describe(self) -> str:
        return "CAN key"


AccessKey = BACKey | CANKey


def derive_key(shared_secret: bytes, counter: int, cipher: str, key_bits: int = 128) -> bytes:
    """KDF(K, c) of ICAO 9303-11 §9.7.1.

    ``counter``: 1 = K_enc, 2 = K_mac, 3 = PACE password key pi. ``cipher`` "3DES":
    SHA-1, the first 16 bytes with DES parity adjusted (two-key 3DES, Ka || Kb).
    "AES": SHA-1 for 128-bit keys, SHA-256 for 192 and 256 bits.
    """
    if counter < 0 or counter > 0xFFFFFFFF:
        raise InputError(f"KDF counter must fit in 32 bits, found {counter}")
    d = bytes(shared_secret) + counter.to_bytes(4, "big")
    cipher = cipher.upper()
    if cipher in ("3DES", "DESEDE", "DES3"):
        if key_bits not in (112, 128):
            raise InputError(f"3DES keys are 128 bits here (two-key 3DES), found {key_bits}")
        return adjust_des_parity(hashlib.sha1(d).digest()[:16])
    if cipher == "AES":
        if key_bits == 128:
            return hashlib.sha1(d).digest()[:16]
        if key_bits in (192, 256):
            return hashlib.sha256(d).digest()[: key_bits // 8]
        raise InputError(f"AES key length must be 128, 192 or 256 bits, found {key_bits}")
    raise InputError(f"cipher must be '3DES' or 'AES', found {cipher!r}")


def derive_keys(shared_secret: bytes, cipher: str, key_bits: int = 128) -> tuple[bytes, bytes]:
    """(K_enc, K_mac) = (KDF(K, 1), KDF(K, 2)) (ICAO 9303-11 §9.7.1): BAC's keys from K_seed and the
    session keys of BAC, PACE and Chip Authentication."""
    return derive_key(shared_secret, KDF_ENC, cipher, key_bits), derive_key(shared_secret, KDF_MAC, cipher, key_bits)


def pace_password(key: AccessKey) -> bytes:
    """The PACE password before KDF (ICAO 9303-11 §9.7.3).

    MRZ: SHA-1 of the MRZ information (all 20 bytes); CAN: the digits as ASCII.
    """
    if isinstance(key, BACKey):
        return hashlib.sha1(key.mrz_information().encode("ascii")).digest()
    if isinstance(key, CANKey):
        return key.can.encode("ascii")
    raise InputError(f"expected a BACKey or CANKey, found {type(key).__name__}")

"""Symmetric primitives of ICAO 9303-11: 3DES / AES in CBC mode, padding, MACs.

* ISO/IEC 9797-1 padding method 2 (``pad`` / ``unpad``), ICAO 9303-11 §9.8.
* 3DES (two-key, EDE) and AES in CBC mode, no padding applied here: callers pad.
* Retail MAC = ISO/IEC 9797-1 MAC algorithm 3 with DES (ICAO 9303-11 §9.8.5.2 / §4.3.3.2).
* AES-CMAC (NIST SP 800-38B), truncated to 8 bytes for secure messaging (§9.8.6.2).

Conventions: :func:`retail_mac` takes data that is already padded (a multiple of
8 bytes: call ``pad(data)`` first); :func:`aes_cmac` takes the message as is (CMAC
pads internally). Secure messaging pads its MAC input explicitly in both cases.
"""

from __future__ import annotations

import hmac

from Crypto.Cipher import AES, DES, DES3
from Crypto.Hash import CMAC
from Crypto.Random import get_random_bytes

from verifier.errors import InputError, SecureMessagingError

DES_BLOCK = 8
AES_BLOCK = 16
ZERO_IV8 = bytes(8)
ZERO_IV16 = bytes(16)


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the operating system's CSPRNG."""
    if n < 0:
        raise InputError(f"random_bytes: expected n >= 0, found {n}")
    return get_random_bytes(n)


def pad(data: bytes, block: int = DES_BLOCK) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append 0x80 then zeros up to a block multiple."""
    data = bytes(data) + b"\x80"
    return data + bytes(-len(data) % block)


def unpad(data: bytes, block: int = DES_BLOCK) -> bytes:
    """Strictly remove ISO/IEC 9797-1 method 2 padding.

    The input must be a non-empty multiple of ``block``; the padding must be one 0x80
    followed only by zeros and be at most one block long. Raises
    :class:`SecureMessagingError` otherwise (padding only occurs in secure messaging).
    """
    data = bytes(data)
    if not data or len(data) % block:
        raise SecureMessagingError(
            f"padded data must be a non-empty multiple of {block} bytes, found {len(data)} bytes", step="unpad")
    i = len(data) - 1
    while i >= 0 and data[i] == 0x00:
        i -= 1
    if i < 0 or data[i] != 0x80:
        found = "only zeros" if i < 0 else f"0x{data[i]:02X}"
        raise SecureMessagingError(f"expected padding byte 0x80 before trailing zeros, found {found}", step="unpad")
    if len(data) - i > block:
        raise SecureMessagingError(f"padding of {len(data) - i} bytes is longer than one block of {block}",
                                   step="unpad")
    return data[:i]


def _check_len(name: str, data: bytes, block: int) -> None:
    if len(data) % block:
        raise InputError(f"{name}: data must be a multiple of {block} bytes, found {len(data)} bytes")


def adjust_des_parity(key: bytes) -> bytes:
    """Set the least significant bit of every byte so each byte has odd parity (FIPS 46-3)."""
    out = bytearray()
    for b in key:
        b &= 0xFE
        out.append(b | (bin(b).count("1") + 1) % 2)
    return bytes(out)


def _des3(key: bytes, iv: bytes):
    if len(key) not in (16, 24):
        raise InputError(f"3DES key must be 16 or 24 bytes, found {len(key)}")
    try:
        return DES3.new(bytes(key), DES3.MODE_CBC, iv=bytes(iv))
    except ValueError as e:  # a key that degenerates to single DES (K1 == K2)
        raise InputError(f"unusable 3DES key: {e}") from e


def des3_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV8) -> bytes:
    """Two/three-key 3DES-EDE in CBC mode, no padding (ICAO 9303-11 §9.8.5.1)."""
    _check_len("3DES encrypt", data, DES_BLOCK)
    return _des3(key, iv).encrypt(bytes(data))


def des3_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV8) -> bytes:
    _check_len("3DES decrypt", data, DES_BLOCK)
    return _des3(key, iv).decrypt(bytes(data))


def _aes_key(key: bytes) -> bytes:
    if len(key) not in (16, 24, 32):
        raise InputError(f"AES key must be 16, 24 or 32 bytes, found {len(key)}")
    return bytes(key)


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV16) -> bytes:
    """AES in CBC mode, no padding (ICAO 9303-11 §9.8.6.1)."""
    _check_len("AES encrypt", data, AES_BLOCK)
    return AES.new(_aes_key(key), AES.MODE_CBC, iv=bytes(iv)).encrypt(bytes(data))


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV16) -> bytes:
    _check_len("AES decrypt", data, AES_BLOCK)
    return AES.new(_aes_key(key), AES.MODE_CBC, iv=bytes(iv)).decrypt(bytes(data))


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    """One-block AES encryption, used for the SM IV E(KSenc, SSC) (ICAO 9303-11 §9.8.6.1)."""
    _check_len("AES-ECB encrypt", block, AES_BLOCK)
    return AES.new(_aes_key(key), AES.MODE_ECB).encrypt(bytes(block))


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with DES (retail MAC), 8 bytes (ICAO 9303-11 §9.8.5.2).

    ``key`` is the 16-byte Ka || Kb; ``data`` must already be padded (``pad(data)``).
    Single-DES CBC with Ka over all blocks, then decrypt with Kb and encrypt with Ka.
    """
    if len(key) != 16:
        raise InputError(f"retail MAC key must be 16 bytes, found {len(key)}")
    data = bytes(data)
    if not data or len(data) % DES_BLOCK:
        raise InputError(f"retail MAC input must be padded to a non-empty multiple of 8 bytes, found {len(data)}")
    ka, kb = bytes(key[:8]), bytes(key[8:16])
    h = DES.new(ka, DES.MODE_CBC, iv=ZERO_IV8).encrypt(data)[-8:]
    h = DES.new(kb, DES.MODE_ECB).decrypt(h)
    return DES.new(ka, DES.MODE_ECB).encrypt(h)


def aes_cmac(key: bytes, data: bytes, length: int = 8) -> bytes:
    """AES-CMAC (NIST SP 800-38B), truncated to ``length`` bytes (8 for SM, ICAO 9303-11 §9.8.6.2)."""
    if not 1 <= length <= 16:
        raise InputError(f"CMAC length must be 1-16 bytes, found {length}")
    return CMAC.new(_aes_key(key), msg=bytes(data), ciphermod=AES).digest()[:length]


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare MACs without leaking the position of the first difference."""
    return hmac.compare_digest(bytes(a), bytes(b))

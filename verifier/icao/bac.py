"""Basic Access Control (ICAO 9303-11 §4.3), sans-I/O, both sides.

Terminal (IFD) side::

    k_enc, k_mac = bac_keys(key)                                   # §4.3.2 / Appendix D.2
    rnd_icc = <GET CHALLENGE>                                      # 00 84 00 00 08
    data = external_authenticate_data(k_enc, k_mac, rnd_icc, rnd_ifd, k_ifd)   # E_IFD || M_IFD
    answer = <EXTERNAL AUTHENTICATE data>                          # 00 82 00 00 28 .. 28
    sm = complete_bac(k_enc, k_mac, rnd_icc, rnd_ifd, k_ifd, answer, sw)       # session keys, SSC

or all at once with :func:`perform_bac` over a ``send(Command) -> Response`` callable.
Card (ICC) side: :class:`BACCard`, used by the emulated chip.
"""

from __future__ import annotations

import logging
from typing import Callable

from verifier.errors import AccessDeniedError, ResponseFormatError
from verifier.icao import crypto
from verifier.icao.apdu import (INS_EXTERNAL_AUTHENTICATE, INS_GET_CHALLENGE, SW_CONDITIONS_NOT_SATISFIED,
                                SW_OK, SW_SECURITY_NOT_SATISFIED, SW_WARNING_NO_INFO, SW_WRONG_LENGTH, Command,
                                Response, sw_text, unexpected_sw)
from verifier.icao.keys import BACKey, derive_keys
from verifier.icao.sm import SecureMessaging

log = logging.getLogger(__name__)

STEP_CHALLENGE = "BAC get challenge"
STEP_MUTUAL = "BAC mutual authenticate"


def bac_keys(key: BACKey) -> tuple[bytes, bytes]:
    """K_enc, K_mac from the MRZ information (ICAO 9303-11 §4.3.2, Appendix D.2)."""
    return derive_keys(key.kseed(), "3DES")


def external_authenticate_data(k_enc: bytes, k_mac: bytes, rnd_icc: bytes, rnd_ifd: bytes, k_ifd: bytes) -> bytes:
    """E_IFD || M_IFD: S = RND.IFD || RND.ICC || K.IFD encrypted, then MACed (§4.3.3.1 steps 1-3)."""
    if len(rnd_icc) != 8 or len(rnd_ifd) != 8 or len(k_ifd) != 16:
        raise ResponseFormatError(
            f"expected RND.ICC 8, RND.IFD 8, K.IFD 16 bytes, found {len(rnd_icc)}, {len(rnd_ifd)}, {len(k_ifd)}",
            step=STEP_MUTUAL)
    e_ifd = crypto.des3_cbc_encrypt(k_enc, bytes(rnd_ifd) + bytes(rnd_icc) + bytes(k_ifd))
    return e_ifd + crypto.retail_mac(k_mac, crypto.pad(e_ifd))


def session_keys(k_ifd: bytes, k_icc: bytes, rnd_icc: bytes, rnd_ifd: bytes) -> tuple[bytes, bytes, int]:
    """KS_enc, KS_mac from K_seed = K.IFD xor K.ICC; SSC = low 4 bytes of RND.ICC || of RND.IFD (§4.3.3.3)."""
    kseed = bytes(a ^ b for a, b in zip(k_ifd, k_icc))
    ssc = int.from_bytes(bytes(rnd_icc[4:8]) + bytes(rnd_ifd[4:8]), "big")
    return (*derive_keys(kseed, "3DES"), ssc)


def complete_bac(k_enc: bytes, k_mac: bytes, rnd_icc: bytes, rnd_ifd: bytes, k_ifd: bytes,
                 answer: bytes, sw: int = SW_OK) -> SecureMessaging:
    """Verify the chip's EXTERNAL AUTHENTICATE answer and open secure messaging (§4.3.3.1 steps 4-6).

    Raises :class:`AccessDeniedError` on 6300 / 6982 or a bad MAC ("wrong access key?").
    """
    if sw in (SW_WARNING_NO_INFO, SW_SECURITY_NOT_SATISFIED) or sw >> 8 == 0x63:
        raise AccessDeniedError(f"chip refused mutual authentication ({sw_text(sw)}): wrong access key?",
                                step=STEP_MUTUAL, sw=sw)
    if sw != SW_OK:
        raise unexpected_sw(sw, "to EXTERNAL AUTHENTICATE", step=STEP_MUTUAL)
    if len(answer) != 40:
        raise ResponseFormatError(f"expected a 40-byte E_ICC || M_ICC, found {len(answer)} bytes",
                                  step=STEP_MUTUAL, sw=sw)
    e_icc, m_icc = answer[:32], answer[32:]
    if not crypto.constant_time_equal(crypto.retail_mac(k_mac, crypto.pad(e_icc)), m_icc):
        raise AccessDeniedError("chip's authentication cryptogram has a bad MAC: wrong access key?",
                                step=STEP_MUTUAL, sw=sw)
    r = crypto.des3_cbc_decrypt(k_enc, e_icc)
    if r[0:8] != bytes(rnd_icc) or r[8:16] != bytes(rnd_ifd):
        raise AccessDeniedError("chip's answer does not echo RND.ICC || RND.IFD: wrong access key or a cloned chip?",
                                step=STEP_MUTUAL, sw=sw)
    ks_enc, ks_mac, ssc = session_keys(k_ifd, r[16:32], rnd_icc, rnd_ifd)
    return SecureMessaging(ks_enc, ks_mac, ssc, "3DES")


def perform_bac(send: Callable[[Command], Response], key: BACKey, *, rnd_ifd: bytes | None = None,
                k_ifd: bytes | None = None) -> SecureMessaging:
    """Run BAC over ``send`` (plain, unprotected APDUs) and return the terminal's secure messaging."""
    k_enc, k_mac = bac_keys(key)
    resp = send(Command(0x00, INS_GET_CHALLENGE, 0x00, 0x00, le=8))
    resp.require_ok(STEP_CHALLENGE, "to GET CHALLENGE")
    if len(resp.data) != 8:
        raise ResponseFormatError(f"expected an 8-byte RND.ICC, found {len(resp.data)} bytes", step=STEP_CHALLENGE)
    rnd_icc = resp.data
    rnd_ifd = rnd_ifd if rnd_ifd is not None else crypto.random_bytes(8)
    k_ifd = k_ifd if k_ifd is not None else crypto.random_bytes(16)
    data = external_authenticate_data(k_enc, k_mac, rnd_icc, rnd_ifd, k_ifd)
    resp = send(Command(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00, data, le=40))
    sm = complete_bac(k_enc, k_mac, rnd_icc, rnd_ifd, k_ifd, resp.data, resp.sw)
    log.debug("BAC complete")
    return sm


class BACCard:
    """The chip's side of BAC (ICAO 9303-11 §4.3.3.1), for the emulator.

    ``get_challenge`` remembers RND.ICC; ``external_authenticate`` checks the terminal's
    cryptogram and returns (E_ICC || M_ICC, SW, the card's SecureMessaging or None).
    """

    def __init__(self, key: BACKey, *, rnd_icc: bytes | None = None, k_icc: bytes | None = None) -> None:
        self.k_enc, self.k_mac = bac_keys(key)
        self._fixed_rnd_icc = rnd_icc
        self._fixed_k_icc = k_icc
        self.rnd_icc: bytes | None = None

    def get_challenge(self) -> bytes:
        self.rnd_icc = self._fixed_rnd_icc if self._fixed_rnd_icc is not None else crypto.random_bytes(8)
        return self.rnd_icc

    def external_authenticate(self, data: bytes) -> tuple[bytes, int, SecureMessaging | None]:
        rnd_icc, self.rnd_icc = self.rnd_icc, None  # a challenge is good for one try
        if rnd_icc is None:
            return b"", SW_CONDITIONS_NOT_SATISFIED, None
        if len(data) != 40:
            return b"", SW_WRONG_LENGTH, None
        e_ifd, m_ifd = data[:32], data[32:]
        if not crypto.constant_time_equal(crypto.retail_mac(self.k_mac, crypto.pad(e_ifd)), m_ifd):
            return b"", SW_SECURITY_NOT_SATISFIED, None
        s = crypto.des3_cbc_decrypt(self.k_enc, e_ifd)
        rnd_ifd, got_rnd_icc, k_ifd = s[0:8], s[8:16], s[16:32]
        if got_rnd_icc != rnd_icc:
            return b"", SW_SECURITY_NOT_SATISFIED, None
        k_icc = self._fixed_k_icc if self._fixed_k_icc is not None else crypto.random_bytes(16)
        e_icc = crypto.des3_cbc_encrypt(self.k_enc, rnd_icc + rnd_ifd + k_icc)
        answer = e_icc + crypto.retail_mac(self.k_mac, crypto.pad(e_icc))
        ks_enc, ks_mac, ssc = session_keys(k_ifd, k_icc, rnd_icc, rnd_ifd)
        return answer, SW_OK, SecureMessaging(ks_enc, ks_mac, ssc, "3DES")

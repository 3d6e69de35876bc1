"""Secure messaging (ICAO 9303-11 §9.8), both sides, sans-I/O.

Terminal side: :meth:`SecureMessaging.wrap` protects a plain command APDU,
:meth:`SecureMessaging.unwrap` checks and decrypts a protected response.
Card side (the emulator): :meth:`unwrap_command` and :meth:`wrap_response`.

Data objects: DO'87' (padding-content indicator 01 + cryptogram, even INS) or
DO'85' (cryptogram, odd INS), DO'97' (Le), DO'99' (status word), DO'8E' (MAC).
The send sequence counter (SSC) is incremented before every command and every
response. 3DES: 8-byte SSC, zero IV, retail MAC (§9.8.5). AES: 16-byte SSC,
IV = E(KS_enc, SSC), AES-CMAC truncated to 8 bytes (§9.8.6). MAC inputs are padded
(ISO/IEC 9797-1 method 2) to the cipher's block size.
"""

from __future__ import annotations

import logging

from Crypto.Cipher import AES, DES, DES3

from verifier.errors import ChipidError, InputError, ParseError, SecureMessagingError
from verifier.icao import crypto
from verifier.icao.apdu import SW_OK, Command, Response
from verifier.icao.tlv import TLV, decode_all, encode

log = logging.getLogger(__name__)

DO85, DO87, DO97, DO99, DO8E = 0x85, 0x87, 0x97, 0x99, 0x8E
SM_CLA_BITS = 0x0C


class SecureMessaging:
    """One secure-messaging channel: session keys, cipher and the send sequence counter.

    The same class serves both ends; each end keeps its own instance and SSC.
    """

    def __init__(self, ks_enc: bytes, ks_mac: bytes, ssc: int, cipher: str = "3DES") -> None:
        cipher = cipher.upper()
        if cipher in ("DESEDE", "DES3"):
            cipher = "3DES"
        if cipher not in ("3DES", "AES"):
            raise InputError(f"secure messaging cipher must be '3DES' or 'AES', found {cipher!r}")
        self.cipher = cipher
        self.block = 8 if cipher == "3DES" else 16
        if cipher == "3DES" and (len(ks_enc) != 16 or len(ks_mac) != 16):
            raise InputError(f"3DES session keys are 16 bytes, found {len(ks_enc)} and {len(ks_mac)}")
        if cipher == "AES" and (len(ks_enc) not in (16, 24, 32) or len(ks_mac) != len(ks_enc)):
            raise InputError(f"AES session keys are 16/24/32 bytes, found {len(ks_enc)} and {len(ks_mac)}")
        self.ks_enc = bytes(ks_enc)
        self.ks_mac = bytes(ks_mac)
        if isinstance(ssc, (bytes, bytearray)):
            ssc = int.from_bytes(ssc, "big")
        if not 0 <= ssc < 1 << (8 * self.block):
            raise InputError(f"SSC {ssc} does not fit in {self.block} bytes")
        self.ssc = ssc
        # Cipher set-up dominates small APDUs, so each channel builds its key schedules once.
        # ECB objects are stateless; the CBC objects are reused by folding their chaining
        # state into the first block (CBC state after encrypt() = last ciphertext block):
        # E(p1 xor iv) == cbc.encrypt(p1 xor iv xor state).
        try:
            self._build_ciphers()
        except ValueError as e:  # e.g. a 3DES key that degenerates to single DES (K1 == K2)
            raise InputError(f"unusable {cipher} session key: {e}") from e

    def _build_ciphers(self) -> None:
        if self.cipher == "3DES":
            self._enc_ecb = DES3.new(self.ks_enc, DES3.MODE_ECB)
            self._enc_cbc = DES3.new(self.ks_enc, DES3.MODE_CBC, iv=bytes(8))
            self._mac_cbc = DES.new(self.ks_mac[:8], DES.MODE_CBC, iv=bytes(8))
            self._mac_ka = DES.new(self.ks_mac[:8], DES.MODE_ECB)
            self._mac_kb = DES.new(self.ks_mac[8:16], DES.MODE_ECB)
            self._mac_state = bytes(8)
        else:
            self._enc_ecb = AES.new(self.ks_enc, AES.MODE_ECB)
            self._enc_cbc = AES.new(self.ks_enc, AES.MODE_CBC, iv=bytes(16))
            # AES-CMAC (NIST SP 800-38B) of block-aligned input: CBC-MAC with the last block
            # xored with subkey K1 = dbl(E(K, 0^128)).
            l_ = int.from_bytes(AES.new(self.ks_mac, AES.MODE_ECB).encrypt(bytes(16)), "big") << 1
            self._cmac_k1 = ((l_ ^ 0x87 if l_ >> 128 else l_) & ((1 << 128) - 1)).to_bytes(16, "big")
            self._mac_cbc = AES.new(self.ks_mac, AES.MODE_CBC, iv=bytes(16))
            self._mac_state = bytes(16)
        self._enc_state = bytes(self.block)

    def __repr__(self) -> str:
        return f"SecureMessaging(cipher={self.cipher}, <keys redacted>)"

    # --- primitives ---------------------------------------------------------------------
    @property
    def ssc_bytes(self) -> bytes:
        return self.ssc.to_bytes(self.block, "big")

    def _increment(self) -> None:
        self.ssc = (self.ssc + 1) % (1 << (8 * self.block))

    def _iv(self) -> bytes:
        if self.cipher == "3DES":
            return crypto.ZERO_IV8
        return self._enc_ecb.encrypt(self.ssc_bytes)  # E(KS_enc, SSC), §9.8.6.1

    def _encrypt(self, data: bytes) -> bytes:
        padded = crypto.pad(data, self.block)
        first = _xor(_xor(padded[:self.block], self._iv()), self._enc_state)
        out = self._enc_cbc.encrypt(first + padded[self.block:])
        self._enc_state = out[-self.block:]
        return out

    def _decrypt(self, cryptogram: bytes, step: str) -> bytes:
        if not cryptogram or len(cryptogram) % self.block:
            raise SecureMessagingError(
                f"cryptogram must be a non-empty multiple of {self.block} bytes, found {len(cryptogram)}", step=step)
        # CBC decryption = ECB decryption XOR (IV || C[:-block]), done on whole integers
        n = len(cryptogram)
        blocks = int.from_bytes(self._enc_ecb.decrypt(cryptogram), "big")
        chain = int.from_bytes(self._iv() + cryptogram[:-self.block], "big")
        plain = (blocks ^ chain).to_bytes(n, "big")
        try:
            return crypto.unpad(plain, self.block)
        except SecureMessagingError as e:
            raise SecureMessagingError(f"decrypted data has bad padding: {e.message}", step=step) from e

    def mac(self, data: bytes) -> bytes:
        """The 8-byte MAC over SSC-prefixed, padded data (§9.8.5.2 / §9.8.6.2)."""
        padded = crypto.pad(data, self.block)
        if self.cipher == "3DES":  # retail MAC: DES-CBC with Ka, then D(Kb), E(Ka) on the last block
            h = self._mac_cbc.encrypt(_xor(padded[:8], self._mac_state) + padded[8:])[-8:]
            self._mac_state = h
            return self._mac_ka.encrypt(self._mac_kb.decrypt(h))
        message = _xor(padded[:16], self._mac_state) + padded[16:-16] + _xor(padded[-16:], self._cmac_k1) \
            if len(padded) > 16 else _xor(_xor(padded, self._mac_state), self._cmac_k1)
        t = self._mac_cbc.encrypt(message)[-16:]
        self._mac_state = t
        return t[:8]

    # --- terminal side ------------------------------------------------------------------
    def wrap(self, command: bytes | Command) -> bytes:
        """Protect a plain command APDU (ICAO 9303-11 §9.8.4, Appendix D.4)."""
        cmd = command if isinstance(command, Command) else Command.parse(command)
        if cmd.cla & SM_CLA_BITS:
            raise InputError(f"command CLA {cmd.cla:02X} already has secure-messaging bits set")
        self._increment()
        cla = cmd.cla | SM_CLA_BITS
        header = bytes((cla, cmd.ins, cmd.p1, cmd.p2))
        do_data = b""
        if cmd.data:
            cryptogram = self._encrypt(cmd.data)
            do_data = encode(DO85, cryptogram) if cmd.ins & 1 else encode(DO87, b"\x01" + cryptogram)
        do97 = b""
        if cmd.le is not None:
            le = bytes((cmd.le % 256,)) if cmd.le <= 256 else (cmd.le % 65536).to_bytes(2, "big")
            do97 = encode(DO97, le)
        cc = self.mac(self.ssc_bytes + crypto.pad(header, self.block) + do_data + do97)
        body = do_data + do97 + encode(DO8E, cc)
        extended = len(body) > 255 or (cmd.le or 0) > 256
        return Command(cla, cmd.ins, cmd.p1, cmd.p2, body, le=65536 if extended else 256).encode(extended)

    def unwrap(self, rapdu: bytes) -> bytes:
        """Check and decrypt a protected response; returns plain data || SW1 SW2.

        A bare status word other than 9000 (the chip's plain error answer, e.g. 6987 /
        6988 after it dropped secure messaging) is returned as is.
        """
        step = "SM unwrap response"
        resp = Response.parse(rapdu)
        self._increment()
        if not resp.data:
            if resp.sw == SW_OK:
                raise SecureMessagingError("expected DO'99' and DO'8E' with SW 9000, found a bare 9000", step=step,
                                           sw=resp.sw)
            log.debug("plain status %04X under secure messaging", resp.sw)
            return resp.sw.to_bytes(2, "big")
        dos = _parse_dos(resp.data, step, allowed=(DO85, DO87, DO99, DO8E))
        if DO8E not in dos:
            raise SecureMessagingError("expected a MAC (DO'8E') in the response, found none", step=step, sw=resp.sw)
        if DO99 not in dos:
            raise SecureMessagingError("expected the status word object DO'99' in the response, found none",
                                       step=step, sw=resp.sw)
        if DO85 in dos and DO87 in dos:
            raise SecureMessagingError("response carries both DO'85' and DO'87'", step=step)
        mac_input = b"".join(t.raw for tag, t in dos.items() if tag != DO8E)
        expected = self.mac(self.ssc_bytes + mac_input)
        if not crypto.constant_time_equal(expected, dos[DO8E].value):
            raise SecureMessagingError(
                f"response MAC does not verify: expected {len(expected)} bytes computed with SSC, "
                f"found a different {len(dos[DO8E].value)}-byte DO'8E'", step=step, sw=resp.sw)
        do99 = dos[DO99].value
        if len(do99) != 2:
            raise SecureMessagingError(f"DO'99' must hold 2 bytes, found {len(do99)}", step=step)
        sw = int.from_bytes(do99, "big")
        if sw != resp.sw:
            log.debug("DO'99' %04X differs from the trailer %04X: using the authenticated DO'99'", sw, resp.sw)
        data = b""
        if DO87 in dos:
            value = dos[DO87].value
            if not value or value[0] != 0x01:
                found = "nothing" if not value else f"{value[0]:02X}"
                raise SecureMessagingError(f"DO'87' padding-content indicator: expected 01, found {found}", step=step)
            data = self._decrypt(value[1:], step)
        elif DO85 in dos:
            data = self._decrypt(dos[DO85].value, step)
        return data + do99

    # --- card side ----------------------------------------------------------------------
    def unwrap_command(self, apdu: bytes) -> bytes:
        """Card side: verify and decrypt a protected command; returns the plain command APDU.

        Raises :class:`SecureMessagingError` (the card then answers 6987 / 6988).
        """
        step = "SM unwrap command"
        try:
            cmd = Command.parse(apdu)
        except ParseError as e:
            raise SecureMessagingError(f"malformed protected command: {e.message}", step=step) from e
        if cmd.cla & SM_CLA_BITS != SM_CLA_BITS:
            raise SecureMessagingError(f"expected CLA with bits 0C set, found {cmd.cla:02X}", step=step)
        self._increment()
        dos = _parse_dos(cmd.data, step, allowed=(DO85, DO87, DO97, DO8E))
        if DO8E not in dos:
            raise SecureMessagingError("expected a MAC (DO'8E') in the command, found none", step=step)
        header = bytes((cmd.cla, cmd.ins, cmd.p1, cmd.p2))
        mac_input = b"".join(t.raw for tag, t in dos.items() if tag != DO8E)
        expected = self.mac(self.ssc_bytes + crypto.pad(header, self.block) + mac_input)
        if not crypto.constant_time_equal(expected, dos[DO8E].value):
            raise SecureMessagingError("command MAC does not verify", step=step)
        data = b""
        if DO87 in dos:
            value = dos[DO87].value
            if not value or value[0] != 0x01:
                raise SecureMessagingError("DO'87' padding-content indicator: expected 01", step=step)
            data = self._decrypt(value[1:], step)
        elif DO85 in dos:
            data = self._decrypt(dos[DO85].value, step)
        le = None
        if DO97 in dos:
            v = dos[DO97].value
            if len(v) > 2:
                raise SecureMessagingError(f"DO'97' must hold at most 2 bytes, found {len(v)}", step=step)
            n = int.from_bytes(v, "big") if v else 0
            le = n or (65536 if len(v) == 2 else 256)
        try:
            plain = Command(cmd.cla & ~SM_CLA_BITS & 0xFF, cmd.ins, cmd.p1, cmd.p2, data, le)
        except ChipidError as e:
            raise SecureMessagingError(f"decrypted command is malformed: {e.message}", step=step) from e
        return plain.encode(extended=plain.needs_extended or (le is not None and len(dos[DO97].value) == 2))

    def wrap_response(self, data: bytes, sw: int) -> bytes:
        """Card side: protect a response (DO'87' if data, DO'99', DO'8E')."""
        self._increment()
        dos = b""
        if data:
            dos += encode(DO87, b"\x01" + self._encrypt(data))
        dos += encode(DO99, sw.to_bytes(2, "big"))
        cc = self.mac(self.ssc_bytes + dos)
        return dos + encode(DO8E, cc) + sw.to_bytes(2, "big")


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _parse_dos(data: bytes, step: str, allowed: tuple[int, ...]) -> dict[int, TLV]:
    """Split SM data objects; each allowed tag at most once, DO'8E' last, nothing unknown."""
    try:
        tlvs = decode_all(data)
    except ParseError as e:
        raise SecureMessagingError(f"malformed secure-messaging data objects: {e.message}", step=step) from e
    out: dict[int, TLV] = {}
    for i, t in enumerate(tlvs):
        if t.tag not in allowed:
            raise SecureMessagingError(
                f"unexpected data object {t.tag:02X}: expected only {', '.join(f'{a:02X}' for a in allowed)}",
                step=step)
        if t.tag in out:
            raise SecureMessagingError(f"data object {t.tag:02X} appears twice", step=step)
        if t.tag == DO8E and i != len(tlvs) - 1:
            raise SecureMessagingError("DO'8E' (MAC) must be the last data object", step=step)
        out[t.tag] = t
    if DO8E in out and len(out[DO8E].value) != 8:
        raise SecureMessagingError(f"DO'8E' must hold an 8-byte MAC, found {len(out[DO8E].value)} bytes", step=step)
    return out

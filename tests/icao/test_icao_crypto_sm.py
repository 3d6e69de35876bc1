"""crypto / keys / apdu / sm: ICAO 9303-11 Appendix D known answers and AES round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import AccessKeyError, InputError, ParseError, ResponseFormatError, SecureMessagingError
from verifier.icao import crypto
from verifier.icao.apdu import Command, Response
from verifier.icao.keys import KDF_ENC, KDF_MAC, KDF_PACE, BACKey, CANKey, derive_key, pace_password
from verifier.icao.sm import SecureMessaging

H = bytes.fromhex

# ICAO 9303-11 Appendix D.3: BAC session keys and initial SSC.
KS_ENC = H("979EC13B1CBFE9DCD01AB0FED307EAE5")
KS_MAC = H("F1CB1F1FB5ADF208806B89DC579DC1F8")
SSC0 = 0x887022120C06C226


# --- crypto ---------------------------------------------------------------------------------

def test_padding_method_2():
    assert crypto.pad(b"") == H("8000000000000000")
    assert crypto.pad(H("011E")) == H("011E800000000000")
    assert crypto.pad(bytes(8)) == bytes(8) + H("8000000000000000")
    assert crypto.pad(b"A", 16) == b"A\x80" + bytes(14)
    assert crypto.unpad(H("011E800000000000")) == H("011E")


@pytest.mark.parametrize("bad", [b"", H("011E8000000000"), H("011E000000000000"), H("0000000000000000"),
                                 H("80") + bytes(15), H("011E8000000000FF")])
def test_unpad_is_strict(bad):
    with pytest.raises(SecureMessagingError):
        crypto.unpad(bad)


@given(st.binary(max_size=100), st.sampled_from([8, 16]))
def test_pad_unpad_round_trip(data, block):
    padded = crypto.pad(data, block)
    assert len(padded) % block == 0
    assert crypto.unpad(padded, block) == data


def test_d3_encrypt_and_retail_mac():
    # Appendix D.3: E_IFD = 3DES(K_enc, S), M_IFD = MAC(K_mac, E_IFD)
    k_enc, k_mac = H("AB94FDECF2674FDFB9B391F85D7F76F2"), H("7962D9ECE03D1ACD4C76089DCE131543")
    s = H("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B")
    e_ifd = crypto.des3_cbc_encrypt(k_enc, s)
    assert e_ifd == H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
    assert crypto.retail_mac(k_mac, crypto.pad(e_ifd)) == H("5F1448EEA8AD90A7")
    assert crypto.des3_cbc_decrypt(k_enc, e_ifd) == s


def test_retail_mac_wants_padded_input():
    with pytest.raises(InputError):
        crypto.retail_mac(bytes(16), b"abc")


def test_aes_cmac_rfc4493():
    # RFC 4493 example 2 (AES-128, 16-byte message)
    key = H("2b7e151628aed2a6abf7158809cf4f3c")
    msg = H("6bc1bee22e409f96e93d7e117393172a")
    assert crypto.aes_cmac(key, msg, 16) == H("070a16b46b4d4144f79bdd9dd04a287c")
    assert crypto.aes_cmac(key, msg) == H("070a16b46b4d4144")


def test_des_parity():
    assert crypto.adjust_des_parity(H("00FF")) == H("01FE")


# --- keys -----------------------------------------------------------------------------------

def test_d2_bac_key_derivation():
    key = BACKey("L898902C", "690806", "940623")
    assert key.mrz_information() == "L898902C<369080619406236"
    assert key.kseed() == H("239AB9CB282DAF66231DC5A4DF6BFBAE")
    assert derive_key(key.kseed(), KDF_ENC, "3DES") == H("AB94FDECF2674FDFB9B391F85D7F76F2")
    assert derive_key(key.kseed(), KDF_MAC, "3DES") == H("7962D9ECE03D1ACD4C76089DCE131543")


def test_d3_session_key_derivation():
    k_seed = bytes(a ^ b for a, b in zip(H("0B795240CB7049B01C19B33E32804F0B"), H("0B4F80323EB3191CB04970CB4052790B")))
    assert k_seed == H("0036D272F5C350ACAC50C3F572D23600")
    assert derive_key(k_seed, KDF_ENC, "3DES") == KS_ENC
    assert derive_key(k_seed, KDF_MAC, "3DES") == KS_MAC


def test_aes_kdf_lengths_and_hashes():
    import hashlib
    secret = b"shared"
    assert derive_key(secret, KDF_PACE, "AES") == hashlib.sha1(secret + b"\0\0\0\3").digest()[:16]
    assert derive_key(secret, KDF_ENC, "AES", 192) == hashlib.sha256(secret + b"\0\0\0\1").digest()[:24]
    assert derive_key(secret, KDF_MAC, "AES", 256) == hashlib.sha256(secret + b"\0\0\0\2").digest()
    with pytest.raises(InputError):
        derive_key(secret, 1, "AES", 100)
    with pytest.raises(InputError):
        derive_key(secret, 1, "RC4")


def test_pace_passwords():
    import hashlib
    key = BACKey("T22000129", "640812", "101031")
    assert pace_password(key) == hashlib.sha1(key.mrz_information().encode()).digest()
    # ICAO 9303-11 Appendix G.1 (PACE ECDH GM): MRZ password key pi
    assert derive_key(pace_password(key), KDF_PACE, "AES") == H("89DED1B26624EC1E634C1989302849DD")
    assert pace_password(CANKey("123456")) == b"123456"


def test_keys_validate_and_redact():
    with pytest.raises(AccessKeyError):
        BACKey("L898902C", "69080", "940623")
    with pytest.raises(AccessKeyError):
        BACKey("L89-8902C", "690806", "940623")
    with pytest.raises(AccessKeyError):
        CANKey("12345")
    key = BACKey("l898902c", "690806", "940623")
    assert key.document_number == "L898902C"
    assert "L898902C" not in repr(key) and "690806" not in repr(key) and "690806" not in key.describe()
    assert "123456" not in repr(CANKey("123456"))


def test_long_document_number_mrz_information():
    assert BACKey("D23145890734", "340712", "950712").mrz_information() == "D23145890734934071279507122"


# --- apdu -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd, short, extended", [
    (Command(0x00, 0xA4, 0x04, 0x0C), "00A4040C", "00A4040C"),
    (Command(0x00, 0xB0, 0x00, 0x00, le=4), "00B0000004", "00B00000000004"),
    (Command(0x00, 0xB0, 0x00, 0x00, le=256), "00B0000000", "00B00000000100"),
    (Command(0x00, 0xB0, 0x00, 0x00, le=65536), None, "00B00000000000"),
    (Command(0x00, 0xA4, 0x02, 0x0C, H("011E")), "00A4020C02011E", "00A4020C000002011E"),
    (Command(0x00, 0x88, 0x00, 0x00, H("0102030405060708"), le=256), "00880000080102030405060708" + "00",
     "0088000000000801020304050607080100"),
])
def test_command_encoding(cmd, short, extended):
    if short is None:
        with pytest.raises(InputError):
            cmd.encode()
    else:
        assert cmd.encode().hex().upper() == short
        assert Command.parse(H(short)) == cmd
    assert cmd.encode(extended=True).hex().upper() == extended
    assert Command.parse(H(extended)) == cmd


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=600), st.none() | st.integers(1, 65536),
       st.booleans())
@settings(max_examples=200)
def test_command_round_trip(ins, p1, data, le, extended):
    cmd = Command(0x00, ins, p1, 0x00, data, le)
    ext = extended or cmd.needs_extended
    assert Command.parse(cmd.encode(ext)) == cmd


@pytest.mark.parametrize("raw", ["00B0", "00A4020C05011E", "00A4020C0001", "00B00000000100AA"])
def test_command_parse_rejects_bad_lengths(raw):
    with pytest.raises(ParseError):
        Command.parse(H(raw))


def test_response():
    r = Response.parse(H("60145F019000"))
    assert r.data == H("60145F01") and r.sw == 0x9000 and r.ok and r.encode() == H("60145F019000")
    assert not Response.parse(H("6A82")).ok
    with pytest.raises(ResponseFormatError):
        Response.parse(H("90"))


# --- secure messaging: Appendix D.4 byte for byte ------------------------------------------

D4 = [
    # (plain command, protected command, protected response, plain response)
    ("00A4020C02011E", "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
     "990290008E08FA855A5D4C50A8ED9000", "9000"),
    ("00B0000004", "0CB000000D9701048E08ED6705417E96BA5500",
     "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", "60145F019000"),
    ("00B0000412", "0CB000040D9701128E082EA28A70F3C7B53500",
     "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
     "04303130365F36063034303030305C0261759000"),
]


def test_d4_terminal_side_byte_exact():
    sm = SecureMessaging(KS_ENC, KS_MAC, SSC0, "3DES")
    for i, (plain, protected, rprotected, rplain) in enumerate(D4):
        assert sm.wrap(H(plain)).hex().upper() == protected
        assert sm.ssc == SSC0 + 2 * i + 1
        assert sm.unwrap(H(rprotected)).hex().upper() == rplain
        assert sm.ssc == SSC0 + 2 * i + 2


def test_d4_card_side_byte_exact():
    card = SecureMessaging(KS_ENC, KS_MAC, SSC0, "3DES")
    for plain, protected, rprotected, rplain in D4:
        assert card.unwrap_command(H(protected)).hex().upper() == plain
        r = Response.parse(H(rplain))
        assert card.wrap_response(r.data, r.sw).hex().upper() == rprotected


def test_aes_sm_known_answer():
    # AES secure messaging vectors from the animamea (BSI TR-03110) test suite
    k_enc, k_mac = H("68406b4162100563d9c901a6154d2901"), H("73ff268784f72af833fdc9464049afc9")
    sm = SecureMessaging(k_enc, k_mac, 4, "AES")
    assert sm.wrap(H("002281b60f830d44455445535444564445303139")) == \
        H("0c2281b61d871101a7bb8f230fff9221162ad673b9f319a88e08d8713e9b7a600b4900")
    assert sm.unwrap(H("990290008e08c8488f79fef386c79000")) == H("9000")


@given(st.sampled_from(["3DES", "AES"]), st.integers(0, 255), st.binary(max_size=300),
       st.none() | st.integers(1, 65536), st.binary(max_size=400), st.sampled_from([0x9000, 0x6282, 0x6A82]))
@settings(max_examples=60, deadline=None)
def test_sm_round_trip_both_sides(cipher, ins, data, le, rdata, sw):
    klen = 16
    ks_enc, ks_mac = crypto.random_bytes(klen), crypto.random_bytes(klen)
    ssc = int.from_bytes(crypto.random_bytes(8 if cipher == "3DES" else 16), "big") >> 1
    term, card = SecureMessaging(ks_enc, ks_mac, ssc, cipher), SecureMessaging(ks_enc, ks_mac, ssc, cipher)
    cmd = Command(0x00, ins, 0x00, 0x00, data, le)
    assert Command.parse(card.unwrap_command(term.wrap(cmd))) == cmd
    assert term.unwrap(card.wrap_response(rdata, sw)) == rdata + sw.to_bytes(2, "big")
    assert term.ssc == card.ssc


def test_odd_ins_uses_do85():
    term = SecureMessaging(KS_ENC, KS_MAC, SSC0)
    card = SecureMessaging(KS_ENC, KS_MAC, SSC0)
    protected = term.wrap(Command(0x00, 0xB1, 0x00, 0x00, H("54028000"), le=256))
    assert protected[5] == 0x85
    assert Command.parse(card.unwrap_command(protected)) == Command(0x00, 0xB1, 0x00, 0x00, H("54028000"), 256)


@pytest.mark.parametrize("cipher", ["3DES", "AES"])
def test_unwrap_rejects_tampering(cipher):
    ks = crypto.random_bytes(16)
    for mutate, words in [
        (lambda r: r[:-3] + bytes([r[-3] ^ 1]) + r[-2:], "MAC"),  # MAC byte flipped
        (lambda r: r[:3] + bytes([r[3] ^ 1]) + r[4:], "MAC"),  # cryptogram flipped
        (lambda r: r[19:], "MAC"),  # DO87 (87 11 01 + 16 bytes) stripped
        (lambda r: r[:-12] + r[-2:], "DO'8E'"),  # MAC object removed
        (lambda r: bytes.fromhex("9000"), "bare 9000"),
        (lambda r: r[:-2][:-1] + r[-2:], "malformed"),  # truncated
    ]:
        term, card = SecureMessaging(ks, ks[::-1], 7, cipher), SecureMessaging(ks, ks[::-1], 7, cipher)
        term.wrap(H("00B0000008"))
        card.ssc = term.ssc
        rapdu = card.wrap_response(b"ABCDEFGH", 0x9000)
        with pytest.raises(SecureMessagingError, match=words):
            term.unwrap(mutate(rapdu))


def test_unwrap_wrong_ssc_fails_mac():
    term = SecureMessaging(KS_ENC, KS_MAC, SSC0 + 1)  # out of step
    term.wrap(H(D4[0][0]))
    with pytest.raises(SecureMessagingError, match="MAC"):
        term.unwrap(H(D4[0][2]))


def test_unwrap_passes_plain_error_status():
    term = SecureMessaging(KS_ENC, KS_MAC, SSC0)
    term.wrap(H("00B0000004"))
    assert term.unwrap(H("6988")) == H("6988")


def test_card_side_rejects_bad_command_mac():
    term, card = SecureMessaging(KS_ENC, KS_MAC, SSC0), SecureMessaging(KS_ENC, KS_MAC, SSC0)
    protected = bytearray(term.wrap(H("00B0000004")))
    protected[-2] ^= 0xFF
    with pytest.raises(SecureMessagingError, match="MAC"):
        card.unwrap_command(bytes(protected))
    with pytest.raises(SecureMessagingError):
        card.unwrap_command(H("00B0000004"))  # plain command under SM


def test_sm_extended_length_wrap():
    term, card = SecureMessaging(KS_ENC, KS_MAC, SSC0), SecureMessaging(KS_ENC, KS_MAC, SSC0)
    protected = term.wrap(Command(0x00, 0xB0, 0x00, 0x00, le=4000))
    assert Command.is_extended(protected) and protected[-2:] == b"\0\0"
    assert Command.parse(card.unwrap_command(protected)).le == 4000
    big = bytes(range(256)) * 16
    assert term.unwrap(card.wrap_response(big, 0x9000)) == big + H("9000")


@pytest.mark.parametrize("cipher", ["3DES", "AES"])
def test_channel_fast_paths_match_the_reference_primitives(cipher):
    # SecureMessaging reuses its CBC objects across messages; results must equal fresh computations
    ks_enc, ks_mac = crypto.random_bytes(16), crypto.random_bytes(16)
    sm = SecureMessaging(ks_enc, ks_mac, 1, cipher)
    block = 8 if cipher == "3DES" else 16
    for n in [0, 1, 7, 8, 15, 16, 17, 40, 223, 0, 5]:
        data = crypto.random_bytes(n)
        ref_mac = crypto.retail_mac(ks_mac, crypto.pad(data)) if cipher == "3DES" \
            else crypto.aes_cmac(ks_mac, crypto.pad(data, 16))
        assert sm.mac(data) == ref_mac
        iv = sm._iv()
        ref_enc = crypto.des3_cbc_encrypt(ks_enc, crypto.pad(data), iv) if cipher == "3DES" \
            else crypto.aes_cbc_encrypt(ks_enc, crypto.pad(data, 16), iv)
        assert sm._encrypt(data) == ref_enc
        assert sm._decrypt(ref_enc, "test") == data
        assert len(ref_enc) % block == 0


def test_degenerate_3des_keys_are_input_errors():
    with pytest.raises(InputError):
        crypto.des3_cbc_encrypt(bytes(16), bytes(8))
    with pytest.raises(InputError):
        SecureMessaging(bytes(16), bytes(16), 0, "3DES")

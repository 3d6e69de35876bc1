"""PACE ECDH generic mapping: the byte-exact worked example of ICAO 9303-11 Appendix G.1.

brainpoolP256r1 (parameter id 13), id-PACE-ECDH-GM-AES-CBC-CMAC-128, MRZ password of
document T22000129 (born 640812, expires 101031). Every intermediate value of the
example is checked, then the whole protocol runs against a scripted transport that
asserts the exact APDUs of the appendix. A second trace (a New Zealand passport,
ECDH-GM-3DES, published with the gmrtd project) checks the 3DES variant.
"""

from __future__ import annotations

import pytest

from drivers.scripted import ScriptedTransport
from verifier.errors import AccessDeniedError, ResponseFormatError, StatusWordError
from verifier.icao import curves, ecc, pace
from verifier.icao.apdu import Command, Response
from verifier.icao.ecc import Point
from verifier.icao.keys import BACKey, derive_keys, pace_password

BP256 = curves.CURVES["brainpoolP256r1"]
OID_AES128 = "0.4.0.127.0.7.2.2.4.2.2"
CARD_ACCESS = bytes.fromhex("31143012060A04007F0007020204020202010202010D")
KEY = BACKey("T22000129", "640812", "101031")

X = bytes.fromhex


def I(h: str) -> int:  # noqa: E743
    return int(h, 16)


# The values of ICAO 9303-11 Appendix G.1.
K_PI = X("89DED1B26624EC1E634C1989302849DD")
Z = X("95A3A016522EE98D01E76CB6B98B42C3")
S = X("3F00C4D39D153F2B2A214A078D899B22")
SK_MAP_IFD = I("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99")
PK_MAP_IFD = X("047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"
               "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D")
SK_MAP_IC = I("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560")
PK_MAP_IC = X("04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"
              "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54")
H = Point(I("60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5"),
          I("0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"))
G_MAPPED = Point(I("8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2"),
                 I("8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"))
SK_IFD = I("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595")
PK_IFD = X("042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
           "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462")
SK_IC = I("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A")
PK_IC = X("049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
          "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094")
K = X("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")
KS_ENC = X("F5F0E35C0D7161EE6724EE513A0D9A7F")
KS_MAC = X("FE251C7858B356B24514B3BD5F4297D1")
T_IFD = X("C2B0BD78D94BA866")
T_IC = X("3ABB9674BCE93C08")

APPENDIX_G_APDUS = [
    ("0022C1A40F800A04007F00070202040202830101", "9000"),
    ("10860000027C0000", "7C12801095A3A016522EE98D01E76CB6B98B42C39000"),
    ("10860000457C438141" + PK_MAP_IFD.hex() + "00", "7C438241" + PK_MAP_IC.hex() + "9000"),
    ("10860000457C438341" + PK_IFD.hex() + "00", "7C438441" + PK_IC.hex() + "9000"),
    ("008600000C7C0A8508C2B0BD78D94BA86600", "7C0A86083ABB9674BCE93C089000"),
]


def keys_of(*values):
    it = iter(values)
    return lambda curve: next(it)


def test_password_and_k_pi():
    assert pace.k_pi(pace_password(KEY), "AES", 128) == K_PI


def test_nonce_decryption():
    assert pace.decrypt_nonce(K_PI, Z, "AES") == S
    assert pace.encrypt_nonce(K_PI, S, "AES") == Z


def test_mapping_and_mapped_generator():
    assert ecc.encode_point(BP256, ecc.public_key(BP256, SK_MAP_IFD)) == PK_MAP_IFD
    assert ecc.encode_point(BP256, ecc.public_key(BP256, SK_MAP_IC)) == PK_MAP_IC
    h = ecc.ecdh_point(BP256, SK_MAP_IFD, ecc.decode_point(BP256, PK_MAP_IC))
    assert h == H
    assert ecc.generic_map(BP256, int.from_bytes(S, "big"), h) == G_MAPPED


def test_key_agreement_shared_secret_and_session_keys():
    assert ecc.encode_point(BP256, ecc.public_key(BP256, SK_IFD, G_MAPPED)) == PK_IFD
    assert ecc.encode_point(BP256, ecc.public_key(BP256, SK_IC, G_MAPPED)) == PK_IC
    assert ecc.ecdh(BP256, SK_IFD, ecc.decode_point(BP256, PK_IC)) == K
    assert ecc.ecdh(BP256, SK_IC, ecc.decode_point(BP256, PK_IFD)) == K
    assert derive_keys(K, "AES", 128) == (KS_ENC, KS_MAC)


def test_authentication_tokens():
    assert pace.public_key_data_object(OID_AES128, PK_IC).hex().upper().startswith("7F494F060A04007F000702020402028641")
    assert pace.authentication_token(KS_MAC, OID_AES128, PK_IC, "AES") == T_IFD
    assert pace.authentication_token(KS_MAC, OID_AES128, PK_IFD, "AES") == T_IC


def test_whole_protocol_against_the_appendix_apdus():
    card = ScriptedTransport(APPENDIX_G_APDUS)
    result = pace.run_pace(card.send, KEY, CARD_ACCESS, ephemeral_key=keys_of(SK_MAP_IFD, SK_IFD))
    card.assert_done()
    sm = result.sm
    assert (sm.ks_enc, sm.ks_mac, sm.ssc, sm.cipher) == (KS_ENC, KS_MAC, 0, "AES")
    assert (result.curve, result.cipher, result.key_bits, result.password_ref) == ("brainpoolP256r1", "AES", 128, 1)
    assert result.info.parameter_id == 13


def test_wrong_token_from_chip_is_access_denied():
    script = list(APPENDIX_G_APDUS)
    script[-1] = (script[-1][0], "7C0A86083ABB9674BCE93C099000")
    with pytest.raises(AccessDeniedError, match="wrong CAN / MRZ") as e:
        pace.perform_pace(ScriptedTransport(script).send, KEY, CARD_ACCESS, ephemeral_key=keys_of(SK_MAP_IFD, SK_IFD))
    assert e.value.step == pace.STEP_MA


def test_chip_refusing_token_is_access_denied():
    script = list(APPENDIX_G_APDUS)
    script[-1] = (script[-1][0], "6300")
    with pytest.raises(AccessDeniedError, match="wrong CAN / MRZ") as e:
        pace.perform_pace(ScriptedTransport(script).send, KEY, CARD_ACCESS, ephemeral_key=keys_of(SK_MAP_IFD, SK_IFD))
    assert e.value.sw == 0x6300


def test_malformed_and_unexpected_responses_name_the_step():
    script = list(APPENDIX_G_APDUS[:3])
    script[2] = (script[2][0], "7C438241" + PK_MAP_IC[:-1].hex() + "00" + "9000")  # point off the curve
    with pytest.raises(ResponseFormatError) as e:
        pace.perform_pace(ScriptedTransport(script).send, KEY, CARD_ACCESS, ephemeral_key=keys_of(SK_MAP_IFD, SK_IFD))
    assert e.value.step == pace.STEP_MAP and "not on curve" in str(e.value)

    script = list(APPENDIX_G_APDUS[:2])
    script[1] = (script[1][0], "7C0281009000")
    with pytest.raises(ResponseFormatError, match="expected data object 80") as e:
        pace.perform_pace(ScriptedTransport(script).send, KEY, CARD_ACCESS)
    assert e.value.step == pace.STEP_NONCE

    script = list(APPENDIX_G_APDUS[:2])
    script[1] = (script[1][0], "7C12801095A39000")
    with pytest.raises(ResponseFormatError, match="malformed dynamic authentication data"):
        pace.perform_pace(ScriptedTransport(script).send, KEY, CARD_ACCESS)

    with pytest.raises(StatusWordError, match="6A80") as e:
        pace.perform_pace(ScriptedTransport([(APPENDIX_G_APDUS[0][0], "6A80")]).send, KEY, CARD_ACCESS)
    assert e.value.step == pace.STEP_MSE


# A real passport (New Zealand), id-PACE-ECDH-GM-3DES, brainpoolP256r1, as recorded in gmrtd's tests.
NZ_KEY = BACKey("LM277954", "781214", "271115")
NZ_CARD_ACCESS = X("31143012060a04007f0007020204020102010202010d")
NZ_APDUS = [
    ("0022c1a40f800a04007f00070202040201830101", "9000"),
    ("10860000027c0000", "7c128010b88382812290017af1cc906ff00e7f4d9000"),
    ("10860000457c438141047706b2b6246ab4612229b8a11212ddba7fea0568c9c0975dee22c0e3dd3a3f0321e8afee836e373b570d2400"
     "0d56fb195104d486e63321ff8c819dd5ee018dcb00",
     "7c43824104780b4edec9b926f9f964fad826d9990a667608d96ba7b397ae8609b6533e0d036d148365ddf4e5ff6611c2b62aa17fc98"
     "99f327bc929db543e7abd0ee724e4be9000"),
    ("10860000457c43834104507a0156efae8fb8acc519036c0b2fe0393c878744c7f91878ee4e07a41412ba5c0753d68a44a91e9f57f3f9"
     "92ab689e6c2065d3b2a27c3658a4fd632931ee3800",
     "7c438441042dbaf62e6fdfb31eb66f206493b9e7721586f0e5c93754d7bd5a884ca251ee4d720ab539a60561bc46812fa289b58ac69"
     "f0c6e32adbaf7241049a31211f80f5b9000"),
    ("008600000c7c0a85088d7c617d43efe09e00", "7c0a8608cb57047c809079f69000"),
]


def test_real_3des_trace():
    card = ScriptedTransport(NZ_APDUS)
    sm = pace.perform_pace(card.send, NZ_KEY, NZ_CARD_ACCESS, ephemeral_key=keys_of(
        I("2808272c0ec20e01a3450030ef32855e9feb5cb17719e985389b1cf47609e69f"),
        I("8f89449052df6c7983750c7b042c3cea12b36819174424c7cd28153f7b70b402")))
    card.assert_done()
    assert (sm.cipher, sm.ssc) == ("3DES", 0)
    assert sm.ks_enc == X("430e4c8c38dfefaed92067b919a897f8")
    assert sm.ks_mac == X("c1bc1f075797b970b5a45e64a764b0cb")


def test_card_side_reproduces_the_appendix():
    """The emulated chip's PACE responder, fed the chip's values of Appendix G.1, answers byte for byte."""
    from drivers.emulator.card_protocols import PaceResponder

    chip_keys = iter([SK_MAP_IC, SK_IC])
    responder = PaceResponder(lambda ref: pace_password(KEY) if ref == 1 else None, CARD_ACCESS,
                              nonce=lambda n: S, ephemeral_key=lambda curve: next(chip_keys))
    transcript = []
    card_sm = []

    def send(cmd: Command) -> Response:
        if cmd.ins == 0x22:
            resp = Response(b"", responder.mse_set_at(cmd.data))
        else:
            data, sw, sm = responder.general_authenticate(cmd.data, last=not cmd.cla & 0x10)
            card_sm.append(sm)
            resp = Response(data, sw)
        transcript.append((cmd.encode().hex().upper(), resp.encode().hex().upper()))
        return resp

    sm = pace.perform_pace(send, KEY, CARD_ACCESS, ephemeral_key=keys_of(SK_MAP_IFD, SK_IFD))
    assert transcript == [(c.upper(), r.upper()) for c, r in APPENDIX_G_APDUS]
    chip = card_sm[-1]
    assert (chip.ks_enc, chip.ks_mac, chip.ssc) == (sm.ks_enc, sm.ks_mac, 0) == (KS_ENC, KS_MAC, 0)

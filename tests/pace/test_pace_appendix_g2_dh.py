"""PACE DH generic mapping: the byte-exact worked example of ICAO 9303-11 Appendix G.2.

1024-bit MODP group with 160-bit subgroup (RFC 5114 §2.1, parameter id 0),
id-PACE-DH-GM-AES-CBC-CMAC-128, MRZ password T22000129 / 640812 / 101031.
"""

from __future__ import annotations

from verifier.icao import ecc, pace
from verifier.icao.apdu import Command, Response
from verifier.icao.keys import BACKey, derive_keys, pace_password
from verifier.icao.lds.security_infos import PACEInfo, encode_security_infos

X = bytes.fromhex
KEY = BACKey("T22000129", "640812", "101031")
CARD_ACCESS = encode_security_infos([PACEInfo("0.4.0.127.0.7.2.2.4.1.2", 2, 0)])
GROUP = ecc.RFC5114_1024_160

Z = X("854D8DF5827FA6852D1A4FA701CDDDCA")
S = X("FA5B7E3E49753A0DB9178B7B9BD898C8")
SK_MAP_IFD = int("5265030F751F4AD18B08AC565FC7AC952E41618D", 16)
PK_MAP_IFD = X("23FB3749EA030D2A25B278D2A562047ADE3F01B74F17A15402CB7352CA7D2B3EB71C343DB13D1DEBCE9A3666DBCFC920"
               "B49174A602CB47965CAA73DC702489A44D41DB914DE9613DC5E98C94160551C0DF86274B9359BC0490D01B03AD54022D"
               "CB4F57FAD6322497D7A1E28D46710F461AFE710FBBBC5F8BA166F4311975EC6C")
SK_MAP_IC = int("66DDAFEAC1609CB5B963BB0CB3FF8B3E047F336C", 16)
PK_MAP_IC = X("78879F57225AA8080D52ED0FC890A4B25336F699AA89A2D3A189654AF70729E623EA5738B26381E4DA19E004706FACE7"
              "B235C2DBF2F38748312F3C98C2DD4882A41947B324AA1259AC22579DB93F7085655AF30889DBB845D9E6783FE42C9F24"
              "49400306254C8AE8EE9DD812A804C0B66E8CAFC14F84D8258950A91B44126EE6")
H = X("5BABEBEF5B74E5BA94B5C063FDA15F1F1CDE94873EE0A5D3A2FCAB49F258D07F544F13CB66658C3AFEE9E727389BE3F6"
      "CBBBD32128A8C21DD6EEA3CF7091CDDFB08B8D007D40318DCCA4FFBF51208790FB4BD111E5A968ED6B6F08B26CA87C41"
      "0B3CE0C310CE104EABD16629AA48620C1279270CB0750C0D37C57FFFE302AE7F")
G_MAPPED = X("7C9CBFE98F9FBDDA8D143506FA7D9306F4CB17E3C71707AFF5E1C1A12370249684D64EE37AF44B8DBD9D45BF6023919C"
             "BAA027AB97ACC771666C8E98FF483301BFA4872DEDE9034EDFACB70814166B7F360676829B826BEA57291B5AD69FBC84"
             "EF1E779032A305803F74341793E869742D401325B37EE8565FFCDEE618342DC5")
SK_IFD = int("89CCD99B0E8D3B1F11E1296DCA68EC53411CF2CA", 16)
PK_IFD = X("907D89E2D425A178AA81AF4A7774EC8E388C115CAE67031E85EECE520BD911551B9AE4D04369F29A02626C86FBC6747C"
           "C7BC352645B6161A2A42D44EDA80A08FA8D61B76D3A154AD8A5A51786B0BC07147057871A922212C5F67F43173172236"
           "B7747D1671E6D692A3C7D40A0C3C5CE397545D015C175EB5130551EDBC2EE5D4")
SK_IC = int("A5B780126B7C980E9FCEA1D4539DA1D27C342DFA", 16)
PK_IC = X("075693D9AE941877573E634B6E644F8E60AF17A0076B8B123D9201074D36152BD8B3A213F53820C42ADC79AB5D0AEEC3"
          "AEFB91394DA476BD97B9B14D0A65C1FC71A0E019CB08AF55E1F729005FBA7E3FA5DC41899238A250767A6D46DB974064"
          "386CD456743585F8E5D90CC8B4004B1F6D866C79CE0584E49687FF61BC29AEA1")
K = X("6BABC7B3A72BCD7EA385E4C62DB2625BD8613B24149E146A629311C4CA6698E38B834B6A9E9CD7184BA8834AFF5043D4"
      "36950C4C1E7832367C10CB8C314D40E5990B0DF7013E64B4549E2270923D06F08CFF6BD3E977DDE6ABE4C31D55C0FA2E"
      "465E553E77BDF75E3193D3834FC26E8EB1EE2FA1E4FC97C18C3F6CFFFE2607FD")
KS_ENC = X("2F7F46ADCC9E7E521B45D192FAFA9126")
KS_MAC = X("805A1D27D45A5116F73C54469462B7D8")
T_IFD = X("B46DD9BD4D98381F")
T_IC = X("917F37B5C0E6D8D1")
OID = "0.4.0.127.0.7.2.2.4.1.2"

APDUS = [
    ("0022C1A40F800A04007F00070202040102830101", "9000"),
    ("10860000027C0000", "7C128010" + Z.hex() + "9000"),
    ("10860000867C8183818180" + PK_MAP_IFD.hex() + "00", "7C8183828180" + PK_MAP_IC.hex() + "9000"),
    ("10860000867C8183838180" + PK_IFD.hex() + "00", "7C8183848180" + PK_IC.hex() + "9000"),
    ("008600000C7C0A8508" + T_IFD.hex() + "00", "7C0A8608" + T_IC.hex() + "9000"),
]


def keys_of(*values):
    it = iter(values)
    return lambda params: next(it)


def test_every_intermediate_value():
    assert pace.decrypt_nonce(pace.k_pi(pace_password(KEY), "AES", 128), Z, "AES") == S
    group = pace.DHGroup(GROUP)
    assert group.encode(group.public(SK_MAP_IFD)) == PK_MAP_IFD
    assert group.encode(group.public(SK_MAP_IC)) == PK_MAP_IC
    h = group.shared_element(SK_MAP_IFD, int.from_bytes(PK_MAP_IC, "big"))
    assert group.encode(h) == H == group.encode(group.shared_element(SK_MAP_IC, int.from_bytes(PK_MAP_IFD, "big")))
    mapped = group.mapped(int.from_bytes(S, "big"), h)
    assert mapped.encode(mapped.g) == G_MAPPED
    assert mapped.encode(mapped.public(SK_IFD)) == PK_IFD
    assert mapped.encode(mapped.public(SK_IC)) == PK_IC
    assert mapped.shared_secret(SK_IFD, int.from_bytes(PK_IC, "big")) == K
    assert derive_keys(K, "AES", 128) == (KS_ENC, KS_MAC)
    assert pace.authentication_token(KS_MAC, OID, PK_IC, "AES", pace.TAG_DH_Y) == T_IFD
    assert pace.authentication_token(KS_MAC, OID, PK_IFD, "AES", pace.TAG_DH_Y) == T_IC


def test_terminal_and_chip_reproduce_the_appendix_apdus():
    from drivers.emulator.card_protocols import PaceResponder

    responder = PaceResponder(lambda ref: pace_password(KEY) if ref == 1 else None, CARD_ACCESS,
                              nonce=lambda n: S, ephemeral_key=keys_of(SK_MAP_IC, SK_IC))
    transcript = []

    def send(cmd: Command) -> Response:
        if cmd.ins == 0x22:
            resp = Response(b"", responder.mse_set_at(cmd.data))
        else:
            data, sw, _ = responder.general_authenticate(cmd.data, last=not cmd.cla & 0x10)
            resp = Response(data, sw)
        transcript.append((cmd.encode().hex().upper(), resp.encode().hex().upper()))
        return resp

    result = pace.run_pace(send, KEY, CARD_ACCESS, ephemeral_key=keys_of(SK_MAP_IFD, SK_IFD))
    assert transcript == [(c.upper(), r.upper()) for c, r in APDUS]
    assert (result.sm.ks_enc, result.sm.ks_mac, result.sm.ssc) == (KS_ENC, KS_MAC, 0)
    assert result.curve == "RFC5114-1024-160"


def test_dh_public_key_outside_the_subgroup_is_refused():
    import pytest

    from verifier.errors import ResponseFormatError

    script = [(c, r) for c, r in APDUS[:3]]
    bad = (GROUP.p - 1).to_bytes(128, "big")  # order 2: not in the subgroup of order q
    script[2] = (script[2][0], "7C8183828180" + bad.hex() + "9000")
    it = iter(script)

    def send(cmd):
        expected, answer = next(it)
        assert cmd.encode().hex().upper() == expected.upper()
        return Response.parse(X(answer))

    with pytest.raises(ResponseFormatError) as e:
        pace.perform_pace(send, KEY, CARD_ACCESS, ephemeral_key=keys_of(SK_MAP_IFD, SK_IFD))
    assert e.value.step == pace.STEP_MAP

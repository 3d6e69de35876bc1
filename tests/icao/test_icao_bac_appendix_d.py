"""ICAO 9303-11 Appendix D worked example, end to end: D.1 -> D.2 -> D.3 BAC -> D.4 secure messaging.

A scripted card asserts every APDU byte for byte; the card-side BAC reproduces the chip's answers.
"""

from __future__ import annotations

import pytest

from drivers.scripted import ScriptedTransport
from verifier.errors import AccessDeniedError, ResponseFormatError, StatusWordError
from verifier.icao.apdu import Command, Response
from verifier.icao.bac import (BACCard, bac_keys, complete_bac, external_authenticate_data, perform_bac,
                               session_keys)
from verifier.icao.keys import BACKey

H = bytes.fromhex
KEY = BACKey("L898902C", "690806", "940623")  # D.1
RND_ICC, RND_IFD = H("4608F91988702212"), H("781723860C06C226")
K_IFD, K_ICC = H("0B795240CB7049B01C19B33E32804F0B"), H("0B4F80323EB3191CB04970CB4052790B")
CMD_DATA = H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7")
RESP_DATA = H("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449")


def test_d2_keys():
    k_enc, k_mac = bac_keys(KEY)
    assert k_enc == H("AB94FDECF2674FDFB9B391F85D7F76F2")
    assert k_mac == H("7962D9ECE03D1ACD4C76089DCE131543")


def test_d3_external_authenticate_and_session_keys():
    k_enc, k_mac = bac_keys(KEY)
    assert external_authenticate_data(k_enc, k_mac, RND_ICC, RND_IFD, K_IFD) == CMD_DATA
    ks_enc, ks_mac, ssc = session_keys(K_IFD, K_ICC, RND_ICC, RND_IFD)
    assert ks_enc == H("979EC13B1CBFE9DCD01AB0FED307EAE5")
    assert ks_mac == H("F1CB1F1FB5ADF208806B89DC579DC1F8")
    assert ssc == 0x887022120C06C226
    sm = complete_bac(k_enc, k_mac, RND_ICC, RND_IFD, K_IFD, RESP_DATA)
    assert (sm.ks_enc, sm.ks_mac, sm.ssc) == (ks_enc, ks_mac, ssc)


def test_appendix_d_full_exchange_byte_exact():
    card = ScriptedTransport([
        ("0084000008", "4608F919887022129000"),
        ("0082000028" + CMD_DATA.hex().upper() + "28", RESP_DATA.hex().upper() + "9000"),
    ])
    sm = perform_bac(card.send, KEY, rnd_ifd=RND_IFD, k_ifd=K_IFD)
    card.assert_done()
    assert sm.ssc == 0x887022120C06C226
    # D.4: SELECT EF.COM, READ BINARY 4 bytes, READ BINARY the remaining 18 bytes
    assert sm.wrap(H("00A4020C02011E")) == H("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
    assert sm.unwrap(H("990290008E08FA855A5D4C50A8ED9000")) == H("9000")
    assert sm.wrap(H("00B0000004")) == H("0CB000000D9701048E08ED6705417E96BA5500")
    assert sm.unwrap(H("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000")) == H("60145F019000")
    assert sm.wrap(H("00B0000412")) == H("0CB000040D9701128E082EA28A70F3C7B53500")
    assert sm.unwrap(H("871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000")) \
        == H("04303130365F36063034303030305C0261759000")
    assert sm.ssc == 0x887022120C06C22C


def test_card_side_reproduces_the_chip_answer():
    card = BACCard(KEY, rnd_icc=RND_ICC, k_icc=K_ICC)
    assert card.get_challenge() == RND_ICC
    answer, sw, card_sm = card.external_authenticate(CMD_DATA)
    assert (answer, sw) == (RESP_DATA, 0x9000)
    assert card_sm.ks_enc == H("979EC13B1CBFE9DCD01AB0FED307EAE5") and card_sm.ssc == 0x887022120C06C226


def test_card_side_refuses_a_wrong_key():
    card = BACCard(BACKey("L898902C", "690806", "940624"))
    rnd_icc = card.get_challenge()
    k_enc, k_mac = bac_keys(KEY)
    answer, sw, sm = card.external_authenticate(external_authenticate_data(k_enc, k_mac, rnd_icc, RND_IFD, K_IFD))
    assert (answer, sw, sm) == (b"", 0x6982, None)
    # and a second try needs a fresh challenge
    assert card.external_authenticate(CMD_DATA)[1] == 0x6985


@pytest.mark.parametrize("answer, sw, error, words", [
    (b"", 0x6300, AccessDeniedError, "wrong access key"),
    (b"", 0x6982, AccessDeniedError, "wrong access key"),
    (b"", 0x6A80, StatusWordError, "6A80"),
    (RESP_DATA[:39], 0x9000, ResponseFormatError, "40-byte"),
    (RESP_DATA[:-1] + b"\x00", 0x9000, AccessDeniedError, "bad MAC"),
])
def test_terminal_rejects_bad_answers(answer, sw, error, words):
    k_enc, k_mac = bac_keys(KEY)
    with pytest.raises(error, match=words) as e:
        complete_bac(k_enc, k_mac, RND_ICC, RND_IFD, K_IFD, answer, sw)
    assert e.value.step == "BAC mutual authenticate"


def test_terminal_rejects_answer_to_another_challenge():
    k_enc, k_mac = bac_keys(KEY)
    with pytest.raises(AccessDeniedError, match="echo"):
        complete_bac(k_enc, k_mac, H("0000000000000000"), RND_IFD, K_IFD, RESP_DATA)


def test_get_challenge_errors():
    with pytest.raises(ResponseFormatError):
        perform_bac(ScriptedTransport([("0084000008", "01029000")]).send, KEY)
    with pytest.raises(StatusWordError):
        perform_bac(ScriptedTransport([("0084000008", "6D00")]).send, KEY)

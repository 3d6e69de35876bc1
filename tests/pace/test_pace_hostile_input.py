"""Hostile bytes into every parser and card-side responder: a clear error or a status word, never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.emulator.card_protocols import ChipAuthResponder, PaceResponder, make_chip_auth_key
from verifier.errors import ChipidError
from verifier.icao import active_auth, chip_keys, curves, ecc, pace, tlv
from verifier.icao.keys import CANKey, pace_password
from verifier.icao.lds.dg15 import parse_dg15
from verifier.icao.lds.security_infos import parse_card_access

CARD_ACCESS = pace.card_access_for(13, "AES-128")
CA_KEY, CA_SPKI = make_chip_auth_key("brainpoolP256r1")
AA_SPKI = make_chip_auth_key("secp256r1")[1]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _der_like():
    """Random bytes and random nestings of TLVs (more likely to reach deep code than pure noise)."""
    leaf = st.tuples(st.sampled_from([0x02, 0x03, 0x04, 0x05, 0x06, 0x30, 0x31, 0x80, 0x81, 0x83, 0x84, 0x85, 0xA0]),
                     st.binary(max_size=70)).map(lambda t: tlv.encode(*t))
    tree = st.recursive(leaf, lambda kids: st.tuples(st.sampled_from([0x30, 0x31, 0x7C, 0xA0]),
                                                     st.lists(kids, max_size=4)).map(
        lambda t: tlv.encode(t[0], b"".join(t[1]))), max_leaves=8)
    return st.one_of(st.binary(max_size=120), tree)


@SETTINGS
@given(_der_like())
def test_parse_public_key_only_raises_chipid_errors(data):
    try:
        chip_keys.parse_public_key(data)
    except ChipidError:
        pass


@SETTINGS
@given(_der_like())
def test_parse_dg15_only_raises_chipid_errors(data):
    try:
        parse_dg15(tlv.encode(0x6F, data))
    except ChipidError:
        pass


@SETTINGS
@given(st.binary(max_size=140))
def test_decode_point_only_raises_parse_errors(data):
    c = curves.CURVES["secp256r1"]
    try:
        p = ecc.decode_point(c, data)
    except ChipidError:
        return
    assert ecc.is_on_curve(c, p)


@SETTINGS
@given(st.lists(_der_like(), min_size=1, max_size=6))
def test_pace_responder_answers_status_words(messages):
    responder = PaceResponder(lambda ref: pace_password(CANKey("123456")), CARD_ACCESS)
    assert responder.mse_set_at(pace.mse_set_at_data(pace.choose_pace_info(parse_card_access(CARD_ACCESS)), 2)) == 0x9000
    for m in messages:
        data, sw, sm = responder.general_authenticate(m)
        assert isinstance(sw, int) and isinstance(data, bytes)
        assert sm is None
        assert isinstance(responder.mse_set_at(m), int)


@SETTINGS
@given(st.lists(_der_like(), min_size=1, max_size=4))
def test_ca_responder_answers_status_words(messages):
    responder = ChipAuthResponder(CA_KEY)
    for m in messages:
        assert isinstance(responder.mse_set(m), int)
        sw, _ = responder.mse_set_kat(m)
        assert isinstance(sw, int)
        data, sw, _ = responder.general_authenticate(m)
        assert isinstance(sw, int)


@SETTINGS
@given(st.binary(max_size=300), st.binary(max_size=16))
def test_verify_active_auth_never_crashes(signature, challenge):
    spki = AA_SPKI  # EC key: the ECDSA path
    assert not active_auth.verify_active_auth(spki, challenge, signature, "1.2.840.10045.4.3.2").valid


def _hostile_chip(answers):
    """MSE:Set AT succeeds, then every GENERAL AUTHENTICATE gets the next hostile answer."""
    from verifier.icao.apdu import Response

    it = iter(answers)

    def send(cmd):
        if cmd.ins == 0x22:
            return Response(b"", 0x9000)
        try:
            data, sw = next(it)
        except StopIteration:
            return Response(b"", 0x6F00)
        return Response(data, sw)
    return send


hostile_answer = st.tuples(
    st.one_of(_der_like(), st.builds(lambda tag, v: tlv.encode(0x7C, tlv.encode(tag, v)),
                                     st.sampled_from([0x80, 0x82, 0x84, 0x86]), st.binary(max_size=140))),
    st.sampled_from([0x9000, 0x9000, 0x9000, 0x6300, 0x6A80, 0x63C2]))


@SETTINGS
@given(st.lists(hostile_answer, max_size=5), st.sampled_from([13, 12, 0]))
def test_pace_terminal_against_a_hostile_chip(answers, param_id):
    try:
        pace.perform_pace(_hostile_chip(answers), CANKey("123456"), pace.card_access_for(param_id, "AES-128"))
    except ChipidError:
        return
    raise AssertionError("a hostile chip completed PACE")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=80), st.sampled_from([0x9000, 0x6A80]))
def test_ca_terminal_against_hostile_answers(answer, sw):
    from verifier.icao import chip_auth
    from verifier.icao.apdu import Response
    from verifier.icao.lds.dg14 import encode_dg14, parse_dg14
    from drivers.emulator.card_protocols import chip_auth_infos

    class Session:
        def transmit(self, cmd):
            return Response(answer if cmd.ins == 0x86 else b"", sw)

    dg14 = parse_dg14(encode_dg14(chip_auth_infos(CA_KEY, CA_SPKI)))
    try:
        chip_auth.perform_chip_authentication(Session(), dg14)
    except ChipidError:
        pass

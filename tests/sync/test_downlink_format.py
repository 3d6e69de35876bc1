"""The downlink message format (sync/downlink.py): signed canonical JSON, verification, in-order application."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync import downlink as wire
from verifier.errors import InputError, TamperError

KEY = Ed25519PrivateKey.generate()
HOLD = {"hold_id": "h-1", "contract_no": "HĐ-2026-000001", "txn_id": "t-1", "reason": "Tang vật vụ trộm", "case_no": "12/VKS",
        "until": "2099-01-31"}


def _signed(kind="hold", body=None, version=1, shop="79-PN12", key=KEY):
    m = wire.build(shop, version, kind, dict(body or HOLD), issued_at="2026-01-02T03:04:05.000000Z", issued_by="cong-an")
    return {"message": m, "signature": wire.sign(m, key)}


def test_a_signed_message_verifies_and_names_its_fields():
    msg = wire.verify(_signed(), KEY.public_key(), "79-PN12")
    assert (msg.version, msg.kind, msg.body["reason"]) == (1, "hold", "Tang vật vụ trộm")
    assert msg.to_json()["format"] == "chipid-downlink/1"


@pytest.mark.parametrize("change", [
    lambda w: w["message"]["body"].update(reason="khác"),        # altered body
    lambda w: w["message"].update(version=2),                    # renumbered
    lambda w: w["message"].update(kind="notice"),                # another kind
])
def test_an_altered_message_is_refused(change):
    w = _signed()
    change(w)
    with pytest.raises(TamperError, match="signature does not verify"):
        wire.verify(w, KEY.public_key(), "79-PN12")


def test_a_message_signed_by_another_key_or_for_another_shop_is_refused():
    with pytest.raises(TamperError, match="signature"):
        wire.verify(_signed(key=Ed25519PrivateKey.generate()), KEY.public_key(), "79-PN12")
    with pytest.raises(TamperError, match="for shop"):
        wire.verify(_signed(shop="01-X"), KEY.public_key(), "79-PN12")


def test_bad_bodies_are_refused_before_signing():
    for kind, body in (("hold", {**HOLD, "reason": ""}), ("hold", {**HOLD, "until": "31/01/2099"}), ("notice", {}),
                       ("trust", {"items": [{"name": "x.der", "data": "not base64!"}]}), ("erase", {"text": "x"})):
        with pytest.raises(InputError):
            wire.build("s", 1, kind, body, issued_at="t", issued_by="u")


def test_plan_skips_what_was_applied_and_stops_at_a_gap():
    assert wire.plan(0, [1, 2, 3]) == ([1, 2, 3], None)
    assert wire.plan(2, [1, 2, 3, 4]) == ([3, 4], None)         # a replayed old message is skipped
    assert wire.plan(2, [3, 5, 6]) == ([3], 4)                  # 4 missing: 5 and 6 wait
    assert wire.plan(2, [5]) == ([], 3)
    assert wire.plan(3, []) == ([], None)


def test_the_signature_covers_the_canonical_form_not_the_key_order():
    w = _signed()
    w2 = copy.deepcopy(w)
    w2["message"] = dict(reversed(list(w2["message"].items())))
    assert wire.verify(w2, KEY.public_key(), "79-PN12").body == w["message"]["body"]


def test_device_request_message_binds_method_path_time_and_body():
    a = wire.request_message("GET", "/api/v1/devices/d/downlink?after=1", "2026-01-01T00:00:00Z")
    assert a != wire.request_message("GET", "/api/v1/devices/d/downlink?after=0", "2026-01-01T00:00:00Z")
    assert a != wire.request_message("POST", "/api/v1/devices/d/downlink?after=1", "2026-01-01T00:00:00Z")
    assert wire.request_message("POST", "/p", "t", b"x") != wire.request_message("POST", "/p", "t", b"y")

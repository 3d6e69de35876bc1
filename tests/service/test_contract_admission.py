"""The one rule that admits a contract (:func:`verifier.ledger.admission.admit`): the manager override
of a card that is not ``authentic`` or of a face ``no_match``, and the face comparisons no override
replaces (README "POST /transactions"). The API path is ``test_api_transactions.py``; both go through this rule."""

from __future__ import annotations

import dataclasses

import pytest

from tests.service.conftest import face_decision, scan_result
from verifier.ledger.admission import ContractRefused, admit
from verifier.results import Holder, Override


def _admit(scan, face="match", role="clerk", reason=None, confirmed_by=None):
    return admit(scan, face_decision(face) if face else None, user=f"{role}-1", role=role,
                 face_confirmed_by=confirmed_by, override_reason=reason)


def _refused(code, **kw):
    with pytest.raises(ContractRefused) as e:
        _admit(**kw)
    assert e.value.code == code, e.value.message
    return e.value


@pytest.mark.parametrize("verdict", ["unverified", "not_authentic"])
def test_a_card_that_is_not_authentic(verdict):
    scan = scan_result(verdict)
    refused = _refused("scan_not_authentic", scan=scan)  # a clerk, no reason
    assert refused.details == {"verdict": verdict}
    _refused("override_needs_manager", scan=scan, reason="chip worn, checked by hand")  # a clerk with a reason
    _refused("scan_not_authentic", scan=scan, role="manager")  # a manager without a reason
    _refused("scan_not_authentic", scan=scan, role="manager", reason="")
    override = _admit(scan, role="manager", reason="chip worn, checked by hand")
    assert override == Override(by="manager-1", role="manager", reason="chip worn, checked by hand", verdict=verdict)
    assert override.to_json() == {"by": "manager-1", "role": "manager", "reason": "chip worn, checked by hand",
                                  "verdict": verdict}
    assert _admit(scan, role="admin", reason="checked the paper card").role == "admin"


def test_an_authentic_card_needs_no_override_and_a_clerk_gives_none():
    scan = scan_result("authentic")
    assert _admit(scan) is None
    assert _admit(scan, role="manager") is None
    assert _admit(scan, role="manager", reason="not needed") is None
    _refused("override_needs_manager", scan=scan, reason="a clerk's reason")  # the same rule whatever the verdict


@pytest.mark.parametrize("face", [None, "no_face", "poor_quality", "refer"])
def test_no_override_replaces_a_face_comparison_that_did_not_happen(face):
    """No face step, no face found, a poor picture, an unconfirmed refer: the face step is done again."""
    for role, reason in (("clerk", None), ("manager", "I know this customer")):
        _refused("face_not_confirmed", scan=scan_result("authentic"), face=face, role=role, reason=reason)
        _refused("face_not_confirmed", scan=scan_result("unverified"), face=face, role="manager", reason="worn chip")


def test_a_face_no_match_needs_the_managers_written_reason():
    """Issue 17 item 2: the manager's override (reason required, recorded) is the one way past a no_match."""
    scan = scan_result("authentic")
    _refused("face_not_confirmed", scan=scan, face="no_match")  # a clerk
    _refused("override_needs_manager", scan=scan, face="no_match", reason="looks like him")  # a clerk with a reason
    _refused("face_not_confirmed", scan=scan, face="no_match", role="manager")  # a manager without a reason
    override = _admit(scan, face="no_match", role="manager", reason="chip photo taken 15 years ago")
    assert override == Override(by="manager-1", role="manager", reason="chip photo taken 15 years ago",
                                verdict="authentic", face_decision="no_match")
    assert override.to_json()["face_decision"] == "no_match"
    both = _admit(scan_result("unverified"), face="no_match", role="manager", reason="known customer, old photo")
    assert (both.verdict, both.face_decision) == ("unverified", "no_match")
    assert "face_decision" not in _admit(scan_result("unverified"), role="manager", reason="worn chip").to_json()


def test_a_refer_confirmed_by_the_clerk_is_admitted():
    assert _admit(scan_result(), face="refer", confirmed_by="clerk-1") is None


def test_a_scan_without_the_holders_id_or_name():
    scan = dataclasses.replace(scan_result(), holder=Holder(full_name="Nguyễn Văn An"))
    _refused("scan_incomplete", scan=scan)

"""A contract records which of the pawner's fields came from the MRZ (DG1) instead of DG13
(a DG13 the reader could not parse: the scan's ``holder_source`` / ``dg13_error``)."""

from __future__ import annotations

import dataclasses

from tests.service.conftest import face_decision

FORM = {"items": [{"description": "Nhẫn vàng 1 chỉ", "category": "jewelry"}], "valuation_vnd": 5_000_000,
        "loan_vnd": 3_000_000, "interest_rate_year_pct": 12.0, "term_days": 30}


def _contract(svc, scan) -> dict:
    txn = svc.book.create(scan, FORM, user="clerk", role="clerk", face=face_decision())
    return svc.book.get(txn["id"])


def test_holder_from_the_mrz_is_recorded_in_the_contract(svc, scan_result):
    scan = scan_result(
        holder_source={"id_number": "DG1", "full_name": "DG1", "date_of_birth": "DG1", "sex": "DG1",
                       "document_number": "DG1", "issuing_state": "DG1"},
        dg13_error={"reason": "DG13 (personal data) could not be parsed", "reason_vi": "Không đọc được DG13",
                    "fields_from_mrz": ["id_number", "full_name", "date_of_birth", "sex"]})
    view = _contract(svc, scan)
    assert view["identity_check"]["holder_from_mrz"] == ["id_number", "full_name", "date_of_birth", "sex"]


def test_holder_from_dg13_records_an_empty_list(svc, scan_result):
    scan = scan_result()
    scan = dataclasses.replace(scan, holder_source={k: "DG13" for k in scan.holder.to_json()} | {"document_number": "DG1"})
    assert _contract(svc, scan)["identity_check"]["holder_from_mrz"] == []
    assert _contract(svc, scan_result())["identity_check"]["holder_from_mrz"] == []  # an older scan without sources

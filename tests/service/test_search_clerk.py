"""Search a clerk can use (issue 17 item 13): the last digits of an ID number or a serial, the name
without diacritics, and an ID number that cannot be one is a 400 in Vietnamese."""

from __future__ import annotations

import pytest


@pytest.fixture()
def two(api, tokens, make_scan, txn_body, holder):
    other = dict(holder, id_number="001203004567", full_name="Trần Thị Bích")
    a = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json()
    b = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(
        make_scan(holder=other).id, items=[{"description": "Xe máy Honda", "category": "motorbike", "serial": "RLHJC5210KY123987"}])).json()
    return a, b


def _ids(api, tokens, **params):
    r = api.get("/api/v1/transactions", tokens["clerk"], params=params)
    assert r.status_code == 200, r.text
    return {row["contract_no"] for row in r.json()["items"]}


@pytest.mark.parametrize("digits", ["1234", "01234", "001234"])
def test_last_digits_of_the_id_number(api, tokens, two, digits):
    a, b = two
    assert _ids(api, tokens, id_number=digits) == {a["contract_no"]}


def test_whole_id_number_and_tails_of_serials(api, tokens, two):
    a, b = two
    assert _ids(api, tokens, id_number="001203004567") == {b["contract_no"]}
    assert _ids(api, tokens, id_number="0012 0300 4567") == {b["contract_no"]}
    assert _ids(api, tokens, serial="3987") == {b["contract_no"]}
    assert _ids(api, tokens, serial="abcd12") == {a["contract_no"]}  # F2LXK0ABCD12, case folded
    assert _ids(api, tokens, serial="F2LXK0ABCD12") == {a["contract_no"]}
    assert _ids(api, tokens, serial="0ABCD1") == set()  # a tail is the end of the serial


def test_name_without_diacritics(api, tokens, two):
    a, b = two
    assert _ids(api, tokens, name="tran thi bich") == {b["contract_no"]}
    assert _ids(api, tokens, name="NGUYỄN an") == {a["contract_no"]}


@pytest.mark.parametrize("bad", ["07909000123A", "079090", "0790900012345", "12", "abc"])
def test_an_id_number_that_is_not_one_says_so(api, tokens, two, bad):
    r = api.get("/api/v1/transactions", tokens["clerk"], params={"id_number": bad})
    if bad == "079090":  # six digits: a tail, a search like any other
        assert r.status_code == 200
        return
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "bad_id_number"
    assert "chữ số" in err["message"]


def test_tails_are_indexed_for_contracts_made_before(svc, api, tokens, two):
    """A ledger opened before tails were indexed gets them once, from its entries."""
    a, _ = two
    svc.ledger.write(lambda c: (c.execute("DELETE FROM txn_terms"), c.execute("DELETE FROM meta WHERE key = 'search.tails'")))
    assert _ids(api, tokens, id_number="1234") == set()
    svc.ledger.write(svc.book.index_tails)
    assert _ids(api, tokens, id_number="1234") == {a["contract_no"]}
    svc.ledger.write(svc.book.index_tails)  # once: the meta mark stops a second pass
    assert svc.ledger.reader().execute("SELECT COUNT(*) FROM txn_terms").fetchone()[0] == 2 * 3 + 2 * 3  # id and serial tails, once

"""The holder's name and ID number never appear in plaintext anywhere in the data directory."""

from __future__ import annotations

import unicodedata


def _needles(holder: dict) -> list[bytes]:
    out = []
    for value in (holder["full_name"], holder["id_number"], holder["place_of_residence"], holder["full_name"].split()[-2]
                  + " " + holder["full_name"].split()[-1]):
        for form in ("NFC", "NFD"):
            text = unicodedata.normalize(form, value)
            out += [text.encode("utf-8"), text.encode("utf-16-le"), text.upper().encode("utf-8")]
    from verifier.ledger.pawn_search import fold_text

    out.append(fold_text(holder["full_name"]).encode())
    out.append(holder["id_number"][-9:].encode())  # the BAC document number
    return out


def test_no_plaintext_identity_in_data_dir(api, tokens, make_scan, txn_body, svc, cfg, holder):
    ids = []
    for _ in range(3):
        scan = make_scan()
        r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id))
        assert r.status_code == 201
        ids.append(r.json()["id"])
    url = f"/api/v1/transactions/{ids[0]}/events"
    assert api.post(url, tokens["clerk"], json={"type": "suspicious", "reason": "đáng ngờ"}).status_code == 201
    # reads, searches and exports all leave traces in the access log, never the identity
    assert api.get("/api/v1/transactions", tokens["clerk"], params={"name": holder["full_name"]}).json()["total"] == 3
    assert api.get("/api/v1/transactions", tokens["clerk"], params={"id_number": holder["id_number"]}).json()["total"] == 3
    assert api.get(f"/api/v1/transactions/{ids[0]}", tokens["clerk"]).status_code == 200
    assert api.get("/api/v1/ledger/export", tokens["inspector"]).status_code == 200
    svc.ledger.checkpoint()
    files = [p for p in cfg.data_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") for p in files) or any(p.name == "ledger.sqlite" for p in files)
    needles = _needles(holder)
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} in plaintext in {path.relative_to(cfg.data_dir)}"


def test_the_check_can_fail(tmp_path, holder):
    leak = tmp_path / "leak.txt"
    leak.write_text(f"customer {holder['full_name']}", encoding="utf-8")
    data = leak.read_bytes()
    assert any(n in data for n in _needles(holder))

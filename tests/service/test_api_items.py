"""Several items per contract, each with its category's fields (issue 18): the rules of
verifier/ledger/pawn_items.py through the API (a refusal names the item in Vietnamese, nothing is recorded),
search by IMEI, frame number and plate, and an item's photo from the counter camera or an upload, held with the
scan, stored encrypted with the contract as ``item-<n>`` and its hash in the ledger entry."""

from __future__ import annotations

import base64
import hashlib
import io
import sqlite3

import pytest
from PIL import Image

from verifier.ledger.pawn_items import check_item, luhn_ok

IMEI = "490154203237518"  # Luhn-valid (3GPP TS 23.003 annex B example)
PHONE = {"description": "iPhone 13 128GB", "category": "phone", "imei": "49-015420-323751-8", "serial": "F2LXK0ABCD12",
         "brand": "Apple", "model": "A2633", "condition": "Trầy nhẹ", "storage_location": "Tủ A - ngăn 2"}
BIKE = {"description": "Xe máy Honda Air Blade", "category": "motorbike", "frame_no": "rlhjf 5210 ky123987",
        "engine_no": "JF52E-1234567", "plate": "59-x1 123.45", "brand": "Honda"}


def _png(color=(200, 40, 40), size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


# --- the rules ----------------------------------------------------------------------------------
def test_luhn_and_imei_rules():
    assert luhn_ok(IMEI) and not luhn_ok(IMEI[:-1] + "7")
    assert check_item(1, {"description": "x", "category": "phone", "imei": "4901 5420 3237 518"})["imei"] == IMEI
    with pytest.raises(Exception) as e:
        check_item(2, {"description": "x", "category": "phone", "imei": IMEI[:-1] + "7"})
    assert e.value.code == "bad_item" and e.value.details == {"item": 2, "field": "imei", "rule": "imei_checksum"}
    with pytest.raises(Exception) as e:
        check_item(1, {"description": "x", "category": "phone", "imei": "12345"})
    assert e.value.details["rule"] == "imei_length" and e.value.details["found"] == 5


@pytest.mark.parametrize("plate, ok", [("59-X1 123.45", True), ("51F-123.45", True), ("29-MĐ1 234.56", True),
                                       ("29A-1234", True), ("59x112345", True), ("59-X1 123", False), ("5-X1 12345", False),
                                       ("59-X1 123.456", False), ("HELLO", False)])
def test_plate_format_kept_as_typed(plate, ok):
    item = {"description": "Xe", "category": "motorbike", "plate": plate}
    if ok:
        assert check_item(1, item)["plate"] == " ".join(plate.split()).upper()
    else:
        with pytest.raises(Exception) as e:
            check_item(1, item)
        assert e.value.details["rule"] == "plate_format"


def test_fields_belong_to_their_category():
    with pytest.raises(Exception) as e:
        check_item(3, {"description": "Nhẫn vàng", "category": "jewelry", "imei": IMEI})
    assert e.value.details == {"item": 3, "field": "imei", "rule": "field_not_for_category"}
    ring = check_item(1, {"description": "Nhẫn", "category": "jewelry", "material": "vàng 18K", "weight": "2 chỉ", "serial": ""})
    assert ring == {"description": "Nhẫn", "category": "jewelry", "material": "vàng 18K", "weight": "2 chỉ"}
    assert check_item(1, {"description": "Ô tô", "category": "other", "plate": "51F-123.45", "imei": IMEI})["plate"] == "51F-123.45"
    with pytest.raises(Exception) as e:
        check_item(1, {"description": "x", "category": "boat"})
    assert e.value.details["rule"] == "category"


# --- through the API ------------------------------------------------------------------------------
def test_two_items_recorded_and_found_by_imei_frame_and_plate(api, tokens, make_scan, txn_body, svc):
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id, items=[PHONE, BIKE]))
    assert r.status_code == 201, r.text
    view = api.get(f"/api/v1/transactions/{r.json()['id']}", tokens["clerk"]).json()
    phone, bike = view["items"]
    assert phone["imei"] == IMEI and phone["storage_location"] == "Tủ A - ngăn 2"
    assert bike["frame_no"] == "RLHJF5210KY123987" and bike["engine_no"] == "JF52E1234567"
    assert bike["plate"] == "59-X1 123.45"  # as typed, upper-cased
    other = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json()
    for serial in (IMEI, "237518", "RLHJF5210KY123987", "rlhjf-5210-ky123987", "59-X1 123.45", "59X112345", "12345"):
        found = api.get("/api/v1/transactions", tokens["clerk"], params={"serial": serial}).json()
        assert [i["contract_no"] for i in found["items"]] == [r.json()["contract_no"]], serial
    assert other["contract_no"] != r.json()["contract_no"]


@pytest.mark.parametrize("item, rule, vi", [
    ({"description": "Điện thoại", "category": "phone", "imei": IMEI[:-1] + "0"}, "imei_checksum", "IMEI sai"),
    ({"description": "Điện thoại", "category": "phone", "imei": "35209900176148"}, "imei_length", "đúng 15 chữ số (đã nhập 14)"),
    ({"description": "Xe", "category": "motorbike", "plate": "59-X1 12"}, "plate_format", "biển số không đúng dạng"),
    ({"description": "Xe", "category": "motorbike", "frame_no": "AB#1"}, "frame_no_format", "số khung"),
    ({"description": "Nhẫn", "category": "jewelry", "plate": "59-X1 123.45"}, "field_not_for_category", "không có ô “plate”"),
])
def test_a_bad_item_is_refused_naming_it_in_vietnamese(api, tokens, make_scan, txn_body, item, rule, vi):
    body = txn_body(make_scan().id, items=[PHONE, item])
    r = api.post("/api/v1/transactions", tokens["clerk"], json=body, headers={"Accept-Language": "vi"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "bad_item" and err["details"]["item"] == 2 and err["details"]["rule"] == rule
    assert err["message"].startswith("Tài sản số 2: ") and vi in err["message"], err["message"]
    assert api.get("/api/v1/transactions", tokens["clerk"]).json()["total"] == 0  # nothing recorded


def test_item_photos_upload_and_camera_stored_with_the_contract(api, tokens, make_scan, txn_body, svc, cfg, tmp_path):
    scan = make_scan()
    upload = _png()
    r = api.post(f"/api/v1/scans/{scan.id}/item-photo", tokens["clerk"], json={"image_base64": base64.b64encode(upload).decode()})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["photo_sha256"] == hashlib.sha256(upload).hexdigest() and first["source"] == "upload"
    preview = api.get(first["preview_url"], tokens["clerk"])
    assert preview.status_code == 200 and preview.content == upload and preview.headers["content-type"] == "image/png"

    # the counter camera: an image file as camera.source (as the face and QR tests do)
    camera_file = tmp_path / "item.png"
    camera_file.write_bytes(_png((30, 120, 200), (320, 240)))
    svc.cfg = svc.cfg.with_overrides(camera__source=str(camera_file))
    r = api.post(f"/api/v1/scans/{scan.id}/item-photo", tokens["clerk"], json={"camera": True})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["source"] == "camera" and second["photo_sha256"] != first["photo_sha256"]
    camera_jpeg = api.get(second["preview_url"], tokens["clerk"]).content
    assert camera_jpeg[:3] == b"\xff\xd8\xff" and hashlib.sha256(camera_jpeg).hexdigest() == second["photo_sha256"]

    items = [dict(PHONE, photo_sha256=first["photo_sha256"]), {"description": "Nhẫn vàng", "category": "jewelry"},
             dict(BIKE, photo_sha256=second["photo_sha256"])]
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id, items=items))
    assert r.status_code == 201, r.text
    txn = r.json()
    # the hashes are in the ledger entry's items (the chain covers them)
    entry = next(e for e in svc.ledger.entries_by_seq([txn["seq"]]))
    assert [i.get("photo_sha256") for i in entry.payload["items"]] == [first["photo_sha256"], None, second["photo_sha256"]]
    view = api.get(f"/api/v1/transactions/{txn['id']}", tokens["clerk"]).json()
    assert {"item-1", "item-3"} <= set(view["photos"]) and "item-2" not in view["photos"]
    got = api.get(f"/api/v1/transactions/{txn['id']}/photos/item-1", tokens["inspector"])
    assert got.status_code == 200 and got.content == upload
    assert api.get(f"/api/v1/transactions/{txn['id']}/photos/item-3", tokens["clerk"]).content == camera_jpeg
    assert api.get(f"/api/v1/transactions/{txn['id']}/photos/item-2", tokens["clerk"]).json()["error"]["code"] == "photo_not_found"
    assert api.get(f"/api/v1/transactions/{txn['id']}/photos/item-x", tokens["clerk"]).status_code == 404
    # encrypted at rest: the bytes are not in the database file
    conn = sqlite3.connect(cfg.data_dir / "ledger.sqlite")
    stored = [row[0] for row in conn.execute("SELECT data FROM photos WHERE txn_id = ? AND kind LIKE 'item-%'", (txn["id"],))]
    conn.close()
    assert len(stored) == 2 and all(upload not in blob and camera_jpeg[:200] not in blob for blob in stored)
    # every look at them is logged
    log = api.get("/api/v1/audit", tokens["admin"], params={"user": "inspector-1"}).json()["items"]
    assert any(row["action"] == "read_photo" and row.get("detail") == "item-1" for row in log), log
    # recorded: the scan holds them no more
    assert api.get(first["preview_url"], tokens["clerk"]).status_code == 404
    # the face-image retention purge leaves the item photos: they describe the goods, not the person
    from datetime import datetime, timedelta, timezone

    assert svc.book.purge_photos(30, now=datetime.now(timezone.utc) + timedelta(days=31)) >= 1
    assert svc.book.photo(txn["id"], "chip") is None
    assert svc.book.photo(txn["id"], "item-1") == upload and svc.book.photo(txn["id"], "item-3") == camera_jpeg


def test_a_corrupt_or_missing_item_photo_is_a_clear_error(api, tokens, make_scan, txn_body):
    scan = make_scan()
    broken = _png()[:60]
    r = api.post(f"/api/v1/scans/{scan.id}/item-photo", tokens["clerk"], json={"image_base64": base64.b64encode(broken).decode()},
                 headers={"Accept-Language": "vi"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_image"
    assert "Ảnh không dùng được" in r.json()["error"]["message"]
    gif = base64.b64encode(b"GIF89a" + b"\0" * 40).decode()
    assert api.post(f"/api/v1/scans/{scan.id}/item-photo", tokens["clerk"], json={"image_base64": gif}).status_code == 400
    assert api.post(f"/api/v1/scans/{scan.id}/item-photo", tokens["clerk"], json={"image_base64": "***"}).status_code == 400
    assert api.post("/api/v1/scans/nope/item-photo", tokens["clerk"], json={"camera": True}).status_code == 404
    assert api.post(f"/api/v1/scans/{scan.id}/item-photo", tokens["inspector"], json={"camera": True}).status_code == 403
    # a photo never taken on this scan: refused, naming the item, nothing recorded
    items = [PHONE, dict(BIKE, photo_sha256="ab" * 32)]
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id, items=items), headers={"Accept-Language": "vi"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "item_photo_not_found"
    assert "tài sản số 2" in r.json()["error"]["message"]
    assert api.get("/api/v1/transactions", tokens["clerk"]).json()["total"] == 0

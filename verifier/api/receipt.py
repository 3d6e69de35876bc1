"""Receipts (phiếu thu / phiếu chi) for each money entry of a contract: A5 or 80 mm thermal, HTML or PDF.

``GET /api/v1/transactions/{id}/receipts/{seq}?layout=a5|80mm&format=html|pdf`` (and ``.../{seq}.pdf``):
``seq`` is the ledger seq of the money entry: an event carrying a ``money`` block (money schema:
``interest_paid``, ``partial_payment``, ``principal_added``, ``extended`` with a payment, ``redeemed``,
``liquidated``) or the contract itself (the loan paid out, fees taken at signing). A receipt shows the
shop (its profile, :mod:`verifier.ledger.shop_profile`), a receipt number (``<contract no>/<seq>``),
the local time labelled, the contract number, the pawner's name, each amount paid (interest, principal,
fees, sale, surplus) and the totals received and paid out in figures and in words
(:mod:`verifier.vn_words`), who recorded it and the signature lines. Every receipt printed is an
access to personal data, logged (``ledger.log_access``, action ``print_receipt``).

The 80 mm layout is one narrow column (72 mm printable on an 80 mm roll); its PDF page is 80 mm wide
and as tall as the receipt (:func:`verifier.api.print_pdf.auto_height`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from verifier.api.auth import need
from verifier.api.contract import EVENT_VI, vdate, vnd, words
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.api.print_pdf import RED, Doc, auto_height
from verifier.local_time import local_time
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

LAYOUTS = ("a5", "80mm")
#: the lines of a receipt: money key -> label (money schema "Events")
LINES = (("interest_vnd", "Tiền lãi"), ("principal_in_vnd", "Tiền gốc trả"), ("principal_out_vnd", "Tiền gốc cho vay"),
         ("fees_vnd", "Phí"), ("sale_vnd", "Tiền bán tài sản thanh lý"), ("surplus_vnd", "Tiền thừa trả lại khách"))


def money_entry(view: dict, seq: int) -> dict | None:
    """The money entry ``seq`` of contract ``view``: ``{"type", "seq", "ts", "by", "money", ...}``, or None
    when the contract has no such entry or it moved no money (a forfeiture is kept: it prints a slip)."""
    if seq == view.get("seq"):
        loan, fees = int(view.get("loan_vnd") or 0), int(view.get("fees_vnd") or 0)
        return {"type": "pawn_contract", "seq": seq, "ts": view.get("created_at"), "by": view.get("created_by") or {},
                "money": {"principal_out_vnd": loan, "fees_vnd": fees, "cash_out_vnd": loan, "cash_in_vnd": fees}}
    event = next((e for e in view.get("events") or [] if e.get("seq") == seq), None)
    if event is None or event.get("damaged"):
        return None
    if event.get("type") == "forfeited":  # no money moves: the slip records that the item is now the shop's
        return {**event, "money": {"cash_in_vnd": 0, "cash_out_vnd": 0}}
    money = dict(event.get("money") or {})
    if not money and event.get("amount_vnd"):  # an event recorded before the money schema: one amount received
        money = {"cash_in_vnd": int(event["amount_vnd"]), "cash_out_vnd": 0}
    if not (money.get("cash_in_vnd") or money.get("cash_out_vnd")):
        return None
    return {**event, "money": money}


def receipt_context(view: dict, seq: int, shop: dict, layout: str) -> dict:
    """What a receipt prints (a forfeiture: its slip, :func:`_forfeiture`); :class:`ApiError` 404
    ``receipt_not_found`` when ``seq`` is no money entry and no forfeiture."""
    entry = money_entry(view, seq)
    if entry is None:
        raise ApiError(404, "receipt_not_found", f"contract {view.get('contract_no')!r} has no money entry at seq {seq}",
                       {"seq": seq})
    if entry["type"] == "forfeited":
        return _forfeiture(view, entry, shop, layout)
    m = entry["money"]
    cash_in, cash_out = int(m.get("cash_in_vnd") or 0), int(m.get("cash_out_vnd") or 0)
    title = "PHIẾU THU – CHI" if cash_in and cash_out else "PHIẾU THU" if cash_in else "PHIẾU CHI"
    lines = [(label + (f" (tính đến {vdate(m['interest_to'])})" if key == "interest_vnd" and m.get("interest_to") else ""),
              vnd(m[key])) for key, label in LINES if m.get(key)]
    if not lines:  # an older entry: one amount
        lines = [("Số tiền", vnd(cash_in or cash_out))]
    totals = [(label, vnd(amount), words(amount)) for label, amount in
              (("Tổng tiền khách trả (thu)", cash_in), ("Tổng tiền cửa hàng chi (trả khách)", cash_out)) if amount]
    if entry.get("new_due_date"):
        lines.append(("Hạn chuộc mới", vdate(entry["new_due_date"])))
    signers = ([("NGƯỜI NỘP TIỀN", "(ký, ghi rõ họ tên)"), ("NGƯỜI THU TIỀN", "(ký, ghi rõ họ tên)")] if not cash_out else
               [("NGƯỜI NHẬN TIỀN", "(ký, ghi rõ họ tên)"), ("NGƯỜI CHI TIỀN", "(ký, ghi rõ họ tên)")] if not cash_in else
               [("KHÁCH HÀNG", "(ký, ghi rõ họ tên)"), ("NHÂN VIÊN", "(ký, ghi rõ họ tên)")])
    return {
        "v": view, "shop": shop, "layout": layout, "layouts": LAYOUTS, "seq": seq,
        "title": title, "what": EVENT_VI.get(entry["type"], entry["type"]),
        "number": f"{view.get('contract_no')}/{seq}",
        "when": local_time(entry.get("ts")),
        "pawner": (view.get("pawner") or {}).get("full_name") or "—",
        "lines": lines, "totals": totals, "signers": signers,
        "by": (entry.get("by") or {}).get("user") or "—",
        "demo": bool(view.get("demo")),
        "cancelled": view.get("status") == "cancelled",
    }


def _forfeiture(view: dict, entry: dict, shop: dict, layout: str) -> dict:
    """The slip of a forfeiture (mất quyền chuộc; Civil Code 2015 art. 303, Decree 96/2016 art. 29): no money moves;
    it records when and why the pawned items became the shop's to liquidate, and what was owed then."""
    items = "; ".join(i.get("description") or "—" for i in view.get("items") or []) or "—"
    money = view.get("money") or {}
    lines = [("Tài sản", items), ("Hạn chuộc", vdate(view.get("due_date"))),
             ("Gốc chưa trả", vnd(money.get("principal_vnd", view.get("loan_vnd")))),
             ("Lý do", entry.get("reason") or "—")]
    return {
        "v": view, "shop": shop, "layout": layout, "layouts": LAYOUTS, "seq": entry["seq"],
        "title": "BIÊN BẢN KHÔNG CHUỘC TÀI SẢN", "what": EVENT_VI["forfeited"],
        "number": f"{view.get('contract_no')}/{entry['seq']}", "when": local_time(entry.get("ts")),
        "pawner": (view.get("pawner") or {}).get("full_name") or "—",
        "lines": lines, "totals": [],
        "signers": [("BÊN CẦM ĐỒ (nếu có mặt)", "(ký, ghi rõ họ tên)"), ("ĐẠI DIỆN CỬA HÀNG", "(ký, ghi rõ họ tên)")],
        "by": (entry.get("by") or {}).get("user") or "—",
        "demo": bool(view.get("demo")), "cancelled": view.get("status") == "cancelled",
    }


def _draw(doc: Doc, c: dict, narrow: bool) -> None:
    s = 8 if narrow else 10
    shop = c["shop"]
    if c["demo"]:
        doc.text("DỮ LIỆU MẪU (DEMO) – KHÔNG CÓ GIÁ TRỊ", s + 1, True, "C", color=RED)
    doc.text(shop.get("name") or "—", s + 2, True, "C")
    for line in (shop.get("address"), f"GCN ANTT: {shop['license']}" if shop.get("license") else "",
                 f"ĐT: {shop['phone']}" if shop.get("phone") else ""):
        if line:
            doc.text(line, s - 1, False, "C")
    doc.rule()
    doc.text(c["title"], s + 5, True, "C", h=(s + 5) * 0.5 + 2)
    doc.text(c["what"], s + 1, False, "C")
    if c["cancelled"]:
        doc.text("HỢP ĐỒNG ĐÃ HỦY", s + 1, True, "C", color=RED)
    label_w = doc.width * (0.42 if narrow else 0.36)
    doc.rows([("Số phiếu", c["number"]), ("Thời gian", c["when"]), ("Hợp đồng", c["v"].get("contract_no")),
              ("Khách hàng", c["pawner"])], label_w, s)
    doc.rule()
    doc.rows(c["lines"], label_w if not narrow else doc.width * 0.55, s)
    doc.rule()
    for label, figure, in_words in c["totals"]:
        doc.text(f"{label}: {figure}", s + 1, True)
        doc.text(f"Bằng chữ: {in_words}", s)
    doc.text(f"Người lập phiếu: {c['by']}", s - 1)
    if narrow:
        for title, hint in c["signers"]:
            doc.signatures([(title, hint)], space=14, size=s)
    else:
        doc.signatures(c["signers"], space=20, size=s)


def render_pdf(c: dict) -> bytes:
    """The receipt as PDF: an A5 page, or an 80 mm wide page as tall as the receipt."""
    title = f"{c['title']} {c['number']}"
    if c["layout"] == "80mm":
        return auto_height(80, lambda doc: _draw(doc, c, True), margin=4, title=title)
    doc = Doc((148, 210), margin=10, title=title)  # A5 (ISO 216)
    _draw(doc, c, False)
    return doc.output()


def _receipt(request: Request, txn_id: str, seq: int, layout: str | None, user: User) -> dict:
    from verifier.ledger.shop_profile import current

    s = request.app.state.svc
    view = s.book.get(txn_id)
    if view is None:
        raise ApiError(404, "transaction_not_found", f"no contract {txn_id!r}")
    shop = current(s.ledger, s.cfg)
    c = receipt_context(view, seq, shop, layout or shop.get("printer_layout") or "a5")
    s.ledger.log_access(user.name, user.role, "print_receipt", f"contract:{view['contract_no']}", f"id={txn_id}; seq={seq}")
    return c


def _pdf_response(c: dict) -> Response:
    from verifier.api.routes import disposition  # the one Content-Disposition (RFC 6266 / 8187) of the API

    name = f"phieu-{c['number'].replace('/', '-')}.pdf"
    return Response(render_pdf(c), media_type="application/pdf",
                    headers={"Content-Disposition": disposition("inline", name), "Cache-Control": "no-store"})


Layout = Query(None, description="a5 (default: the shop profile's printer_layout) or 80mm (thermal roll, 72 mm printable)")


@router.get("/transactions/{txn_id}/receipts/{seq}.pdf", tags=["transactions"], summary="A receipt as PDF (A5 or 80 mm)",
            responses={200: {"content": {"application/pdf": {}}}})
def receipt_pdf(request: Request, txn_id: str, seq: int, layout: Literal["a5", "80mm"] | None = Layout,
                user: User = Depends(need("txn.read"))) -> Response:
    return _pdf_response(_receipt(request, txn_id, seq, layout, user))


@router.get("/transactions/{txn_id}/receipts/{seq}", tags=["transactions"],
            summary="A receipt (phiếu thu / chi) of one money entry: HTML print page or PDF (access is logged)",
            responses={200: {"content": {"text/html": {}, "application/pdf": {}}}})
def receipt(request: Request, txn_id: str, seq: int, layout: Literal["a5", "80mm"] | None = Layout,
            format: Literal["html", "pdf"] = Query("html"), user: User = Depends(need("txn.read"))) -> Any:
    c = _receipt(request, txn_id, seq, layout, user)
    if format == "pdf":
        return _pdf_response(c)
    from verifier.api.web import browser_session, render

    return render(request, "receipt.html", browser_session(request), c=c)

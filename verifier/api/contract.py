"""The pawn contract in Vietnamese: the HTML print page and the PDF (fpdf2, embedded font), two copies.

Carries what a pawn contract and the pawn ledger must hold (Bộ luật Dân sự 2015 arts. 309-316 on
cầm cố; Decree 96/2016/NĐ-CP art. 29): the place and date, the parties (the shop from its profile,
:mod:`verifier.ledger.shop_profile`, with its licence and representative; the pawner with the identity
read from the chip, the old CMND, phone and current address), the items with all their fields and the
evidence of ownership, value, loan and interest in figures and in words (:mod:`verifier.vn_words`),
the interest to maturity and the total due then (the view's ``money`` block), the terms
(:mod:`verifier.api.contract_terms`), the personal-data consent clause (Decree 13/2023/NĐ-CP) and the
signature blocks. Printed twice: "Bản 1: Cửa hàng giữ", "Bản 2: Khách hàng giữ".
"""

from __future__ import annotations

from typing import Any

from verifier.api import contract_terms
from verifier.api.i18n import STRINGS
from verifier.api.print_pdf import RED, Doc
from verifier.local_time import local_time
from verifier.text import fold
from verifier.vn_words import vnd_words

STATUS_VI = {"active": "Đang cầm", "redeemed": "Đã chuộc", "forfeited": "Quá hạn – tài sản thuộc cửa hàng", "liquidated": "Đã thanh lý",
             "cancelled": STRINGS["vi"]["cancelled"]}
EVENT_VI = {
    "redeemed": "Chuộc đồ", "extended": "Gia hạn", "partial_payment": "Trả bớt gốc", "forfeited": "Không chuộc (mất quyền chuộc)",
    "liquidated": "Thanh lý", "correction": "Đính chính", "suspicious": "Báo nghi vấn cho công an",
    "cancel": "Hủy hợp đồng (quản lý)", "damaged": STRINGS["vi"]["damaged"],
    "interest_paid": "Đóng lãi", "principal_added": "Vay thêm gốc", "pawn_contract": "Giải ngân tiền cầm đồ",
}
#: the counter's verdict labels (THẺ HỢP LỆ / CHƯA XÁC MINH ĐƯỢC / KHÔNG HỢP LỆ): one source, verifier/api/i18n.py
VERDICT_VI = {v: STRINGS["vi"][v] for v in ("authentic", "unverified", "not_authentic")}
FACE_VI = {"match": "Khớp khuôn mặt", "refer": "Chưa chắc chắn – nhân viên đã đối chiếu", "no_match": "Không khớp"}
CATEGORY_VI = {"phone": "Điện thoại", "motorbike": "Xe máy", "laptop": "Máy tính", "jewelry": "Vàng bạc, trang sức",
               "watch": "Đồng hồ", "other": "Khác"}
SEX_VI = {"M": "Nam", "F": "Nữ", "male": "Nam", "female": "Nữ", "Nam": "Nam", "Nữ": "Nữ"}
#: an item's fields as printed (money schema "Items"), after its description and category
ITEM_FIELDS = (("brand", "Hãng"), ("model", "Model"), ("serial", "Số serial"), ("imei", "IMEI"), ("frame_no", "Số khung"),
               ("engine_no", "Số máy"), ("plate", "Biển số"), ("condition", "Tình trạng"), ("storage_location", "Nơi cất giữ"))
RATE_UNITS = {"year_pct": "%/năm", "month_pct": "%/tháng", "vnd_per_million_day": "đ/triệu/ngày"}
COPIES = ("Bản 1: Cửa hàng giữ", "Bản 2: Khách hàng giữ")


def vnd(amount: Any) -> str:
    try:
        return f"{int(amount):,}".replace(",", ".") + " ₫"
    except (TypeError, ValueError):
        return "—"


def vdate(text: Any) -> str:
    s = str(text or "")
    if len(s) >= 10 and s[4] == "-" and s[7] == "-":
        return f"{s[8:10]}/{s[5:7]}/{s[0:4]}"
    return s or "—"


def words(amount: Any) -> str:
    """An amount in words for print, capitalised ("Mười triệu đồng"); "" when there is no amount."""
    try:
        return vnd_words(int(amount), capital=True)
    except (TypeError, ValueError):
        return ""


def number(x: Any, places: int = 4) -> str:
    """A rate as printed in Vietnam: decimal comma, no trailing zeros (1.5 -> "1,5")."""
    try:
        return f"{float(x):.{places}f}".rstrip("0").rstrip(".").replace(".", ",")
    except (TypeError, ValueError):
        return str(x or "—")


def place_date(place: str, iso_date: Any) -> str:
    """The line under the title of a Vietnamese document: "TP. Hồ Chí Minh, ngày 06 tháng 12 năm 2026"."""
    s = str(iso_date or "")
    when = f"ngày {s[8:10]} tháng {s[5:7]} năm {s[0:4]}" if len(s) >= 10 else "ngày …… tháng …… năm ……"
    return f"{place or '……………'}, {when}"


def rate_text(view: dict) -> str:
    """The rate as the clerk typed it (``rate_input``) and as a yearly rate, with the other units when known."""
    year = view.get("interest_rate_year_pct")
    out = f"{number(year)} %/năm"
    typed = view.get("rate_input") or {}
    if typed.get("unit") in RATE_UNITS and typed.get("unit") != "year_pct":
        out = f"{number(typed.get('value'))} {RATE_UNITS[typed['unit']]} (= {out})"
    rate = (view.get("money") or {}).get("rate") or {}
    others = [f"{number(rate[k], 2)} {RATE_UNITS[k]}" for k in ("month_pct", "vnd_per_million_day")
              if k in rate and k != typed.get("unit")]
    return out + (f"; tương đương {', '.join(others)}" if others else "")


def shop_rows(shop: dict) -> list[tuple[str, Any]]:
    return [("Tên cơ sở", shop.get("name")), ("Địa chỉ", shop.get("address")),
            ("Giấy chứng nhận đủ điều kiện về ANTT số", shop.get("license")),
            ("Người đại diện", shop.get("representative")), ("Điện thoại", shop.get("phone"))]


def pawner_rows(view: dict) -> list[tuple[str, Any]]:
    p = view.get("pawner") or {}
    old = p.get("old_id_number") or (f"{view['old_id_number']} (nhân viên nhập)" if view.get("old_id_number") else None)
    rows = [
        ("Họ và tên", p.get("full_name")),
        ("Số định danh (CCCD)", p.get("id_number")),
        ("Số CMND cũ", old),
        ("Ngày sinh", vdate(p.get("date_of_birth"))),
        ("Giới tính", SEX_VI.get(str(p.get("sex")), p.get("sex"))),
        ("Quốc tịch", p.get("nationality")),
        ("Quê quán", p.get("place_of_origin")),
        ("Nơi thường trú", p.get("place_of_residence")),
    ]
    here = view.get("current_address")
    if here and fold(here) != fold(p.get("place_of_residence") or ""):
        rows.append(("Chỗ ở hiện tại", here))
    rows += [("Điện thoại", view.get("pawner_phone")),
             ("Ngày cấp thẻ", vdate(p.get("issue_date"))), ("Có giá trị đến", vdate(p.get("expiry_date")))]
    return rows


def item_rows(view: dict) -> list[dict]:
    """Each item: its number, description, category label and its other fields as (label, value)."""
    return [{"n": n, "description": i.get("description", ""), "category": CATEGORY_VI.get(i.get("category"), i.get("category") or ""),
             "fields": [(label, i[k]) for k, label in ITEM_FIELDS if i.get(k)]}
            for n, i in enumerate(view.get("items") or [], 1)]


def money_rows(view: dict) -> list[tuple[str, str, str]]:
    """(label, figure, words): the amounts in figures and words, the rate and the dates (words "" where none)."""
    m = view.get("money") or {}
    rows = [
        ("Giá trị tài sản định giá", vnd(view.get("valuation_vnd")), words(view.get("valuation_vnd"))),
        ("Số tiền cầm (tiền gốc vay)", vnd(view.get("loan_vnd")), words(view.get("loan_vnd"))),
        ("Lãi suất", rate_text(view), ""),
        ("Phí", vnd(view.get("fees_vnd") or 0), words(view["fees_vnd"]) if view.get("fees_vnd") else ""),
        ("Thời hạn", f"{view.get('term_days')} ngày", ""),
        ("Ngày cầm", vdate(view.get("start_date")), ""),
        ("Ngày đến hạn chuộc", vdate(view.get("due_date")), ""),
    ]
    if "interest_at_maturity_vnd" in m:
        rows.append(("Tiền lãi đến ngày đến hạn", vnd(m["interest_at_maturity_vnd"]), words(m["interest_at_maturity_vnd"])))
    if "total_due_at_maturity_vnd" in m:
        rows.append(("Tổng số tiền phải trả khi đến hạn (gốc + lãi)", vnd(m["total_due_at_maturity_vnd"]),
                     words(m["total_due_at_maturity_vnd"])))
    return rows


def state_rows(view: dict) -> list[tuple[str, str]]:
    """Where the contract stands now (printed under the money; a reprint after payments shows them)."""
    m = view.get("money") or {}
    rows = [("Tình trạng", STATUS_VI.get(view.get("status"), view.get("status") or "—")
             + (" – ĐÃ BÁO NGHI VẤN" if view.get("flagged") else ""))]
    paid = m.get("paid_vnd", view.get("paid_vnd") or 0)
    if paid:
        rows.append(("Đã trả", vnd(paid)))
    if m and view.get("events"):
        rows += [("Tiền gốc còn nợ", vnd(m.get("principal_vnd"))), ("Lãi đã tính đến ngày", vdate(m.get("interest_to")))]
    return rows


def event_rows(view: dict) -> list[tuple[str, str, str, str]]:
    out = []
    for e in view.get("events", []):
        m = e.get("money") or {}
        amount = m.get("cash_in_vnd") or m.get("cash_out_vnd") or e.get("amount_vnd")
        detail = " ".join(x for x in (
            vnd(amount) if amount else "",
            f"+{e['extend_days']} ngày → {vdate(e.get('new_due_date'))}" if e.get("extend_days") else "",
            e.get("reason") or "", e.get("notes") or "") if x)
        what = EVENT_VI["cancel"] if e.get("cancel") else EVENT_VI.get(e.get("type"), e.get("type"))
        out.append((local_time(e.get("ts")), what, detail, (e.get("by") or {}).get("user", ""), e.get("seq")))
    return out


def receipt_seqs(view: dict) -> list[int]:
    """The seqs of the contract's entries that have a receipt (:func:`verifier.api.receipt.money_entry`)."""
    from verifier.api.receipt import money_entry

    seqs = [view.get("seq")] + [e.get("seq") for e in view.get("events") or []]
    return [seq for seq in seqs if seq is not None and money_entry(view, seq) is not None]


def context(view: dict, cfg: Any, shop: dict | None = None) -> dict:
    """Everything the page and the PDF print; ``shop``: :func:`verifier.ledger.shop_profile.current`
    (default: the ``pawn.shop_*`` settings)."""
    if shop is None:
        from verifier.ledger.shop_profile import defaults

        shop = defaults(cfg)
    check = view.get("identity_check") or {}
    face = view.get("face") or {}
    verify_rows = [
        ("Kiểm tra chip", VERDICT_VI.get(check.get("verdict"), check.get("verdict"))),
        ("Đối chiếu khuôn mặt", (FACE_VI.get(face.get("decision"), face.get("decision")) or "—")
         + (f" ({face.get('confirmed_by')})" if face.get("confirmed_by") else "")),
    ]
    if view.get("override"):
        o = view["override"]
        verify_rows.append(("Quản lý chấp thuận ngoại lệ", f"{o.get('by')}: {o.get('reason')}"))
    # what a reader of the contract must see first: cancelled (hủy), corrected (đính chính), damaged ledger entry
    markers = [(k, STRINGS["vi"][k]) for k, on in (("cancelled", view.get("status") == "cancelled"),
                                                  ("corrected", bool(view.get("corrected"))),
                                                  ("damaged", bool(view.get("damaged")))) if on]
    return {
        "v": view,
        "shop": shop,
        "shop_rows": shop_rows(shop),
        "place_date": place_date(shop.get("province", ""), view.get("start_date")),
        "copies": COPIES,
        "basis": contract_terms.BASIS,
        "pawner_rows": pawner_rows(view),
        "verify_rows": verify_rows,
        "items": item_rows(view),
        "ownership": view.get("ownership_evidence") or "",
        "money_rows": money_rows(view),
        "state_rows": state_rows(view),
        "terms": contract_terms.terms(max_rate=cfg["pawn.max_interest_rate_year_pct"], term_days=view.get("term_days") or 0),
        "consent": contract_terms.consent(face_retention_days=cfg["privacy.face_retention_days"]),
        "closing": contract_terms.CLOSING,
        "events": event_rows(view),
        #: the entries with a receipt (verifier/api/receipt.py): the contract's payout and each event that moved cash
        "receipt_seqs": receipt_seqs(view),
        "markers": markers,
        "demo": bool(view.get("demo")),
        "clerk": (view.get("created_by") or {}).get("user", ""),
        "created_local": local_time(view.get("created_at")),
    }


def _copy(doc: Doc, c: dict, copy: str) -> None:
    """One complete copy of the contract."""
    v = c["v"]
    doc.text(copy, 9, True, "R")
    if c["demo"]:
        doc.text("DỮ LIỆU MẪU (DEMO) – KHÔNG CÓ GIÁ TRỊ PHÁP LÝ", 12, True, "C", color=RED)
    doc.text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 11, True, "C")
    doc.text("Độc lập – Tự do – Hạnh phúc", 10, False, "C")
    doc.text(c["place_date"], 10, False, "R", h=8)
    doc.text("HỢP ĐỒNG CẦM ĐỒ", 15, True, "C", 9)
    doc.text(f"Số: {v['contract_no']}", 10, False, "C")
    if c["markers"]:
        doc.text(" · ".join(label.upper() for _, label in c["markers"]), 12, True, "C", color=RED)
    for line in c["basis"]:
        doc.text(line, 9)
    doc.heading("BÊN NHẬN CẦM CỐ (Bên A – cửa hàng)")
    doc.rows(c["shop_rows"])
    doc.heading("BÊN CẦM CỐ (Bên B – khách hàng)")
    doc.rows(c["pawner_rows"])
    doc.rows(c["verify_rows"])
    doc.heading("Điều 1. Tài sản cầm cố")
    for item in c["items"]:
        doc.text(f"{item['n']}. {item['description']} ({item['category']})", 10, True)
        if item["fields"]:
            doc.text("; ".join(f"{label}: {value}" for label, value in item["fields"]), 9)
    doc.text(f"Giấy tờ chứng minh quyền sở hữu: {c['ownership'] or '—'}", 10)
    doc.heading("Điều 2. Khoản cầm, lãi suất và thời hạn")
    for label, figure, in_words in c["money_rows"]:
        doc.rows([(label, figure + (f"\nBằng chữ: {in_words}" if in_words else ""))])
    doc.rows(c["state_rows"])
    for heading, paragraphs in [*c["terms"], c["consent"]]:
        doc.heading(heading)
        for p in paragraphs:
            doc.text(p, 9)
    if v.get("notes"):
        doc.text(f"Ghi chú: {v['notes']}", 9)
    doc.text(c["closing"], 9)
    doc.signatures([("BÊN B – BÊN CẦM CỐ", "(ký, ghi rõ họ tên; đồng ý Điều 7)"),
                    ("BÊN A – ĐẠI DIỆN CỬA HÀNG", f"(ký, ghi rõ họ tên) {c['shop'].get('representative') or ''}".strip())])
    doc.text(f"Nhân viên lập hợp đồng: {c['clerk'] or '—'} · Sổ cái: mục số {v.get('seq')} – ghi nhận lúc {c['created_local']}", 8)


def render_pdf(view: dict, cfg: Any, shop: dict | None = None) -> bytes:
    """The contract as an A4 PDF: copy 1 (the shop's), then copy 2 (the pawner's) from a new page, then the history."""
    c = context(view, cfg, shop)
    doc = Doc("A4", title=f"Hợp đồng cầm đồ {view['contract_no']}")
    for i, copy in enumerate(c["copies"]):
        if i:
            doc.page()
        _copy(doc, c, copy)
    if c["events"]:
        doc.page()
        doc.heading(f"Diễn biến hợp đồng {view['contract_no']}")
        for when, what, detail, who, _ in c["events"]:
            doc.text(f"{when}  {what}  {detail}  ({who})", 9)
    return doc.output()

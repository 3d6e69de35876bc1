"""The pawn contract / receipt in Vietnamese: HTML print view and PDF (fpdf2, embedded font).

Carries the fields a pawn ledger must hold (Decree 96/2016/NĐ-CP art. 29): the pawner's
identity, the items and the evidence of ownership, value, loan, interest rate, dates, and
the outcome (redeemed, extended, forfeited, liquidated...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from verifier.api.i18n import STRINGS
from verifier.local_time import local_time

FONTS = Path(__file__).resolve().parent / "static" / "fonts"

STATUS_VI = {"active": "Đang cầm", "redeemed": "Đã chuộc", "forfeited": "Quá hạn – tài sản thuộc cửa hàng", "liquidated": "Đã thanh lý",
             "cancelled": STRINGS["vi"]["cancelled"]}
EVENT_VI = {
    "redeemed": "Chuộc đồ", "extended": "Gia hạn", "partial_payment": "Trả một phần", "forfeited": "Không chuộc (mất quyền chuộc)",
    "liquidated": "Thanh lý", "correction": "Đính chính", "suspicious": "Báo nghi vấn cho công an",
    "cancel": "Hủy hợp đồng (quản lý)", "damaged": STRINGS["vi"]["damaged"],
}
#: the counter's verdict labels (THẺ HỢP LỆ / CHƯA XÁC MINH ĐƯỢC / KHÔNG HỢP LỆ): one source, verifier/api/i18n.py
VERDICT_VI = {v: STRINGS["vi"][v] for v in ("authentic", "unverified", "not_authentic")}
FACE_VI = {"match": "Khớp khuôn mặt", "refer": "Chưa chắc chắn – nhân viên đã đối chiếu", "no_match": "Không khớp"}
CATEGORY_VI = {"phone": "Điện thoại", "motorbike": "Xe máy", "laptop": "Máy tính", "jewelry": "Vàng bạc, trang sức",
               "watch": "Đồng hồ", "other": "Khác"}
SEX_VI = {"M": "Nam", "F": "Nữ", "male": "Nam", "female": "Nữ", "Nam": "Nam", "Nữ": "Nữ"}


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


def context(view: dict, cfg: Any) -> dict:
    p = view.get("pawner") or {}
    check = view.get("identity_check") or {}
    face = view.get("face") or {}
    pawner_rows = [
        ("Họ và tên", p.get("full_name")),
        ("Số định danh (CCCD)", p.get("id_number")),
        ("Ngày sinh", vdate(p.get("date_of_birth"))),
        ("Giới tính", SEX_VI.get(str(p.get("sex")), p.get("sex"))),
        ("Quốc tịch", p.get("nationality")),
        ("Quê quán", p.get("place_of_origin")),
        ("Nơi thường trú", p.get("place_of_residence")),
        ("Ngày cấp thẻ", vdate(p.get("issue_date"))),
        ("Có giá trị đến", vdate(p.get("expiry_date"))),
    ]
    verify_rows = [
        ("Kiểm tra chip", VERDICT_VI.get(check.get("verdict"), check.get("verdict"))),
        ("Đối chiếu khuôn mặt", FACE_VI.get(face.get("decision"), face.get("decision"))
         + (f" ({face.get('confirmed_by')})" if face.get("confirmed_by") else "")),
    ]
    if view.get("override"):
        o = view["override"]
        verify_rows.append(("Quản lý chấp thuận ngoại lệ", f"{o.get('by')}: {o.get('reason')}"))
    money_rows = [
        ("Giá trị định giá", vnd(view.get("valuation_vnd"))),
        ("Số tiền cầm (vay)", vnd(view.get("loan_vnd"))),
        ("Lãi suất", f"{view.get('interest_rate_year_pct')} %/năm (tối đa {cfg['pawn.max_interest_rate_year_pct']:g} %/năm, Điều 468 BLDS)"),
        ("Phí", vnd(view.get("fees_vnd") or 0)),
        ("Thời hạn", f"{view.get('term_days')} ngày"),
        ("Ngày cầm", vdate(view.get("start_date"))),
        ("Ngày đến hạn chuộc", vdate(view.get("due_date"))),
        ("Đã trả", vnd(view.get("paid_vnd") or 0)),
        ("Tình trạng", STATUS_VI.get(view.get("status"), view.get("status")) + (" – ĐÃ BÁO NGHI VẤN" if view.get("flagged") else "")),
    ]
    # what a reader of the contract must see first: cancelled (hủy), corrected (đính chính), damaged ledger entry
    markers = [(k, STRINGS["vi"][k]) for k, on in (("cancelled", view.get("status") == "cancelled"),
                                                  ("corrected", bool(view.get("corrected"))),
                                                  ("damaged", bool(view.get("damaged")))) if on]
    events = [
        (local_time(e.get("ts")), EVENT_VI["cancel"] if e.get("cancel") else EVENT_VI.get(e.get("type"), e.get("type")),
         " ".join(x for x in (vnd(e["amount_vnd"]) if e.get("amount_vnd") else "",
                              f"+{e['extend_days']} ngày → {vdate(e.get('new_due_date'))}" if e.get("extend_days") else "",
                              e.get("reason") or "", e.get("notes") or "") if x),
         (e.get("by") or {}).get("user", ""))
        for e in view.get("events", [])
    ]
    return {
        "v": view,
        "shop": {"name": cfg["pawn.shop_name"], "address": cfg["pawn.shop_address"], "license": cfg["pawn.shop_license"]},
        "pawner_rows": pawner_rows,
        "verify_rows": verify_rows,
        "money_rows": money_rows,
        "items": [dict(i, category=CATEGORY_VI.get(i.get("category"), i.get("category"))) for i in view.get("items") or []],
        "ownership": view.get("ownership_evidence") or "",
        "events": events,
        "markers": markers,
        "demo": bool(view.get("demo")),
        "clerk": (view.get("created_by") or {}).get("user", ""),
        "created_local": local_time(view.get("created_at")),
    }


def render_pdf(view: dict, cfg: Any) -> bytes:
    from fpdf import FPDF

    c = context(view, cfg)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Hợp đồng cầm đồ {view['contract_no']}")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def text(s: str, size: float = 10, bold: bool = False, align: str = "L", h: float = 6) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(width, h, s, align=align, new_x="LMARGIN", new_y="NEXT")

    def rows(title: str, pairs) -> None:
        text(title, 11, True, h=8)
        for label, value in pairs:
            pdf.set_font("DejaVu", "", 10)
            pdf.cell(55, 6, f"{label}:", new_x="RIGHT", new_y="TOP")
            pdf.multi_cell(width - 55, 6, str(value if value not in (None, "") else "—"), new_x="LMARGIN", new_y="NEXT")

    if c["demo"]:
        pdf.set_text_color(180, 0, 0)
        text("DỮ LIỆU MẪU (DEMO) – KHÔNG CÓ GIÁ TRỊ PHÁP LÝ", 12, True, "C")
        pdf.set_text_color(0, 0, 0)
    text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 11, True, "C")
    text("Độc lập – Tự do – Hạnh phúc", 10, False, "C")
    text("HỢP ĐỒNG CẦM ĐỒ – BIÊN NHẬN", 15, True, "C", 10)
    text(f"Số: {view['contract_no']}", 10, False, "C")
    if c["markers"]:
        pdf.set_text_color(180, 0, 0)
        text(" · ".join(label.upper() for _, label in c["markers"]), 12, True, "C")
        pdf.set_text_color(0, 0, 0)
    text(f"{c['shop']['name']}  {c['shop']['address']}  GCN ANTT: {c['shop']['license'] or '—'}", 9, False, "C")
    rows("Bên cầm đồ", c["pawner_rows"])
    rows("Xác thực", c["verify_rows"])
    text("Tài sản cầm cố", 11, True, h=8)
    for i, item in enumerate(c["items"], 1):
        extra = ", ".join(f"{k}: {item[k]}" for k in ("brand", "model", "serial", "condition") if item.get(k))
        text(f"{i}. {item.get('description', '')} ({item.get('category', '')}){' – ' + extra if extra else ''}")
    text(f"Giấy tờ chứng minh quyền sở hữu: {c['ownership'] or '—'}")
    rows("Khoản cầm", c["money_rows"])
    if c["events"]:
        text("Diễn biến", 11, True, h=8)
        for when, what, detail, who in c["events"]:
            text(f"{when}  {what}  {detail}  ({who})", 9)
    if view.get("notes"):
        text(f"Ghi chú: {view['notes']}")
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(width / 2, 6, "BÊN CẦM ĐỒ", align="C")
    pdf.cell(width / 2, 6, "NHÂN VIÊN CỬA HÀNG", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(width / 2, 6, "(ký, ghi rõ họ tên)", align="C")
    pdf.cell(width / 2, 6, f"({c['clerk']})", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(18)
    text(f"Sổ cái: mục số {view.get('seq')} – ghi nhận lúc {c['created_local']}", 8)
    return bytes(pdf.output())

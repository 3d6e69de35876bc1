"""The shop's reports and customer files: REST API under /api/v1 and the pages ``/reports``, ``/customers/{subject}``.

* ``GET /api/v1/reports/due?kind=today|week|overdue|unpaid_interest[&as_of=]`` (:mod:`verifier.ledger.due_lists`);
* ``GET /api/v1/reports/cash-book?from=&to=`` (sổ quỹ, :func:`verifier.ledger.cash_book.cash_book`);
* ``GET /api/v1/reports/day?date=[&clerk=]`` (báo cáo cuối ngày, :func:`verifier.ledger.cash_book.day_report`);
* ``GET /api/v1/reports/register?from=&to=`` (sổ theo dõi cầm đồ, Decree 96/2016/NĐ-CP art. 29,
  :mod:`verifier.ledger.pawn_register`);

each with ``format=json|csv|xlsx|html`` (:mod:`verifier.api.report_export`); dates are local (Vietnam) days,
defaulting to today. Who sees what (:data:`verifier.users.PERMISSIONS`): clerks the due lists and their own day
(``reports.due``, ``reports.day``), managers everything (``reports.cash``: the cash book, the whole shop's day),
inspectors and managers the register (``reports.register``).

Customer files (:mod:`verifier.ledger.customer_file`, ``customers.read`` / ``customers.note``):
``GET /api/v1/customers?id_number=|name=|scan_id=`` finds people (and, for one whole ID number or a scan, their
file), ``GET /api/v1/customers/{subject}`` is one file, ``POST /api/v1/customers/{subject}/notes`` adds a note (a
ledger entry). Every answer with personal data is logged in the access log (who, which report or subject, no
personal data in the log line).
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from verifier.api import cash as cash_api
from verifier.api import report_export, web
from verifier.api.auth import need
from verifier.api.contract import CATEGORY_VI, EVENT_VI, STATUS_VI, vdate, vnd
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.api.report_export import Column, Table
from verifier.api.routes import disposition
from verifier.errors import InputError
from verifier.ledger import cash_book, cash_fund, customer_file, due_lists, pawn_register
from verifier.ledger.pawn_contract import today_vn
from verifier.ledger.pawn_search import BadSearch
from verifier.local_time import local_time
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["reports"])

FORMAT = Query("json", pattern="^(json|csv|xlsx|html)$", description="json, or a file: csv (UTF-8 with BOM), xlsx, html")

#: Kinds of movement and event the shared labels (verifier.api.contract.EVENT_VI) do not name.
KIND_VI = {"overdue_now": "Đang quá hạn", "flagged": "Đã báo nghi vấn", "customer_note": "Ghi chú",
           "police_hold": "Công an yêu cầu tạm giữ tài sản", "cash_fund": "Nhập / rút quỹ", "cash_count": "Kiểm quỹ"}
#: The day's fund totals (verifier/ledger/cash_book.py TOTALS) as the page shows them.
FUND_TOTALS_VI = (("fund_in_vnd", "Nhập quỹ"), ("fund_out_vnd", "Rút quỹ"), ("other_in_vnd", "Thu khác"),
                  ("other_out_vnd", "Chi khác"))
#: A fund movement's kind by (purpose, direction) (verifier/ledger/cash_fund.py).
FUND_VI = {("owner", "in"): "Nhập quỹ", ("owner", "out"): "Rút quỹ", ("other", "in"): "Thu khác",
           ("other", "out"): "Chi khác"}
DUE_VI = {"today": "Hợp đồng đến hạn hôm nay", "week": "Hợp đồng đến hạn trong 7 ngày tới", "overdue": "Hợp đồng quá hạn",
          "unpaid_interest": "Hợp đồng chưa đóng lãi quá 30 ngày"}
UNIT_VI = {"year_pct": "%/năm", "month_pct": "%/tháng", "vnd_per_million_day": "đ/triệu/ngày"}
IDENT_VI = {"imei": "IMEI", "serial": "Serial", "frame_no": "Số khung", "engine_no": "Số máy", "plate": "Biển số",
            "material": "Chất liệu", "weight": "Trọng lượng"}


def kind_vi(kind: str | None) -> str:
    return EVENT_VI.get(kind or "") or KIND_VI.get(kind or "") or str(kind or "")


def row_kind_vi(row: dict) -> str:
    """A cash-book row's kind in Vietnamese: a fund movement as nhập quỹ, rút quỹ, thu khác or chi khác."""
    if row.get("kind") == cash_fund.FUND:
        return FUND_VI.get((row.get("purpose"), row.get("direction")), KIND_VI["cash_fund"])
    return kind_vi(row.get("kind"))


def row_note_vi(row: dict) -> str:
    """A cash-book row's explanation (diễn giải): a fund movement's reason; a count's figures and its note."""
    if row.get("kind") == cash_fund.COUNT:
        text = (f"Đếm được {vnd(row.get('counted_vnd'))}, sổ quỹ {vnd(row.get('expected_vnd'))}, "
                f"chênh lệch {signed_vnd(row.get('difference_vnd'))}")
        return f"{text}: {row['note']}" if row.get("note") else text
    return str(row.get("note") or "")


def signed_vnd(amount) -> str:
    """``+50.000 ₫`` / ``-50.000 ₫`` / ``0 ₫`` (a count's difference: more or less cash than the book)."""
    return ("+" if isinstance(amount, int) and amount > 0 else "") + vnd(amount)

def svc(request: Request):
    return request.app.state.svc


def customer_notes(request: Request) -> customer_file.CustomerNotes:
    return request.app.state.customer_notes


def _answer(fmt: str, table: Table, data: dict):
    if fmt == "json":
        return JSONResponse(data)
    content, media, name = report_export.render(table, fmt)
    kind = "inline" if fmt == "html" else "attachment"
    return Response(content, media_type=media, headers={"Content-Disposition": disposition(kind, name), "Cache-Control": "no-store"})


def _day(on: date | None) -> date:
    """The local day asked for (default today), or 422 ``bad_period`` outside the days a report can cover."""
    on = on or today_vn()
    try:
        cash_book.check_day(on)
    except InputError as e:
        raise ApiError(422, "bad_period", str(e), {"from": on.isoformat(), "to": on.isoformat(), "max_days": cash_book.MAX_DAYS}) from e
    return on


def _period(from_: date | None, to: date | None) -> tuple[date, date]:
    end = to or today_vn()
    start = from_ or end
    try:
        cash_book.check_period(start, end)
    except InputError as e:
        raise ApiError(422, "bad_period", str(e), {"from": start.isoformat(), "to": end.isoformat(), "max_days": cash_book.MAX_DAYS}) from e
    return start, end


def _log(request: Request, user: User, record: str, detail: str) -> None:
    svc(request).ledger.log_access(user.name, user.role, "report", record, detail)


def _numbers(rows: list[dict]) -> str:
    return ",".join(sorted({r["contract_no"] for r in rows if r.get("contract_no")}))[:4000]


# --- tables ---------------------------------------------------------------------------------
def due_table(kind: str, as_of: date, rows: list[dict]) -> Table:
    cols = [Column("contract_no", "Số hợp đồng"), Column("pawner_name", "Họ tên"), Column("phone", "Số điện thoại"),
            Column("items", "Tài sản"), Column("principal_vnd", "Gốc còn lại (₫)", "money"),
            Column("interest_due_vnd", "Lãi đến ngày (₫)", "money"), Column("interest_to", "Lãi đã trả đến", "date"),
            Column("due_date", "Ngày đến hạn", "date"), Column("days_overdue", "Số ngày quá hạn", "int")]
    totals = {"contract_no": "Cộng", "principal_vnd": sum(r["principal_vnd"] or 0 for r in rows),
              "interest_due_vnd": sum(r["interest_due_vnd"] or 0 for r in rows)}
    return Table(DUE_VI[kind], cols, rows, [("Tính đến ngày", vdate(as_of.isoformat())), ("Số hợp đồng", str(len(rows)))],
                 totals, f"den-han-{kind}-{as_of.isoformat()}")


def labelled(rows: list[dict]) -> list[dict]:
    """Cash-book rows with their kind (``kind_vi``) and explanation (``note_vi``) in Vietnamese."""
    return [{**r, "kind_vi": row_kind_vi(r), "note_vi": row_note_vi(r)} for r in rows]


def cash_table(book_: dict) -> Table:
    cols = [Column("ts", "Thời gian", "datetime"), Column("clerk", "Nhân viên"), Column("contract_no", "Số hợp đồng"),
            Column("kind_vi", "Loại"), Column("note_vi", "Diễn giải"), Column("cash_in_vnd", "Thu (₫)", "money"),
            Column("cash_out_vnd", "Chi (₫)", "money"), Column("balance_vnd", "Tồn quỹ (₫)", "money"),
            Column("difference_vnd", "Chênh lệch kiểm quỹ (₫)", "money")]
    rows = labelled(book_["rows"])
    meta = [("Từ ngày", vdate(book_["from"])), ("Đến ngày", vdate(book_["to"])), ("Tồn đầu kỳ", vnd(book_["opening_balance_vnd"])),
            ("Tổng thu", vnd(book_["cash_in_vnd"])), ("Tổng chi", vnd(book_["cash_out_vnd"])),
            ("Tồn cuối kỳ", vnd(book_["closing_balance_vnd"]))]
    totals = {"kind_vi": "Cộng", "cash_in_vnd": book_["cash_in_vnd"], "cash_out_vnd": book_["cash_out_vnd"],
              "balance_vnd": book_["closing_balance_vnd"]}
    return Table("Sổ quỹ tiền mặt", cols, rows, meta, totals, f"so-quy-{book_['from']}-{book_['to']}")


DAY_COLUMNS = [("new_contracts", "Hợp đồng mới", "int"), ("cash_out_vnd", "Tiền chi ra (₫)", "money"),
               ("cash_in_vnd", "Tiền thu vào (₫)", "money"), ("interest_vnd", "Lãi thu được (₫)", "money"),
               ("fees_vnd", "Phí thu được (₫)", "money"), ("principal_in_vnd", "Gốc thu về (₫)", "money"),
               ("sale_vnd", "Tiền bán thanh lý (₫)", "money"), ("surplus_vnd", "Tiền thừa trả khách (₫)", "money"),
               ("redeemed", "Số hợp đồng chuộc", "int"), ("liquidated", "Số hợp đồng thanh lý", "int"),
               ("fund_in_vnd", "Nhập quỹ (₫)", "money"), ("fund_out_vnd", "Rút quỹ (₫)", "money"),
               ("other_in_vnd", "Thu khác (₫)", "money"), ("other_out_vnd", "Chi khác (₫)", "money"),
               ("cash_counts", "Số lần kiểm quỹ", "int")]


def day_table(report: dict) -> Table:
    cols = [Column("clerk", "Nhân viên")] + [Column(k, h, kind) for k, h, kind in DAY_COLUMNS]
    rows = [{"clerk": name, **t} for name, t in report["by_clerk"].items()]
    meta = [("Ngày", vdate(report["date"]))]
    totals = {"clerk": "Cả cửa hàng", **report["shop"]} if report.get("shop") else None
    if report.get("clerk"):
        meta.append(("Nhân viên", report["clerk"]))
    stock = report.get("stock")
    if stock:
        meta += [("Tồn quỹ đầu ngày", vnd(report["opening_balance_vnd"])),
                 ("Tồn quỹ cuối ngày", vnd(report["closing_balance_vnd"])),
                 ("Dư nợ gốc cuối ngày", vnd(stock["open_principal_vnd"])),
                 ("Hợp đồng đang cầm", str(stock["open_contracts"])),
                 ("Tài sản trong kho", f"{stock['items_in_store']} ("
                  + ", ".join(f"{CATEGORY_VI.get(k, k)}: {v}" for k, v in stock["items_by_category"].items()) + ")")]
    for r in report.get("counts") or []:  # each cash count of the day, with its difference and explanation
        meta.append((f"Kiểm quỹ {local_time(r['ts'])} ({r['clerk']})", row_note_vi(r)))
    return Table("Báo cáo cuối ngày", cols, rows, meta, totals, f"bao-cao-ngay-{report['date']}")


def rate_text(row: dict) -> str:
    ri = row.get("rate_input") or {}
    year = row.get("rate_year_pct")
    year_text = f"{year:g} %/năm".replace(".", ",") if isinstance(year, (int, float)) else ""
    if ri.get("unit") in UNIT_VI and ri.get("unit") != "year_pct":
        return f"{str(ri.get('value')).replace('.', ',')} {UNIT_VI[ri['unit']]} ({year_text})"
    return year_text


def register_table(reg: dict) -> Table:
    cols = [Column("no", "Số TT", "int"), Column("ts", "Ngày giờ cầm", "datetime"), Column("contract_no", "Số hợp đồng"),
            Column("full_name", "Họ tên người cầm"), Column("birth_year", "Năm sinh"), Column("id_number", "Số CCCD/CMND"),
            Column("residence", "Nơi cư trú"), Column("items_text", "Tên tài sản"),
            Column("identifiers_text", "Đặc điểm (serial, IMEI, số khung, số máy, biển số)"),
            Column("valuation_vnd", "Giá trị định giá (₫)", "money"), Column("loan_vnd", "Số tiền cầm (₫)", "money"),
            Column("rate_text", "Lãi suất"), Column("term_text", "Thời hạn"),
            Column("outcome_ts", "Ngày chuộc / thanh lý", "datetime"), Column("notes_text", "Ghi chú")]
    rows = []
    for r in reg["rows"]:
        idents = ["; ".join(f"{IDENT_VI[k]}: {v}" for k, v in i.items() if k in IDENT_VI) for i in r["items"]]
        notes = []
        if r["outcome"]:
            notes.append(kind_vi(r["outcome"]) if r["outcome"] != "cancelled" else STATUS_VI["cancelled"])
        if r["old_id_number"]:
            notes.append(f"CMND cũ: {r['old_id_number']}")
        notes += [f"{kind_vi(e['type'])}: {e.get('reason') or ''}".rstrip(": ") for e in r["events"]]
        notes += r["notes"]
        if r["damaged"]:
            notes.append("Bản ghi bị hỏng: chỉ còn các cột không mã hóa")
        rows.append({**r, "items_text": "; ".join(i["description"] for i in r["items"]),
                     "identifiers_text": " | ".join(x for x in idents if x), "rate_text": rate_text(r),
                     "term_text": f"{r['term_days']} ngày (đến {vdate(r['due_date'])})" if r["term_days"] else vdate(r["due_date"]),
                     "notes_text": "; ".join(notes)})
    meta = [("Từ ngày", vdate(reg["from"])), ("Đến ngày", vdate(reg["to"])), ("Số hợp đồng", str(len(rows))),
            ("Căn cứ", "Nghị định 96/2016/NĐ-CP, Điều 29")]
    return Table("Sổ theo dõi hoạt động kinh doanh dịch vụ cầm đồ", cols, rows, meta, None,
                 f"so-theo-doi-cam-do-{reg['from']}-{reg['to']}")


# --- reports API ----------------------------------------------------------------------------
@router.get("/reports/due", summary="Due lists: due today, in the next 7 days, overdue, interest unpaid over 30 days")
def due(request: Request, kind: str = Query(..., pattern="^(today|week|overdue|unpaid_interest)$"),
        as_of: date | None = Query(None, description="The local (Vietnam) day; default today."), format: str = FORMAT,
        user: User = Depends(need("reports.due"))):
    on = _day(as_of)
    rows = due_lists.due_list(svc(request).book, kind, on)
    _log(request, user, f"report:due:{kind}", f"as_of={on.isoformat()}; contracts={_numbers(rows)}")
    return _answer(format, due_table(kind, on, rows), {"kind": kind, "as_of": on.isoformat(), "rows": rows})


@router.get("/reports/cash-book", summary="Cash book (sổ quỹ): every money movement with the running balance")
def cash(request: Request, from_: date | None = Query(None, alias="from"), to: date | None = Query(None),
         format: str = FORMAT, user: User = Depends(need("reports.cash"))):
    start, end = _period(from_, to)
    book_ = cash_book.cash_book(svc(request).book, start, end)
    _log(request, user, "report:cash-book", f"from={start} to={end}; rows={len(book_['rows'])}")
    data = {**book_, "rows": labelled(book_["rows"])}
    return _answer(format, cash_table(book_), data)


@router.get("/reports/day", summary="End-of-day report (báo cáo cuối ngày) per clerk and for the shop")
def day(request: Request, date_: date | None = Query(None, alias="date"), clerk: str | None = Query(None, max_length=64),
        format: str = FORMAT, user: User = Depends(need("reports.day"))):
    """A clerk sees their own day only (``clerk`` is then their name); a manager any clerk's, or the whole shop's."""
    if not user.can("reports.cash"):
        if clerk not in (None, "", user.name):
            raise ApiError(403, "forbidden", f"role {user.role!r} may see only its own day", {"permission": "reports.cash", "role": user.role})
        clerk = user.name
    on = _day(date_)
    report = cash_book.day_report(svc(request).book, on, clerk or None)
    _log(request, user, "report:day", f"date={on}; clerk={clerk or 'all'}")
    return _answer(format, day_table(report), report)


@router.get("/reports/register", summary="The pawn register (sổ theo dõi cầm đồ, Decree 96/2016/NĐ-CP art. 29)")
def register(request: Request, from_: date | None = Query(None, alias="from"), to: date | None = Query(None),
             format: str = FORMAT, user: User = Depends(need("reports.register"))):
    start, end = _period(from_, to)
    reg = pawn_register.pawn_register(svc(request).book, start, end)
    _log(request, user, "report:register", f"from={start} to={end}; contracts={_numbers(reg['rows'])}")
    return _answer(format, register_table(reg), reg)


# --- customers API --------------------------------------------------------------------------
class NoteCreate(BaseModel):
    text: str = Field(..., min_length=1, max_length=customer_file.MAX_NOTE, description="The note (Vietnamese text).")


def _file(request: Request, user: User, subject: str) -> dict:
    found = customer_file.customer_file(svc(request).book, customer_notes(request), subject, today_vn())
    if found is None:
        raise ApiError(404, "customer_not_found", f"no contract or note on subject {subject!r}")
    svc(request).ledger.log_access(user.name, user.role, "read", f"customer:{subject}",
                                   f"contracts={_numbers(found['contracts'])}")
    return found


@router.get("/customers", tags=["customers"], summary="Find a customer by ID number, name or a scan; one match: the file")
def find_customers(request: Request,
                   id_number: str | None = Query(None, max_length=20, description="Whole (12 or 9 digits) or last 4-6 digits."),
                   name: str | None = Query(None, max_length=200, description="Whole words of the name (accents optional)."),
                   scan_id: str | None = Query(None, max_length=64, description="A finished scan: the chip's ID number."),
                   user: User = Depends(need("customers.read"))) -> dict:
    s = svc(request)
    if scan_id:
        scan = s.scans.get(scan_id)
        if scan is None or scan.result is None:
            raise ApiError(404, "scan_not_found", f"no finished scan {scan_id!r}")
        id_number = scan.result.holder.id_number
        if not id_number:
            raise ApiError(422, "scan_incomplete", "the scan has no ID number")
    if not id_number and not name:
        raise ApiError(422, "invalid_request", "give id_number, name or scan_id")
    try:
        people = customer_file.find_people(s.book, id_number=id_number, name=name)
        whole = customer_file.subject_of(s.ledger.sealer.blind, id_number) if id_number and len(
            "".join(ch for ch in id_number if ch.isdigit())) in (9, 12) else None
    except BadSearch as e:
        raise ApiError(400, e.code, str(e)) from e
    except InputError as e:
        raise ApiError(422, "invalid_request", str(e)) from e
    s.ledger.log_access(user.name, user.role, "search", "customers:" + ",".join(p["subject"] for p in people)[:4000],
                        f"by={'scan' if scan_id else 'id_number' if id_number else 'name'}; results={len(people)}")
    subject = whole if whole else (people[0]["subject"] if scan_id and people else None)
    file = None
    if subject and (people or customer_notes(request).seqs(subject)):
        file = _file(request, user, subject)
    return {"people": people, "subject": subject, "file": file}


@router.get("/customers/{subject}", tags=["customers"], summary="One customer's file (access is logged)")
def get_customer(request: Request, subject: str, user: User = Depends(need("customers.read"))) -> dict:
    return _file(request, user, subject)


@router.post("/customers/{subject}/notes", status_code=201, tags=["customers"],
             summary="Add a note to a customer's file (a ledger entry: never edited or deleted)")
def add_note(request: Request, subject: str, body: NoteCreate, user: User = Depends(need("customers.note"))) -> dict:
    notes = customer_notes(request)
    s = svc(request)
    if not s.book.store.find([subject], limit=1)[1] and not notes.seqs(subject):
        raise ApiError(404, "customer_not_found", f"no contract or note on subject {subject!r}")
    try:
        return notes.add(subject, body.text, user=user.name, role=user.role, demo=s.demo)
    except InputError as e:
        raise ApiError(422, "invalid_request", str(e)) from e


# --- pages ----------------------------------------------------------------------------------
def install(app) -> None:
    """The routers and pages; the customer notes' projection on the service's ledger."""
    from verifier.api.people import forbidden_page, gate

    app.state.customer_notes = customer_file.CustomerNotes(app.state.svc.ledger)
    app.include_router(router)
    cash_api.install(app)  # the shop's cash fund: POST /cash/fund, POST /cash/count, GET /cash/balance

    @app.get("/reports", include_in_schema=False)
    def reports_page(request: Request, kind: str = "today", day: date | None = None):
        session, refusal = gate(request, None)
        if refusal:
            return refusal
        user = session.user
        if not (user.can("reports.due") or user.can("reports.register")):
            return forbidden_page(request, session)
        kind = kind if kind in due_lists.KINDS else "today"
        on = day or today_vn()
        s = svc(request)
        rows = due_lists.due_list(s.book, kind, on) if user.can("reports.due") else None
        report = None
        if user.can("reports.day"):
            report = cash_book.day_report(s.book, on, None if user.can("reports.cash") else user.name)
            s.ledger.log_access(user.name, user.role, "report", "report:day", f"date={on}; clerk={report['clerk'] or 'all'}")
        if rows is not None:
            s.ledger.log_access(user.name, user.role, "report", f"report:due:{kind}", f"as_of={on}; contracts={_numbers(rows)}")
        totals = (report.get("shop") or report.get("totals")) if report else None
        return web.render(request, "reports.html", session, kind=kind, kinds=DUE_VI, day=on.isoformat(), day_vi=vdate(on.isoformat()),
                          rows=rows, report=report, totals=totals, day_columns=DAY_COLUMNS, vnd=vnd, vdate=vdate,
                          category_vi=CATEGORY_VI, week_ago=(on - timedelta(days=6)).isoformat(),
                          can_cash=user.can("reports.cash"), can_register=user.can("reports.register"),
                          can_customers=user.can("customers.read"), can_fund=user.can("cash.fund"),
                          can_count=user.can("cash.count"), balance=request.app.state.cash_fund.position(),
                          fund_labels=FUND_TOTALS_VI, local_time=local_time, signed_vnd=signed_vnd)

    @app.get("/customers/{subject}", include_in_schema=False)
    def customer_page(request: Request, subject: str):
        session, refusal = gate(request, "customers.read")
        if refusal:
            return refusal
        try:
            found = _file(request, session.user, subject)
        except ApiError:
            found = None
        resp = web.render(request, "customer.html", session, f=found, subject=subject, vnd=vnd, vdate=vdate,
                          local_time=local_time, kind_vi=kind_vi, status_vi=STATUS_VI,
                          can_note=session.user.can("customers.note"))
        if found is None:
            resp.status_code = 404
        return resp

"""Inspector web pages of the police backend (Vietnamese): search, a person's history, shops and
their status, alerts, watchlists. Server-rendered (Jinja2, autoescaped), no JavaScript needed.

Sessions are the same bearer tokens as the API, carried in an HttpOnly, SameSite=Strict cookie;
every form POST also carries a CSRF token derived from the session token.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Callable

from fastapi import FastAPI, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sync.backend import alerts as alerts_mod
from sync.backend import auth, search, watchlist
from sync.backend.db import Database
from verifier.errors import ChipidError
from verifier.local_time import local_date, local_time

COOKIE = "chipid_backend_session"
_env = Environment(loader=FileSystemLoader(str(Path(__file__).parent)), autoescape=select_autoescape(["html"]))
# times as inspectors read them: Vietnam local, labelled (storage and the API stay UTC)
_env.filters.update(local_time=local_time, local_date=local_date)

ALERT_WORDS = {
    "gap": "Thiếu bản ghi (đứt chuỗi)", "fork": "Chuỗi bị rẽ nhánh", "conflict": "Cùng số thứ tự, nội dung khác",
    "replay": "Gửi lại lô cũ", "signature": "Sai chữ ký thiết bị", "tampered": "Bản ghi bị sửa",
    "checkpoint": "Điểm kiểm tra không khớp", "watchlist": "Trùng danh sách truy tìm", "suspicious": "Cửa hàng báo nghi vấn",
}


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"chipid-backend-csrf", hashlib.sha256).hexdigest()


def add_pages(app: FastAPI, db: Database, current_user_optional: Callable[[Request], auth.User | None]) -> None:
    def render(request: Request, name: str, user: auth.User | None, status: int = 200, **ctx) -> HTMLResponse:
        token = request.cookies.get(COOKIE, "")
        html = _env.get_template(name).render(user=user, csrf=csrf_token(token) if token else "", alert_words=ALERT_WORDS,
                                              path=request.url.path, **ctx)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def need_user(request: Request) -> auth.User:
        user = current_user_optional(request)
        if user is None:
            raise HTTPException(303, headers={"Location": "/login"})
        return user

    def check_csrf(request: Request, token: str) -> None:
        session = request.cookies.get(COOKIE, "")
        if not session or not hmac.compare_digest(csrf_token(session), token or ""):
            raise HTTPException(403, "CSRF token missing or wrong: reload the page")

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request):
        return render(request, "login.html", None)

    @app.post("/login", include_in_schema=False)
    def login_post(request: Request, name: str = Form(...), password: str = Form(...)):
        result = auth.login(db, name, password)
        if result is None:
            return render(request, "login.html", None, status=401, error="Sai tên đăng nhập hoặc mật khẩu.")
        _user, token = result
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=auth.SESSION_HOURS * 3600)
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout_post(request: Request, csrf: str = Form("")):
        need_user(request)
        check_csrf(request, csrf)
        auth.logout(db, request.cookies.get(COOKIE, ""))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request):
        user = need_user(request)
        from sync.backend.routes.inspector import query_from

        params = request.query_params
        results, error, query = [], None, None
        if any(params.get(k) for k in ("id_number", "name", "serial", "q", "shop", "province", "from", "to")):
            try:
                query = query_from(params)
                results = search.search_entries(db, query, user=user.name)
            except ChipidError as e:
                error = str(e)
        return render(request, "search.html", user, params=params, results=results, error=error, searched=query is not None)

    @app.get("/persons/{id_number}", response_class=HTMLResponse, include_in_schema=False)
    def person_page(request: Request, id_number: str):
        user = need_user(request)
        try:
            history = search.person_history(db, id_number, user=user.name)
        except ChipidError as e:
            return render(request, "search.html", user, params={}, results=[], error=str(e), searched=True)
        return render(request, "person.html", user, history=history)

    @app.get("/shops", response_class=HTMLResponse, include_in_schema=False)
    def shops_page(request: Request):
        user = need_user(request)
        return render(request, "shops.html", user, shops=search.list_shops(db))

    @app.get("/shops/{shop_id}", response_class=HTMLResponse, include_in_schema=False)
    def shop_page(request: Request, shop_id: str):
        user = need_user(request)
        status = search.shop_status(db, shop_id)
        if status is None:
            raise HTTPException(404, "không có cửa hàng này")
        return render(request, "shop.html", user, shop=status)

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts_page(request: Request, all: bool = False):
        user = need_user(request)
        with db.read() as conn:
            rows = alerts_mod.list_alerts(conn, db.vault, open_only=not all, limit=500)
        return render(request, "alerts.html", user, alerts=rows, show_all=all)

    @app.post("/alerts/{shop_id}/{alert_id}/ack", include_in_schema=False)
    def alert_ack(request: Request, shop_id: str, alert_id: str, csrf: str = Form("")):
        user = need_user(request)
        check_csrf(request, csrf)
        if user.role != "admin":
            raise HTTPException(403, "cần quyền quản trị")
        with db.write() as conn:
            alerts_mod.ack_alert(conn, shop_id, alert_id, user.name)
        return RedirectResponse("/alerts", status_code=303)

    @app.get("/watchlist", response_class=HTMLResponse, include_in_schema=False)
    def watchlist_page(request: Request, message: str = ""):
        user = need_user(request)
        return render(request, "watchlist.html", user, items=watchlist.list_items(db), message=message)

    @app.post("/watchlist", include_in_schema=False)
    def watchlist_add(request: Request, kind: str = Form(...), value: str = Form(...), note: str = Form(""), csrf: str = Form("")):
        user = need_user(request)
        check_csrf(request, csrf)
        try:
            r = watchlist.add_items(db, [{"kind": kind, "value": value, "note": note}], user.name)
            msg = f"Đã thêm {r['added']}, cập nhật {r['updated']}."
        except ChipidError as e:
            msg = f"Lỗi: {e}"
        return render(request, "watchlist.html", user, items=watchlist.list_items(db), message=msg)

    @app.post("/watchlist/csv", include_in_schema=False)
    async def watchlist_csv(request: Request, file: UploadFile, csrf: str = Form("")):
        user = need_user(request)
        check_csrf(request, csrf)
        try:
            data = await file.read(watchlist.MAX_CSV_BYTES + 1)
            r = watchlist.add_items(db, watchlist.parse_csv(data), user.name)
            msg = f"Đã nhập tệp: thêm {r['added']}, cập nhật {r['updated']}."
        except ChipidError as e:
            msg = f"Lỗi: {e}"
        return render(request, "watchlist.html", user, items=watchlist.list_items(db), message=msg)

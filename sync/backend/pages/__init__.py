"""Inspector web pages of the police backend: search, a person across shops (with linked people),
an item's history, a contract, shops and their compliance, provinces (the 34 since 2025), alerts
(live over server-sent events) and watchlists. Server-rendered (Jinja2, autoescaped); only the
alerts page runs a little JavaScript (the live stream), and works without it.

Vietnamese by default; ``?lang=en`` (remembered in the ``lang`` cookie, ``?lang=vi`` back)
switches every visible string to English (:data:`WORDS`); times are Vietnam local, labelled.

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
from sync.backend import auth, investigate, search, watchlist
from sync.backend.db import Database
from sync.backend.pages.words import WORDS
from verifier.errors import ChipidError
from verifier.local_time import local_date, local_time

COOKIE = "chipid_backend_session"
_env = Environment(loader=FileSystemLoader(str(Path(__file__).parent)), autoescape=select_autoescape(["html"]))
# times as inspectors read them: Vietnam local, labelled (storage and the API stay UTC)
_env.filters.update(local_time=local_time, local_date=local_date)

def vnd(amount) -> str:
    """10.500.000 ₫ (dot-separated thousands)."""
    try:
        return f"{int(amount):,}".replace(",", ".") + " ₫"
    except (TypeError, ValueError):
        return ""


_env.filters["vnd"] = vnd


def page_language(request: Request) -> str:
    """``?lang=`` (vi or en), else the ``lang`` cookie, else Vietnamese."""
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    return "en" if lang == "en" else "vi"


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"chipid-backend-csrf", hashlib.sha256).hexdigest()


def add_pages(app: FastAPI, db: Database, current_user_optional: Callable[[Request], auth.User | None]) -> None:
    def render(request: Request, name: str, user: auth.User | None, status: int = 200, **ctx) -> HTMLResponse:
        token = request.cookies.get(COOKIE, "")
        lang = page_language(request)

        def t(key: str, **fields) -> str:
            vi, en = WORDS.get(key, (key, key))
            text = en if lang == "en" else vi
            return text.format(**fields) if fields else text

        html = _env.get_template(name).render(
            user=user, csrf=csrf_token(token) if token else "", t=t, lang=lang, path=request.url.path,
            when=lambda v: local_time(v, lang), kind_label=lambda k: alerts_mod.kind_label(k, lang),
            province_name=lambda p: (p["name_en"] if lang == "en" else p["name"]) if p else t("unknown_province"),
            query=request.url.query, **ctx)
        resp = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "Content-Language": lang})
        if request.query_params.get("lang") in ("vi", "en"):
            resp.set_cookie("lang", lang, samesite="strict", max_age=365 * 86400)
        return resp

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
            return render(request, "login.html", None, status=401, error="bad_login")
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
            history = investigate.person_view(db, id_number, user=user.name)
        except ChipidError as e:
            return render(request, "search.html", user, params={}, results=[], error=str(e), searched=True)
        return render(request, "person.html", user, history=history)

    @app.get("/items/{serial}", response_class=HTMLResponse, include_in_schema=False)
    def item_page(request: Request, serial: str):
        user = need_user(request)
        try:
            item = investigate.item_history(db, serial, user=user.name)
        except ChipidError as e:
            return render(request, "search.html", user, params={}, results=[], error=str(e), searched=True)
        return render(request, "item.html", user, item=item)

    @app.get("/shops/{shop_id}/contracts/{txn_id}", response_class=HTMLResponse, include_in_schema=False)
    def contract_page(request: Request, shop_id: str, txn_id: str):
        user = need_user(request)
        view = investigate.contract_view(db, shop_id, txn_id, user=user.name)
        if view is None:
            raise HTTPException(404, "không có hợp đồng này / no such contract")
        return render(request, "contract.html", user, view=view)

    @app.get("/shops", response_class=HTMLResponse, include_in_schema=False)
    def shops_page(request: Request):
        user = need_user(request)
        with db.read() as conn:
            infos = investigate.ShopInfo(conn, db.vault)
            shops = [s | {"info": infos.get(s["shop_id"])} for s in search.list_shops(db)]
        return render(request, "shops.html", user, shops=shops)

    @app.get("/shops/{shop_id}", response_class=HTMLResponse, include_in_schema=False)
    def shop_page(request: Request, shop_id: str):
        user = need_user(request)
        rules = getattr(app.state, "alert_rules", None)
        status = investigate.shop_compliance(db, shop_id, silent_hours=rules.silent_hours if rules else 48.0)
        if status is None:
            raise HTTPException(404, "không có cửa hàng này / no such shop")
        return render(request, "shop.html", user, shop=status)

    @app.get("/provinces", response_class=HTMLResponse, include_in_schema=False)
    def provinces_page(request: Request):
        user = need_user(request)
        return render(request, "provinces.html", user, provinces=investigate.provinces_overview(db))

    @app.get("/provinces/{code}", response_class=HTMLResponse, include_in_schema=False)
    def province_page(request: Request, code: str):
        user = need_user(request)
        view = investigate.province_dashboard(db, code)
        if view is None:
            raise HTTPException(404, "không có tỉnh này / no such province")
        return render(request, "province.html", user, view=view)

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts_page(request: Request, all: bool = False):
        user = need_user(request)
        with db.read() as conn:
            rows = alerts_mod.list_alerts(conn, db.vault, open_only=not all, limit=500)
        return render(request, "alerts.html", user, alerts=rows, show_all=all,
                      stream_from=max((a["event_id"] for a in rows), default=""))

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
    def watchlist_page(request: Request):
        user = need_user(request)
        return render(request, "watchlist.html", user, items=watchlist.list_items(db), message=None)

    @app.post("/watchlist", include_in_schema=False)
    def watchlist_add(request: Request, kind: str = Form(...), value: str = Form(...), note: str = Form(""), csrf: str = Form("")):
        user = need_user(request)
        check_csrf(request, csrf)
        try:
            r = watchlist.add_items(db, [{"kind": kind, "value": value, "note": note}], user.name)
            msg = ("added", r)
        except ChipidError as e:
            msg = ("error", str(e))
        return render(request, "watchlist.html", user, items=watchlist.list_items(db), message=msg)

    @app.post("/watchlist/csv", include_in_schema=False)
    async def watchlist_csv(request: Request, file: UploadFile, csrf: str = Form("")):
        user = need_user(request)
        check_csrf(request, csrf)
        try:
            data = await file.read(watchlist.MAX_CSV_BYTES + 1)
            r = watchlist.add_items(db, watchlist.parse_csv(data), user.name)
            msg = ("imported", r)
        except ChipidError as e:
            msg = ("error", str(e))
        return render(request, "watchlist.html", user, items=watchlist.list_items(db), message=msg)

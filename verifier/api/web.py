"""Web pages of the counter service: login, clerk counter, inspector, contract print view.

Served by the service itself, no CDN: templates (Jinja2), CSS, JS and the font live in this
package, so everything works offline. Vietnamese by default (``service.language``), English
with ``?lang=en`` (remembered in a cookie). Every page shows a banner in demo mode.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from verifier.api.auth import SESSION_COOKIE, end_browser_session, set_session_cookie
from verifier.api.i18n import strings
from verifier.errors import LoginLockedError

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or request.app.state.svc.cfg["service.language"]
    return lang if lang in ("vi", "en") else "vi"


def _session(request: Request):
    sid = request.cookies.get(SESSION_COOKIE)
    return request.app.state.svc.users.session(sid) if sid else None


def _page(request: Request, template: str, session, **ctx) -> Response:
    svc = request.app.state.svc
    lang = _lang(request)
    t = strings(lang)
    context = {
        "t": t, "lang": lang, "demo": svc.demo, "user": session.user if session else None,
        "csrf": session.csrf if session else "", "i18n_json": json.dumps(t, ensure_ascii=False),
        "other_lang": "en" if lang == "vi" else "vi", **ctx,
    }
    resp = templates.TemplateResponse(request, template, context)
    for k, v in _SECURITY_HEADERS.items():
        resp.headers[k] = v
    if request.query_params.get("lang") in ("vi", "en"):
        resp.set_cookie("lang", lang, samesite="strict", max_age=3600 * 24 * 365)
    return resp


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _local(path: str) -> bool:
    """Only same-site paths as redirect targets (no //host, no /\\host, no scheme)."""
    return path.startswith("/") and not path.startswith("//") and "\\" not in path and ":" not in path.split("?")[0]


def _home_for(role: str) -> str:
    return "/inspector" if role == "inspector" else "/counter"


# for the pages of verifier.api.people (password change, users) and its role gate
page_language, render, browser_session, local_path, home_for = _lang, _page, _session, _local, _home_for


def install(app: FastAPI) -> None:
    from verifier.api.people import gate

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home(request: Request):
        session = _session(request)
        if session is None:
            return _login_redirect(request)
        return RedirectResponse(_home_for(session.user.role), status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/"):
        return _page(request, "login.html", None, next=next if _local(next) else "/", error=False)

    @app.post("/login", include_in_schema=False)
    def login_submit(request: Request, name: str = Form(""), password: str = Form(""), next: str = Form("/")):
        svc = request.app.state.svc
        try:
            user = svc.users.check_password(name, password) if name and password else None
        except LoginLockedError:
            user = None
        if user is None or user.role == "integrator":
            resp = _page(request, "login.html", None, next=next, error=True)
            resp.status_code = 401
            return resp
        sid, _ = svc.users.create_session(user)
        target = next if _local(next) and next not in ("/", "/login") else _home_for(user.role)
        resp = RedirectResponse(target, status_code=303)
        set_session_cookie(resp, svc.cfg, sid)
        return resp

    @app.get("/logout", include_in_schema=False)
    def logout(request: Request):
        resp = RedirectResponse("/login", status_code=303)
        end_browser_session(request, resp)
        return resp

    @app.get("/counter", include_in_schema=False)
    def counter(request: Request):
        session, refusal = gate(request, "scan")  # an inspector never sees the counter
        if refusal:
            return refusal
        from verifier import verdict as V  # the verdict policy, for the page's "why" sentence (README "Verdict policy")

        policy = json.dumps({"decisive": sorted(V.DECISIVE), "required": list(V.REQUIRED)})
        return _page(request, "counter.html", session, max_rate=request.app.state.svc.cfg["pawn.max_interest_rate_year_pct"],
                     verdict_policy=policy)

    @app.get("/inspector", include_in_schema=False)
    def inspector(request: Request):
        session, refusal = gate(request, "ledger.export")  # a clerk never sees the inspector page
        if refusal:
            return refusal
        return _page(request, "inspector.html", session)

    @app.get("/contracts/{txn_id}/print", include_in_schema=False)
    def contract_print(request: Request, txn_id: str):
        from verifier.api.contract import context

        session, refusal = gate(request, "txn.read")
        if refusal:
            return refusal
        svc = request.app.state.svc
        view = svc.book.get(txn_id)
        if view is None:
            return Response("not found", status_code=404)
        svc.ledger.log_access(session.user.name, session.user.role, "print", f"contract:{view['contract_no']}", f"id={txn_id}")
        from verifier.ledger.shop_profile import current

        return _page(request, "contract.html", session, c=context(view, svc.cfg, current(svc.ledger, svc.cfg)))

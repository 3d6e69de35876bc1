"""People: password change, an admin's reset, disable and enable (API and pages), and the role gate of pages.

* ``POST /api/v1/auth/password`` changes one's own password (the old one is needed). It is the
  one operation (with ``/me`` and logout) open to a session logged in with a one-time password;
  everything else answers 403 ``password_change_required`` (:func:`verifier.api.auth.current_user`).
* ``GET /api/v1/users``, ``POST /api/v1/users/{name}/reset|disable|enable`` (permission
  ``users.manage``): a reset gives a new one-time password, shown once; disabling ends the user's
  sessions and token at once.
* Pages: ``/password`` (change, forced after a one-time password), ``/users`` (admin). Every page
  of the service goes through :func:`gate`: no session -> login, one-time password ->
  ``/password``, a role without the page's permission -> a 403 page in the user's language
  (the counter needs ``scan``, the inspector page ``ledger.export``, a contract ``txn.read``: a clerk
  never sees the inspector page, an inspector never the counter).

OWASP ASVS 4.0 V2.1.6 (changing a password needs the current one), V3.3.3 (other sessions end
on a password change); NIST SP 800-63B §5.1.1.2 (length over composition rules).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from verifier import messages
from verifier.api import web
from verifier.api.auth import SESSION_COOKIE, current_user, need
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.errors import InputError, LoginLockedError, NotFoundError
from verifier.users import MAX_PASSWORD, MIN_PASSWORD, User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

#: error code -> HTTP status of the people API (others: 422)
_STATUS = {"user_not_found": 404, "bad_credentials": 403, "last_admin": 409, "too_many_failed_logins": 429}

STRINGS = {
    "vi": {
        "password_title": "Đổi mật khẩu", "old_password": "Mật khẩu hiện tại", "new_password": "Mật khẩu mới",
        "repeat_password": "Nhập lại mật khẩu mới", "change": "Đổi mật khẩu",
        "must_change": "Bạn đang dùng mật khẩu dùng một lần. Hãy đặt mật khẩu mới trước khi tiếp tục.",
        "rule": f"Ít nhất {MIN_PASSWORD} ký tự, không chứa tên đăng nhập, khác mật khẩu cũ.",
        "mismatch": "Hai lần nhập mật khẩu mới không giống nhau.", "changed": "Đã đổi mật khẩu.",
        "locked": "Sai mật khẩu quá nhiều lần: thử lại sau 15 phút.",
        "forbidden_title": "Không được phép truy cập",
        "forbidden": "Vai trò «{role}» không được mở trang này. Nếu cần, hãy nhờ quản trị viên cấp quyền.",
        "users_title": "Người dùng", "role": "Vai trò", "state": "Trạng thái", "enabled": "đang hoạt động",
        "disabled": "đã khóa", "pending": "chưa đổi mật khẩu dùng một lần", "reset": "Cấp lại mật khẩu",
        "disable": "Khóa", "enable": "Mở khóa", "add": "Thêm người dùng", "name": "Tên đăng nhập",
        "one_time": "Mật khẩu dùng một lần của {name} (chỉ hiện lần này, người dùng phải đổi khi đăng nhập):",
        "token": "Mã truy cập API của {name} (chỉ hiện lần này):", "done": "Đã cập nhật {name}.",
        "home": "Về trang chính",
    },
    "en": {
        "password_title": "Change password", "old_password": "Current password", "new_password": "New password",
        "repeat_password": "Repeat the new password", "change": "Change password",
        "must_change": "You are using a one-time password. Choose a new password to continue.",
        "rule": f"At least {MIN_PASSWORD} characters, not containing the user name, different from the old one.",
        "mismatch": "The two new passwords differ.", "changed": "Password changed.",
        "locked": "Too many wrong passwords: try again in 15 minutes.",
        "forbidden_title": "Access denied",
        "forbidden": "The role “{role}” may not open this page. Ask an administrator if you need it.",
        "users_title": "Users", "role": "Role", "state": "State", "enabled": "active",
        "disabled": "disabled", "pending": "one-time password not changed yet", "reset": "Reset password",
        "disable": "Disable", "enable": "Enable", "add": "Add user", "name": "User name",
        "one_time": "One-time password of {name} (shown only now; it must be changed at login):",
        "token": "API token of {name} (shown only now):", "done": "{name} updated.",
        "home": "Home",
    },
}


def _api_error(e: InputError) -> ApiError:
    code = getattr(e, "code", None) or ("user_not_found" if isinstance(e, NotFoundError) else "invalid_input")
    if isinstance(e, LoginLockedError):
        code = "too_many_failed_logins"
    return ApiError(_STATUS.get(code, 422), code, str(e), getattr(e, "details", None))


# --- API ---------------------------------------------------------------------------------
class PasswordChange(BaseModel):
    old_password: str = Field(..., max_length=MAX_PASSWORD)
    new_password: str = Field(..., max_length=MAX_PASSWORD,
                              description=f"At least {MIN_PASSWORD} characters, not containing the user name, not the old one.")


@router.post("/auth/password", tags=["auth"], summary="Change your own password (needs the current one)")
def change_password(request: Request, body: PasswordChange, user: User = Depends(current_user)) -> dict:
    try:
        changed = request.app.state.svc.users.change_password(user.name, body.old_password, body.new_password,
                                                              keep_session=request.cookies.get(SESSION_COOKIE))
    except InputError as e:
        raise _api_error(e) from e
    return {"name": changed.name, "role": changed.role, "must_change": False}


@router.get("/users", tags=["auth"], summary="List users, roles and states (admin; never secrets)")
def list_users(request: Request, user: User = Depends(need("users.manage"))) -> list[dict]:
    return request.app.state.svc.users.list()


@router.post("/users/{name}/reset", tags=["auth"],
             summary="Reset a person's password (admin): a new one-time password, shown once, changed at the next login")
def reset_user(request: Request, name: str, user: User = Depends(need("users.manage"))) -> dict:
    try:
        password = request.app.state.svc.users.reset(name)
    except InputError as e:
        raise _api_error(e) from e
    return {"name": name, "password": password, "must_change": True}


@router.post("/users/{name}/disable", tags=["auth"], summary="Disable a user (admin): its sessions and token stop at once")
def disable_user(request: Request, name: str, user: User = Depends(need("users.manage"))) -> dict:
    users = request.app.state.svc.users
    try:
        users.disable(name)
        return users.get(name)
    except InputError as e:
        raise _api_error(e) from e


@router.post("/users/{name}/enable", tags=["auth"], summary="Enable a disabled user again (admin)")
def enable_user(request: Request, name: str, user: User = Depends(need("users.manage"))) -> dict:
    users = request.app.state.svc.users
    try:
        users.enable(name)
        return users.get(name)
    except InputError as e:
        raise _api_error(e) from e


# --- pages -------------------------------------------------------------------------------
def _strings(request: Request) -> dict:
    return STRINGS[web.page_language(request)]


def forbidden_page(request: Request, session) -> Response:
    """The 403 page, in the user's language, with no link to what the role may not open."""
    p = _strings(request)
    resp = web.render(request, "forbidden.html", session, p=p, message=p["forbidden"].format(role=session.user.role))
    resp.status_code = 403
    return resp


def gate(request: Request, permission: str | None):
    """``(session, None)`` when the page may be shown, else ``(session or None, the response to send instead)``."""
    session = web.browser_session(request)
    if session is None:
        return None, RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if session.user.must_change:
        return session, RedirectResponse(f"/password?next={quote(request.url.path)}", status_code=303)
    if permission and not session.user.can(permission):
        return session, forbidden_page(request, session)
    return session, None


def _csrf_ok(session, csrf: str) -> bool:
    import hmac

    return bool(csrf) and hmac.compare_digest(csrf, session.csrf)


csrf_ok = _csrf_ok  # the public name, for the other pages' forms (settings_page)


def install(app) -> None:
    app.include_router(router)

    @app.get("/password", include_in_schema=False)
    def password_page(request: Request, next: str = "/"):
        session = web.browser_session(request)
        if session is None:
            return RedirectResponse("/login?next=/password", status_code=303)
        return web.render(request, "password.html", session, p=_strings(request), error=None, min_len=MIN_PASSWORD,
                          next=next if web.local_path(next) else "/")

    @app.post("/password", include_in_schema=False)
    def password_submit(request: Request, old_password: str = Form(""), new_password: str = Form(""),
                        repeat_password: str = Form(""), csrf: str = Form(""), next: str = Form("/")):
        session = web.browser_session(request)
        if session is None:
            return RedirectResponse("/login?next=/password", status_code=303)
        p = _strings(request)
        lang = web.page_language(request)
        error = None
        if not _csrf_ok(session, csrf):
            error = p["forbidden_title"]
        elif new_password != repeat_password:
            error = p["mismatch"]
        else:
            try:
                request.app.state.svc.users.change_password(session.user.name, old_password, new_password,
                                                            keep_session=request.cookies.get(SESSION_COOKIE))
            except LoginLockedError:
                error = p["locked"]
            except InputError as e:
                error = messages.text(messages.error_code(e), lang, getattr(e, "details", None))
        if error:
            resp = web.render(request, "password.html", session, p=p, error=error, min_len=MIN_PASSWORD, next=next if web.local_path(next) else "/")
            resp.status_code = 422
            return resp
        target = next if web.local_path(next) and next not in ("/", "/login", "/password") else web.home_for(session.user.role)
        return RedirectResponse(target, status_code=303)

    @app.get("/users", include_in_schema=False)
    def users_page(request: Request):
        session, refusal = gate(request, "users.manage")
        if refusal:
            return refusal
        return _users_view(request, session, notice=None, secret=None)

    @app.post("/users", include_in_schema=False)
    def users_action(request: Request, action: str = Form(""), name: str = Form(""), role: str = Form(""),
                     csrf: str = Form("")):
        session, refusal = gate(request, "users.manage")
        if refusal:
            return refusal
        p = _strings(request)
        lang = web.page_language(request)
        if not _csrf_ok(session, csrf):
            return forbidden_page(request, session)
        users = request.app.state.svc.users
        secret = notice = None
        try:
            if action == "add":
                created = users.add(name, role)
                kind = "token" if "token" in created else "one_time"
                secret = (p[kind].format(name=name), created.get("token") or created.get("password"))
            elif action == "reset":
                secret = (p["one_time"].format(name=name), users.reset(name))
            elif action == "disable":
                users.disable(name)
                notice = p["done"].format(name=name)
            elif action == "enable":
                users.enable(name)
                notice = p["done"].format(name=name)
            else:
                return Response("unknown action", status_code=400)
        except InputError as e:
            message = messages.text(messages.error_code(e), lang, getattr(e, "details", None))
            resp = _users_view(request, session, notice=None, secret=None, error=message)
            resp.status_code = 422
            return resp
        return _users_view(request, session, notice=notice, secret=secret)


def _users_view(request: Request, session, *, notice, secret, error=None) -> Response:
    from verifier.users import ROLES

    return web.render(request, "users.html", session, p=_strings(request), people=request.app.state.svc.users.list(),
                      roles=ROLES, notice=notice, secret=secret, error=error)

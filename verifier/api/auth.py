"""Authentication (bearer token or session cookie) and the role matrix, as FastAPI dependencies."""

from __future__ import annotations

from typing import Callable

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPBearer

from verifier.api.errors import ApiError
from verifier.users import PERMISSIONS, User

SESSION_COOKIE = "chipid_session"
CSRF_HEADER = "x-csrf-token"
_SAFE = ("GET", "HEAD", "OPTIONS")
#: All a session logged in with a one-time password may call (verifier.api.people): the rest is 403.
ONE_TIME_PASSWORD_PATHS = frozenset({"/api/v1/auth/password", "/api/v1/auth/logout", "/api/v1/me"})


def _svc(request: Request):
    return request.app.state.svc


def set_session_cookie(response: Response, cfg, sid: str) -> None:
    """The browser session cookie: HttpOnly, SameSite=Strict, lifetime ``auth.session_hours``."""
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict", secure=cfg["auth.cookie_secure"],
                        max_age=3600 * cfg["auth.session_hours"], path="/")


def end_browser_session(request: Request, response: Response) -> None:
    """Forget the caller's session (if any) and clear its cookie."""
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        _svc(request).users.end_session(sid)
    response.delete_cookie(SESSION_COOKIE, path="/")


#: Declare the two ways in (OpenAPI securitySchemes, ``security`` on every operation that needs a user);
#: ``current_user`` reads the header and the cookie itself. See :mod:`verifier.api.docs`.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API token from `chipid user add NAME --role integrator` (or `chipid user token NAME`).")
SESSION = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                       description=f"The web pages' session (`POST /api/v1/auth/login`); a write also needs the "
                                   f"`{CSRF_HEADER}` header with the `csrf` value the login returned.")


def current_user(request: Request, _bearer=Depends(BEARER), _session=Depends(SESSION)) -> User:
    """The caller: ``Authorization: Bearer <token>`` or the session cookie (+ CSRF header on writes)."""
    svc = _svc(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthenticated", "expected 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
        user = svc.users.token_user(token.strip())
        if user is None:
            raise ApiError(401, "unauthenticated", "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        request.state.user = user
        return user
    sid = request.cookies.get(SESSION_COOKIE)
    session = svc.users.session(sid) if sid else None
    if session is None:
        raise ApiError(401, "unauthenticated", "log in or send a bearer token", headers={"WWW-Authenticate": "Bearer"})
    if request.method not in _SAFE and request.headers.get(CSRF_HEADER) != session.csrf:
        raise ApiError(403, "csrf", f"a write with a session cookie needs the {CSRF_HEADER} header of the page")
    if session.user.must_change and request.url.path not in ONE_TIME_PASSWORD_PATHS:
        raise ApiError(403, "password_change_required", "log in with a one-time password: change it first (POST /api/v1/auth/password)",
                       {"change_password": "/api/v1/auth/password"})
    request.state.user = session.user
    return session.user


def need(permission: str) -> Callable[..., User]:
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def dep(user: User = Depends(current_user)) -> User:
        if not user.can(permission):
            raise ApiError(403, "forbidden", f"role {user.role!r} may not {permission}", {"permission": permission, "role": user.role})
        return user

    return dep

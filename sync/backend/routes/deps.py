"""Dependencies shared by the backend's routers: the database and the inspector asking.

Device requests are authenticated by their signatures (:mod:`sync.backend.enroll`,
:mod:`sync.backend.ingest`); inspector requests by a session token, sent as
``Authorization: Bearer TOKEN`` (RFC 6750 §2.1) or as the pages' session cookie.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPBearer

from sync.backend import auth
from sync.backend.db import Database
from verifier import messages
from verifier.error_shape import ApiError

SESSION_COOKIE = "chipid_backend_session"

#: How an inspector authenticates, declared in the OpenAPI document (OpenAPI 3.1 §4.8.27 Security
#: Scheme Object); the checking is :func:`current_user`'s.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer",
                           description="Authorization: Bearer TOKEN from POST /api/v1/login (RFC 6750 §2.1)")
session_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                              description="the inspector pages' session cookie")


def get_db(request: Request) -> Database:
    """The database the app was created with."""
    return request.app.state.db


def session_token(request: Request) -> str | None:
    """The bearer token of ``request``, else its session cookie (None when neither)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return token or request.cookies.get(SESSION_COOKIE)


def current_user(request: Request, _bearer=Depends(bearer_scheme), _session=Depends(session_scheme)) -> auth.User:
    """The logged-in inspector; 401 when the token or cookie names no live session."""
    user = auth.session_user(get_db(request), session_token(request))
    if user is None:
        raise ApiError(401, "unauthenticated", "login required", headers={"WWW-Authenticate": "Bearer"})
    return user


def admin_user(user: auth.User = Depends(current_user)) -> auth.User:
    """The logged-in inspector, who must hold the admin role (403 otherwise)."""
    if user.role != "admin":
        raise ApiError(403, "forbidden", "admin role required")
    return user


def optional_user(request: Request) -> auth.User | None:
    """The inspector of the pages' session cookie, or None (the pages redirect to the login page)."""
    return auth.session_user(get_db(request), request.cookies.get(SESSION_COOKIE))


def request_language(request: Request) -> str:
    """vi or en for an answer (:func:`verifier.messages.choose_language`): ``Accept-Language``, else
    the pages' ``lang`` cookie, else Vietnamese."""
    return messages.choose_language(request.headers.get("accept-language"), request.cookies.get("lang"))

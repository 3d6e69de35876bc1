"""Dependencies shared by the backend's routers: the database and the inspector asking.

Device requests are authenticated by their signatures (:mod:`sync.backend.enroll`,
:mod:`sync.backend.ingest`); inspector requests by a session token, sent as
``Authorization: Bearer TOKEN`` (RFC 6750 §2.1) or as the pages' session cookie.
"""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request

from sync.backend import auth
from sync.backend.db import Database

SESSION_COOKIE = "chipid_backend_session"


def get_db(request: Request) -> Database:
    """The database the app was created with."""
    return request.app.state.db


def session_token(request: Request) -> str | None:
    """The bearer token of ``request``, else its session cookie (None when neither)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return token or request.cookies.get(SESSION_COOKIE)


def current_user(request: Request) -> auth.User:
    """The logged-in inspector; 401 when the token or cookie names no live session."""
    user = auth.session_user(get_db(request), session_token(request))
    if user is None:
        raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Bearer"})
    return user


def admin_user(user: auth.User = Depends(current_user)) -> auth.User:
    """The logged-in inspector, who must hold the admin role (403 otherwise)."""
    if user.role != "admin":
        raise HTTPException(403, "admin role required")
    return user


def optional_user(request: Request) -> auth.User | None:
    """The inspector of the pages' session cookie, or None (the pages redirect to the login page)."""
    return auth.session_user(get_db(request), request.cookies.get(SESSION_COOKIE))

"""Inspector sessions of the backend API: log in for a bearer token, log out.

    POST /api/v1/login                  name + password -> token (RFC 6750 bearer token)
    POST /api/v1/logout                 ends the session of the token or page cookie
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from sync.backend import auth
from sync.backend.db import Database
from sync.backend.routes.deps import SESSION_COOKIE, current_user, get_db
from verifier.error_shape import ApiError

router = APIRouter()


class LoginBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=500)


@router.post("/api/v1/login")
def post_login(body: LoginBody, db: Database = Depends(get_db)) -> dict:
    result = auth.login(db, body.name, body.password)
    if result is None:
        raise ApiError(401, "bad_credentials", "wrong user name or password")
    user, token = result
    return {"token": token, "name": user.name, "role": user.role}


@router.post("/api/v1/logout")
def post_logout(request: Request, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE, "")
    auth.logout(db, token)
    return {"status": "logged out"}

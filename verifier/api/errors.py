"""One error shape everywhere: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from verifier.errors import BiometricsError, ChipidError, ConfigError, ImageError, InputError, LedgerError, TransportError

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.headers = headers


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def _json(status: int, code: str, message: str, details: Any = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body(code, message, details), status_code=status, headers=headers)


_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               406: "not_acceptable", 409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
               429: "too_many_requests"}

#: Documented on every route of the API.
ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in ((400, "Bad input"), (401, "Not authenticated"), (403, "Role not allowed"), (404, "Not found"),
                       (409, "Conflict with the current state"), (422, "Invalid or refused request"))
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _json(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return _json(422, "invalid_request", "the request does not match the API schema", {"errors": details})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(ChipidError)
    async def _chipid(request: Request, exc: ChipidError):
        code = getattr(exc, "code", None)
        if isinstance(exc, (ImageError,)):
            return _json(422, code or "bad_image", str(exc), getattr(exc, "details", None))
        if isinstance(exc, InputError):
            return _json(422, code or "invalid_input", str(exc), getattr(exc, "details", None))
        if isinstance(exc, (TransportError, BiometricsError)):
            return _json(503, code or "device_unavailable", str(exc))
        if isinstance(exc, ConfigError):
            return _json(503, "misconfigured", str(exc))
        if isinstance(exc, LedgerError):
            log.error("ledger error: %s", exc)
            return _json(500, "ledger_error", str(exc))
        return _json(500, "internal_error", str(exc))

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(500, "internal_error", "internal error (see the service log)")

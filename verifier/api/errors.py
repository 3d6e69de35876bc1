"""One error shape everywhere: ``{"error": {"code", "message", "details"}}``.

``code`` is a code of the one catalogue (:mod:`verifier.messages`); ``message`` is its sentence in the
language of the request (:func:`request_language`: ``Accept-Language``, else the page's ``lang``
cookie, else ``service.language``). What the raise site wrote in English, when it says more than the
catalogue (a value found, a protocol step, a status word), is kept in ``details.detail`` and in the
log, never in place of the sentence a clerk reads (issue 17 item 4).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from verifier import messages
from verifier.errors import BiometricsError, ChipidError, ConfigError, ImageError, InputError, LedgerError, TransportError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An API refusal: HTTP ``status``, catalogue ``code``, the English technical ``message`` (kept as
    ``details.detail`` when the catalogue's sentence says less), ``details`` (also the fields of the
    catalogue's sentence)."""

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


def request_language(request: Request) -> str:
    """vi or en for an answer to ``request`` (:func:`verifier.messages.choose_language`): the
    ``Accept-Language`` header (the pages' script sends the page's language), else the user's page
    setting (the ``lang`` cookie), else ``service.language``."""
    svc = getattr(request.app.state, "svc", None)
    default = svc.cfg["service.language"] if svc is not None else None
    return messages.choose_language(request.headers.get("accept-language"), request.cookies.get("lang"), default)


def body(code: str, message: str, details: Any = None, lang: str | None = None) -> dict:
    """The error shape; with ``lang``, a catalogue ``code`` gets its sentence in that language and
    ``message`` (the technical English) moves to ``details.detail`` when it differs."""
    details = details if details is not None else {}
    if lang is not None and messages.known(code):
        params = details if isinstance(details, dict) else {}
        sentence = messages.text(code, lang, params)
        if message and message != messages.text(code, "en", params) and isinstance(details, dict):
            details = {**details, "detail": message}
        message = sentence
    return {"error": {"code": code, "message": message, "details": details}}


def _json(request: Request, status: int, code: str, message: str, details: Any = None,
          headers: dict | None = None) -> JSONResponse:
    lang = request_language(request)
    return JSONResponse(body(code, message, details, lang), status_code=status,
                        headers={**(headers or {}), "Content-Language": lang})


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
        return _json(request, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return _json(request, 422, "invalid_request", "the request does not match the API schema", {"errors": details})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return _json(request, exc.status_code, code, str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(ChipidError)
    async def _chipid(request: Request, exc: ChipidError):
        code = messages.error_code(exc)
        details = getattr(exc, "details", None)
        if isinstance(exc, (ImageError, InputError)):
            return _json(request, 422, code, str(exc), details)
        if isinstance(exc, (TransportError, BiometricsError)):
            return _json(request, 503, code, str(exc))
        if isinstance(exc, ConfigError):
            return _json(request, 503, code, str(exc))
        if isinstance(exc, LedgerError):
            log.error("ledger error: %s", exc)
            return _json(request, 500, code, str(exc))
        log.error("%s on %s %s: %s", code, request.method, request.url.path, exc)
        return _json(request, 500, code, str(exc))

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(request, 500, "internal_error", "internal error (see the service log)")

"""The one error shape of both HTTP services: ``{"error": {"code", "message", "details"}}``.

Shared by the counter API (:mod:`verifier.api.errors`) and the police backend
(:mod:`sync.backend.app`), which may not import ``verifier.api`` (pyproject.toml, layers contract):
so the shape, the HTTP status codes' catalogue codes and the exception handlers live here, below both.

``code`` is a code of the one catalogue (:mod:`verifier.messages`); ``message`` is its sentence in the
language of the request (each service says how it picks it: ``Accept-Language`` first, RFC 9110
§12.5.4); what the raise site wrote in English, when it says more than the catalogue, is kept in
``details.detail`` and in the log (issue 17 item 4). A status is set by the service for its project
errors (:class:`~verifier.errors.ChipidError`); anything else is a 500 ``internal_error`` whose text
stays in the log.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from verifier import messages
from verifier.errors import ChipidError

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


#: The catalogue code of an HTTP status raised without one (``HTTPException``, routing).
HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              406: "not_acceptable", 409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
              429: "too_many_requests"}

#: Documented on every route of an API.
ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in ((400, "Bad input"), (401, "Not authenticated"), (403, "Role not allowed"), (404, "Not found"),
                       (409, "Conflict with the current state"), (422, "Invalid or refused request"))
}

Language = Callable[[Request], str]


def respond(request: Request, language: Language, status: int, code: str, message: str, details: Any = None,
            headers: dict | None = None) -> JSONResponse:
    """The error shape as a response in the language ``language`` picks for ``request`` (also sent
    as ``Content-Language``)."""
    lang = language(request)
    return JSONResponse(body(code, message, details, lang), status_code=status,
                        headers={**(headers or {}), "Content-Language": lang})


def install(app: FastAPI, language: Language, chipid_status: Callable[[ChipidError], int]) -> None:
    """Answer every error of ``app`` in the one shape: :class:`ApiError`, schema validation (422
    ``invalid_request``), ``HTTPException`` (code from :data:`HTTP_CODES`), a project error (status
    from ``chipid_status``, code from :func:`verifier.messages.error_code`; logged from 500 on) and
    anything else (500 ``internal_error``, logged with its traceback)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return respond(request, language, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return respond(request, language, 422, "invalid_request", "the request does not match the API schema",
                       {"errors": details})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return respond(request, language, exc.status_code, code, str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(ChipidError)
    async def _chipid(request: Request, exc: ChipidError):
        code = messages.error_code(exc)
        status = chipid_status(exc)
        if status >= 500 and status != 503:  # 503: a device or setting the service reports itself
            log.error("%s on %s %s: %s", code, request.method, request.url.path, exc)
        details = getattr(exc, "details", None) if status < 500 else None
        return respond(request, language, status, code, str(exc), details)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect):
        # the client went away mid-request (a cut connection, a killed relay): routine on a shop's
        # network, nobody reads the answer; one line, no traceback (a traceback per cut flooded the log)
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return respond(request, language, 400, "bad_request", "the client disconnected before the request was read")

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, language, 500, "internal_error", "internal error (see the service log)")

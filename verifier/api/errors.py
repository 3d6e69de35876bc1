"""One error shape everywhere: ``{"error": {"code", "message", "details"}}``.

``code`` is a code of the one catalogue (:mod:`verifier.messages`); ``message`` is its sentence in the
language of the request (:func:`request_language`: ``Accept-Language``, else the page's ``lang``
cookie, else ``service.language``). What the raise site wrote in English, when it says more than the
catalogue (a value found, a protocol step, a status word), is kept in ``details.detail`` and in the
log, never in place of the sentence a clerk reads (issue 17 item 4).

The shape and its handlers live in :mod:`verifier.error_shape`, shared with the police backend;
this module keeps what is the counter's own: how it picks the language and its statuses.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from verifier import error_shape, messages
from verifier.error_shape import ERROR_RESPONSES, ApiError, ErrorBody, ErrorResponse, body  # noqa: F401 - the API's names
from verifier.errors import BiometricsError, ChipidError, ConfigError, ImageError, InputError, TransportError


def request_language(request: Request) -> str:
    """vi or en for an answer to ``request`` (:func:`verifier.messages.choose_language`): the
    ``Accept-Language`` header (the pages' script sends the page's language), else the user's page
    setting (the ``lang`` cookie), else ``service.language``."""
    svc = getattr(request.app.state, "svc", None)
    default = svc.cfg["service.language"] if svc is not None else None
    return messages.choose_language(request.headers.get("accept-language"), request.cookies.get("lang"), default)


def chipid_status(exc: ChipidError) -> int:
    """The counter's status for a project error: 422 bad input or image, 503 a device or setting, 500 otherwise."""
    if isinstance(exc, (ImageError, InputError)):
        return 422
    if isinstance(exc, (TransportError, BiometricsError, ConfigError)):
        return 503
    return 500


def install(app: FastAPI) -> None:
    """The one error shape (:mod:`verifier.error_shape`) on the counter API."""
    error_shape.install(app, request_language, chipid_status)

"""The one error shape's handlers (verifier/error_shape.py), as both services install them."""

from __future__ import annotations

import asyncio
import logging

import httpx
from fastapi import FastAPI
from starlette.requests import ClientDisconnect

from verifier import error_shape


def _app() -> FastAPI:
    app = FastAPI()
    error_shape.install(app, lambda request: "vi", lambda exc: 400)

    @app.post("/gone")
    async def gone():
        raise ClientDisconnect()

    @app.post("/broken")
    async def broken():
        raise RuntimeError("a bug")

    return app


def _post(app: FastAPI, path: str) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://t") as client:
            return await client.post(path)

    return asyncio.run(go())


def test_a_client_that_went_away_is_one_info_line_not_a_traceback(caplog):
    """A connection cut mid-request (the fault proxy, a killed relay) is routine: before, each one
    logged a full traceback at ERROR, and a backend whose stderr nobody read blocked on the pipe."""
    caplog.set_level(logging.INFO, logger="verifier.error_shape")
    r = _post(_app(), "/gone")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    records = [rec for rec in caplog.records if rec.name == "verifier.error_shape"]
    assert [rec.levelno for rec in records] == [logging.INFO]
    assert all(rec.exc_info is None for rec in records)


def test_a_bug_is_still_a_500_with_its_traceback_in_the_log(caplog):
    caplog.set_level(logging.INFO, logger="verifier.error_shape")
    r = _post(_app(), "/broken")
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    assert any(rec.levelno == logging.ERROR and rec.exc_info for rec in caplog.records)

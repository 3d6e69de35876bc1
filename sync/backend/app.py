"""The police backend's HTTP service (FastAPI): the app, its routers and the worker factory.

Stateless over the database (``app.state.db``). One router per area (:mod:`sync.backend.routes`):

* device side, authenticated by signatures, not sessions (:mod:`~sync.backend.routes.devices`):
  ``POST /api/v1/enroll``, ``POST /api/v1/ingest``, ``GET /api/v1/devices/{id}/head``;
* inspector side (``Authorization: Bearer TOKEN`` from ``POST /api/v1/login``, or the page
  cookie): sessions (:mod:`~sync.backend.routes.sessions`), ledger search, persons, shops,
  exports and alerts (:mod:`~sync.backend.routes.inspector`), the watchlist
  (:mod:`~sync.backend.routes.watchlist`); ``POST /api/v1/devices`` (admin) issues an enrolment token;
* the inspector's web pages (:mod:`sync.backend.pages`).

A :class:`~verifier.errors.ChipidError` that reaches the app is answered 413 (a limit), 400 (bad
input) or 409 (anything else), with its message as ``detail``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sync.backend.db import Database
from sync.backend.routes import devices, inspector, sessions, watchlist
from sync.backend.routes.deps import optional_user
from verifier.errors import ChipidError, InputError, LimitExceededError

async def chipid_error(_request: Request, exc: ChipidError) -> JSONResponse:
    """A project error as an HTTP answer: 413 for a limit, 400 for bad input, 409 otherwise."""
    status = 413 if isinstance(exc, LimitExceededError) else 400 if isinstance(exc, InputError) else 409
    return JSONResponse({"detail": str(exc)}, status_code=status)


def create_app(db: Database) -> FastAPI:
    """The backend app over ``db``: the API routers, then the inspector's pages."""
    app = FastAPI(title="chipid police backend", version="1", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.db = db
    app.add_exception_handler(ChipidError, chipid_error)
    for area in (devices, sessions, inspector, watchlist):
        app.include_router(area.router)

    from sync.backend.pages import add_pages

    add_pages(app, db, current_user_optional=optional_user)
    return app


WORKER_ENV_DIR = "CHIPID_BACKEND_WORKER_DATA_DIR"
WORKER_ENV_URL = "CHIPID_BACKEND_WORKER_DATABASE_URL"
# names (not values) of the key variables when backend.data_key_env / backend.index_key_env are not the defaults
WORKER_ENV_DATA_KEY_ENV = "CHIPID_BACKEND_WORKER_DATA_KEY_ENV"
WORKER_ENV_INDEX_KEY_ENV = "CHIPID_BACKEND_WORKER_INDEX_KEY_ENV"


def app_from_env() -> FastAPI:
    """uvicorn factory for ``chipid backend serve --workers N``: each worker process opens the
    database named by the environment the serve command set (schema already migrated)."""
    import os

    from sync.backend.vault import DATA_KEY_ENV, INDEX_KEY_ENV

    url = os.environ.get(WORKER_ENV_URL) or None
    return create_app(Database.open(os.environ.get(WORKER_ENV_DIR), url, migrate=False,
                                    data_key_env=os.environ.get(WORKER_ENV_DATA_KEY_ENV) or DATA_KEY_ENV,
                                    index_key_env=os.environ.get(WORKER_ENV_INDEX_KEY_ENV) or INDEX_KEY_ENV))

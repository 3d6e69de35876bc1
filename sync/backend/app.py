"""The police backend's HTTP service (FastAPI): the app, its routers and the worker factory.

Stateless over the database (``app.state.db``). One router per area (:mod:`sync.backend.routes`):

* device side, authenticated by signatures, not sessions (:mod:`~sync.backend.routes.devices`):
  ``POST /api/v1/enroll``, ``POST /api/v1/ingest``, ``GET /api/v1/devices/{id}/head``;
* inspector side (``Authorization: Bearer TOKEN`` from ``POST /api/v1/login``, or the page
  cookie): sessions (:mod:`~sync.backend.routes.sessions`), ledger search, persons, shops,
  exports and alerts (:mod:`~sync.backend.routes.inspector`), the watchlist
  (:mod:`~sync.backend.routes.watchlist`); ``POST /api/v1/devices`` (admin) issues an enrolment token;
* the inspector's web pages (:mod:`sync.backend.pages`).

Both services have one face (issue 19 item 7): ``GET /api/v1/health`` (:mod:`~sync.backend.routes.health`,
no authentication), every error in the counter's shape ``{"error": {"code", "message", "details"}}``
with codes of the one catalogue (:mod:`verifier.error_shape`, :mod:`verifier.messages`; ``message``
in the language of ``Accept-Language``, else the ``lang`` cookie, else Vietnamese), the API docs at
``/docs`` served offline (:mod:`verifier.offline_docs`; the OpenAPI 3.1 document at ``/openapi.json``)
and Prometheus metrics at ``GET /metrics`` (:mod:`sync.backend.metrics`). A
:class:`~verifier.errors.ChipidError` that reaches the app is answered 413 (a limit), 400 (bad input)
or 409 (anything else).
"""

from __future__ import annotations

from fastapi import FastAPI

from sync.backend import evidence_worker, metrics
from sync.backend.db import Database
from sync.backend.routes import devices, downlink, health, inspector, sessions, watchlist
from sync.backend.routes.deps import optional_user, request_language
from verifier import __version__, error_shape, offline_docs
from verifier.errors import ChipidError, InputError, LimitExceededError

DESCRIPTION = """The police backend of chipid: shops' signed ledger batches in, inspectors' search, alerts and exports out.

Devices authenticate by signatures (enrolment proof, signed batches); inspectors by `Authorization: Bearer TOKEN`
from `POST /api/v1/login` (or the pages' session cookie); `GET /metrics` also takes the metrics token
(`backend.metrics_token_env`). Errors: `{"error": {"code", "message", "details"}}`, `message` in the language of
`Accept-Language` (vi or en; vi by default)."""


def chipid_status(exc: ChipidError) -> int:
    """The backend's status for a project error: 413 for a limit, 400 for bad input, 409 otherwise."""
    return 413 if isinstance(exc, LimitExceededError) else 400 if isinstance(exc, InputError) else 409


def create_app(db: Database, metrics_token: str | None = None, *, rules=None, webhook=None) -> FastAPI:
    """The backend app over ``db``: the API routers, the docs, the metrics, then the inspector's
    pages. ``metrics_token``: a bearer token that may read ``/metrics`` besides inspector sessions.
    ``rules`` / ``webhook`` (:func:`sync.backend.alert_rules.settings_from_config`): start the alert
    rules worker and the webhook sender (``app.state.alert_workers``, stopped at shutdown)."""
    app = FastAPI(title="chipid police backend", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  responses=error_shape.ERROR_RESPONSES)
    app.state.db = db
    evidence_worker.install(app, db, db.data_dir)  # chip evidence re-verified beside ingest (issue 19 item 1)
    error_shape.install(app, request_language, chipid_status)
    for area in (health, devices, sessions, inspector, watchlist, downlink):
        app.include_router(area.router)
    metrics.install(app, db, metrics_token)
    offline_docs.install(app, "chipid police backend API")

    from sync.backend.pages import add_pages

    add_pages(app, db, current_user_optional=optional_user)
    from sync.backend.alert_rules import start_workers

    app.state.alert_rules = rules
    app.state.alert_workers = start_workers(db, rules, webhook)
    app.router.on_shutdown.append(lambda: [w.stop() for w in app.state.alert_workers])
    return app


WORKER_ENV_DIR = "CHIPID_BACKEND_WORKER_DATA_DIR"
WORKER_ENV_URL = "CHIPID_BACKEND_WORKER_DATABASE_URL"
# names (not values) of the key variables when backend.data_key_env / backend.index_key_env are not the defaults
WORKER_ENV_DATA_KEY_ENV = "CHIPID_BACKEND_WORKER_DATA_KEY_ENV"
WORKER_ENV_INDEX_KEY_ENV = "CHIPID_BACKEND_WORKER_INDEX_KEY_ENV"
WORKER_ENV_METRICS_TOKEN_ENV = "CHIPID_BACKEND_WORKER_METRICS_TOKEN_ENV"
WORKER_ENV_CONFIG = "CHIPID_BACKEND_WORKER_CONFIG"  # the config file serve read (alert rules, webhook)
#: the default of backend.metrics_token_env
METRICS_TOKEN_ENV = "CHIPID_BACKEND_METRICS_TOKEN"


def app_from_env() -> FastAPI:
    """uvicorn factory for ``chipid backend serve --workers N``: each worker process opens the
    database named by the environment the serve command set (schema already migrated)."""
    import os

    from sync.backend.vault import DATA_KEY_ENV, INDEX_KEY_ENV

    from sync.backend.alert_rules import settings_from_config
    from verifier.config import load_config

    url = os.environ.get(WORKER_ENV_URL) or None
    token = os.environ.get(os.environ.get(WORKER_ENV_METRICS_TOKEN_ENV) or METRICS_TOKEN_ENV) or None
    return create_app(Database.open(os.environ.get(WORKER_ENV_DIR), url, migrate=False,
                                    data_key_env=os.environ.get(WORKER_ENV_DATA_KEY_ENV) or DATA_KEY_ENV,
                                    index_key_env=os.environ.get(WORKER_ENV_INDEX_KEY_ENV) or INDEX_KEY_ENV), token,
                      **settings_from_config(load_config(os.environ.get(WORKER_ENV_CONFIG) or None)))

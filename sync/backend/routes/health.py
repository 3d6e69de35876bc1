"""Health of the backend, answered like the counter's (``GET /api/v1/health``), without authentication.

    GET /api/v1/health   status, version, database kind and schema version, shops and devices
                         counted, the last batch received, the shops' reported backlog
    GET /healthz         {"status": "ok"} while the process answers (liveness; sync.testing waits on it)

No personal data, no shop names: counts and times only. When the database does not answer the
status is ``database_unavailable`` with HTTP 503, so a load balancer takes the worker out.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sync.backend.db import Database
from sync.backend.routes.deps import get_db
from sync.backend.schema import SCHEMA_VERSION
from verifier import __version__

log = logging.getLogger(__name__)

router = APIRouter(tags=["service"])


def database_state(db: Database) -> dict:
    """Counts and times from the database (raises SQLAlchemyError when it does not answer)."""
    with db.read() as conn:
        version = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
        shops = conn.execute(text("SELECT COUNT(*) FROM shops")).scalar()
        devices, last_batch, backlog = conn.execute(
            text("SELECT COUNT(*), MAX(last_sync_at), COALESCE(SUM(backlog), 0) FROM devices")).one()
        open_alerts = conn.execute(text("SELECT COUNT(*) FROM alerts WHERE ack_at IS NULL")).scalar()
    return {"schema_version": int(version) if version is not None else None, "shops": int(shops or 0),
            "devices": int(devices or 0), "last_batch_at": last_batch, "backlog_entries": int(backlog or 0),
            "open_alerts": int(open_alerts or 0)}


@router.get("/api/v1/health", summary="Health: status, version, database, shops, last batch, backlog (no auth)")
def health(request: Request):
    db = get_db(request)
    answer = {"status": "ok", "version": __version__, "service": "backend",
              "database": {"kind": db.dialect, "schema_version_expected": SCHEMA_VERSION}}
    try:
        state = database_state(db)
    except SQLAlchemyError as e:
        log.error("health: the database does not answer: %s", e.__class__.__name__)
        answer["status"] = "database_unavailable"
        return JSONResponse(answer, status_code=503)
    answer["database"]["schema_version"] = state.pop("schema_version")
    answer.update(state)
    return answer


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict:
    return {"status": "ok"}

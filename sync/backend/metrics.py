"""``GET /metrics``: the police backend in the Prometheus text format (``prometheus_client``).

Counted in this process, from each answer of ``POST /api/v1/ingest`` (:mod:`sync.backend.routes.devices`,
so the ingest code knows nothing of metrics):

* ``chipid_backend_batches_total{outcome}``: accepted (new entries stored), duplicate (nothing new:
  a re-sent batch) or refused;
* ``chipid_backend_batch_refusals_total{reason}``: the refusal reasons of :mod:`sync.backend.ingest`
  (malformed, too-large, unknown-device, signature, tampered, checkpoint, replay, gap, conflict,
  fork, unavailable);
* ``chipid_backend_entries_ingested_total``: ledger entries stored.

Read from the database at each scrape (exact whatever the number of worker processes):
``chipid_backend_alerts{kind,state}`` (alerts by rule, open or acknowledged),
``chipid_backend_alert_occurrences{kind}`` (repeats counted up on an open alert included),
``chipid_backend_shops``, ``chipid_backend_devices``, ``chipid_backend_backlog_entries`` (what the
shops last reported still to send) and ``chipid_backend_last_batch_timestamp_seconds``.

The evidence worker's lag (:mod:`sync.backend.evidence_worker`), also read from the database:
``chipid_backend_verification_backlog_entries`` (entries stored that the worker has not examined
yet; the contracts among them wait for the backend's verdict) and
``chipid_backend_verification_lag_seconds`` (how long ago the oldest contract still waiting was
received; 0 when none waits). The worker waits while ingest keeps the cores busy
(:mod:`sync.backend.foreground`), so under a burst both grow, then fall back once it rests.

With ``--workers N`` the process counters are per worker process (each scrape reaches one; sum them
with ``sum without (instance)`` only when each worker is scraped, or run one worker where exact
counters matter); the database-read values are the same from every worker.

Behind authentication, never open: an inspector or admin session (``Authorization: Bearer TOKEN``
from ``POST /api/v1/login``, or the pages' cookie), or the metrics token: the value of the
environment variable named by ``backend.metrics_token_env`` (Prometheus: ``authorization:
{type: Bearer, credentials_file: ...}``), compared in constant time. No label carries personal
data (outcomes, reasons and alert kinds only; no shop names).
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from sync.backend import auth, evidence_worker
from sync.backend.db import Database
from sync.backend.routes.deps import bearer_scheme, session_scheme, session_token
from verifier.error_shape import ApiError
from verifier.local_time import unix_time

router = APIRouter(tags=["service"])


# devices the evidence worker is behind on: how many entries, and the first contract waiting (received_at
# grows with seq; the primary key finds it)
_VERIFICATION_SQL = (
    "SELECT COALESCE(SUM(d.head_seq - COALESCE(p.seq, 0)), 0), MIN((SELECT e.received_at FROM entries e "
    "WHERE e.shop_id = d.shop_id AND e.device_id = d.device_id AND e.seq > COALESCE(p.seq, 0) "
    f"AND e.kind = 'transaction' ORDER BY e.seq LIMIT 1)) FROM {evidence_worker.BEHIND}"
)


class _DatabaseCollector:
    """Alerts by kind, shops, devices, backlog, the last batch and the verification lag, read at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):
        with self.db.read() as conn:
            alerts = conn.execute(text(
                "SELECT kind, CASE WHEN ack_at IS NULL THEN 'open' ELSE 'acknowledged' END AS state, "
                "COUNT(*), COALESCE(SUM(count), 0) FROM alerts GROUP BY kind, state ORDER BY kind, state")).all()
            shops = conn.execute(text("SELECT COUNT(*) FROM shops")).scalar()
            devices, last, backlog = conn.execute(
                text("SELECT COUNT(*), MAX(last_sync_at), COALESCE(SUM(backlog), 0) FROM devices")).one()
            unexamined, oldest = conn.execute(text(_VERIFICATION_SQL)).one()
        by_state = GaugeMetricFamily("chipid_backend_alerts", "Alerts by rule (kind) and state", labels=["kind", "state"])
        occurrences: dict[str, float] = {}
        for kind, state, n, repeats in alerts:
            by_state.add_metric([kind, state], float(n))
            occurrences[kind] = occurrences.get(kind, 0.0) + float(repeats)
        yield by_state
        occ = GaugeMetricFamily("chipid_backend_alert_occurrences",
                                "Times each rule fired (repeats counted up on an open alert included)", labels=["kind"])
        for kind, n in occurrences.items():
            occ.add_metric([kind], n)
        yield occ
        for name, doc, value in (
            ("chipid_backend_shops", "Shops registered", shops),
            ("chipid_backend_devices", "Shop devices enrolled", devices),
            ("chipid_backend_backlog_entries", "Entries the shops last reported still to send", backlog),
            ("chipid_backend_last_batch_timestamp_seconds", "Unix time of the last batch received (0: never)", unix_time(last)),
            ("chipid_backend_verification_backlog_entries",
             "Entries stored that the evidence worker has not examined yet", unexamined),
            ("chipid_backend_verification_lag_seconds",
             "Seconds since the oldest contract still waiting for the backend's verdict was received (0: none waits)",
             max(0.0, time.time() - unix_time(oldest)) if oldest else 0.0),
        ):
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], float(value or 0))
            yield g


class Metrics:
    """The backend's metrics in their own registry (one per app: tests run several)."""

    def __init__(self, db: Database, token: str | None) -> None:
        self.token = token or None
        self.registry = CollectorRegistry(auto_describe=True)
        self.batches = Counter("chipid_backend_batches", "Batches answered by outcome (accepted, duplicate, refused)",
                               ["outcome"], registry=self.registry)
        self.refusals = Counter("chipid_backend_batch_refusals", "Refused batches by reason", ["reason"],
                                registry=self.registry)
        self.entries = Counter("chipid_backend_entries_ingested", "Ledger entries stored", registry=self.registry)
        self.registry.register(_DatabaseCollector(db))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def count_ingest(app, result) -> None:
    """Count one answer of the ingest (:class:`sync.backend.ingest.IngestResponse`)."""
    m: Metrics | None = getattr(app.state, "metrics", None)
    if m is None:
        return
    if result.status_code >= 400:
        count_refused(app, str(result.body.get("reason") or "unknown"))
        return
    m.batches.labels(outcome="duplicate" if result.duplicate else "accepted").inc()
    if result.stored:
        m.entries.inc(result.stored)


def count_refused(app, reason: str) -> None:
    m: Metrics | None = getattr(app.state, "metrics", None)
    if m is not None:
        m.batches.labels(outcome="refused").inc()
        m.refusals.labels(reason=reason).inc()


def _allowed(request: Request, m: Metrics) -> bool:
    token = session_token(request)
    if not token:
        return False
    if m.token is not None and hmac.compare_digest(token.encode(), m.token.encode()):
        return True
    return auth.session_user(request.app.state.db, token) is not None  # inspector or admin


@router.get("/metrics", summary="Prometheus metrics: batches, refusals by reason, entries, alerts by rule, verification lag (inspector, admin or metrics token)",
            responses={200: {"content": {"text/plain": {}}}},
            dependencies=[Depends(bearer_scheme), Depends(session_scheme)])
def metrics(request: Request) -> Response:
    m: Metrics = request.app.state.metrics
    if not _allowed(request, m):
        raise ApiError(401, "unauthenticated", "an inspector session or the metrics token is required",
                       headers={"WWW-Authenticate": "Bearer"})
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)


def install(app, db: Database, token: str | None = None) -> None:
    app.state.metrics = Metrics(db, token)
    app.include_router(router)

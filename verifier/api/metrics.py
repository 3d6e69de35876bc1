"""``GET /metrics``: the counter service in the Prometheus text format (``prometheus_client``).

Counted from the service's own event bus (:meth:`verifier.api.events.EventBus.listen`), so the
scan and contract code knows nothing of metrics: ``scan_done`` (verdict, read time),
``scan`` with status ``failed``, ``face`` (decision, face time), ``transaction_created``. The sync
backlog and last success, and whether the ledger failed, are read from the ledger at each scrape.

Behind authentication, never open: a bearer token (or a session) of a role holding
``metrics.read`` (manager, integrator, admin). Prometheus scrapes it with
``authorization: {type: Bearer, credentials_file: ...}`` holding an integrator's token.
No label carries personal data (verdicts and decisions only).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES
from verifier.local_time import unix_time
from verifier.users import User

router = APIRouter(responses=ERROR_RESPONSES)

#: seconds: a CCCD read takes 0.3-3 s, the face step 0.2-2 s
READ_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0)
FACE_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)


class _SyncCollector:
    """The delivery to the police backend and the ledger's fail-stop state, read at scrape time."""

    def __init__(self, service) -> None:
        self.service = service

    def collect(self):
        state = self.service.ledger.sync_state()
        backlog = GaugeMetricFamily("chipid_sync_backlog_entries", "Ledger entries not yet acknowledged by the police backend")
        backlog.add_metric([], float(state.get("pending") or 0))
        yield backlog
        last = GaugeMetricFamily("chipid_sync_last_success_timestamp_seconds",
                                 "Unix time of the last delivery the backend acknowledged (0: never)")
        last.add_metric([], unix_time(state.get("last_success")))
        yield last
        failed = GaugeMetricFamily("chipid_ledger_failed",
                                   "1 when the ledger failed to write and takes no more contracts until a restart")
        failed.add_metric([], 1.0 if self.service.ledger.failed else 0.0)
        yield failed


def _elapsed_s(record, *paths: tuple[str, ...]) -> float | None:
    """The first ``elapsed_ms`` found along ``paths`` (attributes or keys), in seconds."""
    for path in paths:
        value = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
            if value is None:
                break
        if value is not None:
            try:
                return float(value) / 1000.0
            except (TypeError, ValueError):
                continue
    return None


class Metrics:
    """The service's metrics in their own registry (one per app: tests run several)."""

    def __init__(self, service) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.scans = Counter("chipid_scans", "Finished card reads by verdict (failed: the read did not finish)",
                             ["verdict"], registry=self.registry)
        self.faces = Counter("chipid_face_decisions", "Face step decisions", ["decision"], registry=self.registry)
        self.contracts = Counter("chipid_contracts", "Pawn contracts recorded", registry=self.registry)
        self.read_seconds = Histogram("chipid_read_seconds", "Time to read and verify a card (scan result elapsed_ms)",
                                      buckets=READ_BUCKETS, registry=self.registry)
        self.face_seconds = Histogram("chipid_face_seconds", "Time of the face comparison (decision elapsed_ms)",
                                      buckets=FACE_BUCKETS, registry=self.registry)
        self.registry.register(_SyncCollector(service))
        service.bus.listen(self.on_event)

    def on_event(self, item: dict) -> None:
        event, data = item["event"], item["data"]
        if event == "scan_done":
            self.scans.labels(verdict=str(data.get("verdict") or "unknown")).inc()
            scan = self.service.scans.get(data.get("scan_id") or "")
            seconds = _elapsed_s(scan, ("result", "chip", "elapsed_ms"), ("result", "elapsed_ms"))
            if seconds is not None:
                self.read_seconds.observe(seconds)
        elif event == "scan" and data.get("status") == "failed":
            self.scans.labels(verdict="failed").inc()
        elif event == "face":
            self.faces.labels(decision=str(data.get("decision") or "unknown")).inc()
            scan = self.service.scans.get(data.get("scan_id") or "")
            seconds = _elapsed_s(scan, ("face", "elapsed_ms"))
            if seconds is not None:
                self.face_seconds.observe(seconds)
        elif event == "transaction_created":
            self.contracts.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


@router.get("/metrics", tags=["service"], summary="Prometheus metrics: scans by verdict, face decisions, contracts, timings, sync",
            responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, user: User = Depends(need("metrics.read"))) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def install(app) -> None:
    app.state.metrics = Metrics(app.state.svc)
    app.include_router(router)

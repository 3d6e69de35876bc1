"""The counter service: FastAPI app with the REST API (/api/v1, OpenAPI at /docs) and the web pages.

``create_app(config)`` opens the ledger (keys outside the database), the user store and the
in-memory scan registry; on first start it creates ``admin`` and announces its password once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from fastapi import FastAPI

from verifier import __version__
from verifier.api import errors as api_errors
from verifier.api.events import EventBus
from verifier.api.face import FaceService
from verifier.api.scans import Runner, ScanRegistry
from verifier.evidence import challenge_inputs  # the scan's AA challenge: device, scan, ledger head
from verifier.ledger.opening import open_ledger
from verifier.ledger.pawn import PawnBook
from verifier.ledger.store import Ledger
from verifier.ledger.writer import EntryRef
from verifier.scan import demo_mode, trust_store
from verifier.users import UserStore

log = logging.getLogger(__name__)


@dataclass
class Service:
    cfg: Any
    ledger: Ledger
    book: PawnBook
    users: UserStore
    scans: ScanRegistry
    bus: EventBus
    face: FaceService
    demo: bool
    started: float = field(default_factory=time.time)

    _trust_cache: tuple[float, dict] | None = None
    trust_refresh: dict | None = None  # the last automatic `trust refresh` (trust.auto_refresh)

    def trust_summary(self) -> dict:
        """What the trust store holds and whether CCCDs can be fully verified with it
        (:func:`verifier.trust.cccd.cccd_status`; cached 5 minutes: loading master lists takes a moment)."""
        if self._trust_cache and time.time() - self._trust_cache[0] < 300:
            return dict(self._trust_cache[1], refresh=self.trust_refresh)
        from datetime import datetime, timezone

        from verifier.trust.cccd import cccd_status

        demo = self.demo or bool(self.cfg["trust.demo"])
        try:
            store = trust_store(self.cfg, demo)
            summary = {"status": "ok" if len(store) else "empty", "demo": demo, "entries": len(store),
                       "cscas": len(store.cscas()), "vietnam_cscas": len(store.cscas("VN")), "crls": len(store.crls()),
                       "cccd": cccd_status(store, datetime.now(timezone.utc),
                                           max_age_days=int(self.cfg["trust.crl_max_age_days"]))}
        except Exception as e:  # noqa: BLE001 - health must answer
            summary = {"status": "error", "demo": demo, "error": f"{type(e).__name__}: {e}"}
        self._trust_cache = (time.time(), summary)
        return dict(summary, refresh=self.trust_refresh)

    def refreshed(self, report) -> None:
        """Record an automatic trust refresh (a report, or the exception that stopped it) for health."""
        if isinstance(report, Exception):
            self.trust_refresh = {"at": time.time(), "error": f"{type(report).__name__}: {report}"}
        else:
            self.trust_refresh = {"at": time.time(), "summary": report.summary(), "summary_vi": report.summary_vi(),
                                  "offline": report.offline, "changed": report.changed}
        self._trust_cache = None

    def health(self) -> dict:
        seq, head = self.ledger.head()
        cp = self.ledger.latest_checkpoint()
        busy = self.scans.busy()
        failed = self.ledger.failed  # fail-stop: the ledger takes no more writes (verifier/ledger/store.py)
        damaged = self.book.damage.check()  # loud, not fatal: first bad seq, reason in both languages
        return {
            "status": "ledger_failed" if failed else "ledger_damaged" if damaged else "ok",
            "version": __version__,
            "demo": self.demo,
            "reader": {"name": self.cfg["reader.name"], "mode": "demo" if self.demo else "live", "busy": busy is not None},
            "trust_store": self.trust_summary(),
            "ledger": {
                "device_id": self.ledger.device_id,
                "head_seq": seq,
                "head_hash": head,
                "checkpoint_seq": cp.seq if cp else None,
                "failed": failed,
                "failed_vi": "Sổ cái ghi thất bại, ngừng nhận giao dịch mới: kiểm tra ổ đĩa rồi khởi động lại dịch vụ" if failed else None,
                "failed_message": "The ledger failed to write and takes no new contracts: check the disk, then restart the service"
                                  if failed else None,
                "recovered_after_failure": self.ledger.recovered_after_failure,
                "damaged": damaged,
            },
            "sync": {k: v for k, v in self.ledger.sync_state().items() if k in ("acked_seq", "pending", "last_success", "last_error")},
        }

    watcher: Any = None
    qr_watch: Any = None  # verifier.api.qr_watch.QrWatch (camera.qr_watch): a card's QR on the camera starts the scan
    relay: Any = None  # sync.relay.RelayHandle when a police backend is enrolled

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    def committed(self, entries: list[EntryRef]) -> None:
        """The ledger's on-commit listener (:meth:`Ledger.on_commit`): once entries are durable, announce
        each contract and event on the event stream and wake the sync relay (no personal data in either)."""
        for e in entries:
            if e.type == "pawn_contract":
                self.bus.publish("transaction_created", {"id": e.txn_id, "contract_no": e.contract_no, "demo": e.demo, "seq": e.seq})
            elif e.type == "shop_profile":
                self.bus.publish("shop_profile", {"seq": e.seq})
            elif e.kind == "event" and e.txn_id is not None and not (e.type or "").startswith("police_"):
                # police_* entries go out as `police_message` (verifier/api/police.py)
                self.bus.publish("transaction_event", {"id": e.txn_id, "type": e.type, "seq": e.seq})
        self.wake_relay()

    sync_supervisor: Any = None  # sync.relay.RelaySupervisor: starts the relay when an enrolment appears

    def relay_changed(self, handle: Any) -> None:
        self.relay = handle

    def sync_status(self) -> dict:
        """``GET /api/v1/sync``: re-checks the enrolment and ``[sync]`` settings first, so a ``chipid sync
        enroll`` done while the service runs is picked up here at the latest (issue 17 item 8)."""
        from sync.relay import sync_status

        if self.sync_supervisor is not None:
            self.sync_supervisor.check()
        return sync_status(self.ledger, self.relay.relay if self.relay is not None else None)

    def close(self) -> None:
        if self.sync_supervisor is not None:
            try:
                self.sync_supervisor.stop(5.0)
            except Exception:  # noqa: BLE001 - shutting down: close the ledger regardless
                log.warning("sync relay did not stop cleanly", exc_info=True)
            self.relay = None
        if self.relay is not None:
            try:
                self.relay.stop(5.0)
            except Exception:  # noqa: BLE001 - shutting down: close the ledger regardless
                log.warning("sync relay did not stop cleanly", exc_info=True)
        if self.qr_watch is not None:
            self.qr_watch.stop(5.0)  # lets go of the camera
        if self.watcher is not None:
            try:
                self.watcher.stop(2.0)
            except Exception:  # noqa: BLE001 - shutting down: close the ledger regardless
                log.warning("card watcher did not stop cleanly", exc_info=True)
        self.ledger.close()
        self.users.close()


def _retention_loop(service: Service, stop: threading.Event) -> None:
    while not stop.wait(3600):
        try:
            n = service.book.purge_photos(service.cfg["privacy.face_retention_days"])
            if n:
                log.info("purged %d face images past privacy.face_retention_days", n)
        except Exception:  # noqa: BLE001
            log.exception("face image purge failed")


def _watch_cards(bus: EventBus):
    """Publish ``card_inserted`` / ``card_removed`` for every PC/SC reader (a tap reaches the page without polling).

    The watcher thread waits out a missing or restarting pcscd itself.
    """
    from drivers.pcsc_watch import CardWatcher

    def on_event(event) -> None:
        bus.publish(f"card_{event.kind}", {"reader": event.reader})

    return CardWatcher(on_event, initial=False).start()


def create_app(
    cfg: Any,
    *,
    runner: Runner | None = None,
    face: FaceService | None = None,
    demo: bool | None = None,
    users: UserStore | None = None,
    start_sync: bool = True,
    announce: Callable[[str], None] | None = None,
    close_on_shutdown: bool = False,
    watch_camera: bool = False,
) -> FastAPI:
    """The counter service's ASGI app. ``close_on_shutdown``: the server's lifespan shutdown closes the
    service (``chipid serve``, where it signs the ledger head); in-process clients that run a lifespan per
    request (schemathesis) keep it open. ``watch_camera``: with ``camera.qr_watch`` on, watch the counter
    camera for a card's QR code (``chipid serve``; an in-process app asks for it)."""
    ledger = open_ledger(cfg)
    book = PawnBook.from_config(ledger, cfg)
    users = users or UserStore.from_config(cfg)
    first = users.ensure_admin()
    if first is not None:
        message = (f"first start: created user 'admin' (role admin) with the one-time password {first['password']}"
                   " (shown only now; create users with `chipid user add`)")
        # a credential: shown to the operator, never written to the log
        (announce or (lambda m: print(m, file=sys.stderr, flush=True)))(message)
    bus = EventBus()
    # demo mode: the emulator is configured, or ``auto`` finds no reader
    is_demo = demo_mode(cfg) if demo is None else demo
    if is_demo:
        # Decided once at start-up: every scan of this process reads the emulated card, even if
        # a (virtual) reader shows up later, so the DEMO banner and the data always agree.
        cfg = cfg.with_overrides(reader__name="emulator")
    service = Service(
        cfg=cfg, ledger=ledger, book=book, users=users,
        scans=ScanRegistry(cfg, bus, runner, ttl_s=60.0 * cfg["privacy.scan_ttl_minutes"],
                           challenge=lambda scan_id: challenge_inputs(ledger.device_id, scan_id, *ledger.head())),
        bus=bus, face=face or FaceService(cfg, is_demo), demo=is_demo,
    )
    ledger.on_commit(service.committed)  # contracts and events reach the event stream and the relay from the ledger
    book.purge_photos(cfg["privacy.face_retention_days"])
    if not is_demo and (cfg["reader.name"] == "auto" or cfg["reader.name"].startswith("pcsc")):
        service.watcher = _watch_cards(bus)
    if start_sync:
        try:
            from sync.relay import RelaySupervisor

            # the relay starts now if enrolled, or later when `chipid sync enroll` records an enrolment
            service.sync_supervisor = RelaySupervisor(ledger, cfg, on_change=service.relay_changed).start()
        except Exception as e:  # noqa: BLE001 - the counter works offline; sync reports its own errors
            log.warning("sync relay not started: %s", e)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        # a clean shutdown closes the service, and Ledger.close signs the ledger head
        if close_on_shutdown:
            await asyncio.to_thread(service.close)

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        title="chipid counter service",
        version=__version__,
        description="Reads and verifies chipped CCCD cards, records pawn contracts in a tamper-evident ledger. "
        "Errors always have the shape {\"error\": {\"code\", \"message\", \"details\"}}. "
        "Authenticate with `Authorization: Bearer <token>` (integrators) or the session cookie of the web pages.",
    )
    app.state.svc = service
    api_errors.install(app)
    from verifier.api import camera_qr, docs, event_stream, item_photos, metrics, people, police, routes, web

    app.include_router(routes.router)
    app.include_router(event_stream.router)
    from verifier.api import money

    app.include_router(money.router)  # GET /transactions/{id}/quote: a money event's amounts (README "Money")
    camera_qr.install(app)  # POST /scans/from-camera: the card's QR read by the counter camera
    item_photos.install(app)  # POST /scans/{id}/item-photo: items' photos, held with the scan until the contract
    people.install(app)
    police.install(app)  # police holds and notices at the counter (verifier/api/police.py)
    metrics.install(app)
    web.install(app)
    docs.install(app)
    from verifier.api import reports

    reports.install(app)  # due lists, cash book, day report, pawn register, customer files (verifier/api/reports.py)
    from verifier.api import receipt, settings_page

    app.include_router(receipt.router)  # receipts of money entries, A5 / 80 mm (issue 18)
    settings_page.install(app)  # the shop profile: GET/PUT /api/v1/shop, /settings, the counter's setup banner

    stop = threading.Event()
    app.state.stop = stop
    threading.Thread(target=_retention_loop, args=(service, stop), name="retention", daemon=True).start()
    if cfg["trust.auto_refresh"] and not is_demo:
        from verifier.trust_download import refresh_loop

        threading.Thread(target=refresh_loop, args=(cfg, stop, service.refreshed), name="trust-refresh", daemon=True).start()
    if watch_camera and cfg["camera.qr_watch"]:
        from verifier.api.qr_watch import QrWatch

        service.qr_watch = QrWatch(service).start()  # waits out a missing camera itself

    return app

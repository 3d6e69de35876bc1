"""The optional alert webhook (issue 19 item 3): every new or counted-up alert POSTed as JSON to
``backend.alert_webhook_url``, signed, from a thread of its own (ingest never waits for it).

Body: ``{"event": "alert", "delivery": ID, "sent_at": UTC, "alert": {...}}`` where ``alert`` is
what ``GET /api/v1/alerts`` lists (kind, rule, text {vi, en}, links, shop...). Headers:
``X-Chipid-Signature: sha256=<hex>``, the HMAC-SHA256 (RFC 2104) of the exact body bytes under
the secret in the environment variable named by ``backend.alert_webhook_secret_env``;
``X-Chipid-Delivery: ID`` (the alert's stream id: the same alert counted up is a new delivery).
The receiver checks the signature over the raw body before parsing it, and drops a delivery id it
has seen: delivery is at least once. A failed POST (no answer, or not 2xx) is retried with
exponential back-off (1 s doubling up to ``MAX_BACKOFF_S``) until it succeeds; later alerts wait
behind it, in order. Where the sender got to is kept in ``alert_cursors`` (name ``webhook``), so
a restart goes on from there; a first start begins with the alerts raised from then on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sync.backend.alerts import alerts_after, event_id
from sync.backend.db import Database
from verifier.errors import ConfigError
from verifier.ledger.entry import utc_now

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Chipid-Signature"
DELIVERY_HEADER = "X-Chipid-Delivery"
CURSOR = "webhook"
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: bytes
    interval_s: float = 1.0
    timeout_s: float = 10.0
    backoff_base_s: float = 1.0

    @classmethod
    def from_config(cls, cfg: Any) -> "WebhookSettings | None":
        """None when ``backend.alert_webhook_url`` is empty; a :class:`ConfigError` without its secret."""
        url = (cfg["backend.alert_webhook_url"] or "").strip()
        if not url:
            return None
        env = cfg["backend.alert_webhook_secret_env"]
        secret = os.environ.get(env, "")
        if not secret:
            raise ConfigError(f"backend.alert_webhook_url is set but the environment variable {env} "
                              "(backend.alert_webhook_secret_env) holding its HMAC secret is empty or unset")
        return cls(url, secret.encode("utf-8"))


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def body_of(alert: dict) -> bytes:
    return json.dumps({"event": "alert", "delivery": event_id(alert), "sent_at": utc_now(), "alert": alert},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookSender:
    """The thread that delivers alerts to the webhook, in order, each until it is taken."""

    def __init__(self, db: Database, settings: WebhookSettings) -> None:
        self.db, self.settings = db, settings
        self._stop = threading.Event()
        self._seen: dict[str, None] = {}
        self._thread = threading.Thread(target=self._run, name="chipid-alert-webhook", daemon=True)
        self.delivered = 0

    def start(self) -> "WebhookSender":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _cursor(self) -> str:
        with self.db.write() as conn:
            row = conn.execute(text("SELECT value FROM alert_cursors WHERE name = :n"), {"n": CURSOR}).first()
            if row:
                return row[0]
            start = f"{utc_now()}~~~0"
            conn.execute(text("INSERT INTO alert_cursors (name, value) VALUES (:n, :v) ON CONFLICT (name) DO NOTHING"),
                         {"n": CURSOR, "v": start})
            return conn.execute(text("SELECT value FROM alert_cursors WHERE name = :n"), {"n": CURSOR}).scalar()

    def _save(self, value: str) -> None:
        with self.db.write() as conn:
            conn.execute(text("UPDATE alert_cursors SET value = :v WHERE name = :n"), {"n": CURSOR, "v": value})

    def _post(self, client: httpx.Client, alert: dict) -> bool:
        """POST one alert until it is taken (or the sender stops); True when taken."""
        body = body_of(alert)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.settings.secret, body),
                   DELIVERY_HEADER: event_id(alert)}
        delay = self.settings.backoff_base_s
        while not self._stop.is_set():
            try:
                r = client.post(self.settings.url, content=body, headers=headers)
                if 200 <= r.status_code < 300:
                    return True
                log.warning("alert webhook answered %s; retrying in %.0f s", r.status_code, delay)
            except httpx.HTTPError as e:
                log.warning("alert webhook unreachable (%s); retrying in %.0f s", e.__class__.__name__, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
        return False

    def _run(self) -> None:
        cursor = None
        with httpx.Client(timeout=self.settings.timeout_s) as client:
            while not self._stop.is_set():
                try:
                    if cursor is None:
                        cursor = self._cursor()
                        first = True
                    with self.db.read() as conn:
                        batch = alerts_after(conn, self.db.vault, cursor, seen=self._seen, strict=first, limit=100)
                    first = False
                    for alert in batch:
                        if not self._post(client, alert):
                            return
                        self.delivered += 1
                        cursor = event_id(alert)
                        self._seen[cursor] = None
                        self._save(cursor)
                    while len(self._seen) > 5000:
                        self._seen.pop(next(iter(self._seen)))
                except SQLAlchemyError as e:
                    log.warning("alert webhook: database unavailable (%s)", e.__class__.__name__)
                except Exception:  # noqa: BLE001 - keep delivering
                    log.exception("alert webhook pass failed")
                self._stop.wait(self.settings.interval_s)

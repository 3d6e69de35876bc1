"""The outbox relay: delivers the shop ledger to the police backend, at least once, in order.

* **Where to resume** is never guessed: on (re)start the relay asks the backend where the
  device's stored chain ends (``GET /api/v1/devices/{id}/head``), checks that hash against
  its own ledger, and continues from there. An acknowledgement is recorded in the ledger
  (``record_sync``) only after the backend committed, so a crash or reboot at any point
  re-sends at most one batch, which the backend recognises (idempotent ingest).
* **Batches** of ``sync.batch_size`` entries, signed with the device key, gzip'd, carrying the
  latest checkpoint; the batch that empties the backlog carries a fresh checkpoint of its
  last entry, so everything delivered is anchored by a signature.
* **Suspicious events jump the queue**: a ``suspicious`` event further back than the next
  batch is first sent alone in a *priority* batch (the backend alerts at once) and later
  again in chain order.
* **Backoff and recovery** (issue 19 item 6): after a failed attempt the relay waits, with full
  jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"), up to a ceiling that doubles
  per failed *attempt* from ``sync.backoff_base_s`` to ``sync.backoff_max_s``. New entries
  committed meanwhile do not wake it: a wake during backoff is neither an attempt nor a failure,
  so a busy counter cannot push the delay to the cap. When the backend could not be reached (not
  when it refused the content), the ceiling is also kept under half of how long the backend has
  been unreachable, and never under ``sync.backoff_base_s``: the relay probes a backend that just
  went away every second or so (each attempt after a failure starts with the cheap head query,
  ``GET /api/v1/devices/{id}/head``, and goes on with the batches as soon as it answers), while a
  backend that keeps failing is tried less and less often, up to the cap. A refused batch (fork,
  conflict, bad key) is retried at the plain exponential pace after being reported, so the shop
  needs no intervention once the cause is fixed.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sync import batch as batch_mod
from sync.client import BackendClient, Reply
from sync.enrollment import load_enrollment
from verifier.errors import ChipidError, ConfigError, SyncError
from verifier.ledger.entry import GENESIS, utc_now

log = logging.getLogger(__name__)

PRIORITY_PEEK = 20
#: after an unreachable backend, the next attempt comes within this share of the outage so far
PROBE_SHARE = 0.5
#: HTTP timeout of the head query that probes a backend after a failure (seconds; at most sync.timeout_s)
PROBE_TIMEOUT_S = 5.0


class DeliveryError(SyncError):
    """One delivery attempt failed; ``permanent`` when the backend refused the content itself."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message, step="sync")
        self.permanent = permanent


@dataclass(frozen=True)
class RelaySettings:
    backend_url: str
    cert_sha256: str = ""
    batch_size: int = 500
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    interval_s: float = 5.0
    timeout_s: float = 30.0
    shop_id: str = ""            # from the enrolment
    downlink_key: str = ""       # the backend's downlink key pinned at enrolment ("": enrolled before it, no downlink)

    @classmethod
    def from_config(cls, config: Any, data_dir: Path) -> "RelaySettings":
        enrollment = load_enrollment(data_dir) or {}
        url = config["sync.backend_url"] or enrollment.get("backend_url", "")
        if not url:
            raise ConfigError("no police backend configured: set sync.backend_url or run `chipid sync enroll`")
        pin = config["sync.backend_cert_sha256"] or enrollment.get("cert_sha256", "")
        size = int(config["sync.batch_size"])
        if not 1 <= size <= batch_mod.MAX_ENTRIES:
            raise ConfigError(f"sync.batch_size: expected 1-{batch_mod.MAX_ENTRIES}, found {size}")
        return cls(url, pin, size, float(config["sync.backoff_base_s"]), float(config["sync.backoff_max_s"]),
                   float(config["sync.interval_s"]), float(config["sync.timeout_s"]),
                   str(enrollment.get("shop_id") or ""), str(enrollment.get("downlink_public_key") or ""))


def retry_ceiling(failures: int, base: float, cap: float, down_s: float = math.inf) -> float:
    """The longest wait before the next attempt after ``failures`` failed attempts in a row:
    ``min(cap, base * 2**(failures-1))``, and, for a backend unreachable for ``down_s`` seconds,
    at most ``max(base, down_s * PROBE_SHARE)`` (pass ``math.inf`` for a refusal: plain backoff).
    A backend down for a second is probed about every ``base`` seconds; one that keeps failing
    reaches the cap once it has been down for ``cap / PROBE_SHARE`` seconds."""
    if failures <= 0:
        return 0.0
    ceiling = min(cap, base * (2 ** min(failures - 1, 30)))
    return min(ceiling, max(base, down_s * PROBE_SHARE))


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random | None = None,
                  down_s: float = math.inf) -> float:
    """Full jitter: uniform(0, :func:`retry_ceiling`)."""
    ceiling = retry_ceiling(failures, base, cap, down_s)
    return (rng or random).uniform(0, ceiling) if ceiling else 0.0


def _after(ts: str) -> str:
    t = datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(microseconds=1)
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Relay:
    """Delivers one ledger. Not thread-safe by itself: one relay per ledger (see :func:`start_relay`)."""

    def __init__(self, ledger: Any, settings: RelaySettings, client: BackendClient | None = None, *,
                 clock: Any = time.monotonic, rng: random.Random | None = None) -> None:
        self.ledger = ledger
        self.settings = settings
        self.client = client or BackendClient(settings.backend_url, settings.cert_sha256, settings.timeout_s)
        self._cursor: int | None = None   # last seq the backend holds (None: ask it)
        self._prev_hash = GENESIS
        self._last_sent_at: str | None = None
        self.failures = 0
        self.last_error: str | None = None
        self.last_success: str | None = None
        self.delivered = 0
        self._checked_stale_error = False
        self._clock = clock
        self._rng = rng or random.Random()
        self._down_since: float | None = None  # clock() at the first failure in a row
        self._refused = False                  # the last failure was a refusal of the content
        self.retry_ceiling_s = 0.0             # the ceiling the current wait was drawn under
        self.next_attempt: str | None = None   # UTC time of the next attempt while backing off
        self.wakes_ignored = 0                 # new entries announced while backing off
        self.failed_attempts = 0               # since start, for the log and the tests
        self.inbox = None                      # sync.downlink_apply.Inbox once the backend key is pinned
        self.downlink_error: str | None = None  # the last failed fetch of police messages or photo upload
        if settings.downlink_key and settings.shop_id:
            from sync.downlink_apply import Inbox

            self.inbox = Inbox(ledger, self.client, shop_id=settings.shop_id, public_key=settings.downlink_key)

    def close(self) -> None:
        self.client.close()

    # --- one step at a time -----------------------------------------------------------
    def _sent_at(self) -> str:
        now = utc_now()
        if self._last_sent_at and now <= self._last_sent_at:
            now = _after(self._last_sent_at)  # shop clock went back: keep batches ordered
        self._last_sent_at = now
        return now

    def _resync(self) -> None:
        """Ask the backend where this device's chain ends and check it against the ledger."""
        probe = min(self.settings.timeout_s, PROBE_TIMEOUT_S) if self.failures else None
        reply = self.client.head(self.ledger.device_id, timeout=probe)
        if reply.status_code == 404:
            raise DeliveryError("this device is not enrolled at the backend: run `chipid sync enroll`", permanent=True)
        if reply.status_code != 200:
            raise DeliveryError(f"backend answered HTTP {reply.status_code} to the head query: {reply.body.get('detail')}")
        try:
            seq, head_hash = int(reply.body["head_seq"]), str(reply.body["head_hash"])
        except (KeyError, TypeError, ValueError) as e:
            raise DeliveryError(f"the backend's head answer is not what a chipid backend sends: {reply.body!r:.200}") from e
        local_seq, _ = self.ledger.head()
        if seq > local_seq:
            raise DeliveryError(f"the backend holds {seq} entries of this device but the ledger only {local_seq}: "
                                "the ledger was reset or restored from an old backup", permanent=True)
        if seq > 0:
            mine = self.ledger.entries(after_seq=seq - 1, limit=1)
            if not mine or mine[0].hash != head_hash:
                raise DeliveryError(f"entry {seq} at the backend differs from the ledger's: the chains forked", permanent=True)
        self._cursor, self._prev_hash = seq, head_hash
        if reply.body.get("last_sent_at"):
            self._last_sent_at = max(self._last_sent_at or "", str(reply.body["last_sent_at"]))
        state = self.ledger.sync_state()
        if seq > int(state.get("acked_seq") or 0):
            self.ledger.record_sync(seq, None)  # acknowledged before a crash, not yet recorded

    def backlog(self) -> int:
        head_seq, _ = self.ledger.head()
        done = self._cursor if self._cursor is not None else int(self.ledger.sync_state().get("acked_seq") or 0)
        return max(0, head_seq - done)

    def _urgent(self) -> list:
        """``suspicious`` events waiting beyond the next batch: they go ahead of the queue."""
        limit_seq = (self._cursor or 0) + self.settings.batch_size
        return [e for e in self.ledger.outbox(limit=PRIORITY_PEEK)
                if e.kind == "event" and isinstance(e.payload, dict) and e.payload.get("type") == "suspicious"
                and e.seq > limit_seq]

    def _send_priority(self, urgent: list | None = None) -> int:
        urgent = self._urgent() if urgent is None else urgent
        if not urgent:
            return 0
        b = batch_mod.build_batch(self.ledger.device_id, urgent, prev_hash=urgent[0].prev_hash, sent_at=self._sent_at(),
                                  backlog=self.backlog(), priority=True)
        reply = self.client.post_batch(batch_mod.encode(b, self.ledger.sign))
        self._check(reply, b)
        self.ledger.ack_entries([e.seq for e in urgent])
        log.info("sent %d suspicious event(s) ahead of the queue", len(urgent))
        return len(urgent)

    def _prepare(self, after_seq: int, prev_hash: str) -> tuple[batch_mod.Batch, bytes] | None:
        """Read, sign and gzip the batch after ``after_seq`` (may run while the previous one is in flight)."""
        entries = self.ledger.entries(after_seq=after_seq, limit=self.settings.batch_size)
        if not entries:
            return None
        head_seq, _ = self.ledger.head()
        last = entries[-1].seq
        cp = self.ledger.latest_checkpoint()
        if last >= head_seq and (cp is None or cp.seq < last):
            cp = self.ledger.checkpoint_at(last)  # anchor the end of the backlog with a signature
        b = batch_mod.build_batch(self.ledger.device_id, entries, prev_hash=prev_hash, checkpoint=cp,
                                  backlog=max(0, head_seq - last), sent_at=self._sent_at())
        return b, batch_mod.encode(b, self.ledger.sign)

    def _deliver(self, b: batch_mod.Batch, wire: bytes) -> int:
        reply = self.client.post_batch(wire)
        self._check(reply, b)
        acked = int(reply.body.get("acked_seq", -1))
        if acked != b.last_seq or reply.body.get("head_hash") != b.head_hash:
            raise DeliveryError(f"backend acknowledged {reply.body} for batch {b.first_seq}-{b.last_seq}")
        self.ledger.record_sync(acked, None, checkpoint=b.checkpoint)  # only now: the backend has committed
        self._cursor, self._prev_hash = acked, b.head_hash
        self.delivered += len(b.entries)
        return len(b.entries)

    def step(self) -> int:
        """Send one batch (after any urgent events). Returns the number of chain entries acknowledged, 0 when idle."""
        if self._cursor is None:
            self._resync()
        self._send_priority()
        prepared = self._prepare(self._cursor, self._prev_hash)
        return self._deliver(*prepared) if prepared else 0

    def _drain_pipelined(self, stop: threading.Event | None) -> int:
        """Like repeated :meth:`step`, but the next batch is read and signed while the current one
        is in flight. Batches are still sent one at a time, in order, each after the previous ack."""
        from concurrent.futures import ThreadPoolExecutor

        if self._cursor is None:
            self._resync()
        self._send_priority()
        sent = 0
        with ThreadPoolExecutor(1, thread_name_prefix="chipid-relay-prepare") as pool:
            nxt = pool.submit(self._prepare, self._cursor, self._prev_hash)
            while stop is None or not stop.is_set():
                prepared = nxt.result()
                if prepared is None:
                    break
                b, wire = prepared
                nxt = pool.submit(self._prepare, b.last_seq, b.head_hash)
                try:
                    sent += self._deliver(b, wire)
                except BaseException:
                    nxt.cancel()
                    raise
                urgent = self._urgent()
                if urgent:  # the prefetched batch is older than the priority batch: prepare it again
                    nxt.result()
                    self._send_priority(urgent)
                    nxt = pool.submit(self._prepare, self._cursor, self._prev_hash)
        return sent

    def _check(self, reply: Reply, b: batch_mod.Batch) -> None:
        if reply.status_code == 200:
            return
        reason = reply.body.get("reason") or ""
        detail = reply.body.get("detail") or ""
        if reason == "gap" or reason == "replay":
            # The backend lost entries (restored backup) or our clock went back: resync and retry.
            self._cursor = None
            if reply.body.get("last_sent_at"):
                self._last_sent_at = max(self._last_sent_at or "", str(reply.body["last_sent_at"]))
            raise DeliveryError(f"backend refused batch {b.first_seq}-{b.last_seq} ({reason}): {detail}; resuming from its head")
        permanent = reply.status_code in (401, 409, 413, 422, 426) or reason in ("fork", "conflict", "signature", "tampered", "checkpoint")
        raise DeliveryError(f"backend refused batch {b.first_seq}-{b.last_seq} (HTTP {reply.status_code} {reason}): {detail}",
                            permanent=permanent)

    # --- loops ------------------------------------------------------------------------
    def drain(self, stop: threading.Event | None = None) -> int:
        """Send until the backlog is empty. Raises :class:`SyncError` on the first failure."""
        try:
            sent = self._drain_pipelined(stop)
        except DeliveryError:
            raise
        except ChipidError as e:
            raise DeliveryError(str(e)) from e
        self._succeeded()
        return sent

    def _succeeded(self) -> None:
        if self.failures or not self._checked_stale_error:
            self._checked_stale_error = True
            if self._cursor is not None and self.ledger.sync_state().get("last_error"):
                self.ledger.record_sync(self._cursor, None)  # delivering again: clear the reported error
        self.failures = 0
        self.last_error = None
        self.last_success = utc_now()
        self._down_since = None
        self.retry_ceiling_s = 0.0
        self.next_attempt = None

    def record_failure(self, e: Exception) -> None:
        self.failures += 1
        self.failed_attempts += 1
        self.last_error = str(e)
        self._refused = bool(getattr(e, "permanent", False))
        if self._down_since is None:
            self._down_since = self._clock()
        self._cursor = None  # ask the backend again where to resume
        try:
            self.ledger.record_sync(None, str(e))
        except ChipidError:  # pragma: no cover - the ledger itself is failing
            log.exception("cannot record the sync error in the ledger")
        # an outage probed every second must not flood the journal: warn at 1, 2, 4, 8... failures in a row
        level = logging.WARNING if self.failures & (self.failures - 1) == 0 else logging.DEBUG
        log.log(level, "delivery to the police backend failed (%d in a row): %s", self.failures, e)

    def retry_delay(self) -> float:
        """Seconds to wait after the failure just recorded (see the module docstring), drawn with full
        jitter; sets :attr:`retry_ceiling_s` and :attr:`next_attempt` for the status."""
        down_s = math.inf if self._refused else max(0.0, self._clock() - (self._down_since or self._clock()))
        self.retry_ceiling_s = retry_ceiling(self.failures, self.settings.backoff_base_s, self.settings.backoff_max_s, down_s)
        delay = self._rng.uniform(0, self.retry_ceiling_s) if self.retry_ceiling_s else 0.0
        at = datetime.now(timezone.utc) + timedelta(seconds=delay)
        self.next_attempt = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return delay

    def attempt(self, stop: threading.Event | None = None) -> tuple[bool, float]:
        """One attempt: deliver the backlog, or record the failure. Returns (delivered, seconds to wait):
        ``sync.interval_s`` after a success (a wake cuts it short), else :meth:`retry_delay` (a wake
        does not)."""
        try:
            self.drain(stop)
        except Exception as e:  # noqa: BLE001 - the relay must survive anything and report it
            self.record_failure(e)
            if getattr(e, "permanent", False):  # the backend answered: police messages still come down
                self.exchange()
            return False, self.retry_delay()
        self.exchange()
        return True, self.settings.interval_s

    def exchange(self) -> None:
        """After a delivery attempt that reached the backend: fetch and apply the police messages
        (:mod:`sync.downlink_apply`), then upload the item photos of delivered contracts
        (:mod:`sync.photo_uplink`). A failure here is reported (:attr:`downlink_error`, the status)
        and never holds up delivery."""
        from sync.photo_uplink import upload

        errors = []
        if self.inbox is not None:
            try:
                self.inbox.fetch()
            except Exception as e:  # noqa: BLE001 - reported, delivery goes on
                errors.append(f"police messages: {e}")
        try:
            upload(self.ledger, self.client)
        except Exception as e:  # noqa: BLE001 - reported, delivery goes on
            errors.append(f"item photos: {e}")
        if errors:
            log.warning("after delivery: %s", "; ".join(errors))
        self.downlink_error = "; ".join(errors) or None

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Deliver forever (until ``stop``). ``wake`` (set on each ledger commit) ends the idle wait at
        once, but not a backoff wait: there it is counted in :attr:`wakes_ignored` and the wait goes on."""
        wake = wake or threading.Event()
        while not stop.is_set():
            ok, delay = self.attempt(stop)
            deadline = self._clock() + delay
            while not stop.is_set():
                left = deadline - self._clock()
                if left <= 0 or not wake.wait(left):
                    break
                wake.clear()
                if ok:
                    break
                self.wakes_ignored += 1
            wake.clear()

    def status(self) -> dict:
        return sync_status(self.ledger, self)


def _ago(ts: str | None, lang: str) -> str:
    if not ts:
        return "chưa bao giờ" if lang == "vi" else "never"
    try:
        secs = (datetime.now(timezone.utc) - datetime.fromisoformat(ts.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return ts
    for unit_s, vi, en in ((86400, "ngày", "day"), (3600, "giờ", "hour"), (60, "phút", "minute")):
        if secs >= unit_s:
            n = int(secs // unit_s)
            return f"{n} {vi} trước" if lang == "vi" else f"{n} {en}{'s' if n > 1 else ''} ago"
    return "vừa xong" if lang == "vi" else "just now"


#: (substring of the relay's English error, what it means in Vietnamese): the last error in words for the clerk
_ERRORS_VI = (
    ("not enrolled at the backend", "máy chủ công an không biết thiết bị này: đăng ký lại bằng `chipid sync enroll`"),
    ("forked", "sổ cái của cửa hàng khác với bản máy chủ công an đang giữ: gọi quản lý"),
    ("reset or restored", "sổ cái đã bị khôi phục từ bản sao lưu cũ: gọi quản lý"),
    ("certificate", "chứng chỉ máy chủ công an không khớp với chứng chỉ đã ghim"),
    ("upgrade_required", "máy chủ công an không còn nhận dữ liệu từ phiên bản chipid cũ này: cửa hàng phải cập nhật chipid"),
    ("refused batch", "máy chủ công an từ chối lô dữ liệu"),
    ("HTTP 5", "máy chủ công an đang lỗi, sẽ gửi lại"),
)


def error_vi(message: str | None) -> str | None:
    """The relay's last error (English, technical) as one Vietnamese sentence for the clerk; anything not
    recognised is a connection problem, which is what almost every other failure of a delivery is."""
    if not message:
        return None
    for needle, vi in _ERRORS_VI:
        if needle in message:
            return vi
    return "không kết nối được máy chủ công an, sẽ thử lại"


def sync_status(ledger: Any, relay: "Relay | None" = None) -> dict:
    """What ``GET /api/v1/sync``, ``chipid sync status`` and the clerk page show, in words (Vietnamese and
    English): whether the shop is enrolled, the backlog, the last success and the last error.

    ``state``: ``not_enrolled`` (no enrolment recorded and no relay running: nothing can have been
    delivered, whatever the backlog says), ``delivered``, ``pending`` or ``failing`` (issue 17 item 8)."""
    state = ledger.sync_state()
    head_seq = int(state.get("head_seq") or 0)
    acked = int(state.get("acked_seq") or 0)
    backlog = relay.backlog() if relay is not None else max(0, head_seq - acked)
    last_success = state.get("last_success")
    last_error = state.get("last_error")
    enrolled = load_enrollment(Path(ledger.data_dir)) if hasattr(ledger, "data_dir") else None
    if not enrolled and relay is None:
        code = "not_enrolled"
        vi = "Chưa đăng ký với công an: sổ cái chưa được gửi đi"
        en = "Not enrolled with the police backend: the ledger is not being delivered"
        if backlog:
            vi += f" ({backlog} bản ghi đang chờ)"
            en += f" ({backlog} entr{'y' if backlog == 1 else 'ies'} waiting)"
        vi += ". Chạy `chipid sync enroll` với mã do công an cấp."
        en += ". Run `chipid sync enroll` with the token the police gave you."
    else:
        code = "failing" if last_error else ("delivered" if backlog == 0 else "pending")
        if backlog == 0:
            vi, en = "Đã gửi đủ sổ cái cho công an.", "The ledger is fully delivered to the police backend."
        else:
            vi = f"Còn {backlog} bản ghi chưa gửi cho công an."
            en = f"{backlog} ledger entr{'y' if backlog == 1 else 'ies'} not yet delivered to the police backend."
        vi += f" Gửi thành công lần cuối: {_ago(last_success, 'vi')}."
        en += f" Last successful delivery: {_ago(last_success, 'en')}."
        if last_error:
            vi += f" Lỗi gần nhất: {error_vi(last_error)}."
            en += f" Last error: {last_error}"
    downlink = downlink_status(enrolled, relay)
    if downlink["summary"]:
        vi += " " + downlink["summary"]["vi"]
        en += " " + downlink["summary"]["en"]
    return {
        "state": code,
        "device_id": state.get("device_id", getattr(ledger, "device_id", None)),
        "enrolled": bool(enrolled),
        "backend_url": (enrolled or {}).get("backend_url") or (relay.settings.backend_url if relay is not None else None),
        "head_seq": head_seq,
        "acked_seq": acked,
        "backlog": backlog,
        "last_success": last_success,
        "last_error": last_error,
        "last_error_vi": error_vi(last_error),
        "last_attempt": state.get("last_attempt"),
        "failures": int(state.get("failures") or 0),
        "next_attempt": relay.next_attempt if relay is not None else None,
        "retry_ceiling_s": relay.retry_ceiling_s if relay is not None else 0.0,
        "running": relay is not None,
        "downlink": downlink,
        "summary": {"vi": vi, "en": en},
    }


def downlink_status(enrolled: dict | None, relay: "Relay | None") -> dict:
    """The police messages part of the sync status: whether the backend key is pinned (a shop enrolled before
    the downlink must enrol again to receive them), the last version applied, the last fetch, a refused message."""
    pinned = bool((enrolled or {}).get("downlink_public_key"))
    inbox = relay.inbox if relay is not None else None
    out = {"pinned": pinned, "applied_version": None, "last_fetch": None, "last_error": None, "refused": None,
           "summary": None}
    if inbox is not None:
        out.update(inbox.status())
        out["last_error"] = relay.downlink_error or out["last_error"]
    if enrolled and not pinned:
        out["summary"] = {"vi": "Thiết bị đăng ký khi chưa có khóa ký của công an: đăng ký lại thiết bị để nhận lệnh từ công an.",
                          "en": "This device was enrolled before the police key existed: enrol it again to receive police messages."}
    elif out["refused"]:
        v = out["refused"]["version"]
        out["summary"] = {"vi": f"Lệnh số {v} từ công an bị từ chối vì chữ ký hoặc nội dung không hợp lệ: gọi quản lý.",
                          "en": f"Police message {v} was refused: its signature or content is not valid. Call the manager."}
    return out


class RelayHandle:
    """A relay running in a daemon thread (inside ``chipid serve``)."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.thread = threading.Thread(target=relay.run, args=(self._stop, self._wake), name="chipid-relay", daemon=True)

    def start(self) -> "RelayHandle":
        self.thread.start()
        return self

    def wake(self) -> None:
        """Call after appending an entry (at once for ``suspicious`` events)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout)
        self.relay.close()

    def status(self) -> dict:
        return sync_status(self.relay.ledger, self.relay)


def start_relay(ledger: Any, config: Any) -> RelayHandle | None:
    """Start the relay for ``chipid serve``; ``None`` when no backend is configured or enrolled."""
    try:
        settings = RelaySettings.from_config(config, Path(ledger.data_dir))
    except ConfigError as e:
        log.info("sync relay not started: %s", e)
        return None
    return RelayHandle(Relay(ledger, settings)).start()


class RelaySupervisor:
    """Keeps a running service's relay in step with its enrolment and its ``sync.*`` settings, without a
    restart (issue 17 item 8): :meth:`check` reads the enrolment record (``chipid sync enroll`` writes it
    while the service runs) and the ``[sync]`` table of the config file the service was started with,
    and starts the relay when a backend appears, restarts it when the backend or a setting changed, and
    stops it when the backend is gone. The service calls :meth:`check` on every status request and a
    watcher thread every ``sync.interval_s`` (at least every 5 s). ``on_change(handle)`` is told the
    relay now running (None: none)."""

    def __init__(self, ledger: Any, config: Any, on_change: Any = None) -> None:
        self.ledger = ledger
        self.config = config
        self.on_change = on_change or (lambda handle: None)
        self.handle: RelayHandle | None = None
        self.settings: RelaySettings | None = None
        self.config_error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._file_state: tuple | None = None
        self._file_values: dict = {}
        self._thread: threading.Thread | None = None

    def _sync_settings(self) -> Any:
        """The service's config with the ``[sync]`` table of its file re-read when the file changed."""
        source = getattr(self.config, "source", None)
        if source is None:
            return self.config
        try:
            st = Path(source).stat()
            key = (st.st_mtime_ns, st.st_size)
        except OSError:
            return self.config.with_overrides(**self._file_values)
        if key != self._file_state:
            from verifier.config import load_config

            try:
                fresh = load_config(source)
                self._file_values = {k: fresh[k] for k in _SYNC_KEYS}
                self.config_error = None
            except ConfigError as e:  # keep the last good values, say why
                self.config_error = str(e)
                log.warning("config file changed but cannot be read, sync settings unchanged: %s", e)
            self._file_state = key
        return self.config.with_overrides(**self._file_values)

    def check(self) -> "RelayHandle | None":
        """Bring the relay in line with the enrolment and settings now; returns the running relay."""
        with self._lock:
            if self._stop.is_set():
                return self.handle
            try:
                settings: RelaySettings | None = RelaySettings.from_config(self._sync_settings(), Path(self.ledger.data_dir))
            except ConfigError as e:
                settings = None
                if self.settings is not None or self.handle is None:
                    log.debug("no sync relay: %s", e)
            if settings == self.settings and (settings is None) == (self.handle is None):
                return self.handle
            if self.handle is not None:
                log.info("sync settings or enrolment changed: restarting the relay")
                self.handle.stop(5.0)
                self.handle = None
            if settings is not None:
                self.handle = RelayHandle(Relay(self.ledger, settings)).start()
                log.info("sync relay started (backend %s)", settings.backend_url)
            self.settings = settings
            handle = self.handle
        self.on_change(handle)
        return handle

    def _watch(self) -> None:
        while not self._stop.wait(min(5.0, max(0.05, float(self.config["sync.interval_s"])))):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watcher must outlive a bad enrolment file
                log.exception("sync relay check failed")

    def start(self) -> "RelaySupervisor":
        self.check()
        self._thread = threading.Thread(target=self._watch, name="chipid-relay-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            if self.handle is not None:
                self.handle.stop(timeout)
                self.handle = None


_SYNC_KEYS = ("sync.backend_url", "sync.backend_cert_sha256", "sync.batch_size", "sync.backoff_base_s",
              "sync.backoff_max_s", "sync.interval_s", "sync.timeout_s")

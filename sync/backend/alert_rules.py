"""Alert rules over all shops (issue 19 item 3), run by a worker thread beside ingest, never in it.

The worker follows each device's chain with a cursor (``alert_rule_cursor``: the last seq it
examined, per device), reads the entries stored since, and for each new contract checks:

* ``serial_two_shops`` (kind ``pattern``): the same serial / IMEI / frame / plate in a contract of
  another shop within ``backend.rule_serial_days`` days before it;
* ``person_items`` (kind ``pattern``): one person (ID number) pawned ``backend.rule_items_n`` or
  more items of one category (phones, motorbikes...) within ``backend.rule_items_days`` days, at
  any shops;
* ``person_shops_day`` (kind ``pattern``): one person at ``backend.rule_shops_k`` or more shops on
  one day (Vietnam local day);

and, every pass, ``shop_silent`` (kind ``silent``): a device that has sent nothing for
``backend.rule_silent_hours`` hours (once per silence: a device that sends again and falls
silent again raises a new one). A rule's alert is raised on the shop of the contract that made
it fire, links that contract, the person and the serial, and is counted up (not repeated) while
open when the same person or item makes it fire again.

Other alerts are raised elsewhere: watchlist hits, suspicious events and the ledger's tamper
alerts at ingest (:mod:`sync.backend.ingest`), contracts the backend could not verify by the
evidence worker (``evidence_*``).

The rules read and judge in a read transaction; the cursor then moves in one short write
transaction with the alerts it led to, conditionally on where it was, so two backend processes
never raise one rule's alert twice and ingest waits for no rule.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sync.backend import worker_lock
from sync.backend.alerts import raise_alert
from sync.backend.db import Database
from sync.backend.index import contract_ref
from sync.backend.investigate import ENTRY_SQL, ShopInfo, entry_row, keys_of, contract_links, keyed_entries
from verifier.ledger.entry import utc_now
from verifier.local_time import VN_TZ, parse_utc

if TYPE_CHECKING:
    from sync.backend.webhook import WebhookSettings

log = logging.getLogger(__name__)

_UTC = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds of the rules (``backend.rule_*``) and the worker's pace."""

    enabled: bool = True
    interval_s: float = 5.0
    serial_days: int = 90
    items_n: int = 3
    items_days: int = 7
    shops_k: int = 3
    silent_hours: float = 48.0
    batch: int = 500

    @classmethod
    def from_config(cls, cfg: Any) -> "RuleSettings":
        return cls(enabled=cfg["backend.rules_enabled"], interval_s=float(cfg["backend.rule_interval_s"]),
                   serial_days=int(cfg["backend.rule_serial_days"]), items_n=int(cfg["backend.rule_items_n"]),
                   items_days=int(cfg["backend.rule_items_days"]), shops_k=int(cfg["backend.rule_shops_k"]),
                   silent_hours=float(cfg["backend.rule_silent_hours"]))


def _utc(t) -> str:
    return t.astimezone(timezone.utc).strftime(_UTC)


def run_pass(db: Database, rules: RuleSettings) -> int:
    """One pass: up to ``rules.batch`` new entries per device examined, silent devices checked.
    Returns how many entries were examined."""
    examined = 0
    with db.read() as conn:
        todo = conn.execute(text(
            "SELECT d.shop_id, d.device_id, d.head_seq, c.seq AS done FROM devices d LEFT JOIN alert_rule_cursor c "
            "ON c.shop_id = d.shop_id AND c.device_id = d.device_id WHERE d.head_seq > COALESCE(c.seq, 0) "
            "ORDER BY d.shop_id, d.device_id")).mappings().all()
    for dev in todo:
        examined += _device_pass(db, rules, dev["shop_id"], dev["device_id"], int(dev["done"] or 0), dev["done"] is None)
    check_silent(db, rules)
    return examined


def _device_pass(db: Database, rules: RuleSettings, shop_id: str, device_id: str, done: int, fresh: bool) -> int:
    """Read and judge in a read transaction; raise the alerts and move the cursor in one short write."""
    vault = db.vault
    found: list[dict] = []
    with db.read() as conn:
        rows = conn.execute(text(ENTRY_SQL + " WHERE e.shop_id = :s AND e.device_id = :d AND e.seq > :done "
                                 "ORDER BY e.seq LIMIT :n"),
                            {"s": shop_id, "d": device_id, "done": done, "n": rules.batch}).mappings().all()
        if not rows:
            return 0
        shops = ShopInfo(conn, vault)
        for r in rows:
            if r["kind"] == "transaction":
                found += check_contract(conn, db, rules, entry_row(vault, r), shops)
    last = int(rows[-1]["seq"])
    with db.write() as conn:
        if fresh:
            moved = conn.execute(text("INSERT INTO alert_rule_cursor (shop_id, device_id, seq) VALUES (:s, :d, :q) "
                                      "ON CONFLICT (shop_id, device_id) DO NOTHING"),
                                 {"s": shop_id, "d": device_id, "q": last}).rowcount
        else:
            moved = conn.execute(text("UPDATE alert_rule_cursor SET seq = :q WHERE shop_id = :s AND device_id = :d AND seq = :old"),
                                 {"s": shop_id, "d": device_id, "q": last, "old": done}).rowcount
        if moved == 1:  # else another process took these entries
            for spec in found:
                raise_alert(conn, vault, **spec)
    return len(rows)


def check_contract(conn, db: Database, rules: RuleSettings, entry: dict, shops: ShopInfo) -> list[dict]:
    """The cross-shop rules for one contract entry: the alerts to raise (:func:`raise_alert`'s keyword arguments)."""
    vault = db.vault
    keys = keys_of(entry["payload"])
    person_id = dict((k, v) for k, v in reversed(keys)).get("id")
    serials = [v for k, v in keys if k == "serial"]
    links = contract_links(vault, entry)
    ts = parse_utc(entry["ts"])
    raised: list[dict] = []
    shop, dev = entry["shop_id"], entry["device_id"]
    contract_no = links["contract"]["contract_no"]

    def alert(kind: str, rule: str, dedupe: str, data: dict, extra_links: dict | None = None) -> None:
        raised.append({"shop_id": shop, "device_id": dev, "kind": kind, "seq": entry["seq"], "detail": f"{rule}|{dedupe}",
                       "rule": rule, "data": {**data, "contract_no": contract_no}, "links": {**links, **(extra_links or {})}})

    for serial in serials:
        since = _utc(ts - timedelta(days=rules.serial_days))
        others = [o for o in keyed_entries(conn, db, vault, [("serial", serial)], kind="transaction", since=since,
                                           until=entry["ts"], limit=50) if o["shop_id"] != shop]
        if others:
            o = others[-1]
            other_shop = shops.get(o["shop_id"])
            alert("pattern", "serial_two_shops", f"{serial}|{o['shop_id']}",
                  {"serial": serial, "other_shop_id": o["shop_id"], "other_shop_name": other_shop["name"],
                   "other_device_id": o["device_id"], "other_seq": o["seq"], "other_contract_no": o["contract_no"],
                   "other_txn_id": contract_ref(o["payload"]), "other_ts": o["ts"]}, {"serial": serial})
    if not person_id:
        return raised
    pawner = entry["payload"].get("pawner") if isinstance(entry["payload"].get("pawner"), dict) else {}
    who = {"id_number": person_id, "full_name": pawner.get("full_name")}
    # N or more items of one category within D days
    since = _utc(ts - timedelta(days=rules.items_days))
    history = keyed_entries(conn, db, vault, [("id", person_id)], kind="transaction", since=since, until=entry["ts"],
                            limit=1000)
    mine = {_category(i) for i in _items(entry["payload"])} - {None}
    per_category: Counter = Counter()
    for h in history:
        for item in _items(h["payload"]):
            per_category[_category(item)] += 1
    for category in sorted(mine):
        if per_category[category] >= rules.items_n:
            alert("pattern", "person_items", f"{person_id}|{category}",
                  {**who, "category": category, "count": per_category[category], "days": rules.items_days,
                   "threshold": rules.items_n})
    # K or more shops on one (Vietnam) day
    local = ts.astimezone(VN_TZ)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = keyed_entries(conn, db, vault, [("id", person_id)], kind="transaction", since=_utc(day_start),
                        until=entry["ts"], limit=1000)  # that day up to this contract: the K-th shop fires
    day_shops = list(dict.fromkeys(d["shop_id"] for d in day))
    if len(day_shops) >= rules.shops_k and shop in day_shops:
        alert("pattern", "person_shops_day", f"{person_id}|{day_start.date().isoformat()}",
              {**who, "count": len(day_shops), "date": day_start.strftime("%d/%m/%Y"), "threshold": rules.shops_k,
               "shops": [{"shop_id": s, "name": shops.get(s)["name"]} for s in day_shops]})
    return raised


def _items(payload: dict) -> list[dict]:
    items = payload.get("items")
    return [i for i in items[:100] if isinstance(i, dict)] if isinstance(items, list) else []


def _category(item: dict) -> str | None:
    c = item.get("category")
    return c.strip().lower()[:40] if isinstance(c, str) and c.strip() else None


def check_silent(db: Database, rules: RuleSettings) -> list[str]:
    """``shop_silent`` for each device that has sent before and nothing for ``rules.silent_hours``."""
    now = parse_utc(utc_now())
    cutoff = _utc(now - timedelta(hours=rules.silent_hours))
    raised = []
    with db.read() as conn:
        quiet = conn.execute(text("SELECT shop_id, device_id, last_sync_at FROM devices WHERE last_sync_at IS NOT NULL "
                                  "AND last_sync_at < :c"), {"c": cutoff}).all()
    if not quiet:
        return raised
    with db.write() as conn:
        for shop, dev, last in quiet:
            hours = rules.silent_hours
            raised.append(raise_alert(conn, db.vault, shop_id=shop, device_id=dev, kind="silent", rule="shop_silent",
                                      detail=f"shop_silent|{dev}|{last}",
                                      data={"device_id": dev, "last_sync_at": last,
                                            "hours": int(hours) if hours == int(hours) else hours},
                                      links={"shop_id": shop}))
    return raised


class RulesWorker:
    """The thread that runs :func:`run_pass` every ``rules.interval_s`` seconds."""

    def __init__(self, db: Database, rules: RuleSettings) -> None:
        self.db, self.rules = db, rules
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chipid-alert-rules", daemon=True)

    def start(self) -> "RulesWorker":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        """Holds the database's alert-rules lock while it runs passes (one backend process of several reads
        and judges; the cursor's compare-and-set keeps a rule's alert single even without it)."""
        failures = 0
        while not self._stop.is_set():
            try:
                with worker_lock.exclusive(self.db, worker_lock.ALERT_RULES) as mine:
                    if not mine:
                        self._stop.wait(max(self.rules.interval_s, 1.0))
                        continue
                    while not self._stop.is_set():
                        busy = run_pass(self.db, self.rules)
                        failures = 0
                        # more to read: go on at once; otherwise wait
                        self._stop.wait(0 if busy >= self.rules.batch else self.rules.interval_s)
                continue
            except SQLAlchemyError as e:
                failures += 1
                (log.warning if failures in (1, 10, 100) else log.debug)(
                    "alert rules pass failed in the database (%s); retrying", e.__class__.__name__)
            except Exception:  # noqa: BLE001 - a rule's bug must not stop the others for good
                failures += 1
                log.exception("alert rules pass failed")
            # after a failure: wait longer the more there were (the lock is let go meanwhile)
            self._stop.wait(self.rules.interval_s * min(2 ** min(failures, 6), 60))


def start_workers(db: Database, rules: RuleSettings | None, webhook: "WebhookSettings | None") -> list:
    """Start the rules worker (unless ``rules`` is None or disabled) and the webhook sender (when
    configured); each has ``stop()``."""
    from sync.backend.webhook import WebhookSender

    workers: list = []
    if rules is not None and rules.enabled:
        workers.append(RulesWorker(db, rules).start())
    if webhook is not None:
        workers.append(WebhookSender(db, webhook).start())
    return workers


def settings_from_config(cfg: Any) -> dict:
    """``create_app``'s ``rules`` and ``webhook`` from the settings."""
    from sync.backend.webhook import WebhookSettings

    return {"rules": RuleSettings.from_config(cfg), "webhook": WebhookSettings.from_config(cfg)}

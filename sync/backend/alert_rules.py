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
never raise one rule's alert twice and ingest waits for no rule. A pass first merges the key
index's pending list on PostgreSQL (:func:`_merge_key_index`), then reads a device's next entries
and the contracts they are compared with in two key searches for the lot (:func:`check_contracts`),
in a thread of the lowest CPU priority that waits before each device while ingest keeps the cores
busy (:mod:`sync.backend.foreground`). Measured on PostgreSQL catching up with 40,000 entries of
the shop-ledger mix (``benchmarks/bench_sync.py --only rules``): 9,379 entries/s, 93 µs of the
backend's CPU and 14 µs of PostgreSQL's per entry, against 420 entries/s (875 and 1,502 µs) with
three searches per contract and 2,508/s (95 and 303 µs) with two per chunk but the pending list
unmerged.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sync.backend import worker_lock
from sync.backend.alerts import raise_alert
from sync.backend.db import Database
from sync.backend.foreground import CpuGate
from sync.backend.index import contract_ref
from sync.backend.investigate import ENTRY_SQL, ShopInfo, entry_row, keys_of, contract_links
from sync.backend.schema import has_keys
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


def run_pass(db: Database, rules: RuleSettings, before_device: Callable[[], object] | None = None) -> int:
    """One pass: up to ``rules.batch`` new entries per device examined, silent devices checked.
    ``before_device``: called before each device's entries are read (the worker thread's
    :meth:`~sync.backend.foreground.CpuGate.wait`). Returns how many entries were examined."""
    examined = 0
    with db.read() as conn:
        todo = conn.execute(text(
            "SELECT d.shop_id, d.device_id, d.head_seq, c.seq AS done FROM devices d LEFT JOIN alert_rule_cursor c "
            "ON c.shop_id = d.shop_id AND c.device_id = d.device_id WHERE d.head_seq > COALESCE(c.seq, 0) "
            "ORDER BY d.shop_id, d.device_id")).mappings().all()
    if todo:  # a pass with entries to examine searches the key index (an idle one writes nothing)
        _merge_key_index(db)
    for dev in todo:
        if before_device is not None:
            before_device()
        examined += _device_pass(db, rules, dev["shop_id"], dev["device_id"], int(dev["done"] or 0), dev["done"] is None)
    check_silent(db, rules)
    return examined


def _merge_key_index(db: Database) -> None:
    """On PostgreSQL, merge the key index's pending list (the keys ingest appended since) into the index
    before the pass searches it: a search reads the whole pending list for each of its keys (up to 4 MB:
    a quarter of a second for a chunk's few hundred keys, against a millisecond once merged). The merge is
    work a vacuum or a later insert would otherwise do; it needs to own the index (the backend's own
    schema does), and without it the searches are only slower."""
    if db.dialect != "postgresql":
        return
    try:
        with db.write() as conn:
            conn.exec_driver_sql("SELECT gin_clean_pending_list('entries_keys')")
    except SQLAlchemyError as e:
        log.debug("alert rules: key index pending list not merged (%s)", e.__class__.__name__)


def _device_pass(db: Database, rules: RuleSettings, shop_id: str, device_id: str, done: int, fresh: bool) -> int:
    """Read and judge in a read transaction; raise the alerts and move the cursor in one short write."""
    vault = db.vault
    with db.read() as conn:
        rows = conn.execute(text(ENTRY_SQL + " WHERE e.shop_id = :s AND e.device_id = :d AND e.seq > :done "
                                 "ORDER BY e.seq LIMIT :n"),
                            {"s": shop_id, "d": device_id, "done": done, "n": rules.batch}).mappings().all()
        if not rows:
            return 0
        contracts = [entry_row(vault, r) for r in rows if r["kind"] == "transaction"]
        found = check_contracts(conn, db, rules, contracts, ShopInfo(conn, vault)) if contracts else []
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


#: Contracts of one key value a rule reads, oldest first (a serial's: the first of them in its window).
SERIAL_ROWS = 50
PERSON_ROWS = 1000


def check_contracts(conn, db: Database, rules: RuleSettings, contracts: list[dict], shops: ShopInfo) -> list[dict]:
    """The cross-shop rules for contract entries (decrypted, in seq order): the alerts to raise
    (:func:`raise_alert`'s keyword arguments). The contracts each rule compares with are read for the lot:
    one query for every serial's contracts in the serial window, one for every person's in the items
    window and the day (not three per contract: a key search also reads the key index's pending list,
    milliseconds while ingest is busy); each contract then counts only those up to its own time."""
    vault = db.vault
    subjects = [_Subject.of(c) for c in contracts]
    earliest = min(s.when for s in subjects)
    until = max(c["ts"] for c in contracts)
    own = {(c["shop_id"], c["device_id"], c["seq"]): c for c in contracts}
    by_serial = _holders(conn, db, "serial", {v for s in subjects for v in s.serials},
                         since=_utc(earliest - timedelta(days=rules.serial_days)), until=until, known=own)
    day_starts = [s.day_start for s in subjects if s.person]
    by_person = _holders(conn, db, "id", {s.person for s in subjects if s.person},
                         since=min([_utc(earliest - timedelta(days=rules.items_days))] + day_starts, default=until),
                         until=until, known=own)
    raised: list[dict] = []
    for s in subjects:
        raised += _judge(s, rules, shops, vault, by_serial, by_person)
    return raised


@dataclass(frozen=True)
class _Subject:
    """A contract as the rules read it: its entry, person, serials, time and local day."""

    entry: dict
    person: str | None
    serials: tuple[str, ...]
    when: Any  # an aware datetime
    day: Any  # its Vietnam local day (a date)
    day_start: str  # the start of that day, as a stored (UTC) time

    @classmethod
    def of(cls, entry: dict) -> "_Subject":
        keys = keys_of(entry["payload"])
        ts = parse_utc(entry["ts"])
        day = ts.astimezone(VN_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(entry, dict((k, v) for k, v in reversed(keys)).get("id"), tuple(v for k, v in keys if k == "serial"),
                   ts, day.date(), _utc(day))


def _holders(conn, db: Database, key_type: str, values: set[str], *, since: str, until: str,
             known: dict) -> dict[str, list[dict]]:
    """The contracts holding each of ``values`` (keys of ``key_type``) stored with a time in ``since``..``until``,
    oldest first, decrypted (``known``: entries already decrypted, by shop, device and seq)."""
    out: dict[str, list[dict]] = {v: [] for v in values}
    if not values:
        return out
    cond, params = has_keys(db.dialect, db.vault.blind_keys((key_type, v) for v in sorted(values)), any_of=True)
    pg = db.dialect == "postgresql"
    if pg:  # the key index: for a few hundred keys PostgreSQL's estimate prefers reading the whole table
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = conn.execute(text(ENTRY_SQL + f" WHERE {cond} AND e.kind = 'transaction' ORDER BY e.ts, e.seq"),
                        params).mappings().all()
    if pg:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
    for r in rows:
        if not since <= r["ts"] <= until:  # the window, here: in SQL the time index would tempt the planner
            continue
        entry = known.get((r["shop_id"], r["device_id"], int(r["seq"]))) or entry_row(db.vault, r)
        for v in {v for k, v in keys_of(entry["payload"]) if k == key_type} & values:
            out[v].append(entry)
    return out


def _within(entries: list[dict], since: str, until: str, limit: int) -> list[dict]:
    """The first ``limit`` of ``entries`` (oldest first) with a time in ``since``..``until``."""
    return [e for e in entries if since <= e["ts"] <= until][:limit]


def _judge(s: _Subject, rules: RuleSettings, shops: ShopInfo, vault, by_serial: dict, by_person: dict) -> list[dict]:
    """The alerts one contract raises, from the contracts read for its chunk."""
    entry = s.entry
    links = contract_links(vault, entry)
    raised: list[dict] = []
    shop, dev = entry["shop_id"], entry["device_id"]
    contract_no = links["contract"]["contract_no"]

    def alert(kind: str, rule: str, dedupe: str, data: dict, extra_links: dict | None = None) -> None:
        raised.append({"shop_id": shop, "device_id": dev, "kind": kind, "seq": entry["seq"], "detail": f"{rule}|{dedupe}",
                       "rule": rule, "data": {**data, "contract_no": contract_no}, "links": {**links, **(extra_links or {})}})

    for serial in s.serials:
        since = _utc(s.when - timedelta(days=rules.serial_days))
        others = [o for o in _within(by_serial[serial], since, entry["ts"], SERIAL_ROWS) if o["shop_id"] != shop]
        if others:
            o = others[-1]
            other_shop = shops.get(o["shop_id"])
            alert("pattern", "serial_two_shops", f"{serial}|{o['shop_id']}",
                  {"serial": serial, "other_shop_id": o["shop_id"], "other_shop_name": other_shop["name"],
                   "other_device_id": o["device_id"], "other_seq": o["seq"], "other_contract_no": o["contract_no"],
                   "other_txn_id": contract_ref(o["payload"]), "other_ts": o["ts"]}, {"serial": serial})
    if not s.person:
        return raised
    pawner = entry["payload"].get("pawner") if isinstance(entry["payload"].get("pawner"), dict) else {}
    who = {"id_number": s.person, "full_name": pawner.get("full_name")}
    # N or more items of one category within D days
    history = _within(by_person[s.person], _utc(s.when - timedelta(days=rules.items_days)), entry["ts"], PERSON_ROWS)
    mine = {_category(i) for i in _items(entry["payload"])} - {None}
    per_category: Counter = Counter()
    for h in history:
        for item in _items(h["payload"]):
            per_category[_category(item)] += 1
    for category in sorted(mine):
        if per_category[category] >= rules.items_n:
            alert("pattern", "person_items", f"{s.person}|{category}",
                  {**who, "category": category, "count": per_category[category], "days": rules.items_days,
                   "threshold": rules.items_n})
    # K or more shops on one (Vietnam) day, up to this contract: the K-th shop fires
    day = _within(by_person[s.person], s.day_start, entry["ts"], PERSON_ROWS)
    day_shops = list(dict.fromkeys(d["shop_id"] for d in day))
    if len(day_shops) >= rules.shops_k and shop in day_shops:
        alert("pattern", "person_shops_day", f"{s.person}|{s.day.isoformat()}",
              {**who, "count": len(day_shops), "date": s.day.strftime("%d/%m/%Y"),
               "threshold": rules.shops_k, "shops": [{"shop_id": k, "name": shops.get(k)["name"]} for k in day_shops]})
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

    def __init__(self, db: Database, rules: RuleSettings, gate: CpuGate | None = None) -> None:
        self.db, self.rules, self.gate = db, rules, gate
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
        and judges; the cursor's compare-and-set keeps a rule's alert single even without it), at the
        background workers' low CPU priority (:func:`~sync.backend.worker_lock.lower_thread_priority`)."""
        worker_lock.lower_thread_priority()
        wait = (lambda: self.gate.wait(self._stop)) if self.gate is not None else None
        failures = 0
        while not self._stop.is_set():
            try:
                with worker_lock.exclusive(self.db, worker_lock.ALERT_RULES) as mine:
                    if not mine:
                        self._stop.wait(max(self.rules.interval_s, 1.0))
                        continue
                    while not self._stop.is_set():
                        busy = run_pass(self.db, self.rules, wait)
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
        workers.append(RulesWorker(db, rules, CpuGate()).start())
    if webhook is not None:
        workers.append(WebhookSender(db, webhook).start())
    return workers


def settings_from_config(cfg: Any) -> dict:
    """``create_app``'s ``rules`` and ``webhook`` from the settings."""
    from sync.backend.webhook import WebhookSettings

    return {"rules": RuleSettings.from_config(cfg), "webhook": WebhookSettings.from_config(cfg)}

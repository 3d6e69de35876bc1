"""Alerts: tamper (gap, fork, conflict, replay, signature, tampered entry, checkpoint),
watchlist hits, suspicious events, the cross-shop rules (:mod:`sync.backend.alert_rules`), shops
gone silent, and whatever other workers raise (``evidence_*``: any kind string is accepted).
An open alert of the same kind and detail for the same device is counted up instead of repeated,
so a relay stuck on a refused batch raises one alert.

``detail`` may quote personal data (a wanted ID number, the clerk's reason), so it is stored
encrypted (:mod:`sync.backend.vault`, AAD ``shop_id|alert_id|0``) and matched for repeats by
``detail_key``, the blind index (:meth:`sync.backend.vault.Vault.blind`) of kind and detail.

An alert an inspector can act on (issue 19 item 3) also has a structured part in ``alert_info``:
``rule`` (which rule fired: ``watchlist_serial``, ``serial_two_shops``, ...), ``data`` (the values
its text names) and ``links`` (``contract``: ``device_id``, ``seq``, ``txn_id``, ``contract_no``;
``person``: ``key`` (the ID number's blind key) and ``id_number``; ``serial``), sealed together
(AAD ``shop_id|alert_id|1``), with the person's and the serial's blind keys in the clear so that a
person's page finds the alerts about them. The text an inspector reads, in Vietnamese or English,
is built when it is shown (:func:`alert_text`) from kind, rule and data; an alert without a
structured part (raised with a plain ``detail``, as ingest does) takes its links and data from the
entry at its ``seq`` when that entry is stored (:func:`sync.backend.investigate.alert_facts`: the
contract, the pawner, the serial, the watchlist item matched, the shop's reason), else it is shown
with its detail.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from sync.backend.vault import Vault
from verifier.errors import InputError
from verifier.ledger.entry import utc_now
from verifier.local_time import local_time

TAMPER_KINDS = ("gap", "fork", "conflict", "replay", "signature", "tampered", "checkpoint")
KINDS = TAMPER_KINDS + ("watchlist", "suspicious", "pattern", "silent")

#: kind -> (Vietnamese, English) label
KIND_WORDS: dict[str, tuple[str, str]] = {
    "gap": ("Thiếu bản ghi (đứt chuỗi)", "Missing entries (broken chain)"),
    "fork": ("Chuỗi bị rẽ nhánh", "Forked chain"),
    "conflict": ("Cùng số thứ tự, nội dung khác", "Same seq, other content"),
    "replay": ("Gửi lại lô cũ", "Replayed batch"),
    "signature": ("Sai chữ ký thiết bị", "Wrong device signature"),
    "tampered": ("Bản ghi bị sửa", "Tampered entry"),
    "checkpoint": ("Điểm kiểm tra không khớp", "Checkpoint mismatch"),
    "watchlist": ("Trùng danh sách truy tìm", "Watchlist hit"),
    "suspicious": ("Cửa hàng báo nghi vấn", "Reported as suspicious by the shop"),
    "pattern": ("Dấu hiệu bất thường giữa các cửa hàng", "Pattern across shops"),
    "silent": ("Cửa hàng ngừng gửi dữ liệu", "Shop stopped sending"),
    "evidence_mismatch": ("Bằng chứng thẻ không khớp", "Card evidence does not match"),
    "evidence_missing": ("Thiếu bằng chứng thẻ", "Card evidence missing"),
    "evidence_unverifiable": ("Không kiểm chứng được hợp đồng", "Contract could not be verified"),
    "aa_replay": ("Phản hồi chip bị dùng lại", "Replayed chip answer"),
}


def kind_label(kind: str, lang: str = "vi") -> str:
    vi, en = KIND_WORDS.get(kind, (kind, kind))
    return en if lang == "en" else vi


def raise_alert(conn: Connection, vault: Vault, *, shop_id: str, device_id: str | None, kind: str, detail: str,
                seq: int | None = None, rule: str | None = None, data: dict | None = None,
                links: dict | None = None, count: int = 1) -> str:
    """Raise (or count up) an alert in the open transaction; returns its id. ``rule``, ``data``
    and ``links`` (see the module docstring) are optional: without them the alert is shown with
    its ``detail``. ``count``: how many occurrences it stands for (the first at ``seq``)."""
    now = utc_now()
    detail = detail[:2000]
    detail_key = vault.blind("alert", f"{kind}|{detail}")
    row = conn.execute(
        text(
            "SELECT alert_id FROM alerts WHERE shop_id = :shop AND kind = :kind AND ack_at IS NULL "
            "AND device_id = :dev AND detail_key = :dk LIMIT 1"
        ),
        {"shop": shop_id, "kind": kind, "dev": device_id or "", "dk": detail_key},
    ).first()
    if row:
        conn.execute(
            text("UPDATE alerts SET count = count + :n, last_at = :now WHERE shop_id = :shop AND alert_id = :id"),
            {"n": count, "now": now, "shop": shop_id, "id": row[0]},
        )
        return row[0]
    alert_id = uuid.uuid4().hex
    conn.execute(
        text(
            "INSERT INTO alerts (shop_id, alert_id, device_id, kind, detail, detail_key, seq, created_at, last_at, count) "
            "VALUES (:shop, :id, :dev, :kind, :detail, :dk, :seq, :now, :now, :n)"
        ),
        {"n": count, "shop": shop_id, "id": alert_id, "dev": device_id or "", "kind": kind, "detail": vault.seal(detail, shop_id, alert_id, 0), "dk": detail_key, "seq": seq, "now": now},
    )
    if rule or data or links:
        links = links or {}
        person = links.get("person") or {}
        serial = links.get("serial")
        conn.execute(
            text("INSERT INTO alert_info (shop_id, alert_id, rule, info, person_key, serial_key) "
                 "VALUES (:shop, :id, :rule, :info, :pk, :sk)"),
            {"shop": shop_id, "id": alert_id, "rule": rule or kind,
             "info": vault.seal(json.dumps({"data": data or {}, "links": links}, ensure_ascii=False), shop_id, alert_id, 1),
             "pk": person.get("key"), "sk": vault.blind("serial", serial) if serial else None},
        )
    return alert_id


_COLUMNS = ("a.shop_id, a.alert_id, a.device_id, a.kind, a.detail, a.seq, a.created_at, a.last_at, a.count, a.ack_by, "
            "a.ack_at, i.rule, i.info")
_FROM = "FROM alerts a LEFT JOIN alert_info i ON i.shop_id = a.shop_id AND i.alert_id = a.alert_id"


def _open_row(vault: Vault, r) -> dict:
    d = {k: r[k] for k in ("shop_id", "alert_id", "device_id", "kind", "seq", "created_at", "last_at", "count", "ack_by",
                           "ack_at")}
    d["count"] = int(d["count"])
    d["seq"] = int(d["seq"]) if d["seq"] is not None else None
    d["detail"] = vault.open(r["detail"], r["shop_id"], r["alert_id"], 0)
    info = json.loads(vault.open(r["info"], r["shop_id"], r["alert_id"], 1)) if r["info"] else {}
    d["rule"] = r["rule"] or r["kind"]
    d["data"] = info.get("data") or {}
    d["links"] = info.get("links") or {}
    return d


def list_alerts(conn: Connection, vault: Vault, *, shop_id: str | None = None, open_only: bool = False, kind: str | None = None,
                limit: int = 200, person_key: int | None = None, serial_key: int | None = None,
                after: str | None = None, enrich: bool = True) -> list[dict]:
    """Alerts, newest first (oldest first with ``after``: those whose ``last_at`` is at or after
    it, for a stream). With ``enrich`` each carries ``shop`` (name, address, licence, province),
    ``links`` (from the entry at its seq when it was raised without them) and ``text`` {vi, en}."""
    where, params = [], {"limit": min(max(limit, 1), 1000)}
    if shop_id:
        where.append("a.shop_id = :shop")
        params["shop"] = shop_id
    if open_only:
        where.append("a.ack_at IS NULL")
    if kind:
        where.append("a.kind = :kind")
        params["kind"] = kind
    if person_key is not None:
        where.append("i.person_key = :pk")
        params["pk"] = person_key
    if serial_key is not None:
        where.append("i.serial_key = :sk")
        params["sk"] = serial_key
    if after is not None:
        where.append("a.last_at >= :after")
        params["after"] = after
    sql = f"SELECT {_COLUMNS} {_FROM}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += (" ORDER BY a.last_at, a.shop_id, a.alert_id" if after is not None else " ORDER BY a.last_at DESC") + " LIMIT :limit"
    rows = [_open_row(vault, r) for r in conn.execute(text(sql), params).mappings()]
    if enrich:
        from sync.backend.investigate import ShopInfo

        shops = ShopInfo(conn, vault)
        for a in rows:
            enrich_alert(conn, vault, a, shops)
    return rows


def enrich_alert(conn: Connection, vault: Vault, a: dict, shops) -> dict:
    """Add ``shop``, the links and data an entry gives (:func:`sync.backend.investigate.alert_facts`),
    ``text`` and ``label`` {vi, en} and ``event_id`` to a listed alert."""
    from sync.backend.investigate import alert_facts

    a["shop"] = shops.get(a["shop_id"])
    if a["seq"] is not None and a["device_id"] and (not a["links"].get("contract") or not a["data"]):
        rule, data, links = alert_facts(conn, vault, a)
        a["rule"] = a["rule"] if a["data"] else rule
        a["data"] = a["data"] or data
        a["links"] = {**links, **a["links"]}
    a["links"]["shop_id"] = a["shop_id"]
    a["text"] = {lang: alert_text(a, lang) for lang in ("vi", "en")}
    a["label"] = {lang: kind_label(a["kind"], lang) for lang in ("vi", "en")}
    a["event_id"] = event_id(a)
    a["last_at_local"] = {lang: local_time(a["last_at"], lang) for lang in ("vi", "en")}
    return a


#: a stream looks this far back for alerts whose write committed after a later one was read
LOOKBACK_S = 5.0


def alerts_after(conn: Connection, vault: Vault, cursor: str | None, *, seen: dict | set | None = None, strict: bool = True,
                 limit: int = 100) -> list[dict]:
    """Alerts raised or counted up after the stream position ``cursor`` (an :func:`event_id`),
    oldest first, enriched. ``strict`` (a resume from ``Last-Event-ID``): only those after it;
    otherwise (a stream's next poll) also those up to :data:`LOOKBACK_S` before it that are not in
    ``seen`` (a write committed after a later one was read: at least once, never lost)."""
    from datetime import timedelta

    from verifier.local_time import parse_utc

    t, shop, aid = (cursor.split("~") + ["", "", ""])[:3] if cursor else ("", "", "")
    after = t or "0"
    if t and not strict:
        try:
            after = (parse_utc(t) - timedelta(seconds=LOOKBACK_S)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        except InputError:
            after = t
    out = []
    for a in list_alerts(conn, vault, after=after, limit=limit):
        if strict and t and (a["last_at"], a["shop_id"], a["alert_id"]) <= (t, shop, aid):
            continue
        if seen is not None and event_id(a) in seen:
            continue
        out.append(a)
    return out


def event_id(a: dict) -> str:
    """The alert's id on the stream: its last time, shop, id and count (a count-up is a new event)."""
    return f"{a['last_at']}~{a['shop_id']}~{a['alert_id']}~{a['count']}"


def _fmt(template: str, data: dict) -> str:
    class Safe(dict):
        def __missing__(self, key):
            return "?"
    return template.format_map(Safe({k: ("" if v is None else v) for k, v in data.items()}))


#: rule -> (Vietnamese, English) text; fields from the alert's data and links
RULE_TEXT: dict[str, tuple[str, str]] = {
    "watchlist_serial": ("Tài sản bị mất trộm cầm tại cửa hàng: số serial/IMEI/khung/biển số {value} ({note}), hợp đồng {contract_no}.",
                         "Stolen item pawned: serial/IMEI/frame/plate {value} ({note}), contract {contract_no}."),
    "watchlist_id_number": ("Người có số CCCD bị truy nã đến cầm đồ: {value} ({note}), hợp đồng {contract_no}.",
                            "Wanted ID number at the counter: {value} ({note}), contract {contract_no}."),
    "watchlist_person": ("Người bị truy tìm (trùng họ tên và ngày sinh) đến cầm đồ: {value} ({note}), hợp đồng {contract_no}.",
                         "Wanted person (same name and birth date) at the counter: {value} ({note}), contract {contract_no}."),
    "serial_two_shops": ("Cùng một tài sản (số {serial}) được cầm ở hai cửa hàng: hợp đồng {contract_no} tại đây và hợp đồng "
                         "{other_contract_no} tại {other_shop_name}.",
                         "The same item (serial {serial}) pawned at two shops: contract {contract_no} here and contract "
                         "{other_contract_no} at {other_shop_name}."),
    "person_items": ("Một người cầm {count} tài sản loại “{category_vi}” trong {days} ngày (ngưỡng {threshold}): {full_name}, "
                     "CCCD {id_number}.",
                     "One person pawned {count} items of category “{category}” within {days} days (threshold {threshold}): "
                     "{full_name}, ID {id_number}."),
    "person_shops_day": ("Một người cầm đồ tại {count} cửa hàng trong ngày {date} (ngưỡng {threshold}): {full_name}, CCCD {id_number}.",
                         "One person pawned at {count} shops on {date} (threshold {threshold}): {full_name}, ID {id_number}."),
    "shop_silent": ("Thiết bị {device_id} không gửi dữ liệu đã hơn {hours} giờ (lần cuối {last_sync_local}).",
                    "Device {device_id} has sent nothing for more than {hours} hours (last at {last_sync_local_en})."),
    "suspicious": ("Cửa hàng báo nghi vấn hợp đồng {contract_no}: {reason}", "The shop reported contract {contract_no} as suspicious: {reason}"),
}

CATEGORY_WORDS = {"phone": "điện thoại", "motorbike": "xe máy", "laptop": "máy tính xách tay", "jewelry": "trang sức",
                  "car": "ô tô", "watch": "đồng hồ", "tablet": "máy tính bảng", "camera": "máy ảnh", "gold": "vàng"}


def alert_text(a: dict, lang: str = "vi") -> str:
    """What the alert says, in ``lang`` (vi, else en), from its kind, rule, data and links."""
    template = RULE_TEXT.get(a.get("rule") or "")
    if template is None or not a.get("data"):
        label = kind_label(a["kind"], lang)
        return f"{label}: {a['detail']}" if a.get("detail") else label
    data = dict(a.get("data") or {})
    contract = (a.get("links") or {}).get("contract") or {}
    data.setdefault("contract_no", contract.get("contract_no") or contract.get("txn_id") or "?")
    data.setdefault("detail", a.get("detail"))
    data["category_vi"] = CATEGORY_WORDS.get(str(data.get("category")), data.get("category"))
    data["last_sync_local"] = local_time(data.get("last_sync_at"))
    data["last_sync_local_en"] = local_time(data.get("last_sync_at"), "en")
    return _fmt(template[1 if lang == "en" else 0], data)


def get_alert(conn: Connection, vault: Vault, shop_id: str, alert_id: str) -> dict | None:
    r = conn.execute(text(f"SELECT {_COLUMNS} {_FROM} WHERE a.shop_id = :s AND a.alert_id = :i"),
                     {"s": shop_id, "i": alert_id}).mappings().first()
    if r is None:
        return None
    from sync.backend.investigate import ShopInfo

    return enrich_alert(conn, vault, _open_row(vault, r), ShopInfo(conn, vault))


def ack_alert(conn: Connection, shop_id: str, alert_id: str, user: str) -> bool:
    res = conn.execute(
        text("UPDATE alerts SET ack_by = :u, ack_at = :now WHERE shop_id = :shop AND alert_id = :id AND ack_at IS NULL"),
        {"u": user, "now": utc_now(), "shop": shop_id, "id": alert_id},
    )
    return res.rowcount == 1

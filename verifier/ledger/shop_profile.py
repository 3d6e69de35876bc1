"""The shop profile printed on contracts and receipts: a ledger entry, the latest one wins.

A pawnshop's contract names the shop as a party: its name, address, the number of its
certificate of security-and-order eligibility (GCN ANTT, Decree 96/2016/NĐ-CP art. 11 and 29)
and the person who signs for it (người đại diện). The profile is recorded like everything else,
as an ``event`` entry of the chain with payload::

    {"type": "shop_profile", "name", "address", "license", "representative", "phone", "province",
     "printer_layout": "a5" | "80mm", "by": {"user", "role"}}

so it syncs to the police with the ledger and every change stays visible. The latest entry wins;
until there is one, :func:`current` falls back to the settings ``pawn.shop_name``,
``pawn.shop_address`` and ``pawn.shop_license``.

Finding the latest entry without decrypting the chain: the table ``shop_profiles`` (one row per
profile entry: its seq) is a projection written inside the entry's own write transaction
and caught up from the chain (:mod:`verifier.ledger.projection`).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any, Mapping

from verifier.errors import InputError
from verifier.ledger import projection
from verifier.ledger.entry import Entry
from verifier.ledger.store import Ledger
from verifier.users import refused

TYPE = "shop_profile"
LAYOUTS = ("a5", "80mm")
#: The default of ``pawn.shop_name``: a shop still showing it has not been set up (the counter shows a banner).
UNCONFIGURED_MARK = "(chưa cấu hình)"
#: field -> longest text accepted
FIELDS: dict[str, int] = {"name": 200, "address": 300, "license": 100, "representative": 120, "phone": 20,
                          "province": 100}
_PHONE = re.compile(r"^\+?[0-9 .-]{8,20}$")

SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS shop_profiles (seq INTEGER PRIMARY KEY, ts TEXT NOT NULL);",
)


def project(conn: sqlite3.Connection, entry: Entry) -> None:
    """The projector: note a profile entry's seq, in the entry's write transaction."""
    if entry.kind == "event" and entry.payload.get("type") == TYPE:
        conn.execute("INSERT OR IGNORE INTO shop_profiles (seq, ts) VALUES (?, ?)", (entry.seq, entry.ts))


def attach(ledger: Ledger) -> None:
    """Attach the ``shop_profiles`` projection to ``ledger`` (:func:`verifier.ledger.projection.attach`:
    registered once, caught up from the chain). Idempotent."""
    projection.attach(ledger, "shop", SCHEMA, project, kinds=("event",))


def defaults(cfg: Any = None) -> dict:
    """The profile before any is recorded: the ``pawn.shop_*`` settings (their defaults without ``cfg``)."""
    if cfg is None:
        from verifier.config import Config

        cfg = Config()  # the settings' defaults
    return {"name": cfg["pawn.shop_name"], "address": cfg["pawn.shop_address"], "license": cfg["pawn.shop_license"],
            "representative": "", "phone": "", "province": "", "printer_layout": "a5"}


def configured(profile: Mapping) -> bool:
    """False while the name is still the "(chưa cấu hình)" default (or empty)."""
    name = str(profile.get("name") or "").strip()
    return bool(name) and UNCONFIGURED_MARK not in name


def latest(ledger: Ledger) -> Entry | None:
    """The latest ``shop_profile`` entry, or None."""
    attach(ledger)
    row = ledger.reader().execute("SELECT max(seq) FROM shop_profiles").fetchone()
    if not row or row[0] is None:
        return None
    found = ledger.entries_by_seq([row[0]])
    return found[0] if found else None


def current(ledger: Ledger, cfg: Any = None) -> dict:
    """The shop profile to print: the latest entry's fields over :func:`defaults`, with ``configured``,
    ``source`` ("ledger" or "config"), and for a recorded one its ``seq``, ``ts`` and ``by``."""
    base = defaults(cfg)
    entry = latest(ledger)
    if entry is None:
        return {**base, "source": "config", "configured": configured(base)}
    p = entry.payload
    profile = {**base, **{k: p[k] for k in (*FIELDS, "printer_layout") if p.get(k) is not None}}
    return {**profile, "source": "ledger", "seq": entry.seq, "ts": entry.ts, "by": p.get("by"),
            "configured": configured(profile)}


def check(form: Mapping) -> dict:
    """The profile fields of ``form``, trimmed and checked; raises :class:`InputError` (``code``
    ``bad_shop_profile``, ``details.field``) for a missing name, a text too long, a bad phone or layout."""
    out: dict[str, str] = {}
    for field, longest in FIELDS.items():
        value = str(form.get(field) or "").strip()
        if len(value) > longest:
            raise _bad(field, "too_long", f"{field}: at most {longest} characters, found {len(value)}", max=longest)
        out[field] = value
    if not out["name"] or UNCONFIGURED_MARK in out["name"]:
        raise _bad("name", "name_required", "name: the shop's name is required")
    if out["phone"] and not _PHONE.match(out["phone"]):
        raise _bad("phone", "phone", f"phone: 8-20 digits, spaces, dots or dashes expected, found {out['phone']!r}")
    layout = str(form.get("printer_layout") or "a5")
    if layout not in LAYOUTS:
        raise _bad("printer_layout", "printer_layout", f"printer_layout: one of {', '.join(LAYOUTS)} expected, found {layout!r}")
    out["printer_layout"] = layout
    return out


def _bad(field: str, rule: str, message: str, **details) -> InputError:
    return refused("bad_shop_profile", message, field=field, rule=rule, **details)


def record(ledger: Ledger, form: Mapping, *, user: str, role: str, demo: bool = False) -> Entry:
    """Append a new profile (checked by :func:`check`) as an ``event`` entry; the previous ones stay in the chain."""
    attach(ledger)
    payload = {"type": TYPE, **check(form), "by": {"user": user, "role": role}}
    return ledger.append("event", payload, demo=demo)

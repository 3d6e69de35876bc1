"""A contract's lifecycle: the event types, which status each needs and leads to, and what each must carry.

After the contract (a ``transaction`` entry), everything is an ``event`` entry: ``redeemed``,
``extended``, ``partial_payment``, ``forfeited``, ``liquidated``, ``correction``, ``suspicious``
(Decree 96/2016/NĐ-CP art. 29: the ledger keeps the outcome of each pawn). Nothing is edited in
place: a ``correction`` (đính chính, with ``fields``; or hủy, ``cancel: true``, which makes the
contract ``cancelled``) is a manager's, with a written reason, recorded as one more event.

:func:`event_payload` checks a request and builds the event's payload; :func:`check_transition`
checks it against the contract's status inside the write; :func:`status_after` is what the
projection (:mod:`verifier.ledger.pawn_store`) records. The pawn book (:mod:`verifier.ledger.pawn`) runs them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from verifier.ledger.admission import ContractRefused, capped_rate
from verifier.users import allowed

STATUSES = ("active", "redeemed", "forfeited", "liquidated", "cancelled")
EVENT_TYPES = ("redeemed", "extended", "partial_payment", "forfeited", "liquidated", "correction", "suspicious")
#: Which status each event requires and leads to (None: any status, unchanged).
TRANSITIONS: dict[str, tuple[tuple[str, ...] | None, str | None]] = {
    "redeemed": (("active",), "redeemed"),
    "extended": (("active",), None),
    "partial_payment": (("active",), None),
    "forfeited": (("active",), "forfeited"),
    "liquidated": (("forfeited",), "liquidated"),
    "correction": (None, None),
    "suspicious": (None, None),
}
#: The fields of a contract a correction may change.
CORRECTABLE = ("items", "notes", "valuation_vnd", "fees_vnd", "ownership_evidence")


def check_event_type(event_type: str) -> None:
    """One of :data:`EVENT_TYPES`, or :class:`ContractRefused` (``unknown_event``)."""
    if event_type not in EVENT_TYPES:
        raise ContractRefused("unknown_event", f"event type: expected one of {', '.join(EVENT_TYPES)}, found {event_type!r}")


def event_payload(txn_id: str, event_type: str, body: dict, *, user: str, role: str, due_date: str,
                  max_rate: float) -> dict[str, Any]:
    """The payload of event ``event_type`` on contract ``txn_id`` (now due on ``due_date``) from the request
    ``body``; :class:`ContractRefused` when the request breaks a rule (who, reason, amount, days, fields)."""
    payload: dict[str, Any] = {"type": event_type, "txn_id": txn_id, "by": {"user": user, "role": role}}
    for key in ("amount_vnd", "reason", "notes"):
        if body.get(key) not in (None, ""):
            payload[key] = body[key]
    if event_type == "correction" and not allowed(role, "txn.override"):
        raise ContractRefused("correction_needs_manager", f"only a manager may correct or cancel a contract; you are {role!r}")
    if event_type in ("partial_payment",) and not (isinstance(body.get("amount_vnd"), int) and body["amount_vnd"] > 0):
        raise ContractRefused("amount_required", "a partial payment needs amount_vnd > 0")
    if event_type in ("correction", "suspicious", "forfeited") and not body.get("reason"):
        raise ContractRefused("reason_required", f"a {event_type} event needs a written reason")
    if event_type == "extended":
        days = body.get("extend_days")
        if not isinstance(days, int) or days <= 0 or days > 3650:
            raise ContractRefused("extend_days_required", f"an extension needs extend_days between 1 and 3650, found {days!r}")
        payload["extend_days"] = days
        payload["new_due_date"] = (date.fromisoformat(due_date) + timedelta(days=days)).isoformat()
        if body.get("interest_rate_year_pct") is not None:
            payload["interest_rate_year_pct"] = capped_rate(body["interest_rate_year_pct"], max_rate)
    if event_type == "correction" and body.get("cancel"):
        if body.get("fields"):
            raise ContractRefused("bad_correction", "a cancellation changes no fields: send cancel or fields, not both")
        payload["cancel"] = True
    elif event_type == "correction":
        fields = body.get("fields") or {}
        bad = [k for k in fields if k not in CORRECTABLE]
        if not fields or bad:
            raise ContractRefused("bad_correction", f"a correction changes some of {', '.join(CORRECTABLE)}; found {sorted(fields) or 'nothing'}")
        _check_correction(fields)
        payload["fields"] = fields
    if event_type == "suspicious":
        payload["target"] = body.get("target") or "pawner"
    return payload


def check_transition(payload: dict, current: str | None) -> None:
    """The event ``payload`` may be recorded on a contract whose status is ``current`` (:data:`TRANSITIONS`;
    a cancellation only once)."""
    event_type = payload["type"]
    allowed_from, _ = TRANSITIONS[event_type]
    if payload.get("cancel") and current == "cancelled":
        raise ContractRefused("bad_transition", "the contract is already cancelled", {"status": current})
    if allowed_from is not None and current not in allowed_from:
        raise ContractRefused(
            "bad_transition",
            f"cannot record {event_type!r} on a contract that is {current!r} (needs {' or '.join(allowed_from)})",
            {"status": current},
        )


def status_after(payload: dict) -> str | None:
    """The status the recorded event ``payload`` leads to (None: unchanged)."""
    kind = payload["type"]
    _, to = TRANSITIONS[kind]
    if kind == "correction" and payload.get("cancel"):
        to = "cancelled"
    return to


def _check_correction(fields: dict) -> None:
    """The corrected values must have the types of the originals."""
    for key in ("valuation_vnd", "fees_vnd"):
        if key in fields and (not isinstance(fields[key], int) or isinstance(fields[key], bool) or not 0 <= fields[key] <= 10**13):
            raise ContractRefused("bad_correction", f"{key}: expected a whole number of VND, found {fields[key]!r}")
    for key in ("notes", "ownership_evidence"):
        if key in fields and (not isinstance(fields[key], str) or len(fields[key]) > 2000):
            raise ContractRefused("bad_correction", f"{key}: expected text (at most 2000 characters), found {type(fields[key]).__name__}")
    if "items" in fields:
        items = fields["items"]
        ok = isinstance(items, list) and 1 <= len(items) <= 50 and all(
            isinstance(i, dict) and isinstance(i.get("description"), str) and i["description"]
            and all(isinstance(v, str) and len(v) <= 500 for v in i.values()) for i in items)
        if not ok:
            raise ContractRefused("bad_correction", "items: expected 1-50 items, each with a description and text fields")

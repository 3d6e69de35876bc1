"""A contract's lifecycle: the event types, which status each needs and leads to, and what each must carry.

After the contract (a ``transaction`` entry), everything is an ``event`` entry: ``interest_paid``
(đóng lãi), ``partial_payment`` (trả bớt gốc), ``principal_added`` (vay thêm gốc), ``extended`` (gia hạn),
``redeemed`` (chuộc đồ), ``forfeited`` (mất quyền chuộc), ``liquidated`` (thanh lý), ``correction``,
``suspicious`` (Decree 96/2016/NĐ-CP art. 29: the ledger keeps the outcome of each pawn). Nothing is edited in
place: a ``correction`` (đính chính, with ``fields``; or hủy, ``cancel: true``, which makes the
contract ``cancelled``) is a manager's, with a written reason, recorded as one more event.

:func:`event_payload` checks a request and builds the event's payload; :func:`check_transition`
checks it against the contract's status inside the write; :func:`event_money` computes, inside the same
write, the amounts a money event records (:mod:`verifier.ledger.interest`) and holds them against what
the clerk confirmed (``expected``); :func:`status_after` is what the projection
(:mod:`verifier.ledger.pawn_store`) records. The pawn book (:mod:`verifier.ledger.pawn`) runs them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from verifier.ledger import interest
from verifier.ledger.admission import ContractRefused, capped_rate
from verifier.users import allowed

STATUSES = ("active", "redeemed", "forfeited", "liquidated", "cancelled")
EVENT_TYPES = ("redeemed", "extended", "partial_payment", "forfeited", "liquidated", "correction", "suspicious",
               "interest_paid", "principal_added")
#: The events that move money: each carries a ``money`` block computed by the server (:func:`event_money`).
MONEY_EVENTS = interest.MONEY_EVENTS
#: Which status each event requires and leads to (None: any status, unchanged).
TRANSITIONS: dict[str, tuple[tuple[str, ...] | None, str | None]] = {
    "interest_paid": (("active",), None),
    "principal_added": (("active",), None),
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


def event_payload(txn_id: str, event_type: str, body: dict, *, user: str, role: str, max_rate: float) -> dict[str, Any]:
    """The payload of event ``event_type`` on contract ``txn_id`` from the request ``body``, without its money
    (:func:`event_money` adds it inside the write); :class:`ContractRefused` when the request breaks a rule
    (who, reason, amount, days, fields)."""
    payload: dict[str, Any] = {"type": event_type, "txn_id": txn_id, "by": {"user": user, "role": role}}
    for key in ("reason", "notes"):
        if body.get(key) not in (None, ""):
            payload[key] = body[key]
    if event_type == "correction" and not allowed(role, "txn.override"):
        raise ContractRefused("correction_needs_manager", f"only a manager may correct or cancel a contract; you are {role!r}")
    if event_type in ("partial_payment", "principal_added"):
        if not (_whole(body.get("amount_vnd")) and body["amount_vnd"] > 0):
            raise ContractRefused("amount_required", f"a {event_type} needs amount_vnd > 0", {"rule": event_type})
        payload["amount_vnd"] = body["amount_vnd"]
    if event_type == "liquidated":
        if not (_whole(body.get("sale_vnd")) and body["sale_vnd"] > 0):
            raise ContractRefused("amount_required", "a liquidation needs the sale price sale_vnd > 0", {"rule": event_type})
        payload["sale_vnd"] = body["sale_vnd"]
    if event_type in ("interest_paid", "extended", "redeemed") and body.get("fees_vnd"):
        if not (_whole(body["fees_vnd"]) and 0 <= body["fees_vnd"] <= 10**12):
            raise ContractRefused("invalid_input", f"fees_vnd: expected whole đồng, found {body['fees_vnd']!r}")
        payload["fees_vnd"] = body["fees_vnd"]
    if event_type == "interest_paid" and body.get("interest_to"):
        payload["interest_to"] = str(body["interest_to"])[:10]
    if event_type in ("correction", "suspicious", "forfeited") and not body.get("reason"):
        raise ContractRefused("reason_required", f"a {event_type} event needs a written reason")
    if event_type == "extended":
        days = body.get("extend_days")
        if not isinstance(days, int) or days <= 0 or days > 3650:
            raise ContractRefused("extend_days_required", f"an extension needs extend_days between 1 and 3650, found {days!r}")
        payload["extend_days"] = days
        payload["pay_interest"] = body.get("pay_interest", True) is not False
        if body.get("rate_input"):
            ri = body["rate_input"]
            try:
                year = interest.year_pct(ri.get("value"), ri.get("unit"))
                payload["rate_input"] = interest.rate_input(ri.get("value"), ri.get("unit"))
            except interest.RateInputError as e:
                raise ContractRefused("bad_rate_input", str(e), {"rate_input": dict(ri)}) from e
            payload["interest_rate_year_pct"] = capped_rate(year, max_rate)
        elif body.get("interest_rate_year_pct") is not None:
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


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def event_money(payload: dict, contract: dict, events: list[dict], on: date, *, max_rate: float,
                expected: dict | None = None, confirm: bool = True) -> dict:
    """``payload`` of a money event with what it records, computed from the contract's state on day ``on`` (its
    ``pawn_contract`` payload and its event payloads so far, :func:`verifier.ledger.interest.quote`): its
    ``money`` block (and an extension's ``new_due_date``). Refused (:class:`ContractRefused`) when the amounts
    break a rule: a partial payment of the whole principal or more (``amount_above_principal``: that is a
    redemption), more principal than the valuation allows (``loan_above_valuation``), an extension whose rate
    with its fee is above the cap (``interest_rate_above_cap``), an interest payment of nothing
    (``nothing_due``) or to a day after the due date (``bad_interest_to``). With ``confirm``, the cash the
    clerk confirmed (``expected``: ``{"cash_in_vnd", "cash_out_vnd"}``) must be what is recorded, else
    ``amount_changed`` (409) with the fresh quote in ``details.quote``; an event that moves no cash needs none."""
    kind = payload["type"]
    book = interest.fold(contract, events)
    kw: dict[str, Any] = {"fees_vnd": int(payload.get("fees_vnd") or 0)}
    if kind in ("partial_payment", "principal_added"):
        kw["amount_vnd"] = int(payload["amount_vnd"])
    if kind == "partial_payment" and kw["amount_vnd"] >= book.principal:
        raise ContractRefused("amount_above_principal", f"a partial payment of {kw['amount_vnd']} VND is not below the "
                              f"principal owed ({book.principal} VND): record a redemption", {"principal_vnd": book.principal})
    if kind == "principal_added":
        if book.principal + kw["amount_vnd"] > book.valuation_vnd:
            raise ContractRefused("loan_above_valuation", f"principal {book.principal} + {kw['amount_vnd']} VND exceeds the "
                                  f"valuation {book.valuation_vnd} VND")
        capped_rate(book.year, max_rate)
    if kind == "liquidated":
        kw["sale_vnd"] = int(payload["sale_vnd"])
    if kind == "interest_paid" and payload.get("interest_to"):
        try:
            kw["interest_to"] = date.fromisoformat(payload["interest_to"])
        except ValueError as e:
            raise ContractRefused("bad_interest_to", f"interest_to: expected YYYY-MM-DD, found {payload['interest_to']!r}") from e
        if kw["interest_to"] > max(on, book.due):
            raise ContractRefused("bad_interest_to", f"interest may be paid up to the due date {book.due.isoformat()} at "
                                  f"most, not {kw['interest_to'].isoformat()}", {"due_date": book.due.isoformat()})
    if kind == "extended":
        kw.update(extend_days=int(payload["extend_days"]), pay_interest=payload.get("pay_interest", True))
        new_year = interest.payload_rate(payload) if "interest_rate_year_pct" in payload else book.year
        capped_rate(new_year, max_rate, fees_vnd=kw["fees_vnd"], loan_vnd=max(1, book.principal),
                    term_days=kw["extend_days"])
    q = interest.quote(contract, events, kind, on, **kw)
    money = q["money"]
    if kind == "interest_paid" and not money["cash_in_vnd"]:
        raise ContractRefused("nothing_due", f"no interest is due up to {money['interest_to']} (paid up to "
                              f"{book.interest_to.isoformat()})", {"interest_to": book.interest_to.isoformat()})
    if confirm:
        check_expected(q, expected)
    out = dict(payload)
    out["money"] = money
    if "new_due_date" in q:
        out["new_due_date"] = q["new_due_date"]
    return out


def check_expected(q: dict, expected: dict | None) -> None:
    """The cash the clerk confirmed is the cash of quote ``q``, else ``amount_changed`` with ``q`` (nothing recorded)."""
    money = q["money"]
    cash = {"cash_in_vnd": money["cash_in_vnd"], "cash_out_vnd": money["cash_out_vnd"]}
    if expected is None and not any(cash.values()):
        return
    seen = {k: (expected or {}).get(k) for k in cash}
    if seen != cash:
        raise ContractRefused(
            "amount_changed",
            f"the amounts are now cash in {cash['cash_in_vnd']} VND, cash out {cash['cash_out_vnd']} VND; confirmed: "
            f"{'nothing' if expected is None else seen}: show the new amounts and confirm again",
            {"quote": q, "expected": expected, **cash})


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

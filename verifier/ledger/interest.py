"""Pawn money: rate units, the legal cap on the effective rate, interest accrued per day, a contract's money state
folded from its ledger entries, and the amounts each event would record. Pure: no I/O, no clock, exact arithmetic.

The rules (the money schema agreed for issue 18; README "Money"):

* **Units.** Money is whole đồng (int). A rate is typed in one of :data:`UNITS`: ``year_pct`` (%/năm),
  ``month_pct`` (%/tháng: ``year_pct = month_pct × 12``) or ``vnd_per_million_day`` (đồng per 1.000.000 ₫ per
  day: ``year_pct = vnd_per_million_day × 365 / 10 000``). Conversions are exact (:class:`fractions.Fraction`).
* **Day count.** Interest accrues per calendar day on the outstanding principal:
  ``principal × year_pct / 100 / 365`` per day, actual days (a leap year's 29 February is a day; a year of 366
  days earns 366/365 of the yearly rate). A day counts when it ends: from ``start_date`` to ``on`` is
  ``(on − start_date).days`` days, so a contract redeemed the day it was signed owes no interest, and the day of
  a principal change accrues on the principal before it.
* **Rounding.** Interest is summed exactly over the periods of constant principal and rate since the contract
  started, and that sum is rounded to whole đồng (half up) once per computation. What is due on a day is that
  rounded total minus the interest already paid, never below 0. So paying interest in several pieces is exactly
  paying it at once (the pieces telescope), and each payment is right to the đồng.
* **Prepaid interest** (đóng lãi to a later day) is not refunded: until that day nothing is due; a redemption
  before it owes no interest and gets nothing back.
* **The cap** (Civil Code 2015 art. 468: at most 20 %/year; setting ``pawn.max_interest_rate_year_pct``) applies to
  the effective yearly rate, fees included: ``year_pct + fees_vnd / loan_vnd × 365 / term_days × 100 ≤ cap``;
  exactly the cap is allowed.

:func:`money_state` is the contract view's ``money`` block; :func:`quote` is what an event would record (its
``money`` block, and an extension's ``new_due_date``). The rules on who may record what (amount within the
principal, sale price given...) are in :mod:`verifier.ledger.pawn_events`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Iterable

from verifier.errors import InputError
from verifier.local_time import VN_TZ, parse_utc

#: The units a clerk may type a rate in.
UNITS = ("year_pct", "month_pct", "vnd_per_million_day")
#: Days in the yearly rate's year (the per-day rate is year_pct / 365, leap years included).
YEAR_DAYS = 365
#: The event types that carry a ``money`` block (:func:`quote`).
MONEY_EVENTS = ("interest_paid", "partial_payment", "principal_added", "extended", "redeemed", "liquidated")
#: The keys of an event's ``money`` block that are amounts (whole đồng).
AMOUNT_KEYS = ("interest_vnd", "principal_in_vnd", "principal_out_vnd", "fees_vnd", "sale_vnd", "surplus_vnd",
               "cash_in_vnd", "cash_out_vnd")

_DECIMAL = re.compile(r"^\s*([0-9]{1,9})(?:[.,]([0-9]{1,9}))?\s*$")


class RateInputError(ValueError):
    """A typed rate that is not a decimal number in one of :data:`UNITS`."""


# --- rates ------------------------------------------------------------------------------------
def parse_decimal(text: str | int | float) -> Fraction:
    """A non-negative decimal as typed (``"1.5"`` or ``"1,5"``: one decimal separator, no thousands separator), exactly."""
    if isinstance(text, bool):
        raise RateInputError(f"rate: expected a decimal number, found {text!r}")
    if isinstance(text, (int, float)):
        text = repr(float(text)) if isinstance(text, float) else str(text)
    m = _DECIMAL.match(str(text))
    if not m:
        raise RateInputError(f"rate: expected a decimal number such as 1.5 or 1,5 (no thousands separator), found {text!r}")
    whole, frac = m.group(1), m.group(2) or ""
    return Fraction(int(whole + frac), 10 ** len(frac))


def year_pct(value: str | int | float | Fraction, unit: str) -> Fraction:
    """The yearly rate in % of a rate ``value`` in ``unit`` (:data:`UNITS`), exactly."""
    v = value if isinstance(value, Fraction) else parse_decimal(value)
    if unit == "year_pct":
        return v
    if unit == "month_pct":
        return v * 12
    if unit == "vnd_per_million_day":
        return v * YEAR_DAYS / 10_000
    raise RateInputError(f"rate unit: expected one of {', '.join(UNITS)}, found {unit!r}")


def rate_units(year: Fraction) -> dict[str, float]:
    """The yearly rate ``year`` (%) in every unit (floats, for display)."""
    return {"year_pct": float(year), "month_pct": float(year / 12), "vnd_per_million_day": float(year * 10_000 / YEAR_DAYS)}


def rate_input(value: Any, unit: str) -> dict[str, str]:
    """The ``rate_input`` block of a payload (``{"value": text as typed, "unit"}``), checked."""
    year_pct(value, unit)
    return {"value": str(value).strip(), "unit": unit}


def payload_rate(p: dict) -> Fraction | None:
    """The yearly rate a payload (contract or extension) sets: its ``rate_input`` if any (exact), else its
    ``interest_rate_year_pct`` float (an old contract: ``year_pct``), else None."""
    ri = p.get("rate_input")
    if isinstance(ri, dict) and ri.get("unit") in UNITS:
        return year_pct(ri["value"], ri["unit"])
    if p.get("interest_rate_year_pct") is not None:
        return Fraction(str(float(p["interest_rate_year_pct"])))
    return None


def effective_year_pct(year: Fraction, *, fees_vnd: int = 0, loan_vnd: int = 1, term_days: int = 1) -> Fraction:
    """The effective yearly rate (%) with fees: ``year + fees_vnd / loan_vnd × 365 / term_days × 100``."""
    if not fees_vnd:
        return Fraction(year)
    return Fraction(year) + Fraction(int(fees_vnd) * YEAR_DAYS * 100, int(loan_vnd) * int(term_days))


def within_cap(year: Fraction, cap: float | Fraction, *, fees_vnd: int = 0, loan_vnd: int = 1, term_days: int = 1) -> bool:
    """The effective rate is at most ``cap`` %/year (Civil Code 2015 art. 468; the cap itself is allowed)."""
    limit = cap if isinstance(cap, Fraction) else Fraction(str(float(cap)))
    return effective_year_pct(year, fees_vnd=fees_vnd, loan_vnd=loan_vnd, term_days=term_days) <= limit


# --- accrual ----------------------------------------------------------------------------------
def round_half_up(x: Fraction) -> int:
    """``x`` to whole đồng, halves up (x ≥ 0)."""
    return math.floor(x + Fraction(1, 2))


def accrued(principal: int, year: Fraction, days: int) -> Fraction:
    """The exact interest on ``principal`` at ``year`` %/year for ``days`` days."""
    return Fraction(int(principal) * max(0, int(days))) * Fraction(year) / (100 * YEAR_DAYS)


def interest(principal: int, year: Fraction, days: int) -> int:
    """The interest on ``principal`` at ``year`` %/year for ``days`` days, whole đồng (half up).
    10.000.000 ₫ at 18 %/year for 30 days: 147.945 ₫ (147 945,205...)."""
    return round_half_up(accrued(principal, year, days))


@dataclass
class Period:
    """From the end of day ``start`` on: ``principal`` at ``year`` %/year (until the next period's start)."""

    start: date
    principal: int
    year: Fraction


@dataclass
class Book:
    """A contract's money, folded from its entries (:func:`fold`)."""

    start: date
    due: date
    principal: int
    year: Fraction
    interest_to: date
    valuation_vnd: int
    periods: list[Period] = field(default_factory=list)
    interest_paid: int = 0
    paid: int = 0  # interest + principal repaid + fees received
    closed: bool = False  # redeemed, liquidated or cancelled: nothing accrues

    def exact_interest(self, on: date) -> Fraction:
        """The exact interest accrued from the start to the end of day ``on``, over every period."""
        total = Fraction(0)
        for i, p in enumerate(self.periods):
            end = self.periods[i + 1].start if i + 1 < len(self.periods) else on
            end = min(end, on)
            if end > p.start:
                total += accrued(p.principal, p.year, (end - p.start).days)
        return total

    def due_on(self, on: date) -> int:
        """The interest due at the end of day ``on``: rounded total accrued minus what was paid, at least 0."""
        if self.closed:
            return 0
        return max(0, round_half_up(self.exact_interest(on)) - self.interest_paid)

    def change(self, on: date, *, principal: int | None = None, year: Fraction | None = None) -> None:
        """From the end of day ``on``: a new principal and/or rate."""
        p = Period(max(on, self.start), self.principal if principal is None else principal, self.year if year is None else year)
        self.periods = [q for q in self.periods if q.start < p.start]
        # the days up to p.start stay with the periods before; a period starting that day is replaced
        self.periods.append(p)
        self.principal, self.year = p.principal, p.year


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def event_day(p: dict) -> date | None:
    """The local day of an event payload: its ``money.on``, else the Vietnam date of its ``at`` (UTC)."""
    d = _day((p.get("money") or {}).get("on"))
    if d is not None:
        return d
    at = p.get("at")
    if at:
        try:
            return parse_utc(at).astimezone(VN_TZ).date()
        except InputError:
            return None
    return None


def contract_money(contract: dict) -> dict:
    """What the contract itself moved: the loan out, the fees taken at signing (the cash book's first lines)."""
    fees = int(contract.get("fees_vnd") or 0)
    loan = int(contract.get("loan_vnd") or 0)
    out = {"principal_out_vnd": loan, "cash_in_vnd": fees, "cash_out_vnd": loan, "interest_to": contract.get("start_date")}
    if fees:
        out["fees_vnd"] = fees
    return out


def fold(contract: dict, events: Iterable[dict]) -> Book:
    """A contract's :class:`Book` from its ``pawn_contract`` payload and its event payloads in ledger order. An event
    without ``money`` (an old ledger's) moves no money; an extension's rate applies from its day."""
    start = _day(contract["start_date"])
    year = payload_rate(contract) or Fraction(0)
    loan = int(contract["loan_vnd"])
    book = Book(start=start, due=_day(contract["due_date"]), principal=loan, year=year, interest_to=start,
                valuation_vnd=int(contract.get("valuation_vnd") or 0), periods=[Period(start, loan, year)],
                paid=int(contract.get("fees_vnd") or 0))
    fees_at_signing = int(contract.get("fees_vnd") or 0)
    for p in events:
        kind = p.get("type")
        day = event_day(p) or book.start
        m = p.get("money") or {}
        if kind == "correction":
            fields = p.get("fields") or {}
            if "valuation_vnd" in fields:
                book.valuation_vnd = int(fields["valuation_vnd"])
            if "fees_vnd" in fields:  # the fees taken at signing, corrected
                book.paid += int(fields["fees_vnd"]) - fees_at_signing
                fees_at_signing = int(fields["fees_vnd"])
            if p.get("cancel"):
                book.closed = True
            continue
        if kind == "extended":
            if p.get("new_due_date"):
                book.due = _day(p["new_due_date"]) or book.due
            new_rate = payload_rate(p)
            if new_rate is not None and new_rate != book.year:
                book.change(day, year=new_rate)
        interest_vnd = int(m.get("interest_vnd") or 0)
        principal_in = int(m.get("principal_in_vnd") or 0)
        principal_out = int(m.get("principal_out_vnd") or 0)
        book.interest_paid += interest_vnd
        book.paid += interest_vnd + principal_in + int(m.get("fees_vnd") or 0)
        if principal_in or principal_out:
            book.change(day, principal=max(0, book.principal - principal_in + principal_out))
        if m.get("interest_to"):
            book.interest_to = max(book.interest_to, _day(m["interest_to"]) or book.interest_to)
        if kind in ("redeemed", "liquidated"):
            book.closed = True
            book.principal = 0
    return book


def money_state(contract: dict, events: Iterable[dict], on: date) -> dict:
    """The contract view's ``money`` block on day ``on`` (money schema, "The contract view")."""
    book = fold(contract, events)
    due_now = book.due_on(on)
    at_maturity = book.due_on(book.due) if not book.closed else 0
    return {
        "principal_vnd": book.principal,
        "interest_to": book.interest_to.isoformat(),
        "interest_due_vnd": due_now,
        "to_redeem_vnd": (book.principal + due_now) if not book.closed else 0,
        "interest_at_maturity_vnd": at_maturity,
        "total_due_at_maturity_vnd": (book.principal + at_maturity) if not book.closed else 0,
        "paid_vnd": book.paid,
        "interest_paid_vnd": book.interest_paid,
        "overdue_days": max(0, (on - book.due).days) if not book.closed else 0,
        "rate": rate_units(book.year),
        "as_of": on.isoformat(),
    }


# --- quotes -------------------------------------------------------------------------------------
def _block(on: date, interest_to: date, **amounts: int) -> dict:
    money = {k: int(v) for k, v in amounts.items() if v}
    money["cash_in_vnd"] = int(amounts.get("cash_in_vnd") or 0)
    money["cash_out_vnd"] = int(amounts.get("cash_out_vnd") or 0)
    money["interest_to"] = interest_to.isoformat()
    money["on"] = on.isoformat()
    return money


def quote(contract: dict, events: Iterable[dict], event_type: str, on: date, *, amount_vnd: int = 0,
          extend_days: int | None = None, sale_vnd: int = 0, fees_vnd: int = 0, pay_interest: bool = True,
          interest_to: date | None = None, new_year: Fraction | None = None) -> dict:
    """What event ``event_type`` recorded on day ``on`` would carry: ``{"type", "money", "new_due_date"?}``. Only
    the arithmetic: whether the event is allowed is :mod:`verifier.ledger.pawn_events`'s.

    * ``interest_paid``: the interest due up to ``interest_to`` (default ``on``; later: paid in advance), + fees;
    * ``partial_payment``: ``amount_vnd`` of principal with the interest due up to ``on``;
    * ``principal_added``: ``amount_vnd`` more principal lent out (no interest settled);
    * ``extended``: the due date moves by ``extend_days``; with ``pay_interest`` the interest due up to ``on``, + fees;
    * ``redeemed``: the outstanding principal, the interest due up to ``on``, + fees;
    * ``liquidated``: the sale price ``sale_vnd``, paid to the principal first, then the interest due up to
      ``on``; the rest (surplus) is owed back to the pawner and paid out.
    """
    book = fold(contract, events)
    due = book.due_on(on)
    settled = max(book.interest_to, on)
    out: dict[str, Any] = {"type": event_type}
    if event_type == "interest_paid":
        to = interest_to or on
        paid = book.due_on(to)
        money = _block(on, max(book.interest_to, to), interest_vnd=paid, fees_vnd=fees_vnd, cash_in_vnd=paid + fees_vnd)
    elif event_type == "partial_payment":
        money = _block(on, settled, interest_vnd=due, principal_in_vnd=amount_vnd, cash_in_vnd=due + amount_vnd)
    elif event_type == "principal_added":
        money = _block(on, book.interest_to, principal_out_vnd=amount_vnd, cash_out_vnd=amount_vnd)
    elif event_type == "extended":
        paid = due if pay_interest else 0
        money = _block(on, settled if pay_interest else book.interest_to, interest_vnd=paid, fees_vnd=fees_vnd,
                       cash_in_vnd=paid + fees_vnd)
        out["new_due_date"] = (book.due + timedelta(days=int(extend_days or 0))).isoformat()
    elif event_type == "redeemed":
        money = _block(on, settled, interest_vnd=due, principal_in_vnd=book.principal, fees_vnd=fees_vnd,
                       cash_in_vnd=book.principal + due + fees_vnd)
    elif event_type == "liquidated":
        principal_in = min(sale_vnd, book.principal)
        interest_in = min(sale_vnd - principal_in, due)
        surplus = sale_vnd - principal_in - interest_in
        money = _block(on, settled, sale_vnd=sale_vnd, principal_in_vnd=principal_in, interest_vnd=interest_in,
                       surplus_vnd=surplus, cash_in_vnd=sale_vnd, cash_out_vnd=surplus)
    else:
        raise ValueError(f"event type: expected one of {', '.join(MONEY_EVENTS)}, found {event_type!r}")
    out["money"] = money
    return out

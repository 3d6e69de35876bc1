"""Pawn money arithmetic (verifier/ledger/interest.py): units, day count, rounding, the cap, the fold and the quotes.

The rules under test (README "Money"): interest per day = principal × year_pct / 100 / 365 over actual days
(a day counts when it ends: (on − start).days days); summed exactly over periods of constant principal and rate
since the start, rounded half up to whole đồng once; what is due = that rounded total − the interest paid (≥ 0).
So interest paid in pieces is exactly interest paid at once, and one period's payment is within 1 đồng of that
period's own interest computed alone."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from verifier.ledger import interest as I

DAY = timedelta(days=1)


def contract(loan=10_000_000, start="2026-01-01", term=30, rate=18.0, rate_input=None, fees=0, valuation=None) -> dict:
    s = date.fromisoformat(start)
    c = {"type": "pawn_contract", "start_date": start, "due_date": (s + timedelta(days=term)).isoformat(),
         "term_days": term, "loan_vnd": loan, "valuation_vnd": valuation or loan * 2, "interest_rate_year_pct": rate,
         "fees_vnd": fees}
    if rate_input:
        c["rate_input"] = rate_input
    return c


def record(c: dict, events: list[dict], event_type: str, on: date, **kw) -> dict:
    """Quote an event and keep it as a recorded payload (what the pawn book does inside the write)."""
    q = I.quote(c, events, event_type, on, **kw)
    p = {"type": event_type, "money": q["money"]}
    if "new_due_date" in q:
        p["new_due_date"] = q["new_due_date"]
    events.append(p)
    return p


def decimal_text(x: Fraction) -> str:
    """An exact decimal text of ``x`` (its denominator divides a power of ten)."""
    n = 0
    while (x * 10 ** n).denominator != 1:
        n += 1
        assert n < 30
    whole = x * 10 ** n
    digits = str(whole.numerator).rjust(n + 1, "0")
    return digits if n == 0 else digits[:-n] + "." + digits[-n:]


dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
principals = st.integers(min_value=100_000, max_value=5_000_000_000)
rates = st.fractions(min_value=0, max_value=40, max_denominator=1000)


# --- known cases, computed by hand --------------------------------------------------------------
def test_known_cases_by_hand():
    # 10 000 000 × 18 / 100 / 365 × 30 = 54 000 000 / 365 = 147 945,205... -> 147 945 ₫
    assert I.interest(10_000_000, Fraction(18), 30) == 147_945
    # 365 × 10 / 36 500 × 5 = 0,5 -> 1 ₫ (half up); 365 × 10 × 4 / 36 500 = 0,4 -> 0 ₫
    assert I.interest(365, Fraction(10), 5) == 1 and I.interest(365, Fraction(10), 4) == 0
    # 1 000 000 ₫ at 36,5 %/year earns 1 000 ₫ a day: 28 Feb -> 1 Mar is 2 days in 2028 (29 Feb), 1 day in 2027
    leap = I.money_state(contract(1_000_000, "2028-02-28", rate=36.5), [], date(2028, 3, 1))
    common = I.money_state(contract(1_000_000, "2027-02-28", rate=36.5), [], date(2027, 3, 1))
    assert leap["interest_due_vnd"] == 2_000 and common["interest_due_vnd"] == 1_000
    # a whole leap year (2028-01-01 -> 2029-01-01: 366 days) at 36,5 %: 366 000 ₫
    assert I.money_state(contract(1_000_000, "2028-01-01", rate=36.5), [], date(2029, 1, 1))["interest_due_vnd"] == 366_000
    # units: 1,5 %/month = 18 %/year; 500 ₫ per million per day = 500 × 365 / 10 000 = 18,25 %/year
    assert I.year_pct("1,5", "month_pct") == 18 and I.year_pct("500", "vnd_per_million_day") == Fraction(1825, 100)
    # the contract's day: nothing due; redeemed the same day: only the principal
    c = contract()
    assert I.money_state(c, [], date(2026, 1, 1))["interest_due_vnd"] == 0
    assert I.quote(c, [], "redeemed", date(2026, 1, 1))["money"]["cash_in_vnd"] == 10_000_000


def test_redemption_after_an_interest_payment_charges_only_the_days_since():
    c, events = contract(), []
    # 15 days: 10 000 000 × 18 × 15 / 36 500 = 73 972,60 -> 73 973; 30 days: 147 945 -> 147 945 − 73 973 = 73 972
    assert record(c, events, "interest_paid", date(2026, 1, 16))["money"]["interest_vnd"] == 73_973
    red = I.quote(c, events, "redeemed", date(2026, 1, 31))["money"]
    assert red["interest_vnd"] == 73_972 and red["principal_in_vnd"] == 10_000_000
    assert red["cash_in_vnd"] == 10_073_972 and red["interest_to"] == "2026-01-31"


def test_liquidation_pays_principal_then_interest_then_the_surplus_back():
    c, events = contract(), [{"type": "forfeited"}]
    # 60 days: 10 000 000 × 18 × 60 / 36 500 = 295 890,41 -> 295 890
    q = I.quote(c, events, "liquidated", date(2026, 3, 2), sale_vnd=12_000_000)["money"]
    assert q == {"sale_vnd": 12_000_000, "principal_in_vnd": 10_000_000, "interest_vnd": 295_890,
                 "surplus_vnd": 1_704_110, "cash_in_vnd": 12_000_000, "cash_out_vnd": 1_704_110,
                 "interest_to": "2026-03-02", "on": "2026-03-02"}
    short = I.quote(c, events, "liquidated", date(2026, 3, 2), sale_vnd=9_000_000)["money"]
    assert short["principal_in_vnd"] == 9_000_000 and "interest_vnd" not in short and short["cash_out_vnd"] == 0


def test_an_old_ledger_without_money_folds_as_zero_money():
    c = contract()
    old = [{"type": "partial_payment", "amount_vnd": 1_000_000, "at": "2026-01-10T03:00:00Z"},
           {"type": "extended", "extend_days": 30, "new_due_date": "2026-03-02", "at": "2026-01-20T03:00:00Z"}]
    state = I.money_state(c, old, date(2026, 1, 31))
    assert state["paid_vnd"] == 0 and state["principal_vnd"] == 10_000_000 and state["interest_due_vnd"] == 147_945
    assert state["interest_at_maturity_vnd"] == I.interest(10_000_000, Fraction(18), 60)  # due date moved


# --- properties ------------------------------------------------------------------------------------
@given(principals, rates, dates, st.integers(min_value=0, max_value=1500))
@settings(max_examples=200, deadline=None)
def test_day_count_is_actual_days_across_months_and_leap_years(loan, year, start, days):
    """The fold's interest on day ``on`` is the per-day interest summed day by day over every calendar date."""
    c = contract(loan, start.isoformat(), rate_input={"value": decimal_text(Fraction(round(year * 1000), 1000)),
                                                       "unit": "year_pct"})
    rate = Fraction(round(year * 1000), 1000)
    on = start + timedelta(days=days)
    day_by_day = sum((Fraction(loan) * rate / 100 / 365 for _ in range((on - start).days)), Fraction(0))
    assert I.money_state(c, [], on)["interest_due_vnd"] == I.round_half_up(day_by_day)


@given(principals, rates, dates, st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=8))
@settings(max_examples=150, deadline=None)
def test_interest_paid_in_pieces_is_interest_paid_at_once(loan, year, start, gaps):
    c = contract(loan, start.isoformat(), rate_input={"value": decimal_text(Fraction(round(year * 100), 100)), "unit": "year_pct"})
    events, day = [], start
    for gap in gaps:
        day += timedelta(days=gap)
        record(c, events, "interest_paid", day)
    end = day + timedelta(days=7)
    pieces = sum(e["money"].get("interest_vnd", 0) for e in events) + I.money_state(c, events, end)["interest_due_vnd"]
    assert pieces == I.money_state(c, [], end)["interest_due_vnd"]  # exactly, to the đồng
    rate = Fraction(round(year * 100), 100)
    for e, gap in zip(events, gaps):  # each piece is whole đồng, within 1 đồng of its own days' interest alone
        assert all(isinstance(v, int) for k, v in e["money"].items() if k in I.AMOUNT_KEYS)
        assert abs(e["money"].get("interest_vnd", 0) - I.interest(loan, rate, gap)) <= 1


@given(principals, rates, dates,
       st.lists(st.tuples(st.integers(min_value=0, max_value=60), st.floats(min_value=0.01, max_value=0.3)), max_size=5),
       st.integers(min_value=0, max_value=60))
@settings(max_examples=150, deadline=None)
def test_partial_payments_charge_each_day_on_the_principal_of_that_day(loan, year, start, payments, tail):
    """Oracle: day by day, the principal in effect on date d is the loan minus what was repaid on days before d."""
    rate = Fraction(round(year * 100), 100)
    c = contract(loan, start.isoformat(), rate_input={"value": decimal_text(rate), "unit": "year_pct"})
    events, day, repaid = [], start, []
    principal = loan
    for gap, share in payments:
        day += timedelta(days=gap)
        amount = int(principal * share)
        if amount <= 0 or amount >= principal:
            continue
        p = record(c, events, "partial_payment", day, amount_vnd=amount)
        assert p["money"]["principal_in_vnd"] == amount and p["money"]["interest_to"] == day.isoformat()
        principal -= amount
        repaid.append((day, amount))
    end = day + timedelta(days=tail)
    exact = Fraction(0)
    d = start + DAY
    while d <= end:
        in_effect = loan - sum(a for when, a in repaid if when < d)
        exact += Fraction(in_effect) * rate / 100 / 365
        d += DAY
    state = I.money_state(c, events, end)
    assert state["principal_vnd"] == principal
    assert state["interest_paid_vnd"] + state["interest_due_vnd"] == I.round_half_up(exact)
    assert state["paid_vnd"] == state["interest_paid_vnd"] + loan - principal
    assert state["to_redeem_vnd"] == principal + state["interest_due_vnd"]


@given(principals, rates, dates, st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=365),
       st.booleans(), st.integers(min_value=0, max_value=500_000))
@settings(max_examples=150, deadline=None)
def test_extension_moves_the_due_date_and_settles_interest(loan, year, start, after, days, pay, fees):
    rate = Fraction(round(year * 100), 100)
    c = contract(loan, start.isoformat(), rate_input={"value": decimal_text(rate), "unit": "year_pct"})
    on = start + timedelta(days=min(after, 30 + days))  # on or before the new due date
    due_before = I.money_state(c, [], on)["interest_due_vnd"]
    p = record(c, [], "extended", on, extend_days=days, pay_interest=pay, fees_vnd=fees)
    assert p["new_due_date"] == (start + timedelta(days=30 + days)).isoformat()
    assert p["money"]["cash_in_vnd"] == (due_before if pay else 0) + fees and p["money"]["cash_out_vnd"] == 0
    state = I.money_state(c, [p], on)
    assert state["interest_due_vnd"] == (0 if pay else due_before)
    new_due = date.fromisoformat(p["new_due_date"])
    own = I.interest(loan, rate, (new_due - on).days)  # this period's interest computed alone
    assert abs(state["interest_at_maturity_vnd"] - (own + (0 if pay else due_before))) <= 1
    assert state["overdue_days"] == 0 and state["total_due_at_maturity_vnd"] == loan + state["interest_at_maturity_vnd"]


@given(principals, st.fractions(min_value=0, max_value=20, max_denominator=100), st.integers(min_value=0, max_value=10_000_000),
       st.integers(min_value=1, max_value=3650), st.sampled_from([20, 18.5, 100]))
@settings(max_examples=300, deadline=None)
def test_the_cap_at_the_boundary(loan, year, fees, term, cap):
    """Exactly the cap is allowed; one step above (a millionth of a percent, or one đồng of fees) is refused."""
    fee_part = Fraction(fees * 365 * 100, loan * term)
    at_cap = Fraction(str(float(cap))) - fee_part
    assume(at_cap >= 0)
    assert I.within_cap(at_cap, cap, fees_vnd=fees, loan_vnd=loan, term_days=term)
    assert not I.within_cap(at_cap + Fraction(1, 10**6), cap, fees_vnd=fees, loan_vnd=loan, term_days=term)
    assert not I.within_cap(at_cap, cap, fees_vnd=fees + 1, loan_vnd=loan, term_days=term)
    assert I.within_cap(year, cap, fees_vnd=fees, loan_vnd=loan, term_days=term) == (year + fee_part <= Fraction(str(float(cap))))


@given(principals, dates, st.integers(min_value=1, max_value=400),
       st.integers(min_value=0, max_value=99_999), st.sampled_from(["month_pct", "vnd_per_million_day"]), st.booleans())
@settings(max_examples=200, deadline=None)
def test_each_unit_converts_to_the_same_money(loan, start, days, digits, unit, comma):
    """A rate typed in months or in đồng per million per day earns what its yearly rate earns, to the đồng."""
    typed = Fraction(digits, 1000)  # e.g. 1.500 %/month, 493.150 ₫/million/day
    text = decimal_text(typed)
    if comma:
        text = text.replace(".", ",")
    year = I.year_pct(text, unit)
    assert year == (typed * 12 if unit == "month_pct" else typed * 365 / 10_000)
    on = start + timedelta(days=days)
    a = I.money_state(contract(loan, start.isoformat(), rate_input={"value": text, "unit": unit}), [], on)
    b = I.money_state(contract(loan, start.isoformat(), rate_input={"value": decimal_text(year), "unit": "year_pct"}), [], on)
    assert a["interest_due_vnd"] == b["interest_due_vnd"] and a["rate"] == b["rate"]
    assert a["rate"]["year_pct"] == pytest.approx(float(year))


@given(principals, rates, dates, st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=10**10))
@settings(max_examples=150, deadline=None)
def test_liquidation_splits_the_sale_exactly(loan, year, start, days, sale):
    rate = Fraction(round(year * 100), 100)
    c = contract(loan, start.isoformat(), rate_input={"value": decimal_text(rate), "unit": "year_pct"})
    on = start + timedelta(days=days)
    due = I.money_state(c, [], on)["interest_due_vnd"]
    m = I.quote(c, [{"type": "forfeited"}], "liquidated", on, sale_vnd=sale)["money"]
    get = lambda k: m.get(k, 0)  # noqa: E731
    assert get("principal_in_vnd") + get("interest_vnd") + get("surplus_vnd") == sale == m["cash_in_vnd"]
    assert get("surplus_vnd") == max(0, sale - loan - due) == m["cash_out_vnd"]
    assert get("principal_in_vnd") == min(sale, loan)


@given(principals, rates, dates, st.integers(min_value=1, max_value=90), st.integers(min_value=1, max_value=10**9))
@settings(max_examples=100, deadline=None)
def test_principal_added_accrues_from_the_day_after(loan, year, start, after, extra):
    rate = Fraction(round(year * 100), 100)
    c = contract(loan, start.isoformat(), rate_input={"value": decimal_text(rate), "unit": "year_pct"})
    on = start + timedelta(days=after)
    events: list[dict] = []
    p = record(c, events, "principal_added", on, amount_vnd=extra)
    assert p["money"]["cash_out_vnd"] == extra == p["money"]["principal_out_vnd"] and p["money"]["cash_in_vnd"] == 0
    end = on + timedelta(days=10)
    exact = I.accrued(loan, rate, after) + I.accrued(loan + extra, rate, 10)
    state = I.money_state(c, events, end)
    assert state["interest_due_vnd"] == I.round_half_up(exact) and state["principal_vnd"] == loan + extra


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "-1", "1 000", "1e3", "١٢"])
def test_a_rate_that_is_not_a_decimal_is_refused(text):
    with pytest.raises(I.RateInputError):
        I.year_pct(text, "year_pct")
    with pytest.raises(I.RateInputError):
        I.year_pct("1", "percent")

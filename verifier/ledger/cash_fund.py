"""The shop's cash fund (quỹ tiền mặt) in the ledger: fund movements and cash counts, and the book's balance.

The cash book (:mod:`verifier.ledger.cash_book`) knows every pawn movement; the shop's own cash is recorded here,
as ledger ``event`` entries (nothing is edited or deleted, a mistake is put right by another entry):

* a fund movement, payload ``{"type": "cash_fund", "direction": "in" | "out", "purpose": "owner" | "other",
  "amount_vnd", "reason", "by": {"user", "role"}, "money": {"cash_in_vnd", "cash_out_vnd"}}``: the owner puts
  cash in (nhập quỹ / nộp quỹ) or takes it out (rút quỹ), ``purpose: owner``; or another income or expense of
  the shop with its reason (thu khác / chi khác: electricity, rent...), ``purpose: other``. Its ``money`` block
  (money schema: what crossed the counter) makes it a row of the cash book like any money event. A manager's;
  a withdrawal above the book's balance is refused (the drawer cannot give what the book says it lacks).
* a cash count (kiểm quỹ), payload ``{"type": "cash_count", "counted_vnd", "expected_vnd", "difference_vnd",
  "note", "by"}``: the cash counted in the drawer; ``expected_vnd`` is the book's balance at that moment,
  computed inside the entry's own write, ``difference_vnd = counted_vnd - expected_vnd``, and a ``note``
  explaining it is required when it is not 0. A count moves no cash (no ``money`` block): the book keeps its
  balance, and a difference that is real is settled by a fund movement (thu khác / chi khác) with its reason.
  Any clerk may count; the caller may send the balance it showed (``expected_vnd``): when the book moved since,
  nothing is recorded (``amount_changed``, the fresh balance in its details).

Amounts are whole đồng, positive, at most :data:`MAX_AMOUNT_VND` (Circular 200/2014/TT-BTC art. 12: cash is
kept in đồng; the cash book S07-DN shows each receipt and payment with its reason; Decree 96/2016/NĐ-CP art. 29:
the pawn business keeps its books). Both entries sync to the police like every entry.

**The balance.** The book's balance at any seq is the sum of cash in less cash out of every entry up to it. So
as not to decrypt the whole chain for it, the projection ``cash_balance`` (one row per entry: seq, ts, cash in,
cash out; :func:`verifier.ledger.pawn_records.money_of`) is written inside each entry's write
and caught up from the chain (the record) when attached (:mod:`verifier.ledger.projection`): the entries appended
since the last one it saw.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Mapping

from verifier.errors import InputError
from verifier.ledger import projection
from verifier.ledger.entry import Entry
from verifier.ledger.idempotency import IdempotencyKeys, Replayed, Request
from verifier.ledger.pawn_records import has_money, money_of
from verifier.ledger.store import Ledger
from verifier.users import refused

FUND = "cash_fund"
COUNT = "cash_count"
DIRECTIONS = ("in", "out")
#: owner: nhập quỹ / rút quỹ (the owner's cash); other: thu khác / chi khác (the shop's other income, expense)
PURPOSES = ("owner", "other")
#: The largest amount of one entry: 100 billion đồng (far above a shop's drawer; far below 2^53).
MAX_AMOUNT_VND = 100_000_000_000
#: Longest reason or note (characters).
MAX_TEXT = 500

SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS cash_balance (
        seq INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        cash_in_vnd INTEGER NOT NULL,
        cash_out_vnd INTEGER NOT NULL
    );
    """,
)


# --- the projection ----------------------------------------------------------------------
def project(conn: sqlite3.Connection, entry: Entry) -> None:
    """The projector: the cash an entry moved (0 and 0 for an entry that moved none), in its write."""
    m = money_of(entry) if has_money(entry) else {"cash_in_vnd": 0, "cash_out_vnd": 0}
    conn.execute("INSERT OR IGNORE INTO cash_balance (seq, ts, cash_in_vnd, cash_out_vnd) VALUES (?, ?, ?, ?)",
                 (entry.seq, entry.ts, m["cash_in_vnd"], m["cash_out_vnd"]))


def attach(ledger: Ledger) -> None:
    """Attach the ``cash_balance`` projection to ``ledger`` (:func:`verifier.ledger.projection.attach`: registered
    once, caught up from the chain; a damaged entry is skipped, the cash book lists it as damaged). Idempotent."""
    projection.attach(ledger, "cash", SCHEMA, project)


def balance(conn: sqlite3.Connection, upto_seq: int | None = None) -> int:
    """Cash in less cash out of every entry up to ``upto_seq`` (all: None), from the projection."""
    if upto_seq is None:
        row = conn.execute("SELECT COALESCE(SUM(cash_in_vnd - cash_out_vnd), 0) FROM cash_balance").fetchone()
    else:
        row = conn.execute("SELECT COALESCE(SUM(cash_in_vnd - cash_out_vnd), 0) FROM cash_balance WHERE seq <= ?",
                           (int(upto_seq),)).fetchone()
    return int(row[0])


def balance_at(ledger: Ledger, upto_seq: int | None = None) -> int:
    """The book's balance after the entry ``upto_seq`` (None: now), read through the ledger's reader."""
    attach(ledger)
    return balance(ledger.reader(), upto_seq)


# --- checks --------------------------------------------------------------------------------
def check_amount(value: Any, field: str = "amount_vnd") -> int:
    """A positive whole number of đồng up to :data:`MAX_AMOUNT_VND` (a JSON number; 1e6 is whole, 10.5 is not),
    else :func:`refused` ``bad_cash_amount``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise refused("bad_cash_amount", f"{field}: expected a whole number of dong, found {value!r}", field=field)
    amount = int(value)
    if not 0 < amount <= MAX_AMOUNT_VND:
        raise refused("bad_cash_amount", f"{field}: expected 1 to {MAX_AMOUNT_VND} dong, found {amount}", field=field)
    return amount


def check_text(value: Any, field: str, *, required: bool, difference: int = 0) -> str:
    """A reason or note: trimmed text, at most :data:`MAX_TEXT` characters; ``required``: not empty."""
    if value is not None and not isinstance(value, str):
        raise refused("cash_text_too_long", f"{field}: expected text", field=field, max=MAX_TEXT)
    text = " ".join((value or "").split())
    if len(text) > MAX_TEXT:
        raise refused("cash_text_too_long", f"{field}: at most {MAX_TEXT} characters, found {len(text)}", field=field,
                      max=MAX_TEXT)
    if required and not text:
        if field == "note":
            raise refused("cash_note_required", f"note: the count differs from the book by {difference} dong: "
                          "explain the difference", field=field, difference_vnd=difference)
        raise refused("cash_reason_required", f"{field}: a reason is required", field=field)
    return text


def check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise refused("bad_cash_kind", f"{field}: expected one of {', '.join(choices)}, found {value!r}", field=field)
    return value


def amount_changed(shown: int, balance_vnd: int) -> InputError:
    """The book's balance is not the one the caller showed (HTTP 409): nothing recorded."""
    return refused("amount_changed", f"expected_vnd: the book's balance is now {balance_vnd} dong, not {shown}: count again",
                   expected_vnd=balance_vnd, shown_vnd=shown)


def above_balance(amount: int, balance_vnd: int) -> InputError:
    """A withdrawal above the book's balance (HTTP 409): nothing recorded."""
    return refused("cash_above_balance", f"amount_vnd: {amount} dong is more than the book's balance of {balance_vnd} dong",
                   amount_vnd=amount, balance_vnd=balance_vnd)


# --- recording -----------------------------------------------------------------------------
class CashFund:
    """Fund movements and counts on ``ledger``; client Idempotency-Key answers in ``keys`` (the pawn book's)."""

    def __init__(self, ledger: Ledger, keys: IdempotencyKeys | None = None) -> None:
        self.ledger = ledger
        self.keys = keys or IdempotencyKeys(ledger)
        attach(ledger)

    def balance(self) -> int:
        return balance_at(self.ledger)

    def position(self) -> dict:
        """``{"balance_vnd", "seq"}``: the book's balance now, after the entry ``seq`` (0: none)."""
        row = self.ledger.reader().execute(
            "SELECT COALESCE(SUM(cash_in_vnd - cash_out_vnd), 0), COALESCE(MAX(seq), 0) FROM cash_balance").fetchone()
        return {"balance_vnd": int(row[0]), "seq": int(row[1])}

    def _append(self, payload: dict, prepare, answer, demo: bool, idempotency: Request | None) -> dict:
        def prep(conn: sqlite3.Connection, p: dict) -> dict:
            self.keys.check(conn, idempotency)
            return prepare(conn, p)

        try:
            entry = self.ledger.append("event", payload, demo=demo, prepare=prep,
                                       also=lambda conn, e: self.keys.record(conn, idempotency, 201, answer(conn, e)))
        except Replayed as r:
            return r.answer.body
        return answer(self.ledger.reader(), entry)

    def fund(self, form: Mapping, *, user: str, role: str, demo: bool = False,
             idempotency: Request | None = None) -> dict:
        """Record a fund movement (checked: direction, purpose, amount, reason); ``{"seq", "type", "ts",
        "direction", "purpose", "amount_vnd", "money", "balance_vnd"}`` (the book's balance after it)."""
        direction = check_choice(form.get("direction"), "direction", DIRECTIONS)
        purpose = check_choice(form.get("purpose") or "owner", "purpose", PURPOSES)
        amount = check_amount(form.get("amount_vnd"))
        reason = check_text(form.get("reason"), "reason", required=True)
        payload = {"type": FUND, "direction": direction, "purpose": purpose, "amount_vnd": amount, "reason": reason,
                   "by": {"user": user, "role": role},
                   "money": {"cash_in_vnd": amount if direction == "in" else 0,
                             "cash_out_vnd": amount if direction == "out" else 0}}

        def prepare(conn: sqlite3.Connection, p: dict) -> dict:
            now = balance(conn)
            if direction == "out" and amount > now:
                raise above_balance(amount, now)
            return p

        def answer(conn: sqlite3.Connection, e: Entry) -> dict:
            return {"seq": e.seq, "type": FUND, "ts": e.ts, "direction": direction, "purpose": purpose,
                    "amount_vnd": amount, "money": e.payload["money"], "balance_vnd": balance(conn, e.seq)}

        return self._append(payload, prepare, answer, demo, idempotency)

    def count(self, form: Mapping, *, user: str, role: str, demo: bool = False,
              idempotency: Request | None = None) -> dict:
        """Record a cash count; the book's balance and the difference are computed inside the write. ``{"seq",
        "type", "ts", "counted_vnd", "expected_vnd", "difference_vnd"}``."""
        counted = form.get("counted_vnd")
        empty = isinstance(counted, (int, float)) and not isinstance(counted, bool) and counted == 0
        counted = 0 if empty else check_amount(counted, "counted_vnd")  # an empty drawer counts 0 đồng
        shown = form.get("expected_vnd")
        if shown is not None and (isinstance(shown, bool) or not isinstance(shown, int)):
            raise refused("bad_cash_amount", f"expected_vnd: expected a whole number of dong, found {shown!r}",
                          field="expected_vnd")
        note = check_text(form.get("note"), "note", required=False)
        payload = {"type": COUNT, "counted_vnd": counted, "note": note, "by": {"user": user, "role": role}}

        def prepare(conn: sqlite3.Connection, p: dict) -> dict:
            expected = balance(conn)
            if shown is not None and shown != expected:
                raise amount_changed(shown, expected)
            difference = counted - expected
            check_text(note, "note", required=difference != 0, difference=difference)
            return {**p, "expected_vnd": expected, "difference_vnd": difference}

        def answer(conn: sqlite3.Connection, e: Entry) -> dict:
            p = e.payload
            return {"seq": e.seq, "type": COUNT, "ts": e.ts, "counted_vnd": p["counted_vnd"],
                    "expected_vnd": p["expected_vnd"], "difference_vnd": p["difference_vnd"]}

        return self._append(payload, prepare, answer, demo, idempotency)

"""Pawn money on the API: ``GET /api/v1/transactions/{id}/quote``, what a money event would record, recording nothing.

The counter shows the quote (lãi đến hôm nay, the amount to redeem, an extension's new due date...), the clerk
confirms it with the pawner, then posts the event with ``expected`` (the cash confirmed) to
``POST /transactions/{id}/events`` (:mod:`verifier.api.routes`): the server computes the amounts again inside the
write and answers 409 ``amount_changed`` with the fresh quote when they differ. The arithmetic is
:mod:`verifier.ledger.interest`; the rules :func:`verifier.ledger.pawn_events.event_money`; README "Money".
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.errors import NotFoundError
from verifier.ledger.admission import ContractRefused
from verifier.users import User
from verifier.vn_words import vnd_words

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.get("/transactions/{txn_id}/quote", tags=["transactions"],
            summary="What a money event would record today (or on a given day), recording nothing")
def quote(
    request: Request,
    txn_id: str,
    type: Literal["interest_paid", "partial_payment", "principal_added", "extended", "redeemed", "liquidated"] = Query(  # noqa: A002
        ..., description="The event: đóng lãi, trả bớt gốc, vay thêm gốc, gia hạn, chuộc đồ, thanh lý."),
    on: date | None = Query(None, description="The day of the event (YYYY-MM-DD, Vietnam); default today. "
                            "interest_paid: the interest is paid up to this day unless interest_to is given."),
    amount_vnd: int | None = Query(None, ge=1, le=10**13, description="partial_payment, principal_added: the principal."),
    extend_days: int | None = Query(None, ge=1, le=3650, description="extended: the days added to the due date."),
    sale_vnd: int | None = Query(None, ge=1, le=10**13, description="liquidated: the sale price."),
    fees_vnd: int | None = Query(None, ge=0, le=10**12, description="interest_paid, extended, redeemed: fees received."),
    interest_to: date | None = Query(None, description="interest_paid: up to this day (at most the due date)."),
    pay_interest: bool = Query(True, description="extended: the interest due is paid with it."),
    user: User = Depends(need("txn.read")),
) -> dict:
    """``{"type", "money": {...}, "new_due_date"?, "cash_in_words", "cash_out_words"}``: the ``money`` block the event
    would carry (README "Money"), ``cash_in_vnd`` / ``cash_out_vnd`` being what the clerk confirms (``expected``), and
    those two amounts in Vietnamese words."""
    body: dict = {"pay_interest": pay_interest}
    for key, value in (("amount_vnd", amount_vnd), ("extend_days", extend_days), ("sale_vnd", sale_vnd),
                       ("fees_vnd", fees_vnd)):
        if value is not None:
            body[key] = value
    if interest_to is not None:
        body["interest_to"] = interest_to.isoformat()
    elif type == "interest_paid" and on is not None:
        body["interest_to"] = on.isoformat()
    try:
        answer = request.app.state.svc.book.quote(txn_id, type, body, user=user.name, role=user.role, on=on)
    except NotFoundError as e:
        raise ApiError(404, "transaction_not_found", f"no contract {txn_id!r}") from e
    except ContractRefused as e:
        raise ApiError(422, e.code, str(e), e.details) from e
    money = answer.get("money") or {}
    # what the clerk reads out to the pawner before confirming: the cash in words too ("Bằng chữ")
    for key in ("cash_in", "cash_out"):
        answer[f"{key}_words"] = vnd_words(int(money.get(f"{key}_vnd") or 0), capital=True)
    return answer

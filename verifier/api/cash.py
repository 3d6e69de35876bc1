"""The shop's cash fund over REST (:mod:`verifier.ledger.cash_fund`): fund movements, cash counts, the balance.

* ``POST /api/v1/cash/fund`` (``cash.fund``: manager, admin): ``{"direction": "in" | "out", "purpose": "owner" |
  "other", "amount_vnd", "reason"}``, nhập quỹ / rút quỹ (owner) or thu khác / chi khác (other). 201
  ``{"seq", "type": "cash_fund", "ts", "direction", "purpose", "amount_vnd", "money", "balance_vnd"}``.
* ``POST /api/v1/cash/count`` (``cash.count``: clerk, manager, admin): ``{"counted_vnd", "note", "expected_vnd"?}``
  (kiểm quỹ). The book's balance is computed inside the write; ``expected_vnd``, when sent, is the balance the
  clerk saw: another one means the book moved meanwhile, 409 ``amount_changed`` (the fresh balance in
  ``details.expected_vnd``), nothing recorded. 201 ``{"seq", "type": "cash_count", "ts", "counted_vnd",
  "expected_vnd", "difference_vnd"}``.
* ``GET /api/v1/cash/balance`` (``cash.count``): ``{"balance_vnd", "seq"}``, the book's balance after entry ``seq``.

Both posts take an ``Idempotency-Key`` like the contract and event posts (:mod:`verifier.ledger.idempotency`):
the same key and body get the first answer, another body a 409 ``idempotency_key_reused``.
Refusals: 422 ``bad_cash_amount``, ``bad_cash_kind``, ``cash_reason_required``, ``cash_note_required``,
``cash_text_too_long``; 409 ``cash_above_balance`` (a withdrawal above the book's balance), ``amount_changed``.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.api.routes import IDEMPOTENCY_KEY, idempotent
from verifier.errors import InputError
from verifier.ledger import cash_fund
from verifier.ledger.idempotency import IdempotencyConflict
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["cash"])

#: Refusals that are a conflict with the book's state (409), not bad input (422).
CONFLICTS = ("amount_changed", "cash_above_balance")
_TEXT_BOUND = 4 * cash_fund.MAX_TEXT  # the schema's bound; the ledger's check says "at most 500" in Vietnamese


class FundCreate(BaseModel):
    direction: Literal["in", "out"] = Field(..., description="in: cash put into the drawer; out: taken out.")
    purpose: Literal["owner", "other"] = Field("owner", description="owner: nhập quỹ / rút quỹ (the owner's cash); "
                                               "other: thu khác / chi khác (another income or expense of the shop).")
    amount_vnd: int | float = Field(..., description="Whole đồng, 1 to 100.000.000.000.")
    reason: str = Field("", max_length=_TEXT_BOUND, description="Why (required; at most 500 characters).")


class CountCreate(BaseModel):
    counted_vnd: int | float = Field(..., description="The cash counted in the drawer, whole đồng (0 for an empty drawer).")
    note: str = Field("", max_length=_TEXT_BOUND, description="Explanation of the difference (required when it is not 0).")
    expected_vnd: int | None = Field(None, description="The book's balance the clerk saw (GET /cash/balance); when the "
                                     "book moved since: 409 amount_changed, nothing recorded.")


def fund_book(request: Request) -> cash_fund.CashFund:
    return request.app.state.cash_fund


def _record(request: Request, user: User, key: str | None, body: BaseModel, action: str):
    data = body.model_dump(mode="json")
    req, answered = idempotent(request, user, key, data, fund_book(request).keys)
    if answered is not None:
        return JSONResponse(answered.body, status_code=answered.status)
    record = getattr(fund_book(request), action)
    try:
        out = record(data, user=user.name, role=user.role, demo=request.app.state.svc.demo, idempotency=req)
    except IdempotencyConflict as e:  # the key was used meanwhile for another body
        raise ApiError(409, "idempotency_key_reused", str(e)) from e
    except InputError as e:
        code = getattr(e, "code", "invalid_input")
        raise ApiError(409 if code in CONFLICTS else 422, code, str(e), dict(getattr(e, "details", None) or {})) from e
    return JSONResponse(out, status_code=201)


@router.post("/cash/fund", status_code=201, summary="Cash in or out of the shop's fund (nhập quỹ / rút quỹ, thu khác / chi khác)")
def post_fund(request: Request, body: FundCreate, user: User = Depends(need("cash.fund")),
              idempotency_key: str | None = IDEMPOTENCY_KEY):
    return _record(request, user, idempotency_key, body, "fund")


@router.post("/cash/count", status_code=201, summary="A cash count (kiểm quỹ): the difference with the book is recorded")
def post_count(request: Request, body: CountCreate, user: User = Depends(need("cash.count")),
               idempotency_key: str | None = IDEMPOTENCY_KEY):
    return _record(request, user, idempotency_key, body, "count")


@router.get("/cash/balance", summary="The cash book's balance now (tồn quỹ)")
def get_balance(request: Request, user: User = Depends(need("cash.count"))) -> dict:
    return fund_book(request).position()


def install(app) -> None:
    """The router, and the fund book on the service's ledger (its projection attached before any entry)."""
    svc = app.state.svc
    app.state.cash_fund = cash_fund.CashFund(svc.ledger, svc.book.keys)
    app.include_router(router)

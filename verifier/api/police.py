"""What the police sent the shop, at the counter (issue 19 item 2): holds and notices.

The messages arrive through the sync relay's signed downlink (:mod:`sync.downlink_apply`) and are ledger
events (:mod:`verifier.ledger.holds`). Here:

* ``GET /api/v1/holds``: the active holds (``?txn_id=`` one contract's, ``?all=true`` released and expired
  ones too);
* ``GET /api/v1/notices``: the notices not yet acknowledged (``?all=true``: every one);
* ``POST /api/v1/notices/{version}/ack``: a clerk read it (a ledger event, ``police_notice_ack``);
  acknowledging again answers the first acknowledgement.

:func:`install` also puts the hold guard on the pawn book (a redemption, liquidation or cancellation of a
held contract answers 409 ``item_on_hold`` with the reason) and ``hold`` (the active hold or null) in
every contract's JSON. ``/static/notices.js`` (loaded by every page) shows the unacknowledged notices as a
banner until acknowledged.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.errors import NotFoundError
from verifier.ledger.admission import ContractRefused
from verifier.ledger.holds import PoliceBook
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["police"])


def _police(request: Request) -> PoliceBook:
    return request.app.state.police


@router.get("/holds", summary="Police holds on contracts (active ones by default)")
def get_holds(request: Request, txn_id: str | None = None, all: bool = False,  # noqa: A002 - the query's name
              user: User = Depends(need("txn.read"))) -> dict:
    return {"holds": _police(request).holds(txn_id, active_only=not all)}


@router.get("/notices", summary="Police notices (unacknowledged ones by default)")
def get_notices(request: Request, all: bool = False, user: User = Depends(need("txn.read"))) -> dict:  # noqa: A002
    return {"notices": _police(request).notices(unacknowledged=not all)}


@router.post("/notices/{version}/ack", summary="Acknowledge a police notice (recorded in the ledger)")
def ack_notice(request: Request, version: int, user: User = Depends(need("txn.event"))) -> dict:
    try:
        return _police(request).acknowledge(version, user=user.name, role=user.role)
    except NotFoundError as e:
        raise ApiError(404, "notice_not_found", str(e), {"version": version}) from e


def install(app) -> None:
    """The router, the hold guard on the pawn book, and ``hold`` in the contract JSON."""
    svc = app.state.svc
    police = app.state.police = PoliceBook.of(svc.ledger)

    def guard(conn, txn_id: str, payload: dict) -> None:
        hold = police.blocking_hold(conn, txn_id, payload)
        if hold is not None:
            raise ContractRefused("item_on_hold", f"contract {hold['contract_no']} is on a police hold ({hold['reason']})",
                                  {k: hold[k] for k in ("reason", "case_no", "until", "hold_id", "contract_no", "issued_by")})

    svc.book.guards.append(guard)

    def annotate(txn_id: str, view: dict) -> None:
        active = police.holds(txn_id)
        view["hold"] = active[0] if active else None

    svc.book.annotations.append(annotate)
    app.include_router(router)

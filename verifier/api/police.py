"""What the police sent the shop, at the counter (issue 19 item 2): holds and notices.

The messages arrive through the sync relay's signed downlink (:mod:`sync.downlink_apply`) and are ledger
events (:mod:`verifier.ledger.holds`). Here:

* ``GET /api/v1/holds``: the active holds (``?txn_id=`` one contract's, ``?all=true`` released and expired
  ones too);
* ``GET /api/v1/notices``: the notices not yet acknowledged (``?all=true``: every one);
* ``POST /api/v1/notices/{version}/ack``: a clerk read it (a ledger event, ``police_notice_ack``);
  acknowledging again answers the first acknowledgement.

Every police entry, once committed, goes out on the event stream (:mod:`verifier.api.event_stream`) as
``police_message`` ``{"kind", "version", "seq", "applied"?, "txn_id"?, "contract_no"?}`` (:func:`message_event`):
``kind`` is the downlink kind (``hold``, ``hold_release``, ``notice``, ``trust``) or ``notice_ack``; the counter
page redraws the notice banner and an open contract's hold from it, without a reload.

:func:`install` also puts the hold guard on the pawn book (a redemption, liquidation or cancellation of a
held contract answers 409 ``item_on_hold`` with the reason) and ``hold`` (the active hold or null, with
``blocks``: the event types it refuses, :data:`BLOCKS`) in every contract's JSON. ``/static/notices.js`` (loaded by every page) shows the unacknowledged notices as a
banner until acknowledged.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.errors import NotFoundError
from verifier.ledger.admission import ContractRefused
from verifier.ledger.holds import ACK, RELEASING, TYPES, PoliceBook
from verifier.ledger.writer import EntryRef
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["police"])

#: what an active hold refuses (the guard, :meth:`PoliceBook.blocking_hold`): these event types, and ``cancel``
#: (a cancelling correction); the counter disables their buttons and says why
BLOCKS: tuple[str, ...] = (*RELEASING, "cancel")
_KIND = {v: k for k, v in TYPES.items()}


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
def ack_notice(request: Request, version: int = Path(..., ge=1, le=2**63 - 1, description="The notice's downlink version."),
               user: User = Depends(need("txn.event"))) -> dict:
    try:
        return _police(request).acknowledge(version, user=user.name, role=user.role)
    except NotFoundError as e:
        raise ApiError(404, "notice_not_found", str(e), {"version": version}) from e


def message_event(police: PoliceBook, ref: EntryRef) -> dict | None:
    """The ``police_message`` event of a committed police entry, or None for another entry. Read from the
    projection (nothing decrypted, no personal data): ``kind``, ``version`` (of the message; of the notice
    acknowledged for ``notice_ack``), ``seq``; ``applied`` for a received message; ``txn_id`` and ``contract_no``
    for a hold or its release."""
    if ref.kind != "event" or (ref.type not in _KIND and ref.type != ACK):
        return None
    conn = police.ledger.reader()
    if ref.type == ACK:
        row = conn.execute("SELECT version FROM police_notices WHERE acked_seq = ?", (ref.seq,)).fetchone()
        return {"kind": "notice_ack", "version": row[0] if row else None, "seq": ref.seq}
    row = conn.execute("SELECT version, applied FROM police_messages WHERE seq = ?", (ref.seq,)).fetchone()
    data: dict = {"kind": _KIND[ref.type], "version": row[0] if row else None, "seq": ref.seq,
                  "applied": bool(row[1]) if row else None}
    if ref.txn_id is not None:
        data["txn_id"] = ref.txn_id
        found = conn.execute("SELECT contract_no FROM police_holds WHERE txn_id = ? ORDER BY placed_seq DESC LIMIT 1",
                             (ref.txn_id,)).fetchone()
        data["contract_no"] = found[0] if found else None
    return data


def install(app) -> None:
    """The router, the hold guard on the pawn book, ``hold`` in the contract JSON, and ``police_message`` on
    the event stream for every police entry committed."""
    svc = app.state.svc
    police = app.state.police = PoliceBook.of(svc.ledger)

    def committed(entries: list[EntryRef]) -> None:
        for ref in entries:
            data = message_event(police, ref)
            if data is not None:
                svc.bus.publish("police_message", data)

    svc.ledger.on_commit(committed)  # after Service.committed, which leaves police entries to this one

    def guard(conn, txn_id: str, payload: dict) -> None:
        hold = police.blocking_hold(conn, txn_id, payload)
        if hold is not None:
            raise ContractRefused("item_on_hold", f"contract {hold['contract_no']} is on a police hold ({hold['reason']})",
                                  {k: hold[k] for k in ("reason", "case_no", "until", "hold_id", "contract_no", "issued_by",
                                                   "issued_at", "received_at")})

    svc.book.guards.append(guard)

    def annotate(txn_id: str, view: dict) -> None:
        active = police.holds(txn_id)
        view["hold"] = dict(active[0], blocks=list(BLOCKS)) if active else None

    svc.book.annotations.append(annotate)
    app.include_router(router)

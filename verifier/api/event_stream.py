"""``GET /api/v1/events``: the server-sent event stream (WHATWG HTML "Server-sent events", §9.2).

Each event is ``id: <run>-<n>``, ``event: <name>``, ``data: <JSON>``. A client that reconnects
with ``Last-Event-ID`` (the browser's EventSource does so by itself) first gets the events it
missed, from a bounded ring of recent events (:class:`verifier.api.events.EventBus`); when they
cannot all be given (the service restarted, or more happened than the ring holds) the stream says
so with a ``reset`` event: reload the state (``GET /api/v1/scans/{id}``, ``GET /api/v1/transactions``).

:data:`EVENTS` documents every event with an example; it becomes the OpenAPI description of the
route (and ``tests/service/test_event_stream.py`` checks that every event the code publishes is in it).
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

_TS = "2026-05-28T03:15:07.412Z"

#: event name -> (what it means, an example of its data). Personal data never travels on the stream.
EVENTS: dict[str, tuple[str, dict]] = {
    "hello": ("First event of every connection: who is listening, and whether the service runs in demo mode.",
              {"user": "lan", "demo": False}),
    "reset": ("After a reconnect with `Last-Event-ID`, some events could not be replayed (the service restarted, "
              "or more happened than it keeps): reload the state you show.",
              {"reason": "the service restarted since event 18f0a2b3c4d-41; reload the state",
               "reason_vi": "dịch vụ đã khởi động lại từ sự kiện 18f0a2b3c4d-41; hãy tải lại trạng thái"}),
    "card_inserted": ("A card was placed on a reader (PC/SC readers are watched; during a scan also the scan's reader).",
                      {"reader": "ACS ACR1252 1S CL Reader PICC 0", "ts": _TS}),
    "card_removed": ("The card was taken off the reader.", {"reader": "ACS ACR1252 1S CL Reader PICC 0", "ts": _TS}),
    "scan": ("Progress of a scan: `status` is waiting_for_card, reading, verifying, done or failed; `step` says what "
             "is being done in words.", {"scan_id": "9b1f4c0e2a7d4e65b0c3f1d2a8e7c6b5", "status": "reading",
                                         "step": "DG2", "ts": _TS}),
    "scan_done": ("A scan finished with a verdict (authentic, not_authentic or unverified); fetch the result with "
                  "`GET /api/v1/scans/{scan_id}`.", {"scan_id": "9b1f4c0e2a7d4e65b0c3f1d2a8e7c6b5",
                                                     "verdict": "authentic", "demo": False, "ts": _TS}),
    "qr": ("The camera read a CCCD's QR code and started a scan with it: `started_by` is `button` (`POST "
           "/api/v1/scans/from-camera`) or `watch` (the card held to the camera, `camera.qr_watch`); the QR text "
           "itself never travels on the stream.", {"scan_id": "9b1f4c0e2a7d4e65b0c3f1d2a8e7c6b5", "started_by": "watch"}),
    "face": ("The face step of a scan decided: match, refer, no_match, no_face, multiple_faces or poor_quality.",
             {"scan_id": "9b1f4c0e2a7d4e65b0c3f1d2a8e7c6b5", "decision": "match", "ts": _TS}),
    "transaction_created": ("A pawn contract was recorded in the ledger.",
                            {"id": "0f3c2d1e-8b7a-4c6d-9e5f-a1b2c3d4e5f6", "contract_no": "HĐ-2026-000042",
                             "demo": False, "ts": _TS}),
    "transaction_event": ("A contract changed: redeemed, extended, partial_payment, forfeited, liquidated, correction or "
                          "suspicious (an event entry of the ledger that belongs to a contract; `seq`: its place in "
                          "the chain).", {"id": "0f3c2d1e-8b7a-4c6d-9e5f-a1b2c3d4e5f6", "type": "redeemed", "seq": 57,
                                          "ts": _TS}),
    "shop_profile": ("The shop profile printed on contracts was changed (a ledger entry, `seq`); fetch it with "
                     "`GET /api/v1/shop`.", {"seq": 58, "ts": _TS}),
    "police_message": ("Something from the police was recorded in the ledger (issue 19 item 2, `GET /api/v1/holds`, "
                       "`GET /api/v1/notices`): `kind` is `hold`, `hold_release`, `notice`, `trust` (a message of the "
                       "signed downlink, `version` its number, `applied` false when it could not be applied here) or "
                       "`notice_ack` (a clerk acknowledged notice `version`); a hold and its release name the "
                       "contract (`txn_id`, `contract_no`). The reason and the notice's text are not sent: fetch them.",
                       {"kind": "hold", "version": 3, "seq": 59, "applied": True,
                        "txn_id": "0f3c2d1e-8b7a-4c6d-9e5f-a1b2c3d4e5f6", "contract_no": "HĐ-2026-000042", "ts": _TS}),
}


def sse(event_id: str | None, event: str, data: dict) -> str:
    """One event in the text/event-stream format (§9.2.5)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _description() -> str:
    rows = "\n".join(f"| `{name}` | {what} |" for name, (what, _) in EVENTS.items())
    return (
        "Server-sent events (`text/event-stream`). Each event: `id: <run>-<n>`, `event: <name>`, `data: <JSON>`; "
        "a comment line `: keep-alive` every 15 s of silence. No personal data is ever sent.\n\n"
        "**Resuming**: reconnect with the header `Last-Event-ID: <the last id you received>` (a browser's "
        "EventSource does it by itself) and the missed events come first; when they cannot all be given, a "
        "`reset` event says so.\n\n| event | meaning |\n|---|---|\n" + rows
    )


def _examples() -> dict:
    return {name: {"summary": what.split(":")[0].split(".")[0][:80], "value": sse(f"18f0a2b3c4d-{i + 41}", name, example)}
            for i, (name, (what, example)) in enumerate(EVENTS.items())}


@router.get("/events", tags=["scans"], summary="Server-sent events: card inserted/removed, scan progress, contracts, "
            "police messages",
            description=_description(),
            responses={200: {"description": "The event stream", "content": {"text/event-stream": {
                "schema": {"type": "string"}, "examples": _examples()}}}})
async def events(
    request: Request,
    limit: int | None = Query(None, ge=1, le=100000, description="Close the stream after this many events."),
    timeout_s: float | None = Query(None, gt=0, le=86400, description="Close the stream after this many seconds."),
    last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=64,
                                       description="Resume after this event: the missed events come first."),
    user: User = Depends(need("events")),
) -> StreamingResponse:
    svc = request.app.state.svc
    bus = svc.bus
    queue = bus.subscribe()  # first, so nothing published during the replay is lost
    missed, complete = bus.since(last_event_id) if last_event_id else ([], True)
    replayed = missed[-1]["seq"] if missed else 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s if timeout_s else None

    async def stream():
        sent = 0
        try:
            yield sse(None, "hello", {"user": user.name, "demo": svc.demo})
            if not complete:
                yield sse(None, "reset", {
                    "reason": f"events after {last_event_id} could not all be kept (service restarted or too many); reload the state",
                    "reason_vi": f"không còn giữ đủ các sự kiện sau {last_event_id} (dịch vụ khởi động lại hoặc quá nhiều); hãy tải lại trạng thái"})
            for item in missed:
                if limit is not None and sent >= limit:
                    return
                sent += 1
                yield sse(item["id"], item["event"], item["data"])
            while limit is None or sent < limit:
                wait = 15.0
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                    if wait <= 0:
                        break
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=wait)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        break
                    yield ": keep-alive\n\n"
                    continue
                if item.get("seq", 0) <= replayed:
                    continue  # already sent from the ring
                sent += 1
                yield sse(item["id"], item["event"], item["data"])
        finally:
            bus.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

"""Device side of the backend API: enrolment, signed batch ingest, chain heads, enrolment tokens.

Devices (shop ledgers) are authenticated by signatures, not sessions: enrolment by a one-time
token with a proof of the device key, batches by their signature (:mod:`sync.batch`); only
issuing an enrolment token needs an admin session.

A refused batch keeps the device protocol's fields the relay reads (``status``, ``reason``,
``detail``, the stored head) and also carries the one error shape (``error``: code
``batch_refused``, ``details.reason``), like every other error of the API. Each answer is counted
for ``/metrics`` (:mod:`sync.backend.metrics`).

    POST /api/v1/enroll                 one-time token + device public key + proof
    POST /api/v1/ingest                 a signed, gzip'd batch (see :mod:`sync.batch`)
    GET  /api/v1/devices/{id}/head      where the stored chain of a device ends
    POST /api/v1/devices (admin)        issue an enrolment token
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sync.backend import auth, downlink_key, enroll, metrics
from sync.backend.db import Database
from sync.backend.ingest import device_head, ingest
from sync.backend.routes.deps import admin_user, get_db, request_language
from sync.batch import MAX_WIRE_BYTES
from verifier.error_shape import ApiError, body as error_body
from verifier.errors import InputError, SyncError

router = APIRouter()


class EnrollBody(BaseModel):
    token: str = Field(min_length=8, max_length=200)
    device_id: str = Field(min_length=1, max_length=200)
    public_key: str = Field(min_length=1, max_length=200)
    proof: str = Field(min_length=1, max_length=400)


class DeviceBody(BaseModel):
    shop: str = Field(min_length=1, max_length=200)
    license_no: str = Field(min_length=1, max_length=100)
    province: str = Field(min_length=1, max_length=20)


@router.post("/api/v1/enroll")
def post_enroll(body: EnrollBody, request: Request, db: Database = Depends(get_db)) -> dict:
    try:
        return enroll.enroll_device(db, token=body.token, device_id=body.device_id, public_key=body.public_key, proof=body.proof,
                                    downlink_key=downlink_key.for_app(request.app))  # pinned by the shop (sync/downlink.py)
    except InputError as e:
        raise ApiError(400, "invalid_input", str(e)) from e
    except SyncError as e:
        raise ApiError(409, "enrollment_refused", str(e)) from e


@router.post("/api/v1/ingest")
async def post_ingest(request: Request) -> Response:
    db = get_db(request)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_WIRE_BYTES:
            metrics.count_refused(request.app, "too-large")
            detail = f"body exceeds {MAX_WIRE_BYTES} bytes"
            return JSONResponse(_refusal(request, {"status": "refused", "reason": "too-large", "detail": detail}), 413)
    result = await run_in_threadpool(ingest, db, bytes(raw), request.headers.get("content-encoding"))
    metrics.count_ingest(request.app, result)
    answer = result.body if result.status_code < 400 else _refusal(request, result.body)
    headers = {"X-Chipid-Duplicate": "1" if result.duplicate else "0"}
    if result.queued:
        # This worker process was busy, so the batch waited. Letting the connection go sends
        # the shop's next batch to whichever worker accepts first, which is a free one: a
        # kept-alive connection would tie that shop to this busy process (measured, 8 shops
        # on 3 workers: kept alive, half to nine tenths of the cores busy, varying from run to
        # run with how the connections happened to spread; shed, nine tenths in every run).
        headers["Connection"] = "close"
    return JSONResponse(answer, status_code=result.status_code, headers=headers)


def _refusal(request: Request, refused: dict) -> dict:
    """A refused batch's answer: the protocol's fields and the one error shape (in the request's language)."""
    code = "upgrade_required" if refused.get("reason") == "upgrade_required" else "batch_refused"  # an old shop: update chipid
    shaped = error_body(code, str(refused.get("detail") or ""), {"reason": refused.get("reason")}, request_language(request))
    return {**refused, **shaped}


@router.get("/api/v1/devices/{device_id}/head")
def get_head(device_id: str, db: Database = Depends(get_db)) -> dict:
    head = device_head(db, device_id)
    if head is None:
        raise ApiError(404, "device_not_enrolled", f"device {device_id!r} is not enrolled", {"device_id": device_id})
    return head


@router.post("/api/v1/devices")
def post_device(body: DeviceBody, _user: auth.User = Depends(admin_user), db: Database = Depends(get_db)) -> dict:
    return enroll.add_device_token(db, shop=body.shop, license_no=body.license_no, province=body.province)

"""The watchlist routes of the backend API: stolen-item serials / IMEIs and wanted ID numbers.

    GET/POST /api/v1/watchlist, POST /api/v1/watchlist/csv, DELETE /api/v1/watchlist/{item_id}

Matching ingested entries against the list and raising alerts is :mod:`sync.backend.watchlist`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, UploadFile
from pydantic import BaseModel, Field

from sync.backend import auth, watchlist
from sync.backend.db import Database
from sync.backend.routes.deps import current_user, get_db
from verifier.error_shape import ApiError

router = APIRouter()


class WatchItem(BaseModel):
    kind: str = Field(max_length=20)
    value: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=500)


class WatchBody(BaseModel):
    items: list[WatchItem] = Field(max_length=10000)


@router.get("/api/v1/watchlist")
def get_watchlist(_user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    return {"items": watchlist.list_items(db)}


@router.post("/api/v1/watchlist")
def post_watchlist(body: WatchBody, user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    return watchlist.add_items(db, [i.model_dump() for i in body.items], user.name)


@router.post("/api/v1/watchlist/csv")
async def post_watchlist_csv(file: UploadFile, user: auth.User = Depends(current_user),
                             db: Database = Depends(get_db)) -> dict:
    data = await file.read(watchlist.MAX_CSV_BYTES + 1)
    items = watchlist.parse_csv(data)
    return watchlist.add_items(db, items, user.name)


@router.delete("/api/v1/watchlist/{item_id}")
def delete_watchlist(item_id: str, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    if not watchlist.deactivate(db, item_id):
        raise ApiError(404, "watchlist_item_not_found", "no such active watchlist item", {"item_id": item_id})
    return {"status": "removed"}

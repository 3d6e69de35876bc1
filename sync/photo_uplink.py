"""Item photos to the police backend (issue 19 item 5), after their contracts are delivered.

The relay (:mod:`sync.relay`) calls :func:`upload` after a delivery that reached the backend: the item
photos (pawn book ``photos``, kind ``item-<n>``) of contracts the backend acknowledged, not yet taken,
are sent one by one, device-signed (``POST /api/v1/devices/{id}/photos``, :mod:`sync.backend.photos`),
decrypted only for the request. The backend keeps a photo whose SHA-256 is the item's ``photo_sha256``
in the delivered entry and refuses any other (409 ``photo_mismatch``), which is recorded and not
retried; the bookkeeping is :meth:`verifier.ledger.holds.PoliceBook.photo_sent`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from sync.client import BackendClient
from verifier.errors import SyncError
from verifier.ledger.holds import PoliceBook

log = logging.getLogger(__name__)


def upload(ledger: Any, client: BackendClient, *, limit: int = 20) -> dict:
    """Upload up to ``limit`` pending item photos; returns ``{"stored", "refused"}`` counts. Raises
    :class:`SyncError` when the backend cannot be reached (the rest waits for the next cycle)."""
    from verifier.ledger.pawn_store import PawnStore

    police = PoliceBook.of(ledger)
    acked = int(ledger.sync_state().get("acked_seq") or 0)
    pending = police.photos_to_upload(acked, limit)
    if not pending:
        return {"stored": 0, "refused": 0}
    store = PawnStore(ledger)
    counts = {"stored": 0, "refused": 0}
    for p in pending:
        data = store.photo(p["txn_id"], p["kind"])
        if data is None or hashlib.sha256(data).hexdigest() != p["sha256"]:
            continue  # purged meanwhile
        body = {"contract_no": p["contract_no"], "txn_id": p["txn_id"], "kind": p["kind"],
                "data": base64.b64encode(data).decode()}
        reply = client.post_photo(ledger.device_id, body, ledger.sign)
        if reply.status_code == 200:
            police.photo_sent(p["txn_id"], p["kind"], p["sha256"], "stored")
            counts["stored"] += 1
        elif reply.status_code in (400, 409, 413):
            detail = str(reply.body.get("detail") or reply.status_code)
            log.warning("item photo %s of contract %s refused by the backend: %s", p["kind"], p["contract_no"], detail)
            police.photo_sent(p["txn_id"], p["kind"], p["sha256"], "refused", detail)
            counts["refused"] += 1
        else:
            raise SyncError(f"backend answered HTTP {reply.status_code} to an item photo: {reply.body.get('detail')}")
    return counts

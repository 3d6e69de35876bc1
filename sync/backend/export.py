"""Export one device's stored chain as a ``chipid-ledger-export/1`` bundle.

The bundle is what ``chipid ledger verify-export`` checks (``verifier.ledger.export.verify_bundle``):
a contiguous run of entries plus the device's signed checkpoints. A bundle must end on a signed
checkpoint, so the export stops at the latest checkpoint the device has delivered whose head
matches the stored chain; entries after it are counted in ``unanchored_after`` (they will be
exportable once the next checkpoint arrives; the relay sends one at the end of every backlog).
Stored bodies are decrypted (:mod:`sync.backend.vault`) back to the exact canonical entry JSON.
"""

from __future__ import annotations

import json

from sqlalchemy import text

from sync.backend.db import Database
from verifier.errors import InputError
from verifier.ledger.entry import Checkpoint
from verifier.ledger.export import FORMAT

CHUNK = 5000


def export_device(db: Database, device_id: str, *, from_seq: int = 1) -> dict:
    with db.read() as conn:
        dev = conn.execute(text("SELECT shop_id, public_key, head_seq FROM devices WHERE device_id = :d"), {"d": device_id}).first()
        if dev is None:
            raise InputError(f"device {device_id!r} is not enrolled")
        shop_id, public_key, head_seq = dev[0], dev[1], int(dev[2])
        cps = [Checkpoint(device_id, int(r[0]), r[1], r[2], r[3]) for r in conn.execute(text(
            "SELECT seq, head_hash, ts, signature FROM checkpoints WHERE shop_id = :s AND device_id = :d AND verified = 1 "
            "AND seq >= :f ORDER BY seq"), {"s": shop_id, "d": device_id, "f": max(from_seq, 1)})]
        last = cps[-1].seq if cps else 0
        entries: list[dict] = []
        after = max(from_seq, 1) - 1
        while after < last:
            rows = conn.execute(text(
                "SELECT seq, body, hash FROM entries WHERE shop_id = :s AND device_id = :d AND seq > :a AND seq <= :l "
                "ORDER BY seq LIMIT :n"), {"s": shop_id, "d": device_id, "a": after, "l": last, "n": CHUNK}).all()
            if not rows:
                break
            for seq, body, h in rows:
                entries.append({**json.loads(db.vault.open_entry(body, shop_id, device_id, int(seq))), "hash": h})
            after = entries[-1]["seq"]
    return {
        "format": FORMAT,
        "device_id": device_id,
        "device_public_key": public_key,
        "shop_id": shop_id,
        "entries": entries,
        "checkpoints": [c.to_json() for c in cps],
        "unanchored_after": max(0, head_seq - last),
    }


def shop_devices(db: Database, shop_id: str) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute(text("SELECT device_id FROM devices WHERE shop_id = :s ORDER BY device_id"), {"s": shop_id})]

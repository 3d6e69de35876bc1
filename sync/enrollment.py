"""Shop side of enrolment: register the device public key with a one-time token.

The result is recorded in ``DATA_DIR/sync/enrollment.json`` (backend URL, pinned certificate,
shop id, and ``downlink_public_key``: the backend's Ed25519 key that signs the police messages,
pinned here at enrolment, :mod:`sync.downlink`), which the relay reads when ``sync.backend_url`` is
not set. A record without that key (enrolled before the downlink) receives no police messages: enrol
again.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from sync.batch import enroll_message
from sync.client import BackendClient
from verifier.errors import ConfigError, SyncError
from verifier.ledger.entry import utc_now
from verifier.private_file import write_private_file

FILE = Path("sync") / "enrollment.json"


def enroll(ledger: Any, backend_url: str, token: str, pin_sha256: str = "", timeout: float = 30.0) -> dict:
    """Register ``ledger``'s device key at the backend; record and return the enrolment."""
    token = (token or "").strip()
    if not token:
        raise ConfigError("enrolment token: expected the token printed by `chipid backend device add`, found nothing")
    client = BackendClient(backend_url, pin_sha256, timeout)
    try:
        proof = base64.b64encode(ledger.sign(enroll_message(token, ledger.device_id))).decode()
        reply = client.enroll({"token": token, "device_id": ledger.device_id, "public_key": ledger.public_key_b64(), "proof": proof})
    finally:
        client.close()
    if reply.status_code != 200:
        raise SyncError(f"enrolment refused by the backend (HTTP {reply.status_code}): {reply.body.get('detail')}")
    record = {
        "backend_url": client.url,
        "cert_sha256": pin_sha256 or "",
        "device_id": ledger.device_id,
        "shop_id": reply.body.get("shop_id"),
        "shop": reply.body.get("shop"),
        "province": reply.body.get("province"),
        # the backend's downlink key, pinned: police messages must verify with it (sync/downlink.py)
        "downlink_public_key": reply.body.get("downlink_public_key"),
        "enrolled_at": utc_now(),
    }
    save_enrollment(Path(ledger.data_dir), record)
    return record


def save_enrollment(data_dir: Path, record: dict) -> None:
    write_private_file(Path(data_dir) / FILE, json.dumps(record, ensure_ascii=False, indent=1).encode())


def load_enrollment(data_dir: Path) -> dict | None:
    path = Path(data_dir) / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: expected the JSON written by `chipid sync enroll`: {e}") from e
    return data if isinstance(data, dict) else None

"""The backend's downlink signing key (Ed25519, RFC 8032): it signs every message to the shops
(:mod:`sync.downlink`), and its public key is returned by enrolment, where the shop pins it.

Where it comes from (first found wins):

1. the environment variable :data:`SIGNING_KEY_ENV` (``CHIPID_BACKEND_SIGNING_KEY``): base64 of the
   32-byte Ed25519 private key (seed), the way for PostgreSQL deployments like the other backend keys;
2. ``<data_dir>/keys/downlink-ed25519.pem`` (PKCS#8 PEM), created mode 0600 on first start
   (:mod:`verifier.private_file`, exclusive: when several workers start at once, one key wins).

Without either (an in-process app over PostgreSQL with no data directory) the backend has no key:
enrolment answers ``downlink_public_key: null`` and the downlink endpoints answer 503.
Back the key up: shops enrolled with it accept nothing signed by another (they must enrol again).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.backend.vault import b64_key
from verifier.errors import ConfigError
from verifier.ledger.entry import public_key_b64
from verifier.private_file import write_private_file

log = logging.getLogger(__name__)

SIGNING_KEY_ENV = "CHIPID_BACKEND_SIGNING_KEY"
KEY_FILE = Path("keys") / "downlink-ed25519.pem"


def load(key_dir: str | Path | None, *, create: bool = True) -> Ed25519PrivateKey | None:
    """The signing key from the environment, else from ``<key_dir>/keys/downlink-ed25519.pem`` (created
    when missing); None when neither is possible."""
    env = os.environ.get(SIGNING_KEY_ENV) or ""
    if env:
        seed = b64_key(env, f"{SIGNING_KEY_ENV} (an Ed25519 key)")
        return Ed25519PrivateKey.from_private_bytes(seed)
    if key_dir is None:
        return None
    path = Path(key_dir).expanduser() / KEY_FILE
    if not path.exists():
        if not create:
            return None
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        if write_private_file(path, pem, exclusive=True):
            log.info("created the backend's downlink signing key %s", path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(f"downlink signing key {path}: expected an unencrypted PEM Ed25519 private key") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"downlink signing key {path}: expected an Ed25519 key, found {type(key).__name__}")
    return key


def key_dir_for(db: Any) -> Path | None:
    """Where a database's keys live when nobody said: a SQLite file's directory, else the data directory
    ``chipid backend serve --workers N`` hands its workers (None: unknown)."""
    if getattr(db, "data_dir", None):  # where Database.open found the vault's keys
        return Path(db.data_dir)
    url = str(getattr(db, "url", ""))
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).parent
    from sync.backend.app import WORKER_ENV_DIR

    return Path(os.environ[WORKER_ENV_DIR]) if os.environ.get(WORKER_ENV_DIR) else None


def for_app(app: Any) -> Ed25519PrivateKey | None:
    """The app's signing key (``app.state.downlink_key``, set by ``chipid backend serve``), else loaded once
    from the environment or beside the database."""
    state = app.state
    if not hasattr(state, "downlink_key"):
        state.downlink_key = load(key_dir_for(state.db))
    return state.downlink_key


def public_b64(key: Ed25519PrivateKey | None) -> str | None:
    return public_key_b64(key.public_key()) if key is not None else None

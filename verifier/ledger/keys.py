"""Keys of the ledger, all kept outside the database.

* The **data key** (AES-256) encrypts personal data at rest (entry payloads, photos) and,
  through HKDF (RFC 5869), derives the key of the blind index used for search. It comes
  from the environment variable named by ``ledger.key_env`` (base64 of 32 bytes) or from
  ``ledger.key_file`` (default ``DATA_DIR/keys/ledger.key``, created at first start).
* The **device key** (Ed25519, RFC 8032) signs checkpoints of the hash chain; the PEM file
  (default ``DATA_DIR/keys/device-ed25519.pem``) is created at first start.

Both files are written with mode 0600 through a temporary file and an atomic rename.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.exceptions import InvalidTag

from verifier.errors import ConfigError, LedgerError, TamperError
from verifier.private_file import write_private_file

DEFAULT_KEY_ENV = "CHIPID_LEDGER_KEY"


def write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` for the owner only (file 0600, its directory 0700), atomically
    (:func:`verifier.private_file.write_private_file`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path.parent, 0o700)
    except OSError:  # pragma: no cover - not ours to chmod
        pass
    write_private_file(path, data)


def load_data_key(data_dir: Path, key_env: str = DEFAULT_KEY_ENV, key_file: str = "", create: bool = True) -> bytes:
    """The 32-byte data key: from ``$key_env`` if set, else the key file (created if absent)."""
    if key_env and os.environ.get(key_env):
        text = os.environ[key_env].strip()
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as e:
            raise ConfigError(f"${key_env}: expected base64 of 32 bytes, found text that is not base64") from e
        if len(key) != 32:
            raise ConfigError(f"${key_env}: expected base64 of 32 bytes, found {len(key)} bytes")
        return key
    path = Path(key_file).expanduser() if key_file else Path(data_dir) / "keys" / "ledger.key"
    if path.exists():
        try:
            key = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
        except (binascii.Error, ValueError, UnicodeDecodeError) as e:
            raise ConfigError(f"ledger key file {path}: expected base64 of 32 bytes, found something else") from e
        if len(key) != 32:
            raise ConfigError(f"ledger key file {path}: expected 32 bytes, found {len(key)}")
        return key
    if not create:
        raise ConfigError(f"no ledger key: ${key_env} is unset and {path} does not exist")
    key = secrets.token_bytes(32)
    write_secret(path, base64.b64encode(key) + b"\n")
    return key


def load_device_key(data_dir: Path, key_file: str = "", create: bool = True) -> Ed25519PrivateKey:
    path = Path(key_file).expanduser() if key_file else Path(data_dir) / "keys" / "device-ed25519.pem"
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"device key file {path}: expected an unencrypted PEM Ed25519 private key") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"device key file {path}: expected an Ed25519 key, found {type(key).__name__}")
        return key
    if not create:
        raise ConfigError(f"device key file {path} does not exist")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_secret(path, pem)
    return key


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


class Sealer:
    """AES-256-GCM (NIST SP 800-38D) for personal data at rest, plus the blind-index HMAC.

    A sealed value is ``nonce (12 bytes) || ciphertext || tag``; the associated data binds
    it to its place (e.g. ``entry|<device>|<seq>``) so ciphertexts cannot be swapped.
    """

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != 32:
            raise ConfigError(f"ledger data key: expected 32 bytes, found {len(data_key)}")
        self._aead = AESGCM(_hkdf(data_key, b"chipid ledger aes-256-gcm v1"))
        self._index_key = _hkdf(data_key, b"chipid ledger blind index v1")

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes, what: str = "record") -> bytes:
        if len(sealed) < 28:
            raise TamperError(f"{what}: sealed value of {len(sealed)} bytes is too short to hold nonce and tag")
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], aad)
        except InvalidTag as e:
            raise TamperError(f"{what}: does not decrypt (modified, moved, or a different data key)") from e

    def blind(self, field: str, value: str) -> str:
        """Keyed hash of a normalised search term: equality search without plaintext at rest."""
        mac = hmac.new(self._index_key, f"{field}\x00{value}".encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()[:32]


def check_key(sealer: Sealer, token: bytes | None) -> bytes:
    """Make or check the marker that tells whether a data key opens this ledger."""
    if token is None:
        return sealer.seal(b"chipid-ledger", b"key-check")
    try:
        sealer.open(token, b"key-check", "key check")
    except TamperError as e:
        raise LedgerError("the configured ledger data key does not open this ledger (wrong key file or environment variable?)") from e
    return token

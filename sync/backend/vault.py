"""Personal data at rest in the police backend: entry bodies encrypted, search keys blinded.

Two 32-byte keys, kept outside the database:

* the **data key** encrypts with AES-256-GCM (NIST SP 800-38D). An entry body
  (``entries.body``; also an item photo) is first compressed with
  Zstandard (RFC 8878) against a shipped dictionary of sample entries
  (``data/entry-dictionary-1.json``: a 2 KB contract becomes about 500 bytes, so rows stay
  small and inline, which is most of what PostgreSQL spends per entry), then stored as bytes
  (``BYTEA`` / ``BLOB``): ``z1`` || nonce(12) || ciphertext || tag(16). Bytes rather than
  base64 text: a contract carrying chip evidence seals to about 4 KB, and PostgreSQL spent
  more CPU parsing that as text in ``COPY`` (measured 29 against 13 µs per row) than on
  anything else it does for the row. Other values (alert details, access-log queries,
  watchlist values and notes) are sealed as they are, as text: ``v1:`` + base64(...). The
  AAD is ``shop_id|device_id|seq`` (or the row's own ids), so a value cannot be moved to
  another row unnoticed. The dictionary's bytes are part of the stored format: a new one
  gets a new marker, never replaces this one;
* the **index key** blinds search keys: an entry's keys are keyed BLAKE2b (RFC 7693, keyed
  mode: a MAC) with an 8-byte output over ``type:`` + normalised value, read as a signed
  64-bit integer (a "blind index"); a search computes the same value for the query, so
  equality lookups work without the database ever holding the value. 64 bits keep the
  index narrow and keyed BLAKE2b from a prepared state costs well under a microsecond
  (ingest blinds about six keys per entry); two different values share a blind value with
  probability 2^-64 per pair, which at 10^8 stored keys is a stray extra search result about
  once in 10^11 searches.

Where the keys come from (first found wins):

1. explicit keys (``Vault(data_key, index_key)``, tests);
2. the environment variables named by ``backend.data_key_env`` / ``backend.index_key_env``
   (default ``CHIPID_BACKEND_DATA_KEY`` / ``CHIPID_BACKEND_INDEX_KEY``), each base64 of 32
   bytes: the way for PostgreSQL deployments; both or neither must be set;
3. ``<data_dir>/keys/backend.key``: base64 of one 32-byte master key, created (mode 0600)
   on first use; both keys are derived from it with HKDF-SHA256 (RFC 5869) under distinct
   ``info`` labels.

The database records a key check value (``meta.key_check``, an HMAC of a constant under the
index key) so that opening it with other keys fails clearly instead of finding nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import struct
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import zstandard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from verifier.errors import ConfigError, TamperError
from verifier.private_file import write_private_file

log = logging.getLogger(__name__)

DATA_KEY_ENV = "CHIPID_BACKEND_DATA_KEY"
INDEX_KEY_ENV = "CHIPID_BACKEND_INDEX_KEY"
KEY_FILE = Path("keys") / "backend.key"
PREFIX = "v1:"
ENTRY_FORMAT = b"z1"  # the first bytes of a sealed entry body: zstd with entry dictionary 1, then AES-GCM
NONCE_LEN = 12
MAX_ENTRY_BYTES = 64 << 20  # an entry body never decompresses past the batch limit
_ENTRY_DICT_BYTES = (Path(__file__).parent / "data" / "entry-dictionary-1.json").read_bytes()
# zstd's fast levels: a few microseconds per contract, still 4-5x smaller. A long body is mostly the
# base64 of chip evidence (EF.SOD, DG13-DG15, an AA signature), which no dictionary holds: there
# level -5 takes 12 instead of 23 µs for a 6.3 KB contract, for 7% more bytes (4,489 against 4,201).
_ENTRY_LEVEL, _LONG_ENTRY_LEVEL, LONG_ENTRY = -1, -5, 4096


def _entry_dict(level: int) -> zstandard.ZstdCompressionDict:
    """Entry dictionary 1 prepared for compressing at ``level`` (a prepared dictionary carries its level)."""
    d = zstandard.ZstdCompressionDict(_ENTRY_DICT_BYTES, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    d.precompute_compress(level=level)
    return d


_ENTRY_DICTS = {level: _entry_dict(level) for level in (_ENTRY_LEVEL, _LONG_ENTRY_LEVEL)}
_codecs = threading.local()  # zstandard (de)compressors are not shared between threads


def _entry_codec() -> tuple[dict[int, zstandard.ZstdCompressor], zstandard.ZstdDecompressor]:
    """This thread's entry compressors (by level) and decompressor."""
    codec = getattr(_codecs, "codec", None)
    if codec is None:
        codec = _codecs.codec = (
            {level: zstandard.ZstdCompressor(level=level, dict_data=d, write_checksum=False, write_dict_id=False)
             for level, d in _ENTRY_DICTS.items()},
            zstandard.ZstdDecompressor(dict_data=_ENTRY_DICTS[_ENTRY_LEVEL]),
        )
    return codec


def _undecryptable(what: str) -> TamperError:
    return TamperError(f"{what}: stored value does not decrypt with the backend data key "
                       "(wrong key, or the row was altered or moved)")


_INFO_DATA = b"chipid-backend/v1/data-key (AES-256-GCM entries.body)"
_INFO_INDEX = b"chipid-backend/v3/index-key (keyed BLAKE2b-64 blind index)"
_CHECK = b"chipid-backend/v1/key-check"


def _hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def b64_key(value: str, where: str) -> bytes:
    """The 32 bytes of a key given as base64 text (an environment variable, a key file), or :class:`ConfigError` naming ``where``."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ConfigError(f"{where}: expected base64 of a 32-byte key, found text that is not base64") from e
    if len(key) != 32:
        raise ConfigError(f"{where}: expected base64 of a 32-byte key, found {len(key)} bytes")
    return key


_signed_64 = struct.Struct(">q").unpack  # a blind value: 8 big-endian bytes as a signed integer (int.from_bytes, faster)


class Vault:
    """Encrypts entry bodies and blinds search keys (see the module docstring)."""

    def __init__(self, data_key: bytes, index_key: bytes) -> None:
        if len(data_key) != 32 or len(index_key) != 32:
            raise ConfigError(f"backend keys: expected two 32-byte keys, found {len(data_key)} and {len(index_key)} bytes")
        if data_key == index_key:
            raise ConfigError("backend keys: expected distinct data and index keys, found the same key twice")
        self._keys = (data_key, index_key)
        self._aead = AESGCM(data_key)
        self._index_key = index_key
        self._blind_state = hashlib.blake2b(key=index_key, digest_size=8)
        self._blind_types: dict[str, "hashlib._Hash"] = {}  # type -> state that has hashed the key block and "type:"

    def __reduce__(self):
        """Sent whole to the evidence worker's verification processes (pickle, over their pipe)."""
        return (Vault, self._keys)

    @classmethod
    def from_master(cls, master: bytes) -> "Vault":
        if len(master) != 32:
            raise ConfigError(f"backend master key: expected 32 bytes, found {len(master)}")
        return cls(_hkdf(master, _INFO_DATA), _hkdf(master, _INFO_INDEX))

    @classmethod
    def load(cls, data_dir: str | Path | None, *, data_key_env: str = DATA_KEY_ENV,
             index_key_env: str = INDEX_KEY_ENV, create: bool = True) -> "Vault":
        """Keys from the environment, else from ``<data_dir>/keys/backend.key`` (created when missing)."""
        d, i = os.environ.get(data_key_env) or "", os.environ.get(index_key_env) or ""
        if d or i:
            if not (d and i):
                missing = index_key_env if d else data_key_env
                raise ConfigError(f"backend keys: expected both {data_key_env} and {index_key_env} set, found {missing} unset")
            return cls(b64_key(d, data_key_env), b64_key(i, index_key_env))
        if data_dir is None:
            raise ConfigError(f"backend keys: expected {data_key_env} and {index_key_env} in the environment "
                              f"(or a data directory holding {KEY_FILE}), found neither")
        path = Path(data_dir).expanduser() / KEY_FILE
        if not path.exists():
            if not create:
                raise ConfigError(f"backend keys: expected {path}, found no such file")
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # exclusive: when another process created it first, its key is the one used
            if write_private_file(path, base64.b64encode(os.urandom(32)) + b"\n", exclusive=True):
                log.info("created backend master key file %s", path)
        try:
            content = path.read_text()
        except OSError as e:
            raise ConfigError(f"backend keys: cannot read {path}: {e.strerror}") from e
        return cls.from_master(b64_key(content, str(path)))

    # -- encryption of bodies ---------------------------------------------------------------
    @staticmethod
    def aad(shop_id: str, device_id: str, seq: int) -> bytes:
        return f"{shop_id}|{device_id}|{int(seq)}".encode("utf-8")

    def _encrypt(self, data: bytes, aad: bytes, nonce: bytes) -> bytes:
        """nonce || AES-GCM ciphertext || tag; ``nonce``: 12 fresh random bytes."""
        return nonce + self._aead.encrypt(nonce, data, aad)

    def _decrypt(self, stored: bytes, start: int, aad: bytes, what: str) -> bytes:
        """The plaintext of what :meth:`_encrypt` made, found in ``stored`` from ``start`` on."""
        try:
            return self._aead.decrypt(stored[start:start + NONCE_LEN], stored[start + NONCE_LEN:], aad)
        except (ValueError, InvalidTag) as e:  # ValueError: a value cut short inside its nonce
            raise _undecryptable(what) from e

    def seal(self, plaintext: str, shop_id: str, device_id: str, seq: int) -> str:
        sealed = self._encrypt(plaintext.encode("utf-8"), self.aad(shop_id, device_id, seq), os.urandom(NONCE_LEN))
        return PREFIX + binascii.b2a_base64(sealed, newline=False).decode("ascii")

    def open(self, stored: str, shop_id: str, device_id: str, seq: int) -> str:
        what = f"value of {shop_id}|{device_id}|{seq}"
        if not isinstance(stored, str) or not stored.startswith(PREFIX):
            raise TamperError(f"{what}: expected an encrypted value ({PREFIX}...), found "
                              f"{'plaintext' if isinstance(stored, str) and stored.startswith('{') else 'another format'}")
        try:
            raw = base64.b64decode(stored[len(PREFIX):], validate=True)
        except ValueError as e:  # binascii.Error
            raise _undecryptable(what) from e
        return self._decrypt(raw, 0, self.aad(shop_id, device_id, seq), what).decode("utf-8")

    def seal_entry(self, canonical: bytes, shop_id: str, device_id: str, seq: int) -> bytes:
        """An entry body: compressed with the entry dictionary, then sealed (``z1`` || nonce || ciphertext || tag)."""
        return self.seal_entries(shop_id, device_id, [(seq, canonical)])[0]

    def seal_entries(self, shop_id: str, device_id: str, entries: Sequence[tuple[int, bytes]]) -> list[bytes]:
        """:meth:`seal_entry` for many entry bodies of one device, given as ``(seq, canonical)``:
        the nonces come from one read of the system's randomness (each still 12 random bytes
        of its own)."""
        compressors = _entry_codec()[0]
        short, long = compressors[_ENTRY_LEVEL].compress, compressors[_LONG_ENTRY_LEVEL].compress
        encrypt, aad = self._encrypt, self.aad
        nonces = os.urandom(NONCE_LEN * len(entries))
        sealed = []
        for i, (seq, canonical) in enumerate(entries):
            nonce = nonces[i * NONCE_LEN:(i + 1) * NONCE_LEN]
            packed = long(canonical) if len(canonical) > LONG_ENTRY else short(canonical)
            sealed.append(ENTRY_FORMAT + encrypt(packed, aad(shop_id, device_id, seq), nonce))
        return sealed

    def open_entry(self, stored: bytes, shop_id: str, device_id: str, seq: int) -> bytes:
        """The canonical bytes of an entry body sealed by :meth:`seal_entry`."""
        what = f"entry {device_id}#{seq}"
        if not isinstance(stored, bytes) or not stored.startswith(ENTRY_FORMAT):
            raise TamperError(f"{what}: expected a sealed entry body (bytes starting {ENTRY_FORMAT.decode()}), found "
                              f"{'text' if isinstance(stored, str) else 'other bytes'}")
        packed = self._decrypt(stored, len(ENTRY_FORMAT), self.aad(shop_id, device_id, seq), what)
        try:
            return _entry_codec()[1].decompress(packed, max_output_size=MAX_ENTRY_BYTES)
        except zstandard.ZstdError as e:  # authenticated, so written by a broken or foreign build
            raise TamperError(f"{what}: stored body decrypts but does not decompress with entry dictionary 1") from e

    # -- blind index ------------------------------------------------------------------------
    def blind(self, key_type: str, value: str) -> int:
        """Signed 64-bit blind index of an already normalised value: keyed BLAKE2b-64 of
        ``type:value`` under the index key. The type separates the domains."""
        return self.blind_keys(((key_type, value),))[0]

    def blind_keys(self, keys: Iterable[tuple[str, str]]) -> list[int]:
        """:meth:`blind` of each ``(key_type, value)``, in order (an entry's keys in one call)."""
        typed_states, out = self._blind_types, []
        for key_type, value in keys:
            typed = typed_states.get(key_type)
            if typed is None:  # a handful of types: each primed once, then copied per value
                typed = self._blind_state.copy()
                typed.update(f"{key_type}:".encode("utf-8"))
                typed_states[key_type] = typed
            h = typed.copy()
            h.update(value.encode())  # UTF-8, strict (the default, without parsing the arguments)
            out.append(_signed_64(h.digest())[0])
        return out

    def key_check(self) -> str:
        return hmac.new(self._index_key, _CHECK, hashlib.sha256).hexdigest()[:32]

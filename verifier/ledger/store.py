"""The shop's ledger: one facade over its parts, each in the module named after its job.

* :mod:`verifier.ledger.schema`: the SQLite file (``DATA_DIR/ledger.sqlite``, WAL,
  ``synchronous=FULL``), its tables and migrations, the connections (readers cannot write);
* :mod:`verifier.ledger.writer`: the one write path (a writer thread, group commit, fail-stop)
  and the on-commit listeners;
* :mod:`verifier.ledger.chain`: identity, appending entries, signed checkpoints, reading entries;
* :mod:`verifier.ledger.outbox`: what the police backend has not acknowledged, and what it has;
* :mod:`verifier.ledger.audit`: the access log;
* :mod:`verifier.ledger.verify`: re-hashing and checking the whole ledger;
* :mod:`verifier.ledger.failed_appends`: appends reported as failed, reconciled at the next start.

The pawn book (:mod:`verifier.ledger.pawn`, tables in :mod:`verifier.ledger.pawn_store`) projects
its tables from each entry inside the entry's transaction (:attr:`Ledger.projectors`) and reads them
through :meth:`Ledger.reader`; the other parts attach theirs with :func:`verifier.ledger.projection.attach`
(registered once, caught up from the chain). ``verifier/ledger/LEDGER.md`` describes the format and the guarantees.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.errors import LedgerError
from verifier.ledger import failed_appends, schema
from verifier.ledger import keys as keymod
from verifier.ledger.audit import AccessLog
from verifier.ledger.chain import Chain, Projector
from verifier.ledger.entry import Checkpoint, Entry, public_key_b64
from verifier.ledger.outbox import Outbox
from verifier.ledger.verify import VerifyReport, verify
from verifier.ledger.writer import CommitListener, Writer

log = logging.getLogger(__name__)


class Ledger:
    """The shop ledger. Open with :meth:`open`; thread-safe; one writer at a time."""

    def __init__(self, data_dir: Path, data_key: bytes, device_key: Ed25519PrivateKey, checkpoint_every: int = 100) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / schema.DB_NAME
        self.sealer = keymod.Sealer(data_key)
        self.db = schema.Database(self.path)
        schema.migrate(self.db.writer)
        self.writer = Writer(self.db.writer, self.data_dir / failed_appends.NAME)
        self._closed = False
        try:
            self.chain = Chain(self.db, self.writer, self.sealer, device_key, checkpoint_every)
            self.recovery = failed_appends.Recovery(self.data_dir, self.writer.write, self.db.reader)
            self.recovery.reconcile()
        except BaseException:
            self.close()
            raise
        self.device_id = self.chain.device_id
        self.sync = Outbox(self.chain)
        self.access = AccessLog(self.writer.write, self.db.reader)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        key: bytes | None = None,
        *,
        config: Any = None,
        device_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = None,
    ) -> "Ledger":
        """Open (creating on first start) the ledger in ``data_dir``.

        ``key`` is the 32-byte data key; when ``None`` it is resolved from the settings
        ``ledger.key_env`` / ``ledger.key_file`` of ``config`` (defaults when no config).
        """
        data_dir = Path(data_dir).expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
        key_env = config["ledger.key_env"] if config is not None else keymod.DEFAULT_KEY_ENV
        key_file = config["ledger.key_file"] if config is not None else ""
        dev_file = config["ledger.device_key_file"] if config is not None else ""
        fresh = not (data_dir / schema.DB_NAME).exists()  # keys are created with the ledger, never for an existing one
        if key is None:
            key = keymod.load_data_key(data_dir, key_env, key_file, create=fresh)
        if device_key is None:
            device_key = keymod.load_device_key(data_dir, dev_file, create=fresh)
        if checkpoint_every is None:
            checkpoint_every = config["ledger.checkpoint_every"] if config is not None else 100
        return cls(data_dir, key, device_key, checkpoint_every)

    def close(self) -> None:
        """Sign the head if this process appended since the last checkpoint (a clean shutdown
        leaves a signed head, so a tail cut afterwards is seen), then stop the writer."""
        chain = getattr(self, "chain", None)
        if not self._closed and self.writer.failed is None and chain is not None and chain.last_appended:
            try:
                chain.sign_head_at_shutdown()
            except LedgerError as e:
                log.error("could not sign the ledger head at shutdown: %s", e)
        self._closed = True
        self.writer.close()
        self.db.close()

    # --- writing -----------------------------------------------------------------------------
    def write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(conn)`` on the one write path (projections, access log, photos); returns once committed."""
        return self.writer.write(fn)

    def append(self, kind: str, payload: dict, demo: bool = False, *, priority: int | None = None,
               prepare: Callable[[sqlite3.Connection, dict], dict] | None = None, also: Projector | None = None,
               retry_key: str | None = None) -> Entry:
        """Append one entry (see :meth:`verifier.ledger.chain.Chain.append`)."""
        return self.chain.append(kind, payload, demo, priority=priority, prepare=prepare, also=also, retry_key=retry_key)

    @property
    def projectors(self) -> list[Projector]:
        """Functions run inside the transaction of every appended entry (e.g. the pawn book's projection)."""
        return self.chain.projectors

    def on_commit(self, listener: CommitListener) -> Callable[[], None]:
        """Call ``listener`` with the entries of each committed group (see :mod:`verifier.ledger.writer`);
        returns a function that unregisters it."""
        return self.writer.on_commit(listener)

    def checkpoint(self) -> Checkpoint:
        return self.chain.checkpoint()

    def checkpoint_at(self, seq: int) -> Checkpoint:
        return self.chain.checkpoint_at(seq)

    # --- fail-stop ---------------------------------------------------------------------------
    @property
    def failed(self) -> str | None:
        """Why the ledger stopped taking writes (None while it works)."""
        return self.writer.failed

    @property
    def recovered_after_failure(self) -> list[dict]:
        """Entries reported to their callers as failed that came back at restart, not yet claimed by a retry."""
        return self.recovery.recovered()

    def claim_recovered(self, retry_key: str) -> Entry | None:
        """The entry reported as failed but recovered whose append carried ``retry_key``, once:
        a retry gets it instead of appending a duplicate. None when there is none."""
        seq = self.recovery.claim(retry_key)
        return None if seq is None else self.chain.entries_by_seq([seq])[0]

    # --- signing -----------------------------------------------------------------------------
    def sign(self, data: bytes) -> bytes:
        return self.chain.sign(data)

    def public_key_b64(self) -> str:
        return public_key_b64(self.chain.public_key)

    # --- reading -----------------------------------------------------------------------------
    def reader(self) -> sqlite3.Connection:
        """This thread's read connection, for the parts that keep tables in the ledger (the pawn book).
        It cannot write (``PRAGMA query_only``): writes go through :meth:`write` or :meth:`append`."""
        return self.db.reader()

    def head(self) -> tuple[int, str]:
        return self.chain.head()

    def seq_range(self, from_ts: str, to_ts: str) -> tuple[int | None, int | None]:
        return self.chain.seq_range(from_ts, to_ts)

    def entries(self, after_seq: int = 0, limit: int = 500) -> list[Entry]:
        return self.chain.entries(after_seq, limit)

    def entries_by_seq(self, seqs: list[int]) -> list[Entry]:
        return self.chain.entries_by_seq(seqs)

    def latest_checkpoint(self) -> Checkpoint | None:
        return self.chain.latest_checkpoint()

    def checkpoints(self, from_seq: int = 0, to_seq: int | None = None) -> list[Checkpoint]:
        return self.chain.checkpoints(from_seq, to_seq)

    def verify(self, workers: int = 1, parallel_min: int = 50_000) -> VerifyReport:
        """Decrypt and re-hash every entry, check links, checkpoints and truncation (:func:`verifier.ledger.verify.verify`)."""
        return verify(self.chain, workers, parallel_min)

    # --- sync (outbox) -----------------------------------------------------------------------
    def outbox(self, limit: int = 500) -> list[Entry]:
        """Entries not yet acknowledged, ``suspicious`` events first, then by seq."""
        return self.sync.pending(limit)

    def sync_state(self) -> dict:
        return self.sync.state()

    def record_sync(self, acked_seq: int | None, error: str | None, *, checkpoint: Checkpoint | None = None) -> None:
        """Record a relay attempt (see :meth:`verifier.ledger.outbox.Outbox.record`)."""
        self.sync.record(acked_seq, error, checkpoint=checkpoint)

    def ack_entries(self, seqs: list[int]) -> None:
        self.sync.ack(seqs)

    # --- access log --------------------------------------------------------------------------
    def log_access(self, user: str, role: str, action: str, record: str, detail: str = "") -> None:
        """Who read which personal record, when (no personal data in the log itself)."""
        self.access.log(user, role, action, record, detail)

    def access_log(self, *, user: str | None = None, record: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """Newest first; ``(rows, total)``."""
        return self.access.rows(user=user, record=record, limit=limit, offset=offset)

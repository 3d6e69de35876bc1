"""The outbox and the sync state: what the police backend has not acknowledged yet, and what it has.

Every appended entry gets an outbox row in its own transaction (:mod:`verifier.ledger.chain`);
``suspicious`` events go first (priority 0). The relay (``sync/relay.py``) reads the outbox, and
records each attempt here: the highest seq the backend acknowledged (``acked_seq``) and the newest
checkpoint it accepted (``backend_cp_seq``, ``backend_cp_hash``). A trigger refuses to lower either
(RFC 9162 §2.1.4 style), and :func:`verifier.ledger.verify.verify` fails when the ledger ends
before them (entries were removed).
"""

from __future__ import annotations

import sqlite3

from verifier.ledger.chain import Chain
from verifier.ledger.entry import Checkpoint, Entry, utc_now


class Outbox:
    """The outbox and ``sync_state`` of ``chain``'s ledger."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def pending(self, limit: int = 500) -> list[Entry]:
        """Entries not yet acknowledged, ``suspicious`` events first, then by seq."""
        seqs = [r[0] for r in self.chain.db.reader().execute("SELECT seq FROM outbox ORDER BY priority, seq LIMIT ?", (int(limit),))]
        by_seq = {e.seq: e for e in self.chain.entries_by_seq(seqs)}
        return [by_seq[s] for s in seqs]

    def state(self) -> dict:
        conn = self.chain.db.reader()
        row = conn.execute("SELECT acked_seq, last_error, last_attempt, last_success, failures FROM sync_state WHERE id = 1").fetchone()
        pending = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        head_seq, _ = self.chain.head()
        return {
            "device_id": self.chain.device_id,
            "head_seq": head_seq,
            "acked_seq": row[0],
            "pending": pending,
            "last_error": row[1],
            "last_attempt": row[2],
            "last_success": row[3],
            "failures": row[4],
        }

    def record(self, acked_seq: int | None, error: str | None, *, checkpoint: Checkpoint | None = None) -> None:
        """Record a relay attempt: the backend acknowledged every entry up to ``acked_seq``
        (and accepted ``checkpoint``). Neither ever goes back."""
        now = utc_now()

        def do(conn: sqlite3.Connection) -> None:
            if checkpoint is not None and checkpoint.seq > 0:
                conn.execute(
                    "UPDATE sync_state SET backend_cp_seq = ?, backend_cp_hash = ? WHERE id = 1 AND backend_cp_seq < ?",
                    (checkpoint.seq, checkpoint.head_hash, checkpoint.seq),
                )
            if acked_seq is not None:
                conn.execute("DELETE FROM outbox WHERE seq <= ?", (int(acked_seq),))
                conn.execute(
                    "UPDATE sync_state SET acked_seq = MAX(acked_seq, ?), last_success = ?, last_attempt = ? WHERE id = 1",
                    (int(acked_seq), now, now),
                )
            if error is not None:
                conn.execute(
                    "UPDATE sync_state SET last_error = ?, last_attempt = ?, failures = failures + 1 WHERE id = 1",
                    (str(error)[:2000], now),
                )
            elif acked_seq is not None:
                conn.execute("UPDATE sync_state SET last_error = NULL, failures = 0 WHERE id = 1")

        self.chain.writer.write(do)

    def ack(self, seqs: list[int]) -> None:
        """Remove individually acknowledged entries (e.g. ``suspicious`` sent ahead) from the outbox."""
        self.chain.writer.write(lambda conn: conn.executemany("DELETE FROM outbox WHERE seq = ?", [(int(s),) for s in seqs]))

"""The access log: who read which personal record, when (ARCHITECTURE.md: every read of personal
data by a person is itself logged). The log holds no personal data: records are named by contract
number or id, never by the pawner's name or ID number."""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from verifier.ledger.entry import utc_now


class AccessLog:
    """The ``access_log`` table, written through the ledger's one write path."""

    def __init__(self, write: Callable[..., Any], reader: Callable[[], sqlite3.Connection]) -> None:
        self._write = write
        self._reader = reader

    def log(self, user: str, role: str, action: str, record: str, detail: str = "") -> None:
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO access_log (ts, user, role, action, record, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (utc_now(), user, role, action, record, detail),
            )
        )

    def rows(self, *, user: str | None = None, record: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """Newest first; ``(rows, total)``."""
        where, args = [], []
        if user:
            where.append("user = ?")
            args.append(user)
        if record:
            where.append("record = ?")
            args.append(record)
        clause = " AND ".join(where) or "1"
        conn = self._reader()
        total = conn.execute(f"SELECT COUNT(*) FROM access_log WHERE {clause}", args).fetchone()[0]
        cur = conn.execute(f"SELECT id, ts, user, role, action, record, detail FROM access_log WHERE {clause} "
                           "ORDER BY id DESC LIMIT ? OFFSET ?", [*args, int(limit), int(offset)])
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, row)) for row in cur], total

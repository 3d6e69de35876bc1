"""Client idempotency keys: a request sent again gets the first answer, never a second entry.

An ``Idempotency-Key`` header (draft-ietf-httpapi-idempotency-key-header §2: a unique key chosen by
the client for one operation) on ``POST /api/v1/transactions`` and on the event endpoint is kept
here with a fingerprint of the request (the route and its body, blinded with the ledger's index
key: no personal data at rest) and the answer given (status and body: contract id and number,
seq, no personal data). The key is scoped by user: two users never share one.

* the same key and the same request: the stored answer (same status and body), no new entry;
* the same key and another request: refused (:class:`IdempotencyConflict`, 409, §2.6 "reuse of
  the key with a different payload");
* the key row is written in the same SQLite transaction as the entry it answers (the ``also`` hook
  of :meth:`~verifier.ledger.chain.Chain.append`), and checked again inside that transaction
  (:meth:`IdempotencyKeys.check`), so two concurrent requests with one key make one entry, and an
  answer that was committed is found after a crash or restart;
* only successful answers are kept: a refused request (rate above the cap, a missing reason...)
  is judged again when sent again;
* keys are kept :data:`KEEP_HOURS` hours (draft §2.3: the server says how long), then purged on the
  next write of a key; an expired key is a new key.

The failed-appends retry key (:mod:`verifier.ledger.failed_appends`) is the same idea for a client
that sends no key: it matches a retried contract with an entry that came back after a failed write.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from verifier.errors import InputError
from verifier.ledger.entry import canonical_json, utc_now, utc_text
from verifier.ledger.schema import migrate_part
from verifier.ledger.store import Ledger

#: How long a key is kept (README "Idempotency-Key"; LEDGER.md).
KEEP_HOURS = 24

#: What a key may be: 1-200 visible ASCII characters (a UUID is the usual choice).
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")

SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        user TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (user, key)
    );
    CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
    """,
)


class IdempotencyConflict(InputError):
    """The key was used before for another request (HTTP 409; catalogue code ``idempotency_key_reused``)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the Idempotency-Key {key[:40]!r} was already used for another request: "
                         "send a new key for a new contract or event")
        self.key = key


class Replayed(Exception):
    """Raised inside the write when the key already holds an answer: the caller returns it, nothing is appended."""

    def __init__(self, answer: "Answer") -> None:
        super().__init__("idempotent replay")
        self.answer = answer


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


@dataclass(frozen=True)
class Request:
    """One request under a key: who sent it, the key, and the blinded fingerprint of what was sent."""

    user: str
    key: str
    fingerprint: str


def check_key(key: str) -> str:
    """The header's value, or :class:`InputError` when it is not 1-200 visible ASCII characters."""
    if not KEY_PATTERN.fullmatch(key or ""):
        raise InputError("Idempotency-Key: expected 1-200 visible ASCII characters (a UUID)")
    return key


def _cutoff(now: datetime | None = None) -> str:
    return utc_text((now or datetime.now(timezone.utc)) - timedelta(hours=KEEP_HOURS))


class IdempotencyKeys:
    """The ``idempotency_keys`` table in ``ledger`` (created when constructed)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        ledger.write(lambda conn: migrate_part(conn, "idempotency", SCHEMA))

    def request(self, user: str, key: str, route: str, body: Any) -> Request:
        """The :class:`Request` for ``body`` sent to ``route`` under ``key`` by ``user``."""
        fp = self.ledger.sealer.blind("idempotency", route + "\x00" + canonical_json(body).decode())
        return Request(user, check_key(key), fp)

    @staticmethod
    def _lookup(conn: sqlite3.Connection, req: Request) -> Answer | None:
        row = conn.execute("SELECT fingerprint, status, response FROM idempotency_keys WHERE user = ? AND key = ? "
                           "AND created_at >= ?", (req.user, req.key, _cutoff())).fetchone()
        if row is None:
            return None
        if row[0] != req.fingerprint:
            raise IdempotencyConflict(req.key)
        return Answer(int(row[1]), json.loads(row[2]))

    def answered(self, req: Request) -> Answer | None:
        """The stored answer to ``req`` (None: not seen); :class:`IdempotencyConflict` for another request."""
        return self._lookup(self.ledger.reader(), req)

    def check(self, conn: sqlite3.Connection, req: Request | None) -> None:
        """Inside the write: raise :class:`Replayed` (or the conflict) when the key was answered meanwhile."""
        if req is None:
            return
        answer = self._lookup(conn, req)
        if answer is not None:
            raise Replayed(answer)

    def record(self, conn: sqlite3.Connection, req: Request | None, status: int, body: dict) -> None:
        """Inside the write that made the answer: keep it (and drop expired keys)."""
        if req is None:
            return
        conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (_cutoff(),))
        conn.execute("INSERT OR REPLACE INTO idempotency_keys (user, key, fingerprint, status, response, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (req.user, req.key, req.fingerprint, int(status),
                                                   json.dumps(body, ensure_ascii=False), utc_now()))

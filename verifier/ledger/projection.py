"""Projections: tables written from the chain, inside each entry's own write, and caught up from the chain.

The chain is the record; a projection (the shop profile's, the cash balance, the customers' notes, the police
messages...) is a table kept so as not to decrypt the chain to answer a question. One way to hang one on the
ledger, :func:`attach`::

    attach(ledger, "cash", SCHEMA, project)            # every entry
    attach(ledger, "shop", SCHEMA, project, kinds=("event",))

does, once per ledger and per name (idempotent, thread-safe: it runs on the ledger's one writer thread):

1. migrates the projection's tables, ``migrate_part(conn, name, schema)`` (``meta`` key ``schema.<name>``);
2. catches it up from the chain: every entry after its mark (``meta`` key ``projection.<name>.seq``: the last seq
   it has seen) is decrypted and given to ``project(conn, entry)``, :data:`CHUNK` entries at a time so that a big
   ledger never sits in memory; an entry that cannot be read (damaged: it does not decrypt, its JSON or its text
   columns are broken) is skipped, silently: it is :class:`verifier.ledger.verify.DamageWatch`'s to report;
3. registers the projector on :attr:`verifier.ledger.store.Ledger.projectors`, all three in one write (ledger
   writes are serialised, so no entry is appended between the catch-up and the registration).

From then on, every appended entry (of ``kinds``; all when None) is projected inside its own write and the mark is
moved to its seq in that same transaction: the mark commits, or rolls back, with the entry and its rows (a later
projector that raises takes both back), so it is never behind or ahead of what the table holds. Entries appended
meanwhile by a program that did not attach the projection are caught up before the next one is projected.

``project`` must tolerate seeing an entry that its table already reflects (``INSERT OR IGNORE``, an ``UPDATE`` that
does not repeat): a ledger made before marks existed has no mark, and its projection is caught up from seq 1.
The pawn book's tables (:mod:`verifier.ledger.pawn_store`) are not attached this way: they have been written inside
every entry's write since the ledger's first version (nothing to catch up), and their projector is not idempotent.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Callable, Iterator, Sequence

from verifier.errors import LedgerError, TamperError
from verifier.ledger.chain import ENTRY_COLUMNS
from verifier.ledger.entry import KINDS, Entry
from verifier.ledger.schema import migrate_part
from verifier.ledger.store import Ledger
from verifier.ledger.writer import is_fatal

log = logging.getLogger(__name__)

#: Entries decrypted per step while a projection is caught up.
CHUNK = 2000

#: ``project(conn, entry)``: write the projection's rows of one entry, inside that entry's write.
Project = Callable[[sqlite3.Connection, Entry], None]


def mark_key(name: str) -> str:
    """The ``meta`` key of projection ``name``'s mark: the last seq it has seen."""
    return f"projection.{name}.seq"


class Projection:
    """One projection attached to one ledger: the projector the ledger runs on every appended entry."""

    def __init__(self, ledger: Ledger, name: str, schema: Sequence[str], project: Project,
                 kinds: Sequence[str] | None = None, chunk: int = CHUNK) -> None:
        if kinds is not None and not set(kinds) <= set(KINDS):
            raise LedgerError(f"projection {name}: kinds must be among {KINDS}, found {tuple(kinds)!r}")
        self.ledger = ledger
        self.name = name
        self.schema = tuple(schema)
        self.project = project
        self.kinds = None if kinds is None else tuple(kinds)
        self.chunk = max(1, int(chunk))
        self.key = mark_key(name)

    # --- the projector (inside the entry's write) ------------------------------------------------
    def __call__(self, conn: sqlite3.Connection, entry: Entry) -> None:
        if self.mark(conn) < entry.seq - 1:  # appended meanwhile by a program without this projection
            self.catch_up(conn, entry.seq - 1)
        if self.kinds is None or entry.kind in self.kinds:
            self.project(conn, entry)
        self._set_mark(conn, entry.seq)

    # --- the mark ----------------------------------------------------------------------------------
    def mark(self, conn: sqlite3.Connection) -> int:
        """The last seq this projection has seen (0: none), as ``conn`` sees it."""
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (self.key,)).fetchone()
        return int(row[0]) if row else 0

    def _set_mark(self, conn: sqlite3.Connection, seq: int) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (self.key, str(int(seq))))

    # --- catching up -------------------------------------------------------------------------------
    def catch_up(self, conn: sqlite3.Connection, upto: int | None = None) -> int:
        """Inside a write: project the entries after the mark up to ``upto`` (the head: None), move the mark there;
        how many entries were projected (damaged ones skipped)."""
        mark = self.mark(conn)
        if upto is None:
            upto = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entries").fetchone()[0])
        if upto <= mark:
            return 0
        projected = 0
        for entry in self._entries(conn, mark, upto):
            self.project(conn, entry)
            projected += 1
        self._set_mark(conn, upto)
        if projected:
            log.info("projection %s caught up from the chain: %d entr%s after seq %d", self.name, projected,
                     "y" if projected == 1 else "ies", mark)
        return projected

    def _entries(self, conn: sqlite3.Connection, after: int, upto: int) -> Iterator[Entry]:
        """The readable entries of ``kinds`` in (after, upto], in seq order, :attr:`chunk` rows at a time."""
        where = "seq > ? AND seq <= ?"
        kinds: list[str] = []
        if self.kinds is not None:
            where += f" AND kind IN ({','.join('?' * len(self.kinds))})"
            kinds = list(self.kinds)
        while after < upto:
            rows = _chunk(conn, where, [after, upto, *kinds, self.chunk])
            if not rows:
                return
            for _seq, row in rows:
                entry = None if row is None else _readable(self.ledger, row)
                if entry is not None:
                    yield entry
            after = rows[-1][0]


def _chunk(conn: sqlite3.Connection, where: str, args: list) -> list[tuple[int, tuple | None]]:
    """(seq, row) of the next rows; row None for one that cannot be read at all (a column rewritten as text that is
    not UTF-8 fails the whole fetch: then the rows are read one by one)."""
    try:
        return [(r[0], r) for r in conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE {where} ORDER BY seq LIMIT ?",
                                                args).fetchall()]
    except sqlite3.Error as e:
        if is_fatal(e):
            raise
        seqs = [r[0] for r in conn.execute(f"SELECT seq FROM entries WHERE {where} ORDER BY seq LIMIT ?", args)]
        return [(seq, _row(conn, seq)) for seq in seqs]


def _row(conn: sqlite3.Connection, seq: int) -> tuple | None:
    try:
        return conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE seq = ?", (seq,)).fetchone()
    except sqlite3.Error as e:
        if is_fatal(e):  # a failing disk is not a damaged entry: the writer stops (fail-stop)
            raise
        return None


def _readable(ledger: Ledger, row: tuple) -> Entry | None:
    """The entry of ``row``, or None when it is damaged (DamageWatch reports it, nobody else)."""
    try:
        return ledger.chain.entry_from_row(row)
    except (TamperError, ValueError) as e:
        log.debug("projection catch-up: entry seq %s skipped (%s)", row[0], type(e).__name__)
        return None


def attach(ledger: Ledger, name: str, schema: Sequence[str], project: Project, *,
           kinds: Sequence[str] | None = None, chunk: int = CHUNK) -> Projection:
    """Attach projection ``name`` to ``ledger`` (see the module docstring); the one already attached under that name
    when there is one (:class:`LedgerError` if it was attached with another ``project``)."""
    found = attached(ledger, name)
    if found is None:
        if ledger.writer.in_writer():  # its tables and catch-up would roll back with that write, its projector stay
            raise LedgerError(f"projection {name!r}: attach it before a ledger write, not inside one")
        new = Projection(ledger, name, schema, project, kinds, chunk)

        def do(conn: sqlite3.Connection) -> Projection:
            there = attached(ledger, name)  # on the writer thread: no other attach runs meanwhile
            if there is not None:
                return there
            migrate_part(conn, name, new.schema)
            new.catch_up(conn)
            ledger.projectors.append(new)
            return new

        found = ledger.write(do)
    if found.project != project:
        raise LedgerError(f"projection {name!r} is already attached to this ledger with another projector")
    return found


def attached(ledger: Ledger, name: str) -> Projection | None:
    """Projection ``name`` of ``ledger`` if attached in this process, else None."""
    for p in list(ledger.projectors):
        if isinstance(p, Projection) and p.name == name:
            return p
    return None

"""Ledger storage after the split: readers cannot write, and the pawn book's tables are the pawn book's own
(created by it on a new ledger, kept as they are on a ledger made before the split)."""

from __future__ import annotations

import sqlite3

import pytest

from verifier.ledger import pawn_store
from verifier.ledger.pawn import PawnBook
from verifier.ledger.store import Ledger

KEY = bytes(range(32))


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_read_connection_cannot_write(tmp_path):
    led = Ledger.open(tmp_path, KEY)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            led.reader().execute("INSERT INTO access_log (ts, user, role, action, record) VALUES ('t', 'u', 'r', 'a', 'x')")
        led.log_access("u", "clerk", "read", "contract:x")  # the write path still writes
        assert led.access_log()[1] == 1
    finally:
        led.close()


def test_the_pawn_book_creates_its_tables_on_a_new_ledger(tmp_path):
    led = Ledger.open(tmp_path, KEY)
    try:
        assert "transactions" not in tables(led.reader())  # the ledger alone has only its own tables
        PawnBook(led)
        assert {"transactions", "txn_terms", "txn_entries", "photos"} <= tables(led.reader())
        assert led.reader().execute("SELECT value FROM meta WHERE key = 'schema.pawn'").fetchone()[0] == str(len(pawn_store.SCHEMA))
    finally:
        led.close()


def test_a_ledger_from_before_the_split_keeps_its_pawn_tables(tmp_path):
    """Ledgers created before the split got the pawn tables from the ledger's migration 1, with rows in them."""
    led = Ledger.open(tmp_path, KEY)
    led.close()
    conn = sqlite3.connect(tmp_path / "ledger.sqlite")
    for statement in pawn_store.SCHEMA[0].replace("IF NOT EXISTS ", "").split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO transactions VALUES ('old', 'HĐ-2025-000007', 7, 1, 'active', 0, 't', '2025-01-01', 1, 1, 1)")
    conn.commit()
    conn.close()
    led = Ledger.open(tmp_path, KEY)
    try:
        book = PawnBook(led)
        assert {k: v for k, v in book.store.contract("old").items() if k in ("status", "flagged", "due_date", "demo", "corrected")} == {
            "status": "active", "flagged": False, "due_date": "2025-01-01", "demo": True, "corrected": False}
        assert book.store.next_number(led.reader()) == 8  # numbering goes on from the old rows
    finally:
        led.close()

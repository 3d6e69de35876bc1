"""The one way to hang a projection on the ledger (verifier/ledger/projection.py): caught up from the chain in
chunks, registered once, its mark committed or rolled back with each entry, damaged entries skipped quietly.
Real ledgers (SQLite files, sealed payloads) in tmp_path."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest

from verifier.errors import LedgerError
from verifier.ledger import projection
from verifier.ledger.chain import ENTRY_COLUMNS
from verifier.ledger.store import Ledger
from verifier.ledger.verify import DamageWatch

SCHEMA = ("CREATE TABLE IF NOT EXISTS seen (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, type TEXT, hash TEXT NOT NULL);",)


def project(conn: sqlite3.Connection, entry) -> None:
    conn.execute("INSERT OR IGNORE INTO seen (seq, kind, type, hash) VALUES (?, ?, ?, ?)",
                 (entry.seq, entry.kind, entry.payload.get("type"), entry.hash))


def counting(calls: list[int]):
    """:func:`project`, noting the seq of each entry it is given in ``calls``."""
    def counted(conn: sqlite3.Connection, entry) -> None:
        calls.append(entry.seq)
        project(conn, entry)

    return counted


def seen(ledger) -> list[tuple]:
    return ledger.reader().execute("SELECT seq, kind, type FROM seen ORDER BY seq").fetchall()


def mark(ledger, name: str = "seen") -> int | None:
    row = ledger.reader().execute("SELECT value FROM meta WHERE key = ?", (projection.mark_key(name),)).fetchone()
    return None if row is None else int(row[0])


def stored_hashes(ledger) -> dict[int, str]:
    return dict(ledger.reader().execute("SELECT seq, hash FROM entries").fetchall())


def note(ledger, n: int, kind: str = "event", type_: str = "note") -> None:
    for i in range(n):
        ledger.append(kind, {"type": type_, "i": i, "amount": 1.5, "whole": 20.0})


@pytest.fixture()
def data(tmp_path):
    return tmp_path / "data"


def test_a_projection_attached_to_a_ledger_with_entries_catches_up_in_chunks_then_follows(data):
    ledger = Ledger.open(data)
    note(ledger, 3)
    note(ledger, 2, kind="transaction", type_="pawn_contract")
    note(ledger, 2)
    p = projection.attach(ledger, "seen", SCHEMA, project, kinds=("event",), chunk=2)
    # the events of seqs 1-3 and 6-7, across chunks of two rows; the transactions (4, 5) never decrypted for it
    assert seen(ledger) == [(1, "event", "note"), (2, "event", "note"), (3, "event", "note"), (6, "event", "note"),
                            (7, "event", "note")]
    assert mark(ledger) == 7 and p in ledger.projectors
    note(ledger, 1)
    note(ledger, 1, kind="transaction", type_="pawn_contract")
    assert [r[0] for r in seen(ledger)] == [1, 2, 3, 6, 7, 8] and mark(ledger) == 9
    # each entry was read with its canonical form: the hash the projector saw is the stored one
    hashes = stored_hashes(ledger)
    assert all(h == hashes[s] for s, h in ledger.reader().execute("SELECT seq, hash FROM seen"))
    ledger.close()

    # entries appended by a program that does not attach the projection are caught up at the next attach: only them
    ledger = Ledger.open(data)
    note(ledger, 2, type_="later")
    ledger.close()
    calls: list[int] = []
    ledger = Ledger.open(data)
    try:
        projection.attach(ledger, "seen", SCHEMA, counting(calls), kinds=("event",))
        assert calls == [10, 11] and mark(ledger) == 11
        assert seen(ledger)[-2:] == [(10, "event", "later"), (11, "event", "later")]
    finally:
        ledger.close()


def test_a_gap_left_by_another_program_is_caught_up_before_the_next_entry(data):
    ledger = Ledger.open(data)
    projection.attach(ledger, "seen", SCHEMA, project)
    note(ledger, 1)
    other = ledger.projectors.pop()  # as if the next two were appended by a program without the projection
    note(ledger, 2)
    assert mark(ledger) == 1 and [r[0] for r in seen(ledger)] == [1]
    ledger.projectors.append(other)
    note(ledger, 1)
    try:
        assert [r[0] for r in seen(ledger)] == [1, 2, 3, 4] and mark(ledger) == 4
    finally:
        ledger.close()


def test_attaching_twice_registers_once(data):
    ledger = Ledger.open(data)
    note(ledger, 1)
    calls: list[int] = []
    counted = counting(calls)
    try:
        found, errors = [], []

        def attach():
            try:
                found.append(projection.attach(ledger, "seen", SCHEMA, counted))
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=attach) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(found) == 8 and len({id(p) for p in found}) == 1
        assert projection.attach(ledger, "seen", SCHEMA, counted) is found[0]
        assert [p for p in ledger.projectors if isinstance(p, projection.Projection)] == [found[0]]
        assert calls == [1]  # caught up once
        note(ledger, 1)
        assert calls == [1, 2]  # projected once
        with pytest.raises(LedgerError, match="another projector"):
            projection.attach(ledger, "seen", SCHEMA, project)
    finally:
        ledger.close()


def test_an_exception_in_a_later_projector_rolls_back_the_mark_with_the_entry(data):
    ledger = Ledger.open(data)
    projection.attach(ledger, "seen", SCHEMA, project)
    note(ledger, 2)

    def later(conn, entry):
        if entry.payload.get("type") == "boom":
            raise RuntimeError("a later projector failed")

    ledger.projectors.append(later)
    try:
        with pytest.raises(RuntimeError, match="later projector"):
            ledger.append("event", {"type": "boom"})
        assert ledger.head()[0] == 2 and mark(ledger) == 2 and [r[0] for r in seen(ledger)] == [1, 2]
        note(ledger, 1, type_="after")
        assert ledger.head()[0] == 3 and mark(ledger) == 3 and seen(ledger)[-1] == (3, "event", "after")
    finally:
        ledger.close()


def test_a_catch_up_that_fails_leaves_nothing_behind_and_registers_nothing(data):
    ledger = Ledger.open(data)
    note(ledger, 3)

    def fails_on_2(conn, entry):
        if entry.seq == 2:
            raise KeyError("type")
        project(conn, entry)

    try:
        with pytest.raises(KeyError):
            projection.attach(ledger, "seen", SCHEMA, fails_on_2)
        assert projection.attached(ledger, "seen") is None and mark(ledger) is None
        assert ledger.reader().execute("SELECT 1 FROM sqlite_master WHERE name = 'seen'").fetchone() is None
        projection.attach(ledger, "seen", SCHEMA, project)
        assert [r[0] for r in seen(ledger)] == [1, 2, 3] and mark(ledger) == 3
    finally:
        ledger.close()


def _damage(data, seq: int, column: str) -> None:
    conn = sqlite3.connect(data / "ledger.sqlite")
    conn.execute("DROP TRIGGER IF EXISTS entries_append_only_u")
    if column == "payload":  # a flipped bit: the payload no longer decrypts
        raw = bytearray(conn.execute("SELECT payload FROM entries WHERE seq = ?", (seq,)).fetchone()[0])
        raw[len(raw) // 2] ^= 0x01
        conn.execute("UPDATE entries SET payload = ? WHERE seq = ?", (bytes(raw), seq))
    else:  # a text column rewritten with bytes that are not UTF-8: the row cannot even be fetched
        conn.execute(f"UPDATE entries SET {column} = CAST(X'c3286e6f7465' AS TEXT) WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()


def test_a_damaged_entry_is_skipped_and_reported_by_the_damage_watch_only(data, caplog):
    ledger = Ledger.open(data)
    note(ledger, 5)
    ledger.close()
    _damage(data, 2, "payload")
    _damage(data, 4, "kind")
    ledger = Ledger.open(data)
    try:
        with caplog.at_level(logging.DEBUG):
            projection.attach(ledger, "seen", SCHEMA, project, chunk=2)
        assert [r[0] for r in seen(ledger)] == [1, 3, 5] and mark(ledger) == 5
        assert ledger.head()[0] == 5  # nothing appended: no damage notice from the projection
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        note(ledger, 1)
        assert [r[0] for r in seen(ledger)] == [1, 3, 5, 6] and mark(ledger) == 6
        assert DamageWatch(ledger).check()["first_bad_seq"] == 2  # the one that reports it
    finally:
        ledger.close()


def test_an_entry_row_without_its_canonical_form_is_refused(data):
    ledger = Ledger.open(data)
    note(ledger, 1)
    try:
        row = ledger.reader().execute("SELECT seq, ts, kind, demo, prev_hash, hash, payload FROM entries").fetchone()
        with pytest.raises(LedgerError, match="canon"):
            ledger.chain.entry_from_row(row)
        full = ledger.reader().execute(f"SELECT {ENTRY_COLUMNS} FROM entries").fetchone()
        assert ledger.chain.entry_from_row(full).hash == full[5]
    finally:
        ledger.close()

"""The ledger store: append-only chain, checkpoints, outbox, keys outside the database."""

from __future__ import annotations

import base64
import sqlite3
import threading

import pytest
from hypothesis import given, settings, strategies as st

from verifier.errors import ConfigError, LedgerError
from verifier.ledger.entry import GENESIS, Entry, canonical_json, verify_chain
from verifier.ledger.store import Ledger
from verifier.ledger.verify import canonical_from_parts


@pytest.fixture()
def ledger(tmp_path):
    led = Ledger.open(tmp_path / "data", checkpoint_every=5)
    yield led
    led.close()


def test_append_links_entries_and_verifies(ledger):
    assert ledger.head() == (0, GENESIS)
    made = [ledger.append("transaction", {"type": "t", "n": i}) for i in range(12)]
    assert [e.seq for e in made] == list(range(1, 13))
    assert ledger.head() == (12, made[-1].hash)
    got = ledger.entries()
    assert got == made
    assert verify_chain(got) == made[-1].hash
    assert ledger.entries(after_seq=10, limit=1) == [made[10]]
    report = ledger.verify()
    assert report.ok and report.entries == 12 and report.checkpoints == 2
    cp = ledger.latest_checkpoint()
    assert cp.seq == 10 and cp.head_hash == made[9].hash
    cp.verify(ledger.chain.public_key)


def test_checkpoint_on_demand_and_signing(ledger):
    assert ledger.checkpoint().seq == 0
    e = ledger.append("event", {"type": "redeemed"}, demo=True)
    cp = ledger.checkpoint()
    assert (cp.seq, cp.head_hash) == (1, e.hash)
    assert e.demo is True and ledger.entries()[0].demo is True
    from verifier.ledger.entry import load_public_key_b64

    load_public_key_b64(ledger.public_key_b64()).verify(ledger.sign(b"batch"), b"batch")


def test_bad_kind_and_payload_are_refused(ledger):
    with pytest.raises(LedgerError, match="expected one of"):
        ledger.append("nonsense", {})
    with pytest.raises(LedgerError, match="expected a dict"):
        ledger.append("event", ["x"])
    assert ledger.head()[0] == 0


def test_entries_are_append_only_in_sqlite(ledger):
    ledger.append("transaction", {"a": 1})
    conn = sqlite3.connect(ledger.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE entries SET ts = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM entries")
    conn.close()


def test_wal_full_sync_and_migrations(ledger):
    conn = ledger.reader()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_reopen_keeps_identity_and_chain(tmp_path):
    led = Ledger.open(tmp_path)
    e = led.append("transaction", {"x": 1})
    device = led.device_id
    led.close()
    again = Ledger.open(tmp_path)
    assert again.device_id == device and again.head() == (1, e.hash)
    assert (tmp_path / "keys" / "ledger.key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "keys" / "device-ed25519.pem").stat().st_mode & 0o077 == 0
    again.close()


def test_wrong_data_key_is_refused(tmp_path):
    Ledger.open(tmp_path).close()
    with pytest.raises(LedgerError, match="data key does not open"):
        Ledger.open(tmp_path, key=b"\x01" * 32)


def test_key_from_environment(tmp_path, monkeypatch):
    key = base64.b64encode(b"\x07" * 32).decode()
    monkeypatch.setenv("CHIPID_LEDGER_KEY", key)
    led = Ledger.open(tmp_path)
    led.append("event", {"x": 1})
    led.close()
    assert not (tmp_path / "keys" / "ledger.key").exists()
    monkeypatch.setenv("CHIPID_LEDGER_KEY", "not base64!")
    with pytest.raises(ConfigError, match="base64"):
        Ledger.open(tmp_path)


def test_outbox_suspicious_first_and_sync_state(ledger):
    for i in range(3):
        ledger.append("transaction", {"type": "pawn_contract", "i": i})
    sus = ledger.append("event", {"type": "suspicious", "txn_id": "t"})
    assert [e.seq for e in ledger.outbox()] == [sus.seq, 1, 2, 3]
    ledger.record_sync(2, None)
    state = ledger.sync_state()
    assert state["acked_seq"] == 2 and state["pending"] == 2 and state["last_error"] is None
    ledger.record_sync(None, "backend unreachable")
    state = ledger.sync_state()
    assert state["last_error"] == "backend unreachable" and state["failures"] == 1 and state["acked_seq"] == 2
    ledger.ack_entries([sus.seq])
    assert [e.seq for e in ledger.outbox()] == [3]


def test_concurrent_appends_keep_one_chain(ledger):
    def work():
        for i in range(20):
            ledger.append("event", {"i": i, "t": threading.get_ident()})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ledger.head()[0] == 80
    assert ledger.verify().ok


def test_access_log(ledger):
    ledger.log_access("lan", "clerk", "read", "txn:abc")
    rows, total = ledger.access_log()
    assert total == 1 and rows[0]["user"] == "lan" and rows[0]["record"] == "txn:abc"


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(payload=st.dictionaries(st.text(max_size=8), _json, max_size=5), seq=st.integers(1, 10**9),
       demo=st.booleans(), ts=st.text(max_size=30), device=st.text(max_size=20))
@settings(max_examples=150, deadline=None)
def test_spliced_canonical_equals_entry_canonical(payload, seq, demo, ts, device):
    e = Entry(seq=seq, device_id=device, ts=ts, kind="event", payload=payload, prev_hash=GENESIS, demo=demo)
    assert canonical_from_parts(seq, device, ts, "event", canonical_json(payload), GENESIS, demo) == e.canonical()


def test_group_commit_isolates_a_failing_write(ledger):
    """Writes committed together: one that raises is rolled back alone, the others all land."""
    results, errors = [], []

    def prepare_fail(conn, body):
        raise ValueError("refused by a rule")

    def work(i):
        try:
            if i % 5 == 0:
                ledger.append("event", {"i": i}, prepare=prepare_fail)
            else:
                results.append(ledger.append("event", {"i": i}).payload["i"])
        except ValueError:
            errors.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(errors) == list(range(0, 60, 5))
    stored = sorted(e.payload["i"] for e in ledger.entries(limit=1000))
    assert stored == sorted(results) and len(stored) == 48
    assert ledger.verify().ok
    # a nested write from inside a job runs in the same transaction
    ledger.write(lambda conn: ledger.log_access("x", "clerk", "read", "r"))
    assert ledger.access_log()[1] == 1


def test_closed_ledger_refuses_writes(tmp_path):
    led = Ledger.open(tmp_path)
    led.close()
    with pytest.raises(LedgerError, match="closed"):
        led.append("event", {})


def test_missing_key_is_not_silently_replaced(tmp_path):
    Ledger.open(tmp_path).close()
    (tmp_path / "keys" / "ledger.key").unlink()
    with pytest.raises(ConfigError, match="does not exist"):
        Ledger.open(tmp_path)
    assert not (tmp_path / "keys" / "ledger.key").exists()

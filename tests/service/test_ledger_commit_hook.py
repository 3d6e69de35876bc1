"""The ledger's on-commit hook (issue 16 item 3): listeners see exactly the committed entries, in order,
after the commit; a listener that raises breaks nothing; a refused or failed write announces nothing
(the failed-commit case is in test_ledger_failstop.py, on a really full disk)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from verifier.errors import LedgerError
from verifier.ledger.store import Ledger
from verifier.ledger.writer import EntryRef

KEY = bytes(range(32))


@pytest.fixture()
def ledger(tmp_path):
    led = Ledger.open(tmp_path, KEY, checkpoint_every=1000)
    yield led
    led.close()


def refs(ledger: Ledger) -> list[tuple[int, str, str]]:
    return [(e.seq, e.kind, e.hash) for e in ledger.entries(limit=10_000)]


def test_a_listener_sees_exactly_the_committed_entries_in_order(ledger):
    seen: list[EntryRef] = []
    groups: list[int] = []

    def listener(entries: list[EntryRef]) -> None:
        # called after COMMIT: the entries are already readable from another connection
        assert ledger.entries_by_seq([entries[-1].seq])[0].hash == entries[-1].hash
        groups.append(len(entries))
        seen.extend(entries)

    ledger.on_commit(listener)
    ledger.append("transaction", {"type": "pawn_contract", "id": "t-1", "contract_no": "HĐ-2026-000001"})

    def refuse(conn, payload):
        raise LedgerError("refused by prepare")

    with pytest.raises(LedgerError, match="refused"):  # rolled back alone: never announced
        ledger.append("event", {"type": "redeemed", "txn_id": "t-1"}, prepare=refuse)

    def worker(n: int) -> None:  # concurrent appends share group commits
        for i in range(25):
            ledger.append("event", {"type": "extended", "txn_id": "t-1", "n": n, "i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.write(lambda conn: conn.execute("INSERT INTO access_log (ts, user, role, action, record) VALUES ('t','u','r','a','x')"))
    ledger.checkpoint()  # writes without entries announce nothing
    assert [(r.seq, r.kind, r.hash) for r in seen] == refs(ledger)
    assert len(seen) == 101 and sum(groups) == 101 and len(groups) <= 101
    first = seen[0]
    assert (first.type, first.txn_id, first.contract_no, first.demo) == ("pawn_contract", "t-1", "HĐ-2026-000001", False)
    assert {(r.type, r.txn_id) for r in seen[1:]} == {("extended", "t-1")}


def test_a_listener_that_raises_does_not_stop_appends(ledger, caplog):
    seen: list[int] = []

    def broken(entries):
        raise RuntimeError("listener bug")

    ledger.on_commit(broken)
    remove = ledger.on_commit(lambda entries: seen.extend(e.seq for e in entries))
    with caplog.at_level(logging.ERROR, logger="verifier.ledger.writer"):
        made = [ledger.append("transaction", {"type": "pawn_contract", "n": i}) for i in range(3)]
    assert [e.seq for e in made] == [1, 2, 3] == seen
    assert ledger.failed is None and ledger.verify().ok
    assert any("on-commit listener failed" in r.getMessage() for r in caplog.records)
    remove()
    ledger.append("transaction", {"type": "pawn_contract", "n": 3})
    assert seen == [1, 2, 3]  # unregistered


def test_appended_outside_a_write_is_refused(ledger):
    entry = ledger.append("transaction", {"type": "pawn_contract"})
    with pytest.raises(LedgerError, match="only inside a ledger write"):
        ledger.writer.appended(entry)


class _Relay:
    """Stands in for the relay thread (sync/relay.py RelayHandle): counts wake-ups."""

    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1

    def stop(self, timeout: float = 10.0) -> None:
        pass


def test_the_service_publishes_contracts_and_events_and_wakes_the_relay(api, tokens, make_scan, txn_body, svc):
    loop = asyncio.new_event_loop()
    try:
        queue = loop.run_until_complete(_subscribe(svc.bus))
        svc.relay = relay = _Relay()
        created = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json()
        r = api.post(f"/api/v1/transactions/{created['id']}/events", tokens["clerk"], json={"type": "extended", "extend_days": 30})
        assert r.status_code == 201, r.text
        loop.run_until_complete(asyncio.sleep(0.01))  # let the bus hand over what was published from other threads
        events = []
        while not queue.empty():
            events.append(queue.get_nowait())
    finally:
        svc.relay = None
        loop.close()
    ledger_events = [(e["event"], e["data"]) for e in events if e["event"].startswith("transaction_")]
    assert [name for name, _ in ledger_events] == ["transaction_created", "transaction_event"]
    made, extended = ledger_events[0][1], ledger_events[1][1]
    assert (made["id"], made["contract_no"], made["demo"], made["seq"]) == (created["id"], created["contract_no"], True, created["seq"])
    assert (extended["id"], extended["type"], extended["seq"]) == (created["id"], "extended", r.json()["seq"])
    assert relay.wakes == 2
    assert not any("Nguyễn" in str(e["data"]) for e in events)  # no personal data on the stream


async def _subscribe(bus):
    return bus.subscribe()

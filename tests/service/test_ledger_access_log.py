"""The access log query (plain sqlite3 since sqlite-utils left): filters, newest first, paging."""

from __future__ import annotations

import threading

import pytest

from verifier.ledger.store import Ledger


@pytest.fixture()
def ledger(tmp_path):
    led = Ledger.open(tmp_path / "data", checkpoint_every=5)
    yield led
    led.close()


def test_filters_order_and_paging(ledger):
    for n, (user, record) in enumerate([("lan", "txn:a"), ("minh", "txn:a"), ("lan", "txn:b"), ("lan", "txn:a"),
                                        ("minh", "txn:c")]):
        ledger.log_access(user, "clerk", "read", record, f"n={n}")
    rows, total = ledger.access_log()
    assert total == 5 and [r["detail"] for r in rows] == ["n=4", "n=3", "n=2", "n=1", "n=0"]
    assert set(rows[0]) == {"id", "ts", "user", "role", "action", "record", "detail"}
    rows, total = ledger.access_log(user="lan")
    assert total == 3 and [r["detail"] for r in rows] == ["n=3", "n=2", "n=0"]
    rows, total = ledger.access_log(user="lan", record="txn:a")
    assert total == 2 and [r["detail"] for r in rows] == ["n=3", "n=0"]
    rows, total = ledger.access_log(limit=2, offset=1)
    assert total == 5 and [r["detail"] for r in rows] == ["n=3", "n=2"]
    assert ledger.access_log(user="nobody") == ([], 0)
    assert ledger.access_log(user="lan' OR '1'='1") == ([], 0)  # values are bound, never spliced


def test_another_thread_reads_too(ledger):
    ledger.log_access("lan", "clerk", "read", "txn:a")
    seen = []
    t = threading.Thread(target=lambda: seen.append(ledger.access_log()[1]))
    t.start()
    t.join()
    assert seen == [1] and ledger.access_log()[1] == 1

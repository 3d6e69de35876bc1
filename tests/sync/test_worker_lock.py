"""One background worker of a kind per backend database (sync/backend/worker_lock.py): with
``chipid backend serve --workers N`` every process starts the evidence worker and the alert rules, and
only the one holding the database's lock may run them (on SQLite a file lock, on PostgreSQL an
advisory lock held by a session)."""

from __future__ import annotations

import threading

from sync.backend import worker_lock
from sync.backend.alert_rules import RuleSettings, RulesWorker
from sync.backend.db import Database
from sync.testing import wait_until


def test_a_second_process_does_not_get_the_lock_until_the_first_lets_go(database_url):
    one, two = Database.open(database_url=database_url), Database.open(database_url=database_url)  # two "processes"
    try:
        with worker_lock.exclusive(one, worker_lock.ALERT_RULES) as first:
            assert first is True
            with worker_lock.exclusive(two, worker_lock.ALERT_RULES) as second:
                assert second is False
            with worker_lock.exclusive(two, worker_lock.EVIDENCE) as other_kind:
                assert other_kind is True  # each kind of worker has its own lock
        with worker_lock.exclusive(two, worker_lock.ALERT_RULES) as after:
            assert after is True
    finally:
        one.close()
        two.close()


def test_only_one_rules_worker_runs_passes(database_url, monkeypatch):
    from sync.backend import alert_rules

    passes: list[str] = []
    real = alert_rules.run_pass

    def counting(db, rules, before_device=None):
        passes.append(threading.current_thread().name)
        return real(db, rules, before_device)

    monkeypatch.setattr(alert_rules, "run_pass", counting)
    rules = RuleSettings(interval_s=0.05)
    dbs = [Database.open(database_url=database_url) for _ in range(2)]
    workers = []
    try:
        for n, db in enumerate(dbs):
            w = RulesWorker(db, rules)
            w._thread.name = f"rules-{n}"
            workers.append(w.start())
        wait_until(lambda: len(passes) >= 10, 20, "ten rule passes")
        assert len(set(passes)) == 1, set(passes)  # one process runs them; the other waits its turn
        holder = workers[int(passes[0][-1])]
        holder.stop()
        other = f"rules-{1 - int(passes[0][-1])}"
        wait_until(lambda: other in passes, 20, "the other worker taking over")
    finally:
        for w in workers:
            w.stop()
        for db in dbs:
            db.close()

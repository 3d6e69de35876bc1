"""A verification process reads the backend's trust when it starts, not with the first contract it judges
(sync/backend/evidence_worker.py ``_start_process``); a trust that does not load fails the first judgement
as it always did, never the process's start. The process has its own database connections with the
backend's keys (the worker sends it the database URL and the keys)."""

from __future__ import annotations

import pickle

from sync.backend import evidence_worker as ew
from sync.backend.db import Database


def test_the_trust_is_read_when_a_verification_process_starts(tmp_path, monkeypatch):
    db = Database.open(tmp_path / "backend")
    monkeypatch.setattr(ew, "_PROCESS", None)
    ew._start_process(db.url, pickle.loads(pickle.dumps(db.vault)), str(tmp_path), 0)
    pdb, judge = ew._PROCESS
    assert set(judge._stores) == {False}
    assert judge.store(False) is judge._stores[False]  # the contracts use the store read at the start
    sealed = db.vault.seal_entry(b'{"a":1}', "shop", "dev", 7)
    assert pdb.url == db.url and pdb.vault.open_entry(sealed, "shop", "dev", 7) == b'{"a":1}'  # the same keys
    assert pdb.vault.blind("id", "001") == db.vault.blind("id", "001")
    pdb.engine.dispose()
    db.close()


def test_a_trust_that_does_not_load_does_not_stop_the_start(tmp_path, monkeypatch):
    def broken(data_dir, *, demo=False):
        raise OSError("trust unreadable")

    db = Database.open(tmp_path / "backend")
    monkeypatch.setattr(ew, "_PROCESS", None)
    monkeypatch.setattr(ew.ev, "open_trust", broken)
    ew._start_process(db.url, db.vault, str(tmp_path), 0)
    assert ew._PROCESS is not None and ew._PROCESS[1]._stores == {}
    ew._PROCESS[0].engine.dispose()
    db.close()

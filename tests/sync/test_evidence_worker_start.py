"""A verification process reads the backend's trust when it starts, not with the first contract it judges
(sync/backend/evidence_worker.py ``_start_process``); a trust that does not load fails the first judgement
as it always did, never the process's start."""

from __future__ import annotations

from sync.backend import evidence_worker as ew


def test_the_trust_is_read_when_a_verification_process_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(ew, "_PROCESS_JUDGE", None)
    ew._start_process(str(tmp_path), 0)
    judge = ew._PROCESS_JUDGE
    assert judge is not None and set(judge._stores) == {False}
    assert judge.store(False) is judge._stores[False]  # the contracts use the store read at the start


def test_a_trust_that_does_not_load_does_not_stop_the_start(tmp_path, monkeypatch):
    def broken(data_dir, *, demo=False):
        raise OSError("trust unreadable")

    monkeypatch.setattr(ew, "_PROCESS_JUDGE", None)
    monkeypatch.setattr(ew.ev, "open_trust", broken)
    ew._start_process(str(tmp_path), 0)
    assert ew._PROCESS_JUDGE is not None and ew._PROCESS_JUDGE._stores == {}

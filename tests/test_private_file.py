"""The one atomic private-file writer and the five places that use it (issue 16 item 5)."""

from __future__ import annotations

import os
import stat

import pytest

from sync.backend.vault import KEY_FILE, Vault
from sync.enrollment import load_enrollment, save_enrollment
from verifier.ledger.export import load_bundle, write_bundle
from verifier.ledger.keys import write_secret
from verifier.private_file import write_private_file
from verifier.trust.store import TrustStore


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_owner_only_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "secret.bin"
    assert write_private_file(target, b"x" * 70000) is True
    assert target.read_bytes() == b"x" * 70000
    assert mode(target) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["secret.bin"]


def test_replaces_an_existing_file_and_takes_its_mode(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    write_private_file(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o600


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    # A disk that fails fsync cannot be made here: os.fsync is the one thing faked.
    target = tmp_path / "f"
    target.write_bytes(b"good")

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_private_file(target, b"half")
    monkeypatch.undo()
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_exclusive_keeps_the_first_writer(tmp_path):
    target = tmp_path / "key"
    assert write_private_file(target, b"first", exclusive=True) is True
    assert write_private_file(target, b"second", exclusive=True) is False
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_every_private_writer_uses_it(tmp_path, monkeypatch):
    written = []
    import verifier.private_file as pf

    real = pf.write_private_file

    def spy(path, data, **kw):
        written.append(os.fspath(path))
        return real(path, data, **kw)

    for module in ("verifier.ledger.keys", "verifier.trust.store", "sync.enrollment",
                   "verifier.ledger.export", "sync.backend.vault"):
        monkeypatch.setattr(f"{module}.write_private_file", spy)

    write_secret(tmp_path / "keys" / "k", b"k")
    save_enrollment(tmp_path, {"device_id": "d1"})
    write_bundle({"format": "x"}, tmp_path / "bundle.json")
    for var in ("CHIPID_BACKEND_DATA_KEY", "CHIPID_BACKEND_INDEX_KEY"):
        monkeypatch.delenv(var, raising=False)
    Vault.load(tmp_path / "backend", data_key_env="CHIPID_TEST_NO_SUCH_VAR_D", index_key_env="CHIPID_TEST_NO_SUCH_VAR_I")
    TrustStore.open(None, demo=True).save(tmp_path / "trust")

    assert any(p.endswith("keys/k") for p in written)
    assert any(p.endswith("sync/enrollment.json") for p in written)
    assert any(p.endswith("bundle.json") for p in written)
    assert any(p.endswith(str(KEY_FILE)) for p in written)
    assert any("/trust/" in p for p in written)
    for p in written:
        assert mode(p) == 0o600, p
    assert load_enrollment(tmp_path) == {"device_id": "d1"}
    assert load_bundle(tmp_path / "bundle.json") == {"format": "x"}


def test_the_backend_key_file_is_kept_when_it_exists(tmp_path):
    env = {"data_key_env": "CHIPID_TEST_NO_SUCH_VAR_D", "index_key_env": "CHIPID_TEST_NO_SUCH_VAR_I"}
    first = Vault.load(tmp_path, **env)
    key = (tmp_path / KEY_FILE).read_bytes()
    second = Vault.load(tmp_path, **env)
    assert (tmp_path / KEY_FILE).read_bytes() == key
    assert mode(tmp_path / KEY_FILE) == 0o600
    sealed = first.seal("x", "s", "d", 1)
    assert second.open(sealed, "s", "d", 1) == "x"

"""`chipid user add`: one-time password for people, token for integrators; argon2 at rest."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from verifier.cli import cli
from verifier.users import UserStore


def test_user_add_json(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "add", "lan", "--role", "clerk", "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["name"] == "lan" and out["role"] == "clerk" and len(out["password"]) >= 12 and "token" not in out
    r = runner.invoke(cli, ["user", "add", "erp", "--role", "integrator", "--data-dir", str(tmp_path), "--json"])
    tok = json.loads(r.output)
    assert tok["token"].startswith("chipid_") and "password" not in tok
    store = UserStore(tmp_path)
    assert store.check_password("lan", out["password"]).role == "clerk"
    assert store.check_password("lan", "wrong") is None
    assert store.token_user(tok["token"]).role == "integrator"
    # nothing usable is stored in clear
    rows = sqlite3.connect(tmp_path / "users.sqlite").execute("SELECT pw_hash, token_hash FROM users").fetchall()
    assert any(r[0] and r[0].startswith("$argon2id$") for r in rows)
    dump = (tmp_path / "users.sqlite").read_bytes()
    assert out["password"].encode() not in dump and tok["token"].encode() not in dump


def test_user_add_refuses_duplicates_and_bad_roles(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["user", "add", "lan", "--role", "clerk", "--data-dir", str(tmp_path)]).exit_code == 0
    r = runner.invoke(cli, ["user", "add", "lan", "--role", "clerk", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "already exists" in r.output
    assert runner.invoke(cli, ["user", "add", "x", "--role", "police", "--data-dir", str(tmp_path)]).exit_code == 2
    r = runner.invoke(cli, ["user", "add", "bad name!", "--role", "clerk", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "user name" in r.output


def test_first_start_creates_admin_once(tmp_path):
    from verifier.api.app import create_app
    from verifier.config import Config

    cfg = Config().with_overrides(service__data_dir=str(tmp_path))
    said = []
    app = create_app(cfg, demo=True, announce=said.append)
    assert len(said) == 1 and "admin" in said[0]
    password = said[0].split("password ")[1].split(" ")[0]
    assert app.state.svc.users.check_password("admin", password).role == "admin"
    app.state.svc.close()
    again = []
    create_app(cfg, demo=True, announce=again.append).state.svc.close()
    assert again == []

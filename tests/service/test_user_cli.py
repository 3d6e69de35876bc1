"""`chipid user`: add (one-time password for people, token for integrators; argon2 at rest), passwd, reset, disable, enable."""

from __future__ import annotations

import json
import re
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


def _add(runner, tmp_path, name, role="clerk"):
    r = runner.invoke(cli, ["user", "add", name, "--role", role, "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_user_passwd_reset_disable_enable(tmp_path):
    runner = CliRunner()
    created = _add(runner, tmp_path, "lan")
    store = UserStore(tmp_path)
    assert store.check_password("lan", created["password"]).must_change
    # passwd: the current password, then the new one twice
    r = runner.invoke(cli, ["user", "passwd", "lan", "--data-dir", str(tmp_path)],
                      input=f"{created['password']}\nmat-khau-moi-9\nmat-khau-moi-9\n")
    assert r.exit_code == 0, r.output
    assert "Đã đổi mật khẩu" in r.output and "mat-khau-moi-9" not in r.output
    assert store.check_password("lan", "mat-khau-moi-9").must_change is False
    r = runner.invoke(cli, ["user", "passwd", "lan", "--data-dir", str(tmp_path)], input="sai-roi-nhe\nkhac-han-nhe-1\nkhac-han-nhe-1\n")
    assert r.exit_code == 1 and "Mật khẩu cũ không đúng" in r.output
    r = runner.invoke(cli, ["user", "passwd", "lan", "--data-dir", str(tmp_path)], input="mat-khau-moi-9\nngan\nngan\n")
    assert r.exit_code == 1 and "ít nhất 10 ký tự" in r.output
    # reset: a new one-time password
    r = runner.invoke(cli, ["user", "reset", "lan", "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    one_time = json.loads(r.output)["password"]
    assert store.check_password("lan", one_time).must_change and store.check_password("lan", "mat-khau-moi-9") is None
    # disable: login and token stop; enable: they work again
    token = runner.invoke(cli, ["user", "token", "lan", "--data-dir", str(tmp_path)]).output.strip()
    assert store.token_user(token).name == "lan"
    r = runner.invoke(cli, ["user", "disable", "lan", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0 and "Đã khóa" in r.output
    assert store.check_password("lan", one_time) is None and store.token_user(token) is None
    listed = runner.invoke(cli, ["user", "list", "--data-dir", str(tmp_path)]).output
    assert re.search(r"^lan\s+clerk\s+disabled", listed, re.M)
    assert runner.invoke(cli, ["user", "enable", "lan", "--data-dir", str(tmp_path)]).exit_code == 0
    assert store.token_user(token).name == "lan" and store.check_password("lan", one_time).must_change
    # unknown users and integrators
    for cmd in ("reset", "disable", "enable"):
        r = runner.invoke(cli, ["user", cmd, "ghost", "--data-dir", str(tmp_path)])
        assert r.exit_code == 1 and "ghost" in r.output, cmd
    _add(runner, tmp_path, "erp", "integrator")
    r = runner.invoke(cli, ["user", "reset", "erp", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "chipid user token" in r.output
    store.close()


def test_the_last_admin_stays(tmp_path):
    runner = CliRunner()
    _add(runner, tmp_path, "root", "admin")
    r = runner.invoke(cli, ["user", "disable", "root", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "quản trị viên cuối cùng" in r.output
    _add(runner, tmp_path, "root2", "admin")
    assert runner.invoke(cli, ["user", "disable", "root", "--data-dir", str(tmp_path)]).exit_code == 0


def test_an_older_users_database_gains_the_new_columns(tmp_path):
    conn = sqlite3.connect(tmp_path / "users.sqlite")
    conn.execute("CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT, token_hash TEXT UNIQUE,"
                 " created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0)")
    conn.execute("INSERT INTO users VALUES ('old', 'clerk', NULL, NULL, '2026-01-01T00:00:00+00:00', 0)")
    conn.commit()
    conn.close()
    store = UserStore(tmp_path)
    assert store.get("old")["must_change"] is False
    store.close()

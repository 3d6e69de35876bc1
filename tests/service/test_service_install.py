"""`chipid service install`: the systemd unit as written, parsed and checked by systemd-analyze verify."""

from __future__ import annotations

import getpass
import shutil
import stat
import subprocess

from click.testing import CliRunner

from verifier.cli import cli


def _parse(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> every value (keys may repeat)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = out.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key, []).append(value)
    return out


def test_service_install_writes_a_hardened_unit(tmp_path):
    data = tmp_path / "var" / "chipid"
    data.mkdir(parents=True, mode=0o755)
    unit_dir = tmp_path / "units"
    user = getpass.getuser()
    r = CliRunner().invoke(cli, ["service", "install", "--unit-dir", str(unit_dir), "--data-dir", str(data), "--user", user])
    assert r.exit_code == 0, r.output
    unit_path = unit_dir / "chipid.service"
    assert str(unit_path) in r.output and "systemctl enable --now chipid.service" in r.output and "daemon-reload" in r.output
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    unit = _parse(unit_path.read_text(encoding="utf-8"))
    svc = {k: v[-1] for k, v in unit["Service"].items()}
    assert svc["User"] == user
    assert svc["Restart"] == "on-failure"
    assert svc["StandardOutput"] == "journal" and svc["StandardError"] == "journal"
    assert svc["NoNewPrivileges"] == "yes" and svc["ProtectSystem"] == "strict"
    assert svc["ReadWritePaths"] == str(data.resolve())
    assert svc["UMask"] == "0077" and svc["PrivateTmp"] == "yes" and svc["CapabilityBoundingSet"] == ""
    exec_start = svc["ExecStart"].split()
    assert exec_start[-3:] == ["serve", "--data-dir", str(data.resolve())]
    assert shutil.which(exec_start[0]) or (exec_start[1:3] == ["-m", "verifier.cli"])
    assert "CHIPID_LEDGER_KEY" not in unit_path.read_text()  # secrets stay out of the unit
    assert svc["EnvironmentFile"].startswith("-")
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    # systemd's own check, where systemd is installed (Debian: the systemd package)
    analyze = shutil.which("systemd-analyze")
    if analyze:
        out = subprocess.run([analyze, "verify", str(unit_path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        # and it can fail: an unknown Restart= value is reported
        bad = tmp_path / "bad" / "chipid.service"
        bad.parent.mkdir()
        bad.write_text(unit_path.read_text().replace("Restart=on-failure", "Restart=sometimes"))
        out = subprocess.run([analyze, "verify", str(bad)], capture_output=True, text=True, timeout=60)
        assert "restart specifier" in out.stdout + out.stderr


def test_service_install_with_a_config_file_and_unknown_user(tmp_path):
    config = tmp_path / "my config.toml"
    config.write_text('[service]\ndata_dir = "%s"\n' % (tmp_path / "d"))
    r = CliRunner().invoke(cli, ["service", "install", "--unit-dir", str(tmp_path / "u"), "--config", str(config)])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "u" / "chipid.service").read_text()
    assert f'--config "{config.resolve()}"' in text  # quoted: the path has a space
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    r = CliRunner().invoke(cli, ["service", "install", "--unit-dir", str(tmp_path / "u2"), "--data-dir", str(tmp_path / "d"),
                                 "--user", "no-such-user-xyz"])
    assert r.exit_code == 1 and "no-such-user-xyz" in r.output and not (tmp_path / "u2").exists()

"""``chipid service install``: run the counter service as a systemd unit.

Writes ``chipid.service`` (systemd.service(5), systemd.exec(5)) to ``--unit-dir`` (default
``/etc/systemd/system``): ``chipid serve`` as an unprivileged ``User=``, restarted on failure, its
output to journald, ``UMask=0077``, and the hardening of systemd.exec(5) "Sandboxing" and
"Security": ``NoNewPrivileges``, ``ProtectSystem=strict`` with the data directory as the one
``ReadWritePaths=``, ``ProtectHome=read-only``, ``PrivateTmp``, kernel and control-group
protection, no capabilities. Devices stay visible (the USB card reader and camera);
pcscd is reached over its socket. The data directory is created (or restricted) to mode 0700
and, when run as root, given to that user. Secrets (``CHIPID_LEDGER_KEY`` ...) go in the optional
``EnvironmentFile=-/etc/chipid/env`` (mode 0600), never in the unit.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import sys
from pathlib import Path

import click

from verifier.cli_options import cli_config, config_options

UNIT_NAME = "chipid.service"
ENV_FILE = "/etc/chipid/env"


def _exec_start(config_path: Path | None, data_dir: Path) -> str:
    script = Path(sys.executable).parent / "chipid"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "verifier.cli"]
    command += ["serve", "--data-dir", str(data_dir)]
    if config_path is not None:
        command += ["--config", str(Path(config_path).resolve())]
    return " ".join(_quote(part) for part in command)


def _quote(word: str) -> str:
    """systemd.syntax(7) quoting: a word with spaces, quotes or backslashes in double quotes."""
    if word and not any(c in word for c in ' \t"\'\\'):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(*, user: str, group: str, exec_start: str, data_dir: Path) -> str:
    """The text of ``chipid.service``."""
    return f"""# chipid counter service; written by `chipid service install`
[Unit]
Description=chipid counter service (CCCD chip verification, pawn ledger)
After=network-online.target pcscd.socket
Wants=network-online.target

[Service]
Type=simple
User={user}
Group={group}
ExecStart={exec_start}
EnvironmentFile=-{ENV_FILE}
Environment=PYTHONUNBUFFERED=1
Restart=on-failure
RestartSec=5
# a clean stop signs the ledger head (SIGTERM)
KillSignal=SIGTERM
TimeoutStopSec=30
StandardOutput=journal
StandardError=journal
SyslogIdentifier=chipid
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={_quote(str(data_dir))}
ProtectHome=read-only
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet=
AmbientCapabilities=

[Install]
WantedBy=multi-user.target
"""


def _default_user() -> str:
    """The user who asked (behind sudo: the one who ran sudo), never root by default."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


@click.group("service")
def service() -> None:
    """Dịch vụ hệ thống / run chipid as a systemd service."""


@service.command("install")
@config_options
@click.option("--unit-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/etc/systemd/system"),
              show_default=True, help="Where to write chipid.service.")
@click.option("--user", "user_name", default=None, help="Unix user the service runs as (default: the user who runs this).")
def install_cmd(config_path, data_dir, unit_dir, user_name) -> None:
    """Write the systemd unit of `chipid serve` and prepare its data directory (mode 0700)."""
    user_name = user_name or _default_user()
    try:
        account = pwd.getpwnam(user_name)
    except KeyError as e:
        raise click.ClickException(f"no Unix user {user_name!r}: create it first (adduser --system {user_name}) / "
                                   f"không có người dùng hệ thống {user_name!r}") from e
    data = cli_config(config_path, data_dir).data_dir.expanduser().resolve()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    if os.geteuid() == 0 and (data.stat().st_uid != account.pw_uid):
        for root, dirs, files in os.walk(data):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(name, account.pw_uid, account.pw_gid, follow_symlinks=False)
    group = _group_name(account.pw_gid)
    text = unit_text(user=user_name, group=group, exec_start=_exec_start(config_path, data), data_dir=data)
    unit_dir.mkdir(parents=True, exist_ok=True)
    path = unit_dir / UNIT_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o644)
    os.replace(tmp, path)
    name = UNIT_NAME
    click.echo(f"Đã ghi / wrote {path}  (User={user_name}, data {data}, mode 0700)")
    click.echo("Tiếp theo / next:")
    if unit_dir.resolve() != Path("/etc/systemd/system"):
        click.echo(f"  sudo cp {path} /etc/systemd/system/")
    click.echo("  sudo systemctl daemon-reload")
    click.echo(f"  sudo systemctl enable --now {name}")
    click.echo(f"  journalctl -u {name} -f        # nhật ký / the log: the first admin password is printed there once")
    click.echo(f"  secrets (CHIPID_LEDGER_KEY=...) in {ENV_FILE}, mode 0600 (optional)")
    if shutil.which("systemd-analyze"):
        click.echo(f"  systemd-analyze security {name}   # the hardening score")


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)

"""``chipid user``: create, list, change, reset, disable and enable users of the counter service.

A person's password printed here (``add``, ``reset``) is a one-time password: it must be changed at
the first login (the page asks; the API answers 403 ``password_change_required``), or with
``chipid user passwd``. Disabling ends the user's sessions and token at once, also in a running
``chipid serve`` (both read the same ``users.sqlite``).
"""

from __future__ import annotations

import json

import click

from verifier.cli_options import cli_config, config_options
from verifier.errors import ChipidError
from verifier.users import ROLES, UserStore


def _store(config_path, data_dir):
    return UserStore.from_config(cli_config(config_path, data_dir))


@click.group("user")
def user() -> None:
    """Người dùng / users: clerk, manager, inspector, integrator, admin."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@config_options
@click.option("--json", "as_json", is_flag=True, help='Print {"name", "role", "password" or "token"} as JSON.')
def add_cmd(name, role, config_path, data_dir, as_json) -> None:
    """Create a user; prints a one-time password (people) or an API token (integrator)."""
    try:
        created = _store(config_path, data_dir).add(name, role)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(created, ensure_ascii=False))
        return
    secret_kind = "token" if "token" in created else "password"
    click.echo(f"user {name} ({role}) created. One-time {secret_kind} (shown only now): {created[secret_kind]}")
    if secret_kind == "password":
        click.echo("Mật khẩu dùng một lần: người dùng phải đổi khi đăng nhập lần đầu. / It must be changed at the first login.")


def _fail(e: ChipidError):
    vi = getattr(e, "message_vi", None)
    return click.ClickException(f"{vi} / {e}" if vi else str(e))


@user.command("passwd")
@click.argument("name")
@config_options
def passwd_cmd(name, config_path, data_dir) -> None:
    """Change a user's password: asks for the current one and the new one (twice)."""
    old = click.prompt("Mật khẩu hiện tại / current password", hide_input=True)
    new = click.prompt("Mật khẩu mới / new password", hide_input=True, confirmation_prompt=True)
    try:
        _store(config_path, data_dir).change_password(name, old, new)
    except ChipidError as e:
        raise _fail(e) from e
    click.echo(f"Đã đổi mật khẩu của {name}; các phiên đăng nhập khác đã kết thúc. / Password of {name} changed; other sessions ended.")


@user.command("reset")
@click.argument("name")
@config_options
@click.option("--json", "as_json", is_flag=True, help='Print {"name", "password"} as JSON.')
def reset_cmd(name, config_path, data_dir, as_json) -> None:
    """Give a person a new one-time password (to be changed at the next login); ends its sessions."""
    try:
        password = _store(config_path, data_dir).reset(name)
    except ChipidError as e:
        raise _fail(e) from e
    if as_json:
        click.echo(json.dumps({"name": name, "password": password, "must_change": True}))
    else:
        click.echo(f"Mật khẩu dùng một lần mới của {name} (chỉ hiện lần này, phải đổi khi đăng nhập) / "
                   f"new one-time password of {name} (shown only now, to be changed at login): {password}")


@user.command("disable")
@click.argument("name")
@config_options
def disable_cmd(name, config_path, data_dir) -> None:
    """Disable a user: its sessions and its token stop working at once."""
    try:
        _store(config_path, data_dir).disable(name)
    except ChipidError as e:
        raise _fail(e) from e
    click.echo(f"Đã khóa {name}. / {name} disabled.")


@user.command("enable")
@click.argument("name")
@config_options
def enable_cmd(name, config_path, data_dir) -> None:
    """Enable a disabled user again."""
    try:
        _store(config_path, data_dir).enable(name)
    except ChipidError as e:
        raise _fail(e) from e
    click.echo(f"Đã mở khóa {name}. / {name} enabled.")


@user.command("token")
@click.argument("name")
@config_options
@click.option("--json", "as_json", is_flag=True)
def token_cmd(name, config_path, data_dir, as_json) -> None:
    """Issue a new API bearer token for a user (replaces the old one)."""
    try:
        token = _store(config_path, data_dir).issue_token(name)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    click.echo(json.dumps({"name": name, "token": token}) if as_json else token)


@user.command("list")
@config_options
@click.option("--json", "as_json", is_flag=True)
def list_cmd(config_path, data_dir, as_json) -> None:
    """List users and roles (never secrets)."""
    users = _store(config_path, data_dir).list()
    if as_json:
        click.echo(json.dumps(users))
    else:
        for u in users:
            state = "disabled" if u["disabled"] else ("must change password" if u["must_change"] else "")
            click.echo(f"{u['name']:20} {u['role']:11} {state}")

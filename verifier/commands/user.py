"""``chipid user``: create users of the counter service and list them."""

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
            click.echo(f"{u['name']:20} {u['role']:11} {'disabled' if u['disabled'] else ''}")

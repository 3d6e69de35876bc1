"""``chipid ledger``: verify the shop ledger, export it for inspectors, check an export offline."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from verifier.cli_options import cli_config, config_options
from verifier.errors import ChipidError, LimitExceededError


def _open(config_path, data_dir):
    from verifier.ledger.opening import open_ledger

    cfg = cli_config(config_path, data_dir)
    if not (cfg.data_dir / "ledger.sqlite").exists():
        raise click.ClickException(f"no ledger in {cfg.data_dir} (expected {cfg.data_dir / 'ledger.sqlite'})")
    return open_ledger(cfg)


@click.group("ledger")
def ledger() -> None:
    """Sổ cái cầm đồ / the tamper-evident pawn ledger."""


@ledger.command("verify")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_cmd(config_path, data_dir, as_json) -> None:
    """Decrypt and re-hash every entry, check links and checkpoint signatures. Exit 0 intact, 2 tampered."""
    try:
        led = _open(config_path, data_dir)
        report = led.verify(workers=os.cpu_count() or 1)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    elif report.ok:
        click.echo(f"ledger intact: {report.entries} entries, head seq {report.head_seq} {report.head_hash}, {report.checkpoints} signed checkpoints")
    else:
        click.echo(f"LEDGER TAMPERED: first bad entry seq {report.first_bad_seq}: {report.error}", err=True)
    sys.exit(0 if report.ok else 2)


@ledger.command("export")
@config_options
@click.option("--from", "from_", default=None, help="First date/time (ISO, e.g. 2026-01-01) to include.")
@click.option("--to", "to", default=None, help="Last date/time (ISO) to include.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Bundle file to write (JSON, mode 0600).")
def export_cmd(config_path, data_dir, from_, to, out) -> None:
    """Write a self-verifying bundle (entries, checkpoints, device public key) for inspectors."""
    from verifier.ledger.export import build_bundle, write_bundle

    try:
        led = _open(config_path, data_dir)
        bundle = build_bundle(led, from_, to)
        write_bundle(bundle, out)
    except (ChipidError, OSError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"exported {len(bundle['entries'])} entries and {len(bundle['checkpoints'])} checkpoints to {out}")


@ledger.command("verify-export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_export_cmd(file, as_json) -> None:
    """Check an export bundle offline, without the database. Exit 0 intact, 2 tampered."""
    from verifier.ledger.export import load_bundle, verify_bundle

    try:
        report = verify_bundle(load_bundle(file))
    except LimitExceededError as e:  # not a bundle this tool will read: refused like a tampered one
        click.echo(f"EXPORT REFUSED: {e}", err=True)
        sys.exit(2)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    elif report["ok"]:
        click.echo(
            f"export intact: {report['entries']} entries (seq {report['first_seq']}..{report['last_seq']}) of device "
            f"{report['device_id']}, signed up to seq {report['anchored_seq']}; device key sha256 {report['device_key_sha256']}"
        )
    else:
        click.echo(f"EXPORT TAMPERED: first bad entry seq {report['first_bad_seq']}: {report['error']}", err=True)
    sys.exit(0 if report["ok"] else 2)


@ledger.command("checkpoint")
@config_options
def checkpoint_cmd(config_path, data_dir) -> None:
    """Sign a checkpoint of the current head now."""
    try:
        cp = _open(config_path, data_dir).checkpoint()
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"checkpoint seq {cp.seq} {cp.head_hash}")

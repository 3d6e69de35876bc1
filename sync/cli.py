"""``chipid sync`` = ``python -m sync``: deliver the shop ledger to the police backend (enrol, run the relay, status)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click

from verifier.cli_options import cli_config, config_options
from verifier.errors import ChipidError


def _ledger(config_path, data_dir):
    from verifier.ledger.opening import open_ledger

    cfg = cli_config(config_path, data_dir)
    return cfg, open_ledger(cfg)


@click.group("sync")
def sync() -> None:
    """Gửi sổ cái cho công an / deliver the ledger to the police backend."""


@sync.command("enroll")
@config_options
@click.option("--backend", "backend_url", required=True, help="Backend URL (https://...; http:// only on loopback).")
@click.option("--token", required=True, help="One-time token from `chipid backend device add`.")
@click.option("--pin", "pin", default=None, help="SHA-256 of the backend's TLS certificate (overrides sync.backend_cert_sha256).")
@click.option("--json", "as_json", is_flag=True, help="Print the enrolment as JSON.")
def enroll_cmd(config_path, data_dir, backend_url, token, pin, as_json) -> None:
    """Register this device's public key with the police backend."""
    from sync.enrollment import enroll

    try:
        cfg, ledger = _ledger(config_path, data_dir)
        record = enroll(ledger, backend_url, token, pin or cfg["sync.backend_cert_sha256"], cfg["sync.timeout_s"])
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False))
    else:
        click.echo(f"enrolled device {record['device_id']} for shop {record['shop_id']} at {record['backend_url']}")


@sync.command("run")
@config_options
@click.option("--once", is_flag=True, help="Deliver the backlog once and exit (0: delivered, 1: failed).")
def run_cmd(config_path, data_dir, once) -> None:
    """Run the outbox relay (alone; `chipid serve` runs it too)."""
    from sync.relay import Relay, RelaySettings

    try:
        cfg, ledger = _ledger(config_path, data_dir)
        relay = Relay(ledger, RelaySettings.from_config(cfg, Path(ledger.data_dir)))
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if once:
        try:
            sent = relay.drain()
        except ChipidError as e:
            relay.record_failure(e)
            click.echo(f"delivery failed: {e}", err=True)
            sys.exit(1)
        finally:
            relay.close()
        click.echo(f"delivered {sent} entries; backlog {relay.backlog()}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    relay.run(stop)
    relay.close()


@sync.command("status")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status_cmd(config_path, data_dir, as_json) -> None:
    """Backlog, last success and last error of the delivery."""
    from sync.relay import sync_status

    try:
        cfg, ledger = _ledger(config_path, data_dir)
        status = sync_status(ledger)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False))
    else:
        lang = cfg["service.language"] if cfg["service.language"] in ("vi", "en") else "vi"
        click.echo(status["summary"][lang])

"""``chipid serve``: the counter service (FastAPI on uvicorn)."""

from __future__ import annotations

import logging
import threading

import click

from verifier.cli_options import cli_config, config_options

log = logging.getLogger(__name__)


def _warm_up(app) -> None:
    """Load the face models in the background so the first customer does not wait for them."""
    try:
        app.state.svc.face.verifier.models
    except Exception as e:  # noqa: BLE001 - the face step reports its own errors when used
        log.warning("face models not preloaded: %s", e)


@click.command("serve")
@config_options
@click.option("--host", default=None, help="Address to bind (overrides service.host; default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="TCP port (overrides service.port; default 8080).")
@click.option("--reader", default=None, help="Reader: auto, emulator, pcsc, pcsc:NAME, nfc, nfc:DEVICE (overrides reader.name).")
def serve(config_path, data_dir, host, port, reader) -> None:
    """Chạy dịch vụ quầy / run the counter service (web pages + REST API under /api/v1)."""
    import uvicorn

    from verifier.api.app import create_app
    from verifier.errors import ChipidError

    cfg = cli_config(config_path, data_dir, service__host=host, service__port=port, reader__name=reader)
    try:
        app = create_app(cfg, announce=click.echo, close_on_shutdown=True, watch_camera=True)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"chipid counter service on http://{cfg['service.host']}:{cfg['service.port']}/  (API docs: /docs)")
    threading.Thread(target=_warm_up, args=(app,), name="face-models-warm-up", daemon=True).start()
    # event streams stay open: give them 5 s on shutdown, then close them
    uvicorn.run(app, host=cfg["service.host"], port=cfg["service.port"], log_level="info", access_log=False,
                timeout_graceful_shutdown=5)

"""``chipid backend`` = ``python -m sync.backend``: the police backend (serve, enrol shop devices, add users, watchlists)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from verifier.cli_options import config_option
from verifier.errors import ChipidError


def _opts(f):
    f = click.option("--database-url", default=None, help="PostgreSQL URL (overrides the variable named by backend.database_url_env). Prefer the environment variable: a URL here is visible in ps.")(f)
    f = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Backend data directory (overrides backend.data_dir).")(f)
    return config_option(f)


def backend_settings(config_path=None, data_dir=None, database_url=None):
    """(config, data_dir, database_url or None) with command-line overrides applied."""
    from verifier.config import load_config

    cfg = load_config(config_path)
    ddir = Path(os.path.expanduser(str(data_dir if data_dir is not None else cfg["backend.data_dir"])))
    url = database_url or os.environ.get(cfg["backend.database_url_env"]) or None
    return cfg, ddir, url


def open_database(cfg, ddir, url, **kw):
    """The backend database with the key variables the settings name (backend.*_key_env)."""
    from sync.backend.db import Database

    return Database.open(ddir, url, data_key_env=cfg["backend.data_key_env"],
                         index_key_env=cfg["backend.index_key_env"], **kw)


def _open_db(config_path, data_dir, database_url):
    cfg, ddir, url = backend_settings(config_path, data_dir, database_url)
    return open_database(cfg, ddir, url)


@click.group("backend")
def backend() -> None:
    """Máy chủ tiếp nhận của công an / the police backend."""


@backend.command("serve")
@_opts
@click.option("--host", default=None, help="Bind address (overrides backend.host).")
@click.option("--port", type=int, default=None, help="TCP port (overrides backend.port).")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes (the service is stateless over the database).")
def serve_cmd(config_path, data_dir, database_url, host, port, workers) -> None:
    """Run the backend (ingest, inspector API and pages)."""
    import uvicorn

    from sync.backend.alert_rules import settings_from_config
    from sync.backend.app import (WORKER_ENV_CONFIG, WORKER_ENV_DATA_KEY_ENV, WORKER_ENV_DIR, WORKER_ENV_INDEX_KEY_ENV,
                                  WORKER_ENV_METRICS_TOKEN_ENV, WORKER_ENV_URL, create_app)

    try:
        cfg, ddir, url = backend_settings(config_path, data_dir, database_url)
        db = open_database(cfg, ddir, url)
        alert_workers = settings_from_config(cfg)  # alert rules worker and webhook (sync/backend/alert_rules.py)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    kwargs = {}
    if cfg["backend.tls_cert"]:
        kwargs = {"ssl_certfile": os.path.expanduser(cfg["backend.tls_cert"]), "ssl_keyfile": os.path.expanduser(cfg["backend.tls_key"])}
    host = host or cfg["backend.host"]
    port = port if port is not None else cfg["backend.port"]
    scheme = "https" if kwargs else "http"
    click.echo(f"chipid police backend on {scheme}://{_url_host(host)}:{port}/  (API docs: /docs, health: /api/v1/health)")
    if workers > 1:
        db.close()
        os.environ[WORKER_ENV_DIR] = str(ddir)
        os.environ[WORKER_ENV_DATA_KEY_ENV] = cfg["backend.data_key_env"]
        os.environ[WORKER_ENV_INDEX_KEY_ENV] = cfg["backend.index_key_env"]
        os.environ[WORKER_ENV_METRICS_TOKEN_ENV] = cfg["backend.metrics_token_env"]
        if url:
            os.environ[WORKER_ENV_URL] = url
        if cfg.source:
            os.environ[WORKER_ENV_CONFIG] = str(cfg.source)
        uvicorn.run("sync.backend.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_level="warning", **kwargs)
    else:
        app = create_app(db, os.environ.get(cfg["backend.metrics_token_env"]) or None, **alert_workers)
        app.state.downlink_key = _signing_key(ddir)  # pinned by the shops at enrolment (sync/backend/downlink_key.py)
        uvicorn.run(app, host=host, port=port, log_level="warning", **kwargs)


def _url_host(host: str) -> str:
    """``host`` as it goes in a URL (RFC 3986 §3.2.2: an IPv6 literal in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@backend.group("device")
def device() -> None:
    """Thiết bị của cửa hàng / shop devices."""


@device.command("add")
@_opts
@click.option("--shop", required=True, help="Shop name.")
@click.option("--license", "license_no", required=True, help="Number of the shop's security-and-order licence.")
@click.option("--province", required=True, help="Province code (e.g. 01 for Hà Nội, 79 for TP.HCM).")
@click.option("--json", "as_json", is_flag=True, help='Print {"token", ...} as JSON.')
def device_add_cmd(config_path, data_dir, database_url, shop, license_no, province, as_json) -> None:
    """Register a shop (if new) and print a one-time enrolment token for one of its devices."""
    from sync.backend.enroll import TOKEN_TTL_HOURS, add_device_token

    try:
        result = add_device_token(_open_db(config_path, data_dir, database_url), shop=shop, license_no=license_no, province=province)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(f"shop {result['shop_id']} ({result['shop']}): one-time enrolment token, valid {TOKEN_TTL_HOURS} h:")
        click.echo(result["token"])
        click.echo("on the shop's machine: chipid sync enroll --backend URL --token TOKEN")


@backend.group("user")
def user() -> None:
    """Người dùng (cán bộ kiểm tra, quản trị) / inspector and admin users."""


@user.command("add")
@_opts
@click.argument("name")
@click.option("--role", type=click.Choice(["inspector", "admin"]), required=True)
@click.option("--password-env", default=None, help="Read the password from this environment variable; otherwise one is generated and printed once.")
@click.option("--json", "as_json", is_flag=True, help='Print {"name", "role", "password"} as JSON.')
def user_add_cmd(config_path, data_dir, database_url, name, role, password_env, as_json) -> None:
    """Add a backend user (argon2-hashed password)."""
    from sync.backend.auth import add_user, generate_password

    generated = False
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise click.ClickException(f"environment variable {password_env} is empty or unset")
    else:
        password, generated = generate_password(), True
    try:
        add_user(_open_db(config_path, data_dir, database_url), name, role, password)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    out = {"name": name, "role": role}
    if generated:
        out["password"] = password
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(f"user {name} ({role}) added" + (f"; password (shown once): {password}" if generated else ""))


@backend.group("watchlist")
def watchlist_group() -> None:
    """Danh sách truy tìm / watchlists of stolen serials and wanted ID numbers."""


@watchlist_group.command("import")
@_opts
@click.argument("csv_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--by", "added_by", default="cli", help="Recorded as the author of the items.")
def watchlist_import_cmd(config_path, data_dir, database_url, csv_file, added_by) -> None:
    """Import a CSV (kind,value,note; kind = serial or id_number)."""
    from sync.backend import watchlist

    try:
        result = watchlist.add_items(_open_db(config_path, data_dir, database_url), watchlist.parse_csv(csv_file.read_bytes()), added_by)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"watchlist: {result['added']} added, {result['updated']} updated")


# --- the signed downlink to the shops (sync/backend/downlink.py) -------------------------------------
def _signing_key(ddir):
    from sync.backend import downlink_key

    key = downlink_key.load(ddir)
    if key is None:  # pragma: no cover - load() creates the file when a directory is given
        raise click.ClickException(f"no downlink signing key: set {downlink_key.SIGNING_KEY_ENV}")
    return key


def _downlink_env(config_path, data_dir, database_url):
    cfg, ddir, url = backend_settings(config_path, data_dir, database_url)
    return open_database(cfg, ddir, url), _signing_key(ddir)


def _echo_sent(sent: list[dict], as_json: bool, what: str) -> None:
    if as_json:
        click.echo(json.dumps([{"shop_id": s["message"]["shop_id"], "version": s["version"], "kind": s["message"]["kind"],
                                "body": s["message"]["body"] if s["message"]["kind"] != "trust" else None} for s in sent],
                              ensure_ascii=False))
        return
    for s in sent:
        click.echo(f"{what}: shop {s['message']['shop_id']}, message {s['version']}")


@backend.group("hold")
def hold_group() -> None:
    """Lệnh tạm giữ tài sản / holds on a contract's item, sent to the shop (signed downlink)."""


@hold_group.command("add")
@_opts
@click.option("--shop", "shop_id", required=True, help="Shop id (e.g. 79-PN-12).")
@click.option("--contract", "contract_no", required=True, help="Contract number as the shop gave it (e.g. HĐ-2026-000001).")
@click.option("--reason", required=True, help="Why (shown at the counter).")
@click.option("--case", "case_no", default=None, help="Case number.")
@click.option("--until", default=None, help="Last day of the hold, YYYY-MM-DD (Vietnam); none: until released.")
@click.option("--by", "by", default="cli", help="Recorded as who placed it.")
@click.option("--json", "as_json", is_flag=True, help="Print the message as JSON.")
def hold_add_cmd(config_path, data_dir, database_url, shop_id, contract_no, reason, case_no, until, by, as_json) -> None:
    """Place a hold: the shop may not redeem, liquidate or cancel the contract until it is released."""
    from sync.backend import downlink

    try:
        db, key = _downlink_env(config_path, data_dir, database_url)
        out = downlink.place_hold(db, key, shop_id=shop_id, contract_no=contract_no, reason=reason, case_no=case_no,
                                  until=until, by=by)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps({"hold_id": out["message"]["body"]["hold_id"], "version": out["version"],
                               "message": out["message"]}, ensure_ascii=False))
    else:
        click.echo(f"hold {out['message']['body']['hold_id']} on {contract_no} sent to shop {shop_id} (message {out['version']})")


@hold_group.command("release")
@_opts
@click.argument("hold_id")
@click.option("--note", default=None, help="A note for the shop.")
@click.option("--by", "by", default="cli", help="Recorded as who released it.")
@click.option("--json", "as_json", is_flag=True, help="Print the message as JSON.")
def hold_release_cmd(config_path, data_dir, database_url, hold_id, note, by, as_json) -> None:
    """Release a hold (another signed message to the shop)."""
    from sync.backend import downlink

    try:
        db, key = _downlink_env(config_path, data_dir, database_url)
        out = downlink.release_hold(db, key, hold_id, note=note, by=by)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps({"hold_id": hold_id, "version": out["version"], "message": out["message"]}, ensure_ascii=False))
    else:
        click.echo(f"hold {hold_id} released (message {out['version']} to shop {out['message']['shop_id']})")


@hold_group.command("list")
@_opts
@click.option("--shop", "shop_id", default=None, help="Only this shop.")
@click.option("--active", is_flag=True, help="Only holds in force.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def hold_list_cmd(config_path, data_dir, database_url, shop_id, active, as_json) -> None:
    """The holds placed, with their releases."""
    from sync.backend import downlink

    try:
        rows = downlink.holds(_open_db(config_path, data_dir, database_url), shop_id=shop_id, active_only=active)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for h in rows:
        state = "in force" if h["active"] else ("released" if h["released"] else "expired")
        click.echo(f"{h['hold_id']}  {h['shop_id']}  {h['contract_no']}  {state}  {h['reason']}")


@backend.group("notice")
def notice_group() -> None:
    """Thông báo cho cửa hàng / notices shown at the shop's counter until acknowledged."""


@notice_group.command("send")
@_opts
@click.option("--shop", "shops", multiple=True, help="Shop id (repeat for several; none: every shop).")
@click.option("--text", "text_", required=True, help="The notice (Vietnamese).")
@click.option("--by", "by", default="cli", help="Recorded as the sender.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def notice_send_cmd(config_path, data_dir, database_url, shops, text_, by, as_json) -> None:
    """Send a notice to one shop, several or all."""
    from sync.backend import downlink

    try:
        db, key = _downlink_env(config_path, data_dir, database_url)
        sent = downlink.send_notice(db, key, shops=list(shops), text_=text_, by=by)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    _echo_sent(sent, as_json, "notice")


@backend.group("trust")
def trust_group() -> None:
    """Cập nhật danh sách tin cậy cho cửa hàng / trust updates (CSCA, CRL, master lists) to the shops."""


@trust_group.command("publish")
@_opts
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--shop", "shops", multiple=True, help="Shop id (repeat for several; none: every shop).")
@click.option("--by", "by", default="cli", help="Recorded as the publisher.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def trust_publish_cmd(config_path, data_dir, database_url, files, shops, by, as_json) -> None:
    """Publish CSCA certificates (the CCCD eID CSCA too), CRLs and master lists: each shop imports them with the
    checks of `chipid trust import` and records what it installed or refused."""
    from sync.backend import downlink

    try:
        db, key = _downlink_env(config_path, data_dir, database_url)
        sent = downlink.publish_trust(db, key, shops=list(shops), files=[(f.name, f.read_bytes()) for f in files], by=by)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    _echo_sent(sent, as_json, "trust update")


@trust_group.command("import")
@_opts
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
def trust_import_cmd(config_path, data_dir, database_url, files) -> None:
    """Import CSCA certificates (the CCCD eID CSCA too), link certificates, CRLs and master lists into the
    backend's own trust (DATA_DIR/trust), with which it re-verifies each contract's chip evidence."""
    from sync.backend.evidence import import_trust

    _cfg, ddir, _url = backend_settings(config_path, data_dir, database_url)
    for f in files:
        try:
            click.echo(f"{f.name}: {import_trust(ddir, f.read_bytes(), name=f.name)}")
        except ChipidError as e:
            raise click.ClickException(f"{f.name}: {e}") from e

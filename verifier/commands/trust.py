"""``chipid trust``: import, list and remove CSCA certificates, master lists and CRLs.

The operator's trust lives in ``<data_dir>/trust/`` on top of the production trust shipped
with chipid (the German CSCA master list). See :mod:`verifier.trust.store`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from verifier.cli_options import cli_config, config_options
from verifier.errors import ChipidError




def _open(cfg):
    from verifier.trust.store import TrustStore

    return TrustStore.open(cfg.data_dir, demo=bool(cfg["trust.demo"]))


@click.group("trust")
def trust() -> None:
    """Danh sách tin cậy (CSCA, CRL) / the trust store: CSCA certificates, master lists, CRLs."""


@trust.command("import")
@config_options
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--root", "roots", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Self-signed CSCA that roots a master list's signer (the shipped German root is always one).")
def import_cmd(config_path, data_dir, files, roots) -> None:
    """Import CSCA certificates (DER/PEM), CSCA master lists (.ml) and CRLs; each is verified first."""
    cfg = cli_config(config_path, data_dir)
    try:
        store = _open(cfg)
        for root in roots:
            cert = store.add_ml_root(root.read_bytes())
            click.echo(f"master-list root: {cert.subject}")
        # Certificates before CRLs (a CRL needs its CSCA); master lists first of all.
        from verifier.trust.store import sniff

        order = {"master_list": 0, "certificate": 1, "crl": 2}
        items = sorted(((sniff(p.read_bytes()), p) for p in files), key=lambda x: order[x[0]])
        for _, path in items:
            click.echo(f"{path.name}: {store.import_bytes(path.read_bytes(), name=path.name)}")
        store.save(cfg.data_dir / "trust")
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:
        raise click.ClickException(f"cannot read or write the trust store: {e}") from e


@trust.command("list")
@config_options
@click.option("--country", default=None, help="Only this country (alpha-2, e.g. VN).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(config_path, data_dir, country, as_json) -> None:
    """List the trusted CSCA and link certificates (subject, country, key, validity, SHA-256) and CRLs."""
    cfg = cli_config(config_path, data_dir)
    try:
        store = _open(cfg)
        entries = store.entries(country=country)
        rows = [e.summary() for e in entries]
        crls = [dict(c.crl.summary(), source=c.source) for c in store.crls()
                if not country or (c.crl.issuer_name.get("2.5.4.6") or "").upper() == country.upper()]
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps({"certificates": rows, "crls": crls}, ensure_ascii=False, indent=1))
        return
    for r in rows:
        flag = " DEMO" if r["demo"] else ""
        click.echo(f"{r['country'] or '--'}  {r['kind']:<4}  {r['key']:<45} {r['not_before'][:10]}..{r['not_after'][:10]}  "
                   f"{r['sha256']}  {r['subject']}{flag}")
    for c in crls:
        click.echo(f"CRL {c['issuer']}: {c['revoked']} revoked, next update {c['next_update']}  {c['sha256']}")
    click.echo(f"{len(rows)} certificates, {len(crls)} CRLs")


@trust.command("remove")
@config_options
@click.argument("sha256")
def remove_cmd(config_path, data_dir, sha256) -> None:
    """Remove (distrust) a certificate by the SHA-256 of its DER, as `chipid trust list` shows it."""
    cfg = cli_config(config_path, data_dir)
    try:
        store = _open(cfg)
        entry = store.remove(sha256)
        store.save(cfg.data_dir / "trust")
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"removed {entry.kind.upper()} {entry.cert.subject}" + (" (shipped: now distrusted)" if entry.shipped else ""))


@trust.command("status")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cmd(config_path, data_dir, as_json) -> None:
    """Can CCCDs be fully verified? If not: what to install and where Vietnam publishes it."""
    from datetime import datetime, timezone

    from verifier.trust.cccd import cccd_status

    cfg = cli_config(config_path, data_dir)
    try:
        store = _open(cfg)
        status = cccd_status(store, datetime.now(timezone.utc), max_age_days=int(cfg["trust.crl_max_age_days"]))
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    out = {"cccd": status, "store": {"entries": len(store), "cscas": len(store.cscas()),
                                     "vietnam_cscas": len(store.cscas("VN")), "crls": len(store.crls()),
                                     "demo": bool(cfg["trust.demo"])}}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    verdict = "YES" if status["fully"] else ("PARTLY (no current CRL)" if status["can_verify"] else "NO")
    click.echo(f"CCCD chips fully verifiable / xác thực đầy đủ thẻ CCCD: {verdict}")
    click.echo(status["message_vi"])
    click.echo(status["message"])
    if status["csca"]:
        click.echo(f"CSCA: {status['csca']['subject']}  {status['csca']['sha256']}  ({status['csca']['source']})")
    click.echo(f"revocation list / danh sách thu hồi: {status['revocation']}")


@trust.command("refresh")
@config_options
@click.option("--country", "countries", multiple=True, help="Only the CSCAs of this country (alpha-2, e.g. VN); repeatable.")
@click.option("--cert-url", "cert_urls", multiple=True, help="Download issuer certificates from this URL only (repeatable).")
@click.option("--crl-url", "crl_urls", multiple=True, help="Download CRLs from this URL only (repeatable).")
@click.option("--timeout", "timeout_s", type=float, default=10.0, show_default=True, help="Seconds per download.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def refresh_cmd(config_path, data_dir, countries, cert_urls, crl_urls, timeout_s, as_json) -> None:
    """Tải CRL và chứng thư CSCA còn thiếu / download the CRLs and missing issuer certificates the
    installed certificates name (and Vietnam's eID CSCA), verify each, store them, report.

    Exit 0 when something could be downloaded (or nothing was to be), 1 when every download failed.
    """
    from verifier.trust_download import http_fetch, refresh_data_dir

    cfg = cli_config(config_path, data_dir)
    given = bool(cert_urls or crl_urls)
    try:
        report = refresh_data_dir(cfg, fetch=http_fetch(timeout_s), countries=tuple(countries) or None,
                                  cert_urls=list(cert_urls) if given else None, crl_urls=list(crl_urls) if given else None)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:
        raise click.ClickException(f"cannot read or write the trust store: {e}") from e
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        for item in report.items:
            click.echo(f"{item.outcome:<11} {item.kind:<11} {item.url}  {item.detail}")
        click.echo(report.summary_vi())
        click.echo(report.summary())
    if report.offline:
        raise SystemExit(1)

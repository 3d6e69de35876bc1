"""``chipid sod verify``: passive authentication of an EF.SOD file, with optional data groups."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from verifier.errors import ChipidError


@click.group("sod")
def sod() -> None:
    """Dữ liệu bảo mật EF.SOD / the chip's Document Security Object."""


def _parse_dg(values) -> dict[str, bytes]:
    out = {}
    for v in values:
        n, sep, path = v.partition("=")
        if not sep or not n.strip().isdigit() or not 1 <= int(n) <= 16:
            raise click.BadParameter(f"expected N=FILE with N in 1-16, found {v!r}", param_hint="--dg")
        try:
            out[f"DG{int(n)}"] = Path(path).read_bytes()
        except OSError as e:
            raise click.BadParameter(f"cannot read {path}: {e}", param_hint="--dg") from e
    return out


def _store(trust_files):
    from verifier.trust.store import SHIPPED_ML_ROOT, TrustStore, sniff
    from verifier.trust.certs import load_certificates

    if not trust_files:
        return TrustStore.default()
    store = TrustStore()
    store.add_ml_root(SHIPPED_ML_ROOT.read_bytes())
    items = [(sniff(p.read_bytes()), p) for p in trust_files]
    # Given CSCAs also root master lists; then lists; then plain certificates; CRLs last.
    for kind, p in items:
        if kind == "certificate":
            for cert in load_certificates(p.read_bytes(), what=p.name):
                try:
                    store.add_ml_root(cert)
                except ChipidError:
                    pass
    order = {"master_list": 0, "certificate": 1, "crl": 2}
    for kind, p in sorted(items, key=lambda x: order[x[0]]):
        store.import_bytes(p.read_bytes(), name=p.name)
    return store


@sod.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trust", "trust_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSCA certificate, master list or CRL to trust (repeatable); default: the shipped production trust.")
@click.option("--dg", "dgs", multiple=True, metavar="N=FILE", help="A data group file as read from the chip (repeatable).")
@click.option("--mrz-state", default=None, help="Issuing state from the MRZ (e.g. VNM) to compare with the signer's country.")
@click.option("--com", "com_dgs", default=None, help="Data groups EF.COM lists, comma-separated (e.g. 1,2,13,14,15).")
@click.option("--at", "at_text", default=None, help="Check at this time (ISO 8601, UTC); default now.")
@click.option("--policy", type=click.Choice(["shell", "chain", "signing-time"]), default=None,
              help="Certificate validity policy (default: trust.validity_policy).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_cmd(file, trust_files, dgs, mrz_state, com_dgs, at_text, policy, as_json) -> None:
    """Verify EF.SOD: signature, DSC -> CSCA chain, CRL, data-group hashes.

    Exit 0 valid and chained, 2 invalid or not chained, 1 unusable input.
    """
    from verifier.config import load_config
    from verifier.trust.sod import parse_sod
    from verifier.trust import signatures
    from verifier.trust.passive import PAPolicy, verify_passive
    from verifier.verdict import Status, checks_json, decide

    files = _parse_dg(dgs)
    try:
        cfg = load_config()
        pa_policy = PAPolicy.from_config(cfg)
        if policy:
            pa_policy = PAPolicy(validity=policy, crl_max_age_days=pa_policy.crl_max_age_days)
        at = datetime.fromisoformat(at_text) if at_text else datetime.now(timezone.utc)
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        raw = file.read_bytes()
        parse_sod(raw)  # unusable input -> exit 1 with the parser's message
        com = [int(x) for x in com_dgs.split(",") if x.strip()] if com_dgs else None
        store = _store(trust_files)
        result = verify_passive(raw, files, store, at=at, mrz_issuing_state=mrz_state, com_dgs=com, policy=pa_policy)
    except ValueError as e:
        click.echo(f"Error: unusable input: {e}", err=True)
        sys.exit(1)
    except (ChipidError, OSError) as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)
    sod_ = result.sod
    by_name = {c.name: c for c in result.checks}
    ok = (by_name["sod_signature"].status is Status.PASSED and by_name["dsc_chain"].status is Status.PASSED
          and not any(c.status is Status.FAILED for c in result.checks))
    out = {
        "signature": "valid" if result.signature_valid else "invalid",
        "dsc": {"subject": result.dsc.subject, "sha256": result.dsc.sha256} if result.dsc else None,
        "csca": {"subject": result.csca.subject, "sha256": result.csca.sha256} if result.csca else None,
        "dg_hashes": {str(n): h.hex() for n, h in sorted(sod_.dg_hashes.items())},
        "hash_algorithm": sod_.hash_algorithm,
        "signature_algorithm": signatures.algorithm_name(sod_.signer.signature_algorithm),
        "lds_version": sod_.lds_version,
        "validity_policy": pa_policy.validity,
        "at": at.isoformat(),
        "demo": result.demo,
        "checks": checks_json(result.checks),
        "verdict": decide(result.checks).value,
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        click.echo(f"signature: {out['signature']} ({out['signature_algorithm']}, {out['hash_algorithm']})")
        click.echo(f"DSC:  {out['dsc']['subject'] if out['dsc'] else '-'}")
        click.echo(f"CSCA: {out['csca']['subject'] if out['csca'] else '-'}")
        for c in result.checks:
            click.echo(f"  {c.status.value:<13} {c.name:<17} {c.reason}")
        click.echo(f"verdict: {out['verdict']}")
    sys.exit(0 if ok else 2)

"""Trust updates over the signed downlink, end to end over loopback on SQLite and PostgreSQL (issue 19 item 2):
a CSCA published with `chipid backend trust publish` is installed in the shop's trust store through the checks of
`chipid trust import`; a certificate that fails them is refused and recorded refused; a forged message (another key,
or a body altered after signing) is refused and installs nothing."""

from __future__ import annotations

import base64

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from drivers.emulator import pki
from sync.backend import downlink
from sync.testing import wait_until
from tests.sync.test_downlink_holds import _cli, _inspector, _police_events, counter, signing_key  # noqa: F401 - fixtures
from verifier.trust.certs import load_certificate
from verifier.trust.store import TrustStore


def _installed(svc, sha: str) -> bool:
    return TrustStore.open(svc.ledger.data_dir).entry(sha) is not None


def test_a_trust_update_installs_a_csca_and_a_bad_certificate_is_refused(backend, counter, signing_key, tmp_path):
    svc, url, h, shop_id = counter
    csca = pki.make_csca("UT", "secp256r1", "chipid TEST CSCA downlink")
    path = tmp_path / "csca-ut.der"
    path.write_bytes(csca.der)
    sent = _cli("trust", "publish", str(path), "--shop", shop_id, "--database-url", backend.db.url,
                "--data-dir", str(tmp_path / "backend"), "--json")
    assert [(s["shop_id"], s["kind"]) for s in sent] == [(shop_id, "trust")]
    sha = load_certificate(csca.der).sha256
    assert not _installed(svc, "0" * 64)
    wait_until(lambda: _installed(svc, sha), what="the CSCA installed at the shop")
    # the store is written before the ledger event that records it: wait for the event too
    [event] = wait_until(lambda: _police_events(svc), what="the trust update recorded in the ledger")
    assert event["type"] == "police_trust_update" and event["applied"] is True and event["version"] == 1
    assert "CSCA" in event["results"][0]["result"]

    # a Document Signer is no trust anchor: `chipid trust import` refuses it, so does the shop (recorded refused)
    dsc = pki.make_dsc(csca, "UT")
    bh = _inspector(backend)
    r = httpx.post(backend.url + "/api/v1/trust-updates", headers=bh,
                   json={"shop_ids": [shop_id], "items": [{"name": "dsc.der", "data": base64.b64encode(dsc.der).decode()}]})
    assert r.status_code == 403  # trust updates are an admin's
    from sync.backend import auth

    auth.add_user(backend.db, "quan-tri", "admin", "mat-khau-dai-9")
    t = httpx.post(backend.url + "/api/v1/login", json={"name": "quan-tri", "password": "mat-khau-dai-9"}).json()["token"]
    ah = {"Authorization": f"Bearer {t}"}
    r = httpx.post(backend.url + "/api/v1/trust-updates", headers=ah,
                   json={"shop_ids": [shop_id], "items": [{"name": "dsc.der", "data": base64.b64encode(dsc.der).decode()}]})
    assert r.status_code == 201, r.text
    refused = wait_until(lambda: [e for e in _police_events(svc) if e["version"] == 2], what="the refusal recorded")
    assert refused[0]["applied"] is False and "not a CSCA" in refused[0]["reason"]
    assert not _installed(svc, load_certificate(dsc.der).sha256)
    listed = httpx.get(backend.url + "/api/v1/trust-updates", params={"shop_id": shop_id}, headers=bh).json()["trust_updates"]
    assert [u["body"]["items"][0]["name"] for u in listed] == ["csca-ut.der", "dsc.der"]


def test_a_forged_trust_update_is_refused(backend, counter, signing_key):
    svc, url, h, shop_id = counter
    rogue = pki.make_csca("UT", "secp256r1", "chipid ROGUE CSCA")
    rogue_sha = TrustStore().add_certificate(rogue.der).sha256
    body = {"items": [{"name": "rogue.der", "data": base64.b64encode(rogue.der).decode()}]}
    # signed by a key that is not the backend's
    downlink.publish(backend.db, Ed25519PrivateKey.generate(), shop_id, "trust", body, issued_by="ke-gia-mao")
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["downlink"]["refused"], what="the refusal")
    assert not _installed(svc, rogue_sha) and _police_events(svc) == []
    # a genuine message whose certificate is swapped after signing
    with backend.db.write() as conn:
        conn.execute(text("DELETE FROM downlink WHERE shop_id = :s"), {"s": shop_id})
    good = pki.make_csca("UT", "secp256r1", "chipid GOOD CSCA")
    real = downlink.publish(backend.db, signing_key, shop_id, "trust",
                            {"items": [{"name": "good.der", "data": base64.b64encode(good.der).decode()}]}, issued_by="cong-an")
    swapped = dict(real["message"], body=body)
    with backend.db.write() as conn:
        conn.execute(text("UPDATE downlink SET message = :m WHERE shop_id = :s AND version = 1"),
                     {"m": downlink._seal(backend.db, shop_id, 1, swapped), "s": shop_id})
    svc.relay.relay.inbox.refused = None
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["downlink"]["refused"], what="the refusal")
    assert not _installed(svc, rogue_sha) and _police_events(svc) == []
    st = httpx.get(url + "/api/v1/sync", headers=h).json()
    assert "từ chối" in st["summary"]["vi"] and st["downlink"]["applied_version"] == 0

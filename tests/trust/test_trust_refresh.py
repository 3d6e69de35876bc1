"""`chipid trust refresh` against a real HTTP server on 127.0.0.1 serving a test CSCA and CRLs."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from drivers.emulator import pki as p
from verifier.commands.trust import trust
from verifier.config import Config
from verifier.trust import cccd
from verifier.trust.cccd import Witness
from verifier.trust.refresh import refresh, refresh_urls
from verifier.trust.store import TrustStore
from verifier.trust_download import http_fetch, refresh_data_dir

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def pki_files():
    csca = p.make_csca("VN", "brainpoolP384r1", "chipid TEST eID CSCA refresh")
    witness_dsc = p.make_dsc(csca, key="brainpoolP384r1", name="chipid TEST Document Signer refresh")
    lookalike = p.make_csca(key="brainpoolP384r1", subject=csca.cert.subject)
    stranger = p.make_csca("FR", "secp256r1", "chipid TEST stranger CSCA")
    return {
        "csca": csca, "witness": Witness.of(witness_dsc.der),
        "files": {
            "/csca.crt": csca.der,
            "/csca.pem": csca.cert.public_bytes(p.serialization.Encoding.PEM),
            "/lookalike.crt": lookalike.der,
            "/stranger.crt": stranger.der,
            "/csca.crl": p.make_crl(csca, revoked=[witness_dsc.serial + 1], this_update=NOW - timedelta(days=1)),
            "/forged.crl": p.make_crl(csca, signing_key=p.new_key("brainpoolP384r1"), this_update=NOW - timedelta(days=1)),
            "/stranger.crl": p.make_crl(stranger, this_update=NOW - timedelta(days=1)),
            "/garbage.crl": b"not a CRL at all",
        },
    }


@pytest.fixture(scope="module")
def server(pki_files):
    files = pki_files["files"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = files.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/gone.crl"


def test_refresh_adds_the_witnessed_csca_and_its_crl(server, pki_files):
    w = pki_files["witness"]
    store = TrustStore(witnesses=[w])
    report = refresh(store, http_fetch(2.0),
                     cert_urls=[f"{server}/lookalike.crt", f"{server}/csca.crt", f"{server}/stranger.crt", f"{server}/missing.crt"],
                     crl_urls=[f"{server}/csca.crl", f"{server}/forged.crl", f"{server}/stranger.crl", f"{server}/garbage.crl",
                               "ldap://example.invalid/x.crl", _closed_port_url()])
    out = {i.url.rsplit("/", 1)[-1]: i for i in report.items}
    assert out["lookalike.crt"].outcome == "refused" and "look-alike" in out["lookalike.crt"].detail
    assert out["csca.crt"].outcome == "added"
    assert out["stranger.crt"].outcome == "refused" and "no shipped witness vouches" in out["stranger.crt"].detail
    assert out["missing.crt"].outcome == "unreachable" and "HTTP 404" in out["missing.crt"].detail
    assert out["csca.crl"].outcome == "added"
    assert out["forged.crl"].outcome == "refused"
    assert out["stranger.crl"].outcome == "skipped"  # its issuer is not installed
    assert out["garbage.crl"].outcome == "refused"
    assert out["x.crl"].outcome == "skipped"
    assert out["gone.crl"].outcome == "unreachable"
    assert report.changed and not report.offline
    assert cccd.cccd_status(store, NOW)["fully"] is True
    again = refresh(store, http_fetch(2.0), cert_urls=[f"{server}/csca.pem"], crl_urls=[f"{server}/csca.crl"])
    assert [i.outcome for i in again.items] == ["unchanged", "unchanged"] and not again.changed


def test_refresh_data_dir_saves_and_the_store_reopens(server, pki_files, tmp_path):
    w = pki_files["witness"]
    cfg = Config().with_overrides(service__data_dir=str(tmp_path))
    report = refresh_data_dir(cfg, fetch=http_fetch(2.0), cert_urls=[f"{server}/csca.crt"], crl_urls=[f"{server}/csca.crl"],
                              store=_open_with(tmp_path, w))
    assert report.changed
    reopened = _open_with(tmp_path, w)
    assert cccd.cccd_status(reopened, NOW)["fully"] is True


def _open_with(data_dir, witness):
    store = TrustStore.open(data_dir)
    store.witnesses = [witness]
    return store


def test_no_network_is_reported_not_raised(tmp_path, monkeypatch):
    gone = _closed_port_url()
    store = TrustStore()
    report = refresh(store, http_fetch(1.0), cert_urls=[gone], crl_urls=[gone])
    assert report.offline and not report.changed
    assert "no network" in report.summary() and "không có mạng" in report.summary_vi()
    r = CliRunner().invoke(trust, ["refresh", "--data-dir", str(tmp_path), "--cert-url", gone, "--crl-url", gone, "--timeout", "1"])
    assert r.exit_code == 1 and "unreachable" in r.output and "không có mạng" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_cli_refresh_json(server, pki_files, tmp_path, monkeypatch):
    monkeypatch.setattr(cccd, "shipped_witnesses", lambda: (pki_files["witness"],))
    r = CliRunner().invoke(trust, ["refresh", "--json", "--data-dir", str(tmp_path), "--cert-url", f"{server}/csca.crt",
                                   "--crl-url", f"{server}/csca.crl"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["counts"]["added"] == 2 and out["changed"] is True
    r = CliRunner().invoke(trust, ["status", "--json", "--data-dir", str(tmp_path)])
    assert json.loads(r.output)["cccd"]["fully"] is True


def test_refresh_urls_come_from_the_installed_certificates_and_the_witness():
    cert_urls, crl_urls = refresh_urls(TrustStore.default(), ("VN",))
    assert list(cccd.EID_CSCA_CERT_URLS) == cert_urls[:2]
    assert set(cccd.EID_CSCA_CRL_URLS) <= set(crl_urls)
    all_certs, all_crls = refresh_urls(TrustStore.default())
    assert len(all_crls) > 50 and all(u.startswith(("http://", "https://")) for u in all_crls + all_certs)

"""HTTPS with the backend certificate pinned: the right pin works, any other certificate is refused
before the request is sent."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from sync.backend import enroll
from sync.backend.app import create_app
from sync.backend.db import Database
from sync.enrollment import enroll as shop_enroll
from sync.relay import Relay, RelaySettings
from sync.testing import ThreadServer, pawn_payload
from verifier.errors import SyncError


def _self_signed(tmp_path, name="backend.police.test"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@pytest.fixture
def tls_backend(tmp_path):
    db = Database.open(tmp_path / "backend")
    cert, key, pin = _self_signed(tmp_path)
    server = ThreadServer(create_app(db), ssl_certfile=str(cert), ssl_keyfile=str(key)).start()
    server.db, server.pin = db, pin
    yield server
    server.stop()
    db.close()


def test_pinned_certificate_is_accepted_and_delivery_works(tls_backend, shop_ledger):
    assert tls_backend.url.startswith("https://")
    tok = enroll.add_device_token(tls_backend.db, shop="Cầm đồ TLS", license_no="T1", province="48")["token"]
    shop_enroll(shop_ledger, tls_backend.url, tok, pin_sha256=tls_backend.pin)
    for i in range(12):
        shop_ledger.append("transaction", pawn_payload(i))
    cfg_pin = ":".join(tls_backend.pin[i:i + 2] for i in range(0, 64, 2)).upper()  # openssl-style pins work too
    relay = Relay(shop_ledger, RelaySettings(tls_backend.url, cert_sha256=cfg_pin, batch_size=5))
    try:
        assert relay.drain() == 12
    finally:
        relay.close()  # an open keep-alive connection would hold the server's shutdown for its 10 s grace


def test_other_certificate_is_refused_before_sending(tls_backend, shop_ledger, tmp_path):
    _c, _k, other_pin = _self_signed(tmp_path, "impostor.test")
    tok = enroll.add_device_token(tls_backend.db, shop="Cầm đồ TLS", license_no="T1", province="48")["token"]
    with pytest.raises(SyncError, match="not the pinned one"):
        shop_enroll(shop_ledger, tls_backend.url, tok, pin_sha256=other_pin)
    with tls_backend.db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM devices")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM enroll_tokens WHERE used_at IS NOT NULL")).scalar() == 0

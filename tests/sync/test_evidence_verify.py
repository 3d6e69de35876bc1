"""Chip evidence re-verified on real bytes (issue 19 item 1): emulated CCCDs under a test PKI read with
the transaction-bound AA challenge, judged by the backend's pure functions (sync/backend/evidence.py)."""

from __future__ import annotations

import base64
import copy
import datetime as dt

import pytest

from sync.backend.evidence import judge, shop_verdict
from sync.testing import SigningDevice, pawn_payload
from tests.sync.evidence_cards import Pki, contract, scan, scanned_contract
from verifier.evidence import GENESIS, aa_challenge, challenge_inputs
from verifier.trust.store import TrustStore

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def world():
    p = Pki()
    backend = TrustStore()
    backend.add_certificate(p.trusted.der)
    return p, backend


def _judge(payload, dev: SigningDevice, seq: int, store):
    hashes = {e.seq: e.hash for e in dev.entries}
    return judge(payload, device_id=dev.device_id, seq=seq, store=store, at=NOW, chain_hash=hashes.get)


def test_the_challenge_is_the_first_8_bytes_of_sha256_over_device_scan_and_head():
    import hashlib

    inputs = challenge_inputs("shop-1", "scan-1", 7, "ab" * 32)
    assert aa_challenge(inputs) == hashlib.sha256(f"chipid-aa/1|shop-1|scan-1|7|{'ab' * 32}".encode()).digest()[:8]
    assert aa_challenge(challenge_inputs("shop-1", "scan-2", 7, "ab" * 32)) != aa_challenge(inputs)


def test_good_evidence_verifies_and_the_aa_signed_the_bound_challenge(world):
    p, backend = world
    dev = SigningDevice()
    dev.append("event", {"type": "opened"})
    payload, result = scanned_contract(dev, 1, p.card("good"), p.shop_store())
    assert result.verdict.value == "authentic"
    ev = payload["evidence"]
    assert ev["aa"]["challenge_inputs"]["head_seq"] == 1 and ev["aa"]["challenge_inputs"]["device_id"] == dev.device_id
    assert bytes.fromhex(ev["aa"]["challenge"]) == aa_challenge(ev["aa"]["challenge_inputs"])
    # the bytes as read: DG13's SHA-256 is the scan's file hash
    import hashlib

    assert hashlib.sha256(base64.b64decode(ev["dg13"])).hexdigest() == result.chip.files["DG13"].sha256
    j = _judge(payload, dev, 2, backend)
    assert (j.verdict, j.alert) == ("authentic", None), j.reasons
    assert {r["check"]: r["status"] for r in j.reasons}["aa_binding"] == "passed"
    assert shop_verdict(payload)["verdict"] == "authentic"


def test_a_dg13_that_does_not_match_the_payload_is_a_mismatch_naming_the_field(world):
    p, backend = world
    dev = SigningDevice()
    payload, _ = scanned_contract(dev, 2, p.card("good"), p.shop_store())
    payload = copy.deepcopy(payload)
    payload["pawner"]["full_name"] = "Trần Thị Khác"
    j = _judge(payload, dev, 1, backend)
    assert (j.verdict, j.alert) == ("not_authentic", "evidence_mismatch")
    assert "full_name" in j.detail and "Trần Thị Khác" not in j.detail  # the field, never the value


def test_an_aa_signature_over_another_challenge_fails(world):
    p, backend = world
    dev = SigningDevice()
    dev.append("event", {"type": "opened"})
    payload, _ = scanned_contract(dev, 3, p.card("good"), p.shop_store())
    other = scan(p.card("good"), p.shop_store(), device_id=dev.device_id, scan_id="scan-other", head=(0, GENESIS))
    payload = copy.deepcopy(payload)
    payload["evidence"]["aa"]["signature"] = base64.b64encode(other.evidence.aa.signature).decode()
    j = _judge(payload, dev, 2, backend)
    assert (j.verdict, j.alert) == ("not_authentic", "evidence_mismatch")
    assert {r["check"]: r["status"] for r in j.reasons}["active_authentication"] == "failed"


def test_a_challenge_from_a_head_that_is_not_this_devices_chain_is_refused(world):
    p, backend = world
    dev = SigningDevice()
    dev.append("event", {"type": "opened"})
    result = scan(p.card("good"), p.shop_store(), device_id=dev.device_id, scan_id="scan-x", head=(1, "cd" * 32))
    payload = contract(4, result, "scan-x")
    dev.append("transaction", payload)
    j = _judge(payload, dev, 2, backend)
    assert (j.verdict, j.alert) == ("not_authentic", "evidence_mismatch")
    assert "đầu sổ" in j.detail


def test_untrusted_signer_claiming_the_trusted_csca_is_a_mismatch(world):
    p, backend = world
    dev = SigningDevice()
    payload, _ = scanned_contract(dev, 5, p.card("rogue"), p.shop_store())
    payload = copy.deepcopy(payload)
    payload["identity_check"]["verdict"] = "authentic"  # what a tampered shop would claim
    j = _judge(payload, dev, 1, backend)
    assert (j.verdict, j.alert) == ("not_authentic", "evidence_mismatch")
    assert {r["check"]: r["status"] for r in j.reasons}["dsc_chain"] == "failed"


def test_a_genuine_card_whose_csca_the_backend_lacks_is_unverified_not_forged(world):
    p, backend = world
    dev = SigningDevice()
    payload, result = scanned_contract(dev, 6, p.card("unknown_csca"), p.shop_store())
    assert result.verdict.value == "authentic"  # the shop has the CSCA
    j = _judge(payload, dev, 1, backend)
    assert (j.verdict, j.alert) == ("unverified", "evidence_unverifiable")
    statuses = {r["check"]: r["status"] for r in j.reasons}
    assert statuses["sod_signature"] == "passed" and statuses["dsc_chain"] == "not_performed"
    assert "không phải dấu hiệu giả mạo" in j.detail


def test_no_evidence_on_an_authentic_contract_is_missing_evidence():
    dev = SigningDevice()
    payload = pawn_payload(7)  # an older contract: verdict authentic, no evidence
    dev.append("transaction", payload)
    j = _judge(payload, dev, 1, TrustStore())
    assert (j.verdict, j.alert) == ("unverified", "evidence_missing")
    payload["identity_check"]["verdict"] = "unverified"
    assert _judge(payload, dev, 1, TrustStore()).alert is None


# --- the worker's certificate cache cannot be abused ---------------------------------------------------------

def test_the_certificate_cache_serves_only_the_very_same_dsc_bytes(world):
    """A DSC with the subject, serial, issuer and key identifier of one already cached, but other bytes
    (another key, signed by a forger), is parsed and checked on its own: not served from the cache."""
    from cryptography import x509

    from verifier.evidence import CertificateCache

    p, backend = world
    cache = CertificateCache()
    good = p.card("good")
    twin = p.twin(good)
    g, t = (x509.load_pem_x509_certificate(c.dsc_cert_pem) for c in (good, twin))
    assert (g.subject, g.serial_number, g.issuer) == (t.subject, t.serial_number, t.issuer) and g != t
    dev = SigningDevice()
    payload, _ = scanned_contract(dev, 11, good, p.shop_store())
    first = judge(payload, device_id=dev.device_id, seq=1, store=backend, at=NOW, chain_hash={}.get, certificate=cache)
    assert first.verdict == "authentic" and (cache.misses, cache.hits, len(cache)) == (1, 0, 1)
    again = judge(payload, device_id=dev.device_id, seq=1, store=backend, at=NOW, chain_hash={}.get, certificate=cache)
    assert again == first and cache.hits == 1  # the same DSC: from the cache, the same verdict
    forged, _ = scanned_contract(dev, 12, twin, p.shop_store())
    forged = copy.deepcopy(forged)
    forged["identity_check"]["verdict"] = "authentic"
    j = judge(forged, device_id=dev.device_id, seq=2, store=backend, at=NOW, chain_hash=dev.prev_of, certificate=cache)
    statuses = {r["check"]: r["status"] for r in j.reasons}
    assert (j.verdict, j.alert, statuses["dsc_chain"]) == ("not_authentic", "evidence_mismatch", "failed")
    assert (cache.misses, len(cache)) == (2, 2)


def test_a_dsc_revoked_after_it_was_cached_is_revoked_at_once(world):
    """The cache keeps the parsed certificate only: the revocation check runs for every contract against the
    trust of the moment, so a CRL imported after the DSC was cached revokes its next contract."""
    from cryptography import x509

    from drivers.emulator import pki
    from verifier.evidence import CertificateCache

    p, _ = world
    store = TrustStore()
    store.add_certificate(p.trusted.der)
    store.add_crl(pki.make_crl(p.trusted, revoked=[]))
    cache = CertificateCache()
    good = p.card("good")
    dev = SigningDevice()
    payload, _ = scanned_contract(dev, 13, good, p.shop_store())
    j = judge(payload, device_id=dev.device_id, seq=1, store=store, at=NOW, chain_hash={}.get, certificate=cache)
    assert j.verdict == "authentic" and {r["check"]: r["status"] for r in j.reasons}["revocation"] == "passed"
    serial = x509.load_pem_x509_certificate(good.dsc_cert_pem).serial_number
    store.add_crl(pki.make_crl(p.trusted, revoked=[serial], this_update=NOW - dt.timedelta(hours=1)))
    j = judge(payload, device_id=dev.device_id, seq=1, store=store, at=NOW, chain_hash={}.get, certificate=cache)
    assert cache.hits == 1
    assert (j.verdict, j.alert) == ("not_authentic", "evidence_mismatch")
    assert {r["check"]: r["status"] for r in j.reasons}["revocation"] == "failed"


def test_the_certificate_cache_is_bounded_in_size_and_time(world):
    from verifier.evidence import CertificateCache

    p, _ = world
    clock = [0.0]
    cache = CertificateCache(size=2, ttl_s=60, clock=lambda: clock[0])
    ders = [pki_dsc(p) for _ in range(3)]
    for der in ders:
        cache(der)
    assert len(cache) == 2 and cache.misses == 3
    cache(ders[2])
    assert cache.hits == 1
    clock[0] = 61.0
    cache(ders[2])
    assert (cache.hits, cache.misses) == (1, 4)  # expired: parsed again


def pki_dsc(p) -> bytes:
    from drivers.emulator import pki

    return pki.make_dsc(p.trusted, country="VN").der

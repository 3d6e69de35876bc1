"""Issue 15 items 7, 8, 9: hostile certificates and parameters give project errors or failed
checks, never IndexError / ParseError out of ``verify_passive``; a Hypothesis fuzz of
``verify_passive`` and certificate parsing seeded with the real SODs and the real CCCD DSC."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings, strategies as st

from drivers.emulator import pki as p
from verifier.errors import ChipidError, ParseError
from verifier.trust import der, signatures
from verifier.trust.certs import load_certificate, load_public_key
from verifier.trust.passive import verify_passive
from verifier.trust.store import TrustStore
from verifier.verdict import Outcome, Status, decide

from .conftest import SHARED

#: CHIPID_FUZZ_SCALE=N multiplies the examples of every fuzz target (README "Fuzzing"); CI runs 1.
FUZZ_SCALE = int(os.environ.get("CHIPID_FUZZ_SCALE", "1"))

AT = datetime(2026, 6, 1, tzinfo=timezone.utc)
DGS = {1: b"\x61\x03abc", 2: b"\x75\x01\x00"}
FILES = {f"DG{n}": b for n, b in DGS.items()}
EMPTY_ALG_SPKI = bytes.fromhex("300630000302000a")
REAL_DSC = (SHARED / "cccd" / "dsc_national_identification_00013.der").read_bytes()
_CASES = json.loads((SHARED / "sod" / "real_sods.json").read_text())
MRZ = {"DE": "D<<", "FR": "FRA", "MY": "MYS", "US": "USA"}


def _replace_spki(cert_der: bytes, spki: bytes) -> bytes:
    """The same certificate with another SubjectPublicKeyInfo (the signature no longer matters)."""
    cert = der.parse(cert_der, "certificate")
    tbs, alg, sig = cert.children()
    fields = [f.raw for f in tbs.children()]
    fields[6] = spki  # [0] version, serial, signature, issuer, validity, subject, spki
    return p.seq(p.seq(*fields), alg.raw, sig.raw)


def _verify(sod: bytes, store=None):
    return verify_passive(sod, FILES, store if store is not None else TrustStore(), at=AT, mrz_issuing_state="VNM",
                          com_dgs=[1, 2])


def test_empty_spki_algorithm_is_a_parse_error_and_a_failed_signature(pki):
    with pytest.raises(ParseError, match="AlgorithmIdentifier"):
        load_public_key(EMPTY_ALG_SPKI)
    bad = _replace_spki(pki.dsc.der, EMPTY_ALG_SPKI)
    sod = p.build_sod(DGS, pki.dsc.key, pki.dsc, include_certificate=False, extra_certificates=[bad])
    result = _verify(sod, pki.store())
    checks = {c.name: c for c in result.checks}
    assert checks["sod_signature"].status is Status.FAILED
    assert "unusable" in checks["sod_signature"].reason and checks["sod_signature"].reason_vi


@pytest.mark.parametrize("params", ["3004a0023000", "3004a1023000", "3006a1043002" "0600"],
                         ids=["empty-hash", "empty-mgf", "empty-mgf-oid"])
def test_pss_parameters_with_empty_parts_are_parse_errors(params):
    raw = bytes.fromhex(params)
    with pytest.raises(ParseError):
        signatures.parse_pss_params(raw)
    out = signatures.describe(signatures.RSASSA_PSS, raw)
    assert out["family"] == "rsa-pss" and "error" in out
    with pytest.raises(ChipidError):
        signatures.verify(None, signatures.RSASSA_PSS, raw, b"", b"")


def test_pss_mgf1_without_hash_parameter_is_a_parse_error():
    # [1] { SEQUENCE { mgf1 OID } }: MGF1 must name its hash
    raw = p.seq(p.ctx(1, p.alg_id(signatures.MGF1)))
    with pytest.raises(ParseError, match="MGF1"):
        signatures.parse_pss_params(raw)


def test_malformed_subject_key_identifier_of_the_embedded_dsc_is_not_authentic(pki):
    key = p.new_key("secp256r1")
    builder = (x509.CertificateBuilder().subject_name(pki.dsc.cert.subject).issuer_name(pki.csca.cert.subject)
               .public_key(key.public_key()).serial_number(pki.dsc.serial)
               .not_valid_before(pki.dsc.cert.not_valid_before_utc).not_valid_after(pki.dsc.cert.not_valid_after_utc)
               .add_extension(x509.UnrecognizedExtension(x509.oid.ExtensionOID.SUBJECT_KEY_IDENTIFIER, b"\x04\x05\x01"),
                              critical=False))
    from cryptography.hazmat.primitives import hashes

    bad = builder.sign(pki.csca.key, hashes.SHA384()).public_bytes(p.serialization.Encoding.DER)
    with pytest.raises(ParseError):
        load_certificate(bad).subject_key_identifier
    sod = p.build_sod(DGS, pki.dsc.key, pki.dsc, sid="ski", include_certificate=False, extra_certificates=[bad])
    result = _verify(sod, pki.store())  # must not raise
    checks = {c.name: c for c in result.checks}
    assert checks["sod_signature"].status is Status.FAILED
    assert "malformed" in checks["sod_signature"].reason
    assert decide(result.checks) is Outcome.NOT_AUTHENTIC


# --- fuzz ------------------------------------------------------------------------------------------

def _cccd_sod() -> bytes:
    """A SOD carrying the real CCCD Document Signer (signed by another key: its signature fails)."""
    key = p.new_key("brainpoolP384r1")
    return p.build_sod(DGS, key, x509.load_der_x509_certificate(REAL_DSC))


SOD_SEEDS = [bytes.fromhex(c["sod"]) for c in _CASES] + [_cccd_sod()]
CERT_SEEDS = [REAL_DSC] + [bytes.fromhex(c["dsc"]) for c in _CASES]


def _mutate(data: bytes, draw) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(buf) - 1))
        buf[i] = draw(st.integers(0, 255))
    if draw(st.booleans()) and draw(st.booleans()):
        buf = buf[: draw(st.integers(0, len(buf)))]
    return bytes(buf)


@pytest.fixture(scope="module")
def fuzz_store():
    return TrustStore.default()


@settings(max_examples=400 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_verify_passive_never_raises_on_mutated_sods(fuzz_store, data):
    seed = data.draw(st.sampled_from(SOD_SEEDS))
    sod = _mutate(seed, data.draw)
    result = verify_passive(sod, FILES, fuzz_store, at=AT, mrz_issuing_state=data.draw(st.sampled_from(["VNM", "D<<", None])),
                            com_dgs=[1, 2])
    assert decide(result.checks) in Outcome
    for c in result.checks:
        assert c.reason and c.reason_vi


@settings(max_examples=200 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_dsc_raises_only_project_errors(data):
    from verifier.trust.profile import dsc_profile_problems

    try:
        cert = load_certificate(_mutate(data.draw(st.sampled_from(CERT_SEEDS)), data.draw))
    except ChipidError:
        return
    for attr in ("public_key", "subject_key_identifier", "authority_key_identifier", "key_usage", "crl_urls",
                 "ca_issuer_urls", "is_ca"):
        try:
            getattr(cert, attr)
        except ChipidError:
            pass
    dsc_profile_problems(cert)  # never raises: a malformed extension is a profile problem

"""Mutated certificates, CRLs and master lists raise only chipid errors (never IndexError, ValueError...)."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from drivers.emulator import pki as p
from verifier.errors import ChipidError
from verifier.trust.certs import load_certificate
from verifier.trust.crl import load_crl
from verifier.trust.masterlist import load_master_list

from .conftest import ML_ROOT_FILE, SHARED

#: CHIPID_FUZZ_SCALE=N multiplies the examples of every fuzz target (README "Fuzzing"); CI runs 1.
FUZZ_SCALE = int(os.environ.get("CHIPID_FUZZ_SCALE", "1"))

_CASES = json.loads((SHARED / "sod" / "real_sods.json").read_text())
SEEDS = [bytes.fromhex(c[k]) for c in _CASES for k in ("dsc", "csca")]
_CSCA = p.make_csca("VN", "secp256r1", "fuzz CSCA")
CRL = p.make_crl(_CSCA, revoked=[1, 2, 3])
ROOT = load_certificate(ML_ROOT_FILE.read_bytes())


def mutate(data: bytes, draw) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(buf) - 1))
        buf[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        buf = buf[: draw(st.integers(0, len(buf)))]
    return bytes(buf)


def exercise(cert) -> None:
    for attr in ("subject", "issuer", "country", "key_usage", "is_ca", "subject_key_identifier",
                 "authority_key_identifier", "public_key", "self_issued", "sha256"):
        try:
            getattr(cert, attr)
        except ChipidError:
            pass
    try:
        cert.is_signed_by(cert)
    except ChipidError:
        pass


@settings(max_examples=300 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_certificates(data):
    seed = data.draw(st.sampled_from(SEEDS))
    try:
        cert = load_certificate(mutate(seed, data.draw))
    except ChipidError:
        return
    exercise(cert)


@settings(max_examples=200 * FUZZ_SCALE, deadline=None)
@given(st.data())
def test_mutated_crls(data):
    try:
        crl = load_crl(mutate(CRL, data.draw))
    except ChipidError:
        return
    _ = crl.issuer, crl.authority_key_identifier, crl.sha256


@settings(max_examples=60 * FUZZ_SCALE, deadline=None)
@given(st.data())
def test_mutated_master_list_header(data):
    # Mutations in the first 4 KB: the CMS structure, the signer certificates and signer info.
    ml = (SHARED / "trust" / "DE_ML_2026-05-28.ml").read_bytes()
    head = mutate(ml[:4096], data.draw)
    try:
        load_master_list(head + ml[4096:] if len(head) == 4096 else head, [ROOT])
    except ChipidError:
        return

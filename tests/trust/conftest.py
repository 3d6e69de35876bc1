"""Fixtures of the trust tests: the real SODs, the German master list, a test PKI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
ML_FILE = SHARED / "trust" / "DE_ML_2026-05-28.ml"
ML_ROOT_FILE = SHARED / "trust" / "DE_ML_signer_root_CSCA07.cer"
AT = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def real_sods() -> list[dict]:
    return json.loads((SHARED / "sod" / "real_sods.json").read_text())


@pytest.fixture(scope="session")
def german_store():
    """A store built from the shared German master list only (not the shipped copy)."""
    from verifier.trust.store import TrustStore

    store = TrustStore()
    store.add_ml_root(ML_ROOT_FILE.read_bytes())
    store.add_master_list(ML_FILE.read_bytes())
    return store


@dataclass
class Pki:
    csca: object
    dsc: object
    dgs: dict
    com: list

    def store(self, *crls, extra=()):
        from verifier.trust.store import TrustStore

        s = TrustStore()
        s.add_certificate(self.csca.der)
        for c in extra:
            s.add_certificate(c.der if hasattr(c, "der") else c)
        for crl in crls:
            s.add_crl(crl)
        return s


@pytest.fixture(scope="session")
def pki() -> Pki:
    from drivers.emulator import pki as p

    csca = p.make_csca("VN", "brainpoolP384r1", "chipid DEMO CSCA test")
    dsc = p.make_dsc(csca, key="secp256r1")
    dgs = {1: bytes.fromhex("615B5F1F58") + b"I<VNM0790900012341<<<<<<<<<<<<<<<" * 2,
           2: b"\x75\x82\x00\x10" + bytes(range(16)),
           13: b"\x6D\x05" + b"chip!",
           14: b"\x6E\x03\x31\x01\x00",
           15: b"\x6F\x02\x30\x00"}
    return Pki(csca, dsc, dgs, [1, 2, 13, 14, 15])

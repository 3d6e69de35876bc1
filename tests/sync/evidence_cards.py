"""Emulated CCCD cards under a test PKI, scanned with a transaction-bound AA challenge, as contract
payloads (for the chip-evidence tests and bench_sync). Synthetic people only."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives import serialization

from drivers.emulator import pki
from drivers.emulator.personalise import make_chip
from drivers.emulator.profile import load_profile
from drivers.emulator.transport import EmulatorTransport
from sync.testing import SigningDevice, pawn_payload
from verifier.config import Config
from verifier.evidence import challenge_inputs
from verifier.results import IdentityCheck, ScanResult
from verifier.scan import DEMO_CARD_DIR, keys_from_access, read_and_verify
from verifier.trust.store import TrustStore


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class Pki:
    """A CSCA the backend trusts, a card signed under it, a card whose CSCA the backend lacks (a genuine
    CCCD under an eID CSCA not installed) and a card whose DSC claims the trusted CSCA without being issued by it."""

    @cached_property
    def trusted(self) -> pki.Issued:
        return pki.make_csca(country="VN", name="Test CSCA Vietnam")

    @cached_property
    def other(self) -> pki.Issued:
        return pki.make_csca(country="VN", name="CSCA Vietnam eID (not installed)")

    @cached_property
    def profile(self):
        return load_profile(DEMO_CARD_DIR)

    def card(self, kind: str = "good"):
        """A profile: ``good`` (DSC under :attr:`trusted`), ``unknown_csca`` (under :attr:`other`) or
        ``rogue`` (a DSC naming the trusted CSCA's name and key, signed by another key)."""
        if kind == "good":
            dsc = pki.make_dsc(self.trusted, country="VN")
        elif kind == "unknown_csca":
            dsc = pki.make_dsc(self.other, country="VN")
        elif kind == "rogue":
            rogue = pki.make_csca(country="VN", name="Rogue")
            dsc = pki.make_dsc(rogue, country="VN", issuer_name=self.trusted.cert.subject,
                               authority_key=self.trusted.key.public_key())
        else:
            raise ValueError(kind)
        return dataclasses.replace(self.profile, dsc_cert_pem=_pem(dsc.cert), dsc_key_pem=_key_pem(dsc.key))

    def twin(self, profile):
        """A profile whose DSC copies ``profile``'s DSC subject, serial, issuer name and authority key
        identifier, with another key, signed by a key that is not the trusted CSCA's (a forger's twin)."""
        from cryptography import x509

        genuine = x509.load_pem_x509_certificate(profile.dsc_cert_pem)
        rogue = pki.make_csca(country="VN", name="Rogue twin")
        dsc = pki.make_dsc(rogue, country="VN", subject=genuine.subject, serial=genuine.serial_number,
                           issuer_name=self.trusted.cert.subject, authority_key=self.trusted.key.public_key())
        return dataclasses.replace(self.profile, dsc_cert_pem=_pem(dsc.cert), dsc_key_pem=_key_pem(dsc.key))

    def shop_store(self) -> TrustStore:
        """The shop's trust: both CSCAs (the shop says ``authentic`` for every card here but the rogue one)."""
        store = TrustStore()
        store.add_certificate(self.trusted.der)
        store.add_certificate(self.other.der)
        return store


def scan(profile, store: TrustStore, *, device_id: str, scan_id: str, head: tuple[int, str]) -> ScanResult:
    """Read the emulated card with the AA challenge of (device, scan, ledger head)."""
    keys = keys_from_access(None, demo_card=DEMO_CARD_DIR).keys
    return read_and_verify(EmulatorTransport(make_chip(profile)), keys, store, config=Config(),
                           aa_challenge_inputs=challenge_inputs(device_id, scan_id, *head)).result


def contract(i: int, result: ScanResult, scan_id: str) -> dict:
    """A contract payload (:func:`sync.testing.pawn_payload`) holding this scan's holder, check and evidence."""
    p = pawn_payload(i)
    p["pawner"] = result.holder.contract_fields()
    p["identity_check"] = IdentityCheck.of(result, scan_id, demo=False).to_json()
    p["evidence"] = result.evidence.to_json()
    return p


def scanned_contract(dev: SigningDevice, i: int, profile, store: TrustStore, tamper=None) -> tuple[dict, ScanResult]:
    """Scan ``profile`` at ``dev``'s head now and append the contract to ``dev``'s chain (``tamper(payload)``:
    changed first, as a dishonest shop would)."""
    scan_id = f"scan-{i:06d}"
    result = scan(profile, store, device_id=dev.device_id, scan_id=scan_id, head=dev.head)
    payload = contract(i, result, scan_id)
    if tamper is not None:
        tamper(payload)
    dev.append("transaction", payload)
    return payload, result

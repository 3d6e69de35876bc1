"""Passive-authentication speed: one SOD with chain and CRL, and loading the German master list.

Run: ``.venv/bin/python benchmarks/bench_sod.py`` (from the repository root). Targets:
< 5 ms per card once the trust store is loaded; master list loads in < 1 s.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from drivers.emulator import pki as p  # noqa: E402
from verifier.trust import store as store_mod  # noqa: E402
from verifier.trust.certs import load_certificate  # noqa: E402
from verifier.trust.masterlist import load_master_list  # noqa: E402
from verifier.trust.passive import passive_authentication  # noqa: E402
from verifier.trust.store import TrustStore  # noqa: E402

AT = datetime.now(timezone.utc)
DGS = {1: b"\x61\x5b" + b"I<VNM" * 18, 2: b"\x75\x82\x3a\x98" + os.urandom(15_000), 13: b"\x6d\x82\x01\x00" + os.urandom(256),
       14: b"\x6e\x10" + os.urandom(16), 15: b"\x6f\x10" + os.urandom(16)}


def timed(fn, n):
    fn()  # warm-up (first use verifies the CSCA self-signature once)
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def card_case(label, csca_key, dsc_key, sig):
    csca = p.make_csca("VN", csca_key, f"chipid DEMO bench {label}")
    dsc = p.make_dsc(csca, key=dsc_key)
    sod = p.build_sod(DGS, dsc.key, dsc, sig=sig)
    store = TrustStore()
    store.add_certificate(csca.der)
    store.add_crl(p.make_crl(csca, revoked=list(range(1000, 1200)), this_update=AT - timedelta(days=1)))
    files = {f"DG{n}": b for n, b in DGS.items()}

    def run():
        checks = passive_authentication(sod, files, store, at=AT, mrz_issuing_state="VNM", com_dgs=list(DGS))
        assert all(c.status.value == "passed" for c in checks), [c.reason for c in checks if c.status.value != "passed"]

    return label, *timed(run, 50)


def main() -> None:
    rows = [
        card_case("RSA-2048 DSC / RSA-3072 CSCA (PKCS#1 v1.5)", "rsa3072", "rsa2048", "rsa-pkcs1"),
        card_case("RSA-2048 DSC / RSA-3072 CSCA (PSS)", "rsa3072", "rsa2048", "rsa-pss"),
        card_case("ECDSA P-256 DSC / P-256 CSCA", "secp256r1", "secp256r1", "ecdsa"),
        card_case("ECDSA brainpoolP512r1 DSC / CSCA", "brainpoolP512r1", "brainpoolP512r1", "ecdsa"),
    ]
    ml_raw = store_mod.SHIPPED_MASTER_LIST.read_bytes()
    root = load_certificate(store_mod.SHIPPED_ML_ROOT.read_bytes())

    def load_ml():
        load_master_list(ml_raw, [root])

    def load_default():
        store_mod._shipped.cache_clear()
        TrustStore.default()

    rows.append(("German master list: verify + read 588 CSCAs", *timed(load_ml, 5)))
    rows.append(("TrustStore.default() cold (list + index)", *timed(load_default, 5)))
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'median ms':>10}  {'max ms':>8}  target")
    for label, med, worst in rows:
        target = "< 1000 ms" if "master list" in label or "default" in label else "< 5 ms"
        limit = 1000 if target.startswith("< 1000") else 5
        print(f"{label:<{width}}  {med:>10.2f}  {worst:>8.2f}  {target} {'OK' if med < limit else 'SLOW'}")


if __name__ == "__main__":
    main()

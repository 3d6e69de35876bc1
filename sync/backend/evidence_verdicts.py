"""The backend's evidence verdicts in the database, and in the inspector's answers (issue 19 item 1).

``evidence_verdicts`` holds one row per contract entry the worker examined
(:mod:`sync.backend.evidence_worker`); ``aa_signatures`` the SHA-256 of every AA signature seen,
across shops, with the entry that first carried it. :func:`with_verdicts` adds to each contract
entry an inspector API answer holds ``shop_verdict`` and ``backend_verdict`` (each ``{verdict,
reasons}``; ``backend_verdict.verdict`` is ``pending`` until the worker got there).
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from sync.backend.alerts import raise_alert
from sync.backend.evidence import PENDING, Judgement, replayed, shop_verdict
from sync.backend.vault import Vault
from verifier.ledger.entry import utc_now


def record(conn: Connection, vault: Vault, *, shop_id: str, device_id: str, seq: int, payload: dict,
           judgement: Judgement) -> Judgement:
    """Store the verdict on one contract entry (once: a verdict already stored is kept), after the
    replay check of its AA signature; raises its alert. Returns the judgement as stored."""
    if judgement.aa_signature_sha256:
        first = conn.execute(text("SELECT shop_id, device_id, seq FROM aa_signatures WHERE sig_sha256 = :h"),
                             {"h": judgement.aa_signature_sha256}).first()
        if first is None:
            conn.execute(text("INSERT INTO aa_signatures (sig_sha256, shop_id, device_id, seq) VALUES (:h, :s, :d, :q) "
                              "ON CONFLICT (sig_sha256) DO NOTHING"),
                         {"h": judgement.aa_signature_sha256, "s": shop_id, "d": device_id, "q": seq})
        elif (first[0], first[1], int(first[2])) != (shop_id, device_id, seq):
            judgement = replayed(judgement, payload, device_id=device_id, seq=seq,
                                 first=(first[0], first[1], int(first[2])))
    stored = conn.execute(text(
        "INSERT INTO evidence_verdicts (shop_id, device_id, seq, txn_id, shop_verdict, backend_verdict, reasons, alert, "
        "verified_at) VALUES (:s, :d, :q, :t, :sv, :bv, :r, :a, :now) ON CONFLICT (shop_id, device_id, seq) DO NOTHING"),
        {"s": shop_id, "d": device_id, "q": seq, "t": str(payload.get("id") or ""),
         "sv": shop_verdict(payload)["verdict"], "bv": judgement.verdict,
         "r": json.dumps(judgement.reasons, ensure_ascii=False), "a": judgement.alert, "now": utc_now()}).rowcount == 1
    if stored and judgement.alert:
        raise_alert(conn, vault, shop_id=shop_id, device_id=device_id, kind=judgement.alert, detail=judgement.detail,
                    seq=seq)
    return judgement


def with_verdicts(conn: Connection, entries: list[dict]) -> list[dict]:
    """``entries`` (inspector API rows: ``shop.shop_id``, ``device_id``, ``seq``, ``kind``, ``payload``),
    each contract given ``shop_verdict`` and ``backend_verdict``; returned for chaining."""
    wanted: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in entries:
        if e.get("kind") == "transaction":
            wanted[(e["shop"]["shop_id"], e["device_id"])].append(e)
    q = text("SELECT seq, backend_verdict, reasons FROM evidence_verdicts WHERE shop_id = :s AND device_id = :d "
             "AND seq IN :seqs").bindparams(bindparam("seqs", expanding=True))
    for (shop_id, device_id), rows in wanted.items():
        found = {int(r.seq): r for r in conn.execute(q, {"s": shop_id, "d": device_id,
                                                         "seqs": [int(e["seq"]) for e in rows]})}
        for e in rows:
            payload = e.get("payload") if isinstance(e.get("payload"), dict) else {}
            e["shop_verdict"] = shop_verdict(payload)
            r = found.get(int(e["seq"]))
            e["backend_verdict"] = ({"verdict": r.backend_verdict, "reasons": json.loads(r.reasons)} if r is not None
                                    else {"verdict": PENDING, "reasons": []})
    return entries

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

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from sync.backend.alerts import raise_alert
from sync.backend.evidence import AA_CHECKS, PENDING, Judgement, replayed, shop_verdict
from sync.backend.vault import Vault
from verifier.ledger.entry import utc_now


def record_many(conn: Connection, vault: Vault, *, shop_id: str, device_id: str,
                judged: list[tuple[int, dict, Judgement]]) -> list[Judgement]:
    """Store the verdicts on contract entries of one device, ``judged`` being (seq, payload, judgement) in seq
    order, with a few statements for the lot: each AA signature is held against those seen before (an
    earlier entry of this list included: the first to carry it keeps it, a later one is a replay; only a
    signature that verified over its own transaction's challenge is kept, so a copy sent to the backend
    before the genuine contract does not turn the genuine one into a "replay"), each
    verdict is stored once (one already stored is kept, and raises no alert again), then the alerts of
    the verdicts stored, in order, those with the same kind and detail raised once with their count (a
    device whose software sends no evidence: one count-up per chunk, not per contract). Returns the
    judgements as stored."""
    if not judged:
        return []
    sigs = sorted({j.aa_signature_sha256 for _, _, j in judged if j.aa_signature_sha256})
    first: dict[str, tuple[str, str, int]] = {}
    if sigs:
        first = {h: (s, d, int(q)) for h, s, d, q in conn.execute(text(_SEEN_SIGNATURES[conn.dialect.name]),
                                                                   {"h": _json(sigs)})}
    seqs = [q for q, _, _ in judged]
    stored_before = {int(q) for (q,) in conn.execute(text(  # a range, not a list of parameters: cheaper to send
        "SELECT seq FROM evidence_verdicts WHERE shop_id = :s AND device_id = :d AND seq BETWEEN :a AND :b"),
        {"s": shop_id, "d": device_id, "a": min(seqs), "b": max(seqs)})}
    new_sigs, rows, out = [], [], []
    alerts: dict[tuple[str, str], list[int]] = {}  # (kind, detail) -> seqs, in order
    now = utc_now()
    for seq, payload, judgement in judged:
        h = judgement.aa_signature_sha256
        if h:
            seen = first.get(h)
            if seen is None:
                if _aa_proven(judgement):  # a copy failing its own binding claims nothing (it is a mismatch)
                    first[h] = (shop_id, device_id, seq)
                    new_sigs.append({"h": h, "q": seq})
            elif seen != (shop_id, device_id, seq):
                judgement = replayed(judgement, payload, device_id=device_id, seq=seq, first=seen)
        out.append(judgement)
        if seq in stored_before:
            continue
        stored_before.add(seq)
        rows.append({"q": seq, "t": str(payload.get("id") or ""), "sv": shop_verdict(payload)["verdict"],
                     "bv": judgement.verdict, "r": _json(judgement.reasons), "a": judgement.alert})
        if judgement.alert:
            alerts.setdefault((judgement.alert, judgement.detail), []).append(seq)
    # one statement with one JSON parameter each: a row per contract costs the database, not Python
    if new_sigs:
        conn.execute(text(_INSERT_SIGNATURES[conn.dialect.name]), {"s": shop_id, "d": device_id, "rows": _json(new_sigs)})
    if rows:
        conn.execute(text(_INSERT_VERDICTS[conn.dialect.name]),
                     {"s": shop_id, "d": device_id, "now": now, "rows": _json(rows)})
    for (kind, detail), alerted in alerts.items():
        raise_alert(conn, vault, shop_id=shop_id, device_id=device_id, kind=kind, detail=detail, seq=alerted[0],
                    count=len(alerted))
    return out


_SEEN_SIGNATURES = {
    "postgresql": "SELECT sig_sha256, shop_id, device_id, seq FROM aa_signatures "
                  "WHERE sig_sha256 IN (SELECT json_array_elements_text(CAST(:h AS json)))",
    "sqlite": "SELECT sig_sha256, shop_id, device_id, seq FROM aa_signatures WHERE sig_sha256 IN (SELECT value FROM json_each(:h))",
}
_INSERT_SIGNATURES = {
    "postgresql": "INSERT INTO aa_signatures (sig_sha256, shop_id, device_id, seq) SELECT r.h, :s, :d, r.q "
                  "FROM json_to_recordset(CAST(:rows AS json)) AS r(h text, q bigint) ON CONFLICT (sig_sha256) DO NOTHING",
    "sqlite": "INSERT INTO aa_signatures (sig_sha256, shop_id, device_id, seq) SELECT json_extract(value, '$.h'), :s, :d, "
              "json_extract(value, '$.q') FROM json_each(:rows) WHERE true ON CONFLICT (sig_sha256) DO NOTHING",
}
_VERDICT_COLUMNS = "shop_id, device_id, seq, txn_id, shop_verdict, backend_verdict, reasons, alert, verified_at"
_INSERT_VERDICTS = {
    "postgresql": f"INSERT INTO evidence_verdicts ({_VERDICT_COLUMNS}) SELECT :s, :d, r.q, r.t, r.sv, r.bv, r.r, r.a, :now "
                  "FROM json_to_recordset(CAST(:rows AS json)) AS r(q bigint, t text, sv text, bv text, r text, a text) "
                  "ON CONFLICT (shop_id, device_id, seq) DO NOTHING",
    "sqlite": f"INSERT INTO evidence_verdicts ({_VERDICT_COLUMNS}) SELECT :s, :d, json_extract(value, '$.q'), "
              "json_extract(value, '$.t'), json_extract(value, '$.sv'), json_extract(value, '$.bv'), "
              "json_extract(value, '$.r'), json_extract(value, '$.a'), :now FROM json_each(:rows) WHERE true "
              "ON CONFLICT (shop_id, device_id, seq) DO NOTHING",
}


def _json(value) -> str:
    """Compact JSON text (orjson: the standard library's encoder was a third of a chunk's write)."""
    return orjson.dumps(value).decode("utf-8")


def _aa_proven(judgement: Judgement) -> bool:
    """The AA signature verified over the challenge bound to this contract (both checks passed)."""
    status = {r.get("check"): r.get("status") for r in judgement.reasons}
    return all(status.get(name) == "passed" for name in AA_CHECKS)


def with_verdicts(conn: Connection, entries: list[dict]) -> list[dict]:
    """``entries`` (inspector API rows: ``shop_id`` or ``shop.shop_id``, ``device_id``, ``seq``, ``kind``,
    ``payload``), each contract given ``shop_verdict`` and ``backend_verdict``; returned for chaining."""
    wanted: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in entries:
        if e.get("kind") == "transaction":
            wanted[(e.get("shop_id") or e["shop"]["shop_id"], e["device_id"])].append(e)
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

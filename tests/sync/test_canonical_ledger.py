"""An updated shop's ledger (issue 19 item 8): entries written before keep their legacy canonical
bytes, entries written now are hashed over RFC 8785 (``"canon": "jcs"``); ``chipid ledger
verify``, the export and ``verify-export`` check both, and a tiny independent verifier that
uses only ``rfc8785``, ``json``, ``hashlib`` and ``cryptography`` re-hashes every entry of a
real exported ledger (floats included: interest rates, face distances)."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3

import pytest
import rfc8785
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.testing import event_payload, pawn_payload
from verifier.cli import cli
from verifier.errors import InputError
from verifier.ledger.chain import entry_aad
from verifier.ledger.entry import GENESIS, Entry, canonical_json, utc_now
from verifier.ledger.export import build_bundle, verify_bundle
from verifier.ledger.store import Ledger


def append_as_before(led: Ledger, kind: str, payload: dict) -> Entry:
    """What the release before RFC 8785 wrote (its ``Chain.append``): the payload's legacy canonical
    JSON sealed, the entry hashed over the legacy form, no ``canon``."""
    def do(conn: sqlite3.Connection) -> Entry:
        payload_bytes = canonical_json(payload)
        row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        e = Entry(seq, led.device_id, utc_now(), kind, json.loads(payload_bytes), prev)
        conn.execute("INSERT INTO entries (seq, ts, kind, demo, prev_hash, hash, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (seq, e.ts, kind, 0, prev, e.hash, led.sealer.seal(payload_bytes, entry_aad(led.device_id, seq))))
        conn.execute("INSERT INTO outbox (seq, priority) VALUES (?, 1)", (seq,))
        return e
    return led.write(do)


# numbers and text where the two forms part ways
_EDGES = {"interest_rate_year_pct": 20.0, "tiny": 1e-7, "big": 1e16, "keys": {"\ufb33": 1, "\U0001f600": 2},
          "note": "dòng 1\ndòng 2\t\x01 \u2028 \"trích\" \\"}


def fill_updated_ledger(led: Ledger, old: int = 6, new: int = 6) -> None:
    """``old`` entries written by the release before (contracts and events, with a checkpoint),
    then ``new`` ones by this release."""
    for i in range(old):
        append_as_before(led, "transaction", pawn_payload(i) | ({"edges": _EDGES} if i == 1 else {}))
        if i % 2:
            append_as_before(led, "event", event_payload(i, pawn_payload(i), "extended"))
    led.checkpoint()  # signed as before: the checkpoint body's two forms are the same bytes
    for i in range(old, old + new):
        led.append("transaction", pawn_payload(i) | ({"edges": _EDGES} if i == old + 1 else {}))
        if i % 2:
            led.append("event", event_payload(i, pawn_payload(i), "redeemed"))


@pytest.fixture()
def data_dir(tmp_path):
    led = Ledger.open(tmp_path / "data", checkpoint_every=5)
    fill_updated_ledger(led)
    led.close()
    return tmp_path / "data"


def _doubles(x):
    """JSON numbers as RFC 8785 reads them (I-JSON: IEEE 754 doubles): Python's json keeps an integer
    beyond 2^53 exact, JavaScript would not."""
    if isinstance(x, dict):
        return {k: _doubles(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_doubles(v) for v in x]
    return float(x) if type(x) is int and abs(x) > 2**53 - 1 else x


def independent_verify(bundle: dict) -> int:
    """A police verifier written from LEDGER.md alone: hash each entry over the form its body names
    (RFC 8785 via ``rfc8785.dumps``; the legacy form via ``json.dumps``), check the links, and each
    checkpoint's Ed25519 signature over the RFC 8785 form of its body. Returns the entries checked."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(bundle["device_public_key"]))
    hashes, prev = {}, bundle["entries"][0]["prev_hash"]
    for raw in bundle["entries"]:
        body = {k: v for k, v in raw.items() if k != "hash"}
        if body.get("canon") == "jcs":
            data = rfc8785.dumps(_doubles(body))
        else:
            assert "canon" not in body
            data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert hashlib.sha256(data).hexdigest() == raw["hash"], raw["seq"]
        assert body["prev_hash"] == prev, raw["seq"]
        prev = hashes[raw["seq"]] = raw["hash"]
    for cp in bundle["checkpoints"]:
        body = {k: cp[k] for k in ("device_id", "seq", "head_hash", "ts")}
        key.verify(base64.b64decode(cp["signature"]), rfc8785.dumps(body))
        assert hashes[cp["seq"]] == cp["head_hash"]
    return len(hashes)


def test_an_updated_ledger_verifies_and_its_export_is_reproduced_independently(data_dir, tmp_path):
    led = Ledger.open(data_dir)
    try:
        entries = led.entries(0, 1000)
        forms = [e.canon for e in entries]
        assert forms == [None] * 9 + ["jcs"] * 9  # 6 contracts and 3 events before, as many since
        new_edges = next(e for e in entries if e.canon == "jcs" and "edges" in e.payload)
        assert new_edges.payload["edges"]["interest_rate_year_pct"] == 20  # JCS writes the double 20.0 as 20
        assert b'"interest_rate_year_pct":20,' in new_edges.canonical() and b'"big":10000000000000000,' in new_edges.canonical()
        assert rfc8785.dumps(new_edges.body()) == new_edges.canonical()
        assert led.verify().ok
    finally:
        led.close()
    result = CliRunner().invoke(cli, ["ledger", "verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "18 entries" in result.output, result.output
    out = tmp_path / "export.json"
    assert CliRunner().invoke(cli, ["ledger", "export", "--data-dir", str(data_dir), "--out", str(out)]).exit_code == 0
    ok = CliRunner().invoke(cli, ["ledger", "verify-export", str(out)])
    assert ok.exit_code == 0 and "export intact: 18 entries" in ok.output, ok.output
    bundle = json.loads(out.read_text(encoding="utf-8"))
    floats = [e["payload"]["face"]["distance"] for e in bundle["entries"] if e["kind"] == "transaction"]
    rates = {e["payload"]["interest_rate_year_pct"] for e in bundle["entries"] if e["kind"] == "transaction"}
    assert all(isinstance(x, float) for x in floats) and 18.5 in rates  # real floats were hashed
    assert independent_verify(bundle) == 18
    # one changed digit of a float in a JCS entry: both verifiers see it
    jcs_entry = next(e for e in bundle["entries"] if e.get("canon") == "jcs" and e["kind"] == "transaction")
    jcs_entry["payload"]["face"]["distance"] += 1e-4
    with pytest.raises(AssertionError):
        independent_verify(bundle)
    report = verify_bundle(bundle)
    assert not report["ok"] and report["first_bad_seq"] == jcs_entry["seq"]


@pytest.mark.parametrize("seq, canon, why", [
    (12, None, "content hashes to"),            # a JCS entry made to look legacy
    (3, "jcs", "content hashes to"),            # a legacy entry made to look JCS
    (14, "c14n", "unknown canonical form"),
])
def test_the_stored_form_is_checked_like_any_column(data_dir, seq, canon, why):
    conn = sqlite3.connect(data_dir / "ledger.sqlite")
    conn.execute("DROP TRIGGER entries_append_only_u")
    conn.execute("UPDATE entries SET canon = ? WHERE seq = ?", (canon, seq))
    conn.commit()
    conn.close()
    result = CliRunner().invoke(cli, ["ledger", "verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and f"seq {seq}" in result.output and why in result.output, result.output


def test_a_payload_without_an_rfc8785_form_is_refused_and_nothing_is_written(tmp_path):
    led = Ledger.open(tmp_path / "data")
    try:
        led.append("transaction", {"n": 1})
        for bad in ({"n": 2**60}, {"x": float("nan")}, {"x": [float("inf")]}, {"t": "\ud800"}):
            with pytest.raises(InputError, match="RFC 8785|not valid Unicode"):
                led.append("transaction", bad)
        e = led.append("event", {"type": "redeemed", "n": 2**53 - 1, "x": 1e300})  # the writer goes on
        assert led.head() == (2, e.hash) and led.verify().ok
    finally:
        led.close()


def test_a_bundle_read_by_a_reader_that_keeps_big_integers_verifies(data_dir):
    """JCS writes the double 1e16 as ``10000000000000000``; Python's json reads that back as an
    integer beyond 2^53, which the verifier takes as the double it is (I-JSON)."""
    led = Ledger.open(data_dir)
    try:
        bundle = build_bundle(led)
    finally:
        led.close()
    new = next(e for e in bundle["entries"] if e.get("canon") == "jcs" and "edges" in e["payload"])
    assert rfc8785.dumps(new["payload"]["edges"]["big"]) == b"10000000000000000"
    new["payload"]["edges"]["big"] = json.loads("10000000000000000")  # as Python's json reads the JCS text
    assert type(new["payload"]["edges"]["big"]) is int
    report = verify_bundle(bundle)
    assert report["ok"] and report["entries"] == 18, report
    new["payload"]["edges"]["big"] = 10**16 + 2  # another double (10**16 + 1 is the double 1e16 in any JSON reader)
    assert verify_bundle(bundle)["first_bad_seq"] == new["seq"]

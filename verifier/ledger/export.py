"""Self-verifying ledger exports for inspectors: ``chipid-ledger-export/1``.

A bundle is JSON::

    {"format": "chipid-ledger-export/1", "device_id": ..., "device_public_key": <base64 raw Ed25519>,
     "entries": [Entry.to_json(), ...], "checkpoints": [Checkpoint.to_json(), ...]}

Entries are a contiguous run ``first..last`` of one device's chain with plaintext payloads
(the bundle holds personal data: handle it as such). The exporter always adds a checkpoint
signed over the last entry, so every entry in the bundle is anchored by a signature.

:func:`verify_bundle` is pure (no database, no key but the one in the bundle): the police
backend produces the same format and checks it with the same function. The device key in a
bundle is self-asserted: compare ``device_key_sha256`` with the key registered for the shop.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from verifier.errors import InputError, LimitExceededError, TamperError
from verifier.ledger.entry import Checkpoint, Entry, load_public_key_b64, verify_chain
from verifier.private_file import write_private_file

FORMAT = "chipid-ledger-export/1"


def _bounds(ledger: Any, from_ts: str | None, to_ts: str | None) -> tuple[int | None, int | None]:
    lo = from_ts or ""
    hi = (to_ts + "\uffff") if to_ts else "\uffff"
    return ledger.seq_range(lo, hi)


def count_range(ledger: Any, from_ts: str | None = None, to_ts: str | None = None) -> int:
    """How many entries an export of [from_ts, to_ts] would hold."""
    first, last = _bounds(ledger, from_ts, to_ts)
    return 0 if first is None else last - first + 1


def build_bundle(ledger: Any, from_ts: str | None = None, to_ts: str | None = None) -> dict:
    """Export the entries whose ``ts`` lies in [from_ts, to_ts] (ISO dates or times; open ends allowed)."""
    row = _bounds(ledger, from_ts, to_ts)
    entries: list[Entry] = []
    checkpoints: list[Checkpoint] = []
    if row and row[0] is not None:
        first, last = row
        after = first - 1
        while after < last:
            chunk = ledger.entries(after_seq=after, limit=min(5000, last - after))
            if not chunk:
                break
            entries.extend(chunk)
            after = chunk[-1].seq
        checkpoints = ledger.checkpoints(first, last)
        if not checkpoints or checkpoints[-1].seq != last:
            checkpoints.append(ledger.checkpoint_at(last))
    return {
        "format": FORMAT,
        "device_id": ledger.device_id,
        "device_public_key": ledger.public_key_b64(),
        "from": from_ts,
        "to": to_ts,
        "entries": [e.to_json() for e in entries],
        "checkpoints": [c.to_json() for c in checkpoints],
    }


def write_bundle(bundle: dict, path: Path) -> None:
    """Write the bundle as JSON, owner-only and atomically (a cut-off export never replaces a good one)."""
    write_private_file(path, json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8"))


def load_bundle(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"export file {path} not found") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"export file {path}: expected JSON ({FORMAT}), found something else: {e}") from e
    except RecursionError as e:  # a bundle is a few levels deep; the decoder recurses per level
        raise LimitExceededError(f"export file {path}: JSON nested too deeply to be a {FORMAT} bundle") from e
    if not isinstance(data, dict):
        raise InputError(f"export file {path}: expected a JSON object, found {type(data).__name__}")
    return data


def verify_bundle(bundle: dict) -> dict:
    """Check a bundle offline. Returns a report; ``ok`` is False and ``first_bad_seq`` names
    the first bad entry when anything fails (never raises on bad content). A checkpoint signed
    past the last entry means the bundle was cut back (RFC 9162 §2.1.4: a signed head only grows)."""
    report: dict[str, Any] = {
        "ok": False,
        "format": bundle.get("format") if isinstance(bundle, dict) else None,
        "device_id": None,
        "device_key_sha256": None,
        "entries": 0,
        "first_seq": None,
        "last_seq": None,
        "head_hash": None,
        "checkpoints": 0,
        "anchored_seq": None,
        "demo_entries": 0,
        "first_bad_seq": None,
        "error": None,
    }

    def bad(message: str, seq: int | None = None) -> dict:
        report["error"] = message
        report["first_bad_seq"] = seq
        return report

    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        return bad(f"expected format {FORMAT!r}, found {report['format']!r}")
    device_id = bundle.get("device_id")
    report["device_id"] = device_id
    try:
        public_key = load_public_key_b64(str(bundle.get("device_public_key", "")))
    except TamperError as e:
        return bad(str(e))
    report["device_key_sha256"] = hashlib.sha256(str(bundle["device_public_key"]).encode()).hexdigest()
    raw_entries = bundle.get("entries")
    raw_cps = bundle.get("checkpoints")
    if not isinstance(raw_entries, list) or not isinstance(raw_cps, list):
        return bad("expected lists 'entries' and 'checkpoints'")
    entries: list[Entry] = []
    for i, raw in enumerate(raw_entries):
        seq = raw.get("seq") if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            return bad(f"entry #{i}: expected an object", None)
        try:
            entry = Entry.from_json(raw)
        except TamperError as e:
            return bad(str(e), seq if isinstance(seq, int) else None)
        if "hash" not in raw:
            return bad(f"entry seq {entry.seq}: no hash", entry.seq)
        if entry.device_id != device_id:
            return bad(f"entry seq {entry.seq}: device_id {entry.device_id!r} differs from the bundle's {device_id!r}", entry.seq)
        entries.append(entry)
    if entries:
        try:
            head = verify_chain(entries, start_prev=entries[0].prev_hash, start_seq=entries[0].seq)
        except TamperError as e:
            return bad(str(e), _seq_in(str(e)))
        report.update(
            entries=len(entries),
            first_seq=entries[0].seq,
            last_seq=entries[-1].seq,
            head_hash=head,
            demo_entries=sum(1 for e in entries if e.demo),
        )
    by_seq = {e.seq: e.hash for e in entries}
    anchored = None
    for raw in raw_cps:
        try:
            cp = Checkpoint.from_json(raw if isinstance(raw, dict) else {})
            if cp.device_id != device_id:
                raise TamperError(f"checkpoint at seq {cp.seq}: device_id {cp.device_id!r} differs from the bundle's")
            cp.verify(public_key)
        except TamperError as e:
            return bad(str(e), raw.get("seq") if isinstance(raw, dict) else None)
        if cp.seq in by_seq:
            if by_seq[cp.seq] != cp.head_hash:
                return bad(f"entry seq {cp.seq}: hash differs from the one signed in its checkpoint", cp.seq)
            anchored = cp.seq if anchored is None else max(anchored, cp.seq)
        elif cp.seq > (entries[-1].seq if entries else 0):  # signed past the last entry: the bundle was cut
            end = entries[-1].seq if entries else 0
            return bad(f"a signed checkpoint covers seq {cp.seq} but the bundle ends at seq {end}: entries were removed", end + 1)
        report["checkpoints"] += 1
    report["anchored_seq"] = anchored
    if entries and anchored != entries[-1].seq:
        return bad(f"entries after seq {anchored} are not covered by a signed checkpoint (last entry is seq {entries[-1].seq})",
                   (anchored or entries[0].seq - 1) + 1)
    report["ok"] = True
    return report


def _seq_in(message: str) -> int | None:
    import re

    m = re.search(r"seq (\d+)", message)
    return int(m.group(1)) if m else None

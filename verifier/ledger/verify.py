"""Verifying the stored ledger: decrypt and re-hash every entry, check links, checkpoints and truncation.

:func:`verify` names the first bad entry. Checks, in order per entry: every column reads as stored
(text that is not UTF-8 names the entry), seq continuity, the payload decrypts (AES-GCM tag, bound to
its seq), the recomputed SHA-256 of the canonical entry equals the stored hash, ``prev_hash`` links to
the previous entry; then each checkpoint's Ed25519 signature (RFC 8032) and that it names a stored
hash; then that the ledger reaches the checkpoint the police backend holds and the seq it acknowledged
(RFC 9162 §2.1.4 style: a head once signed or acknowledged only grows).

The hash is recomputed from the stored canonical payload bytes without re-encoding them
(:func:`canonical_from_parts`; ARCHITECTURE.md "hash the bytes that were read"), in the entry's
canonical form (column ``canon``: ``'jcs'``, RFC 8785, for the entries written since batch format 3,
whose body starts with ``"canon":"jcs"``; NULL, the legacy form, for those written before). The other
parts of a body (ASCII hex, ISO times, ids, an integer, true/false) are the same bytes in both forms.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass

from verifier.errors import TamperError
from verifier.ledger.chain import Chain, entry_aad
from verifier.ledger.canonical import JCS
from verifier.ledger.entry import CANONS, GENESIS, KINDS
from verifier.ledger.keys import Sealer

_PLAIN = re.compile(r"[0-9A-Za-z:.+_\-]*")


def _dumps(value: str) -> bytes:
    if _PLAIN.fullmatch(value):  # hex hashes, ISO times, ids: nothing to escape
        return b'"' + value.encode("ascii") + b'"'
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def canonical_from_parts(seq: int, device_id: str, ts: str, kind: str, payload_canonical: bytes, prev_hash: str, demo: bool,
                         canon: str | None = None) -> bytes:
    """``Entry.canonical()`` spliced from parts, without re-encoding the payload.

    Equal to ``entry.canonical()`` when ``payload_canonical`` is the payload in the entry's
    canonical form (the form the ledger stores); keys in sorted order.
    """
    return b"".join(
        (
            _CANON_PREFIX[canon], b'"demo":', b"true" if demo else b"false",
            b',"device_id":', _dumps(device_id),
            b',"kind":', _dumps(kind),
            b',"payload":', payload_canonical,
            b',"prev_hash":', _dumps(prev_hash),
            b',"seq":', str(int(seq)).encode(),
            b',"ts":', _dumps(ts),
            b"}",
        )
    )


#: The start of a body in each canonical form: ``canon`` sorts before ``demo`` (ASCII names: the
#: same order by code point and by UTF-16 code unit).
_CANON_PREFIX = {None: b"{", JCS: b'{"canon":"jcs",'}


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    checkpoints: int
    first_bad_seq: int | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "error": self.error,
        }


class _Bad(Exception):
    def __init__(self, seq: int, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.message = message


def verify(chain: Chain, workers: int = 1, parallel_min: int = 50_000) -> VerifyReport:
    """Verify the stored ``chain`` (see the module docstring); names the first bad entry.

    ``workers > 1`` splits the seq range over forked processes (each recomputes its entries'
    hashes; the links between ranges are checked here). Use it only from a single-threaded
    process (the CLI), never inside the service.
    """
    conn, sealer, device_id = chain.db.reader(), chain.sealer, chain.device_id
    try:
        cps = chain.checkpoints()
        acked, bcp_seq, bcp_hash = conn.execute(
            "SELECT acked_seq, backend_cp_seq, backend_cp_hash FROM sync_state WHERE id = 1").fetchone()
    except (sqlite3.Error, TypeError) as e:  # TypeError: no sync_state row
        return VerifyReport(False, 0, 0, GENESIS, 0, 0, f"the checkpoints or the sync state cannot be read: {e}")
    want = frozenset([cp.seq for cp in cps] + [bcp_seq])
    max_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entries").fetchone()[0]
    if workers > 1 and max_seq >= parallel_min:
        import multiprocessing

        step = -(-max_seq // (workers * 4))
        ranges = [(lo, min(max_seq, lo + step - 1)) for lo in range(1, max_seq + 1, step)]
        global _FORKED
        _FORKED = (chain.db.path, sealer, device_id, want)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                parts = pool.map(_verify_range_forked, ranges, chunksize=1)
        finally:
            _FORKED = None
    else:
        parts = [verify_range(conn, sealer, device_id, 1, max_seq, want)] if max_seq else []
    prev, count, hashes_at = GENESIS, 0, {}
    try:
        for part in parts:
            if part["count"] and part["first_prev"] != prev:
                first = part["first_seq"]
                raise _Bad(first, f"entry seq {first}: prev_hash {part['first_prev'][:16]}… does not link to entry {first - 1} ({prev[:16]}…)")
            if part["bad"] is not None:
                count += part["count"]
                prev = part["last_hash"] or prev
                raise _Bad(*part["bad"])
            count += part["count"]
            prev = part["last_hash"] or prev
            hashes_at.update(part["hashes_at"])
        head_seq = count
        for cp in cps:
            try:
                cp.verify(chain.public_key)
            except TamperError as e:
                raise _Bad(cp.seq, f"checkpoint at seq {cp.seq}: signature does not verify") from e
            if cp.seq == 0:
                if cp.head_hash != GENESIS:
                    raise _Bad(0, "checkpoint at seq 0 does not sign the genesis hash")
                continue
            if cp.seq > head_seq:
                raise _Bad(head_seq + 1, f"a signed checkpoint covers seq {cp.seq} but the ledger ends at seq {head_seq}: entries were removed")
            if hashes_at.get(cp.seq) != cp.head_hash:
                raise _Bad(cp.seq, f"entry seq {cp.seq}: hash differs from the one signed in the checkpoint at seq {cp.seq}")
        if bcp_seq > head_seq:
            raise _Bad(head_seq + 1, f"the police backend holds a signed checkpoint at seq {bcp_seq} but the ledger "
                                     f"ends at seq {head_seq}: entries were removed")
        if bcp_seq and hashes_at.get(bcp_seq) != bcp_hash:
            raise _Bad(bcp_seq, f"entry seq {bcp_seq}: hash differs from the checkpoint the police backend holds")
        if acked > head_seq:
            raise _Bad(head_seq + 1, f"the police backend acknowledged entries up to seq {acked} but the ledger "
                                     f"ends at seq {head_seq}: entries were removed")
    except _Bad as bad:
        return VerifyReport(False, count, count, prev, len(cps), bad.seq, bad.message)
    return VerifyReport(True, count, head_seq, prev, len(cps))


def verify_range(conn: sqlite3.Connection, sealer: Sealer, device_id: str, lo: int, hi: int, want: frozenset,
                 batch: int = 20000) -> dict:
    """Check entries lo..hi: contiguous seqs, decryption, hash, and links inside the range."""
    sha256 = hashlib.sha256
    # canonical_from_parts, unrolled: the constant parts are encoded once
    dev = _dumps(device_id)
    pre = {(c, d): _CANON_PREFIX[c] + (b'"demo":true,"device_id":' if d else b'"demo":false,"device_id":') + dev + b',"kind":'
           for c in CANONS for d in (False, True)}
    kind_b = {k: _dumps(k) + b',"payload":' for k in KINDS}
    unseal = sealer.open

    def q(text: str) -> bytes:
        if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
            return b'"' + text.encode("ascii") + b'"'
        return json.dumps(text, ensure_ascii=False).encode("utf-8")
    out = {"first_seq": lo, "first_prev": None, "last_hash": None, "count": 0, "hashes_at": {}, "bad": None}
    prev = None
    expected = lo
    try:
        while expected <= hi:
            unreadable = None
            try:
                rows = conn.execute(
                    "SELECT seq, ts, kind, demo, prev_hash, hash, payload, canon FROM entries WHERE seq >= ? AND seq <= ? "
                    "ORDER BY seq LIMIT ?",
                    (expected, hi, batch),
                ).fetchall()
            except sqlite3.Error:  # a text column that is not UTF-8: read the rows before it, name it
                rows, unreadable = _readable_prefix(conn, expected, hi, batch)
            if not rows and unreadable is None:
                raise _Bad(expected, f"entry seq {expected} is missing (the ledger ends before seq {hi})")
            for seq, ts, kind, demo, prev_hash, stored_hash, sealed, canon in rows:
                if seq != expected:
                    raise _Bad(expected, f"entry seq {expected} is missing (next stored entry is seq {seq})")
                if kind not in KINDS:
                    raise _Bad(seq, f"entry seq {seq}: unknown kind {kind!r}")
                if canon not in CANONS:
                    raise _Bad(seq, f"entry seq {seq}: unknown canonical form {canon!r}")
                try:
                    plain = unseal(sealed, entry_aad(device_id, seq))
                except (TamperError, ValueError, TypeError) as e:
                    raise _Bad(seq, f"entry seq {seq}: does not decrypt (modified, moved, or a different data key)") from e
                digest = sha256(b"".join((pre[canon, bool(demo)], kind_b[kind], plain, b',"prev_hash":', q(prev_hash),
                                          b',"seq":', str(seq).encode(), b',"ts":', q(ts), b"}"))).hexdigest()
                if digest != stored_hash:
                    raise _Bad(seq, f"entry seq {seq}: content hashes to {digest[:16]}… but the stored hash is {stored_hash[:16]}…")
                if prev is None:
                    out["first_prev"] = prev_hash
                elif prev_hash != prev:
                    raise _Bad(seq, f"entry seq {seq}: prev_hash {prev_hash[:16]}… does not link to entry {seq - 1} ({prev[:16]}…)")
                if seq in want:
                    out["hashes_at"][seq] = digest
                prev = digest
                expected += 1
                out["count"] += 1
            if unreadable is not None:
                seq, column = unreadable
                if seq != expected:
                    raise _Bad(expected, f"entry seq {expected} is missing (next stored entry is seq {seq})")
                raise _Bad(seq, f"entry seq {seq}: {column} is not UTF-8 text (rewritten outside the ledger)")
    except _Bad as bad:
        out["bad"] = (bad.seq, bad.message)
    out["last_hash"] = prev
    return out


_FORKED: tuple | None = None


def _verify_range_forked(bounds: tuple[int, int]) -> dict:
    path, sealer, device_id, want = _FORKED  # inherited through fork
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    try:
        return verify_range(conn, sealer, device_id, bounds[0], bounds[1], want)
    finally:
        conn.close()


_TEXT_COLUMNS = ("ts", "kind", "prev_hash", "hash", "canon")


def _readable_prefix(conn: sqlite3.Connection, lo: int, hi: int, limit: int) -> tuple[list[tuple], tuple[int, str] | None]:
    """Rows lo..hi as :func:`verify_range` reads them, up to the first whose text is
    not UTF-8; returns them and ``(seq, column)`` of that row (None when all read)."""
    casts = ", ".join(f"CAST({c} AS BLOB)" for c in _TEXT_COLUMNS)
    rows: list[tuple] = []
    for seq, demo, payload, *texts in conn.execute(
        f"SELECT seq, demo, CAST(payload AS BLOB), typeof(payload), {casts} FROM entries WHERE seq >= ? AND seq <= ? "
        "ORDER BY seq LIMIT ?", (lo, hi, limit),
    ):
        kind_of_payload, raw = texts[0], texts[1:]
        try:
            ts, kind, prev_hash, stored_hash, canon = (b.decode("utf-8") if b is not None else None for b in raw)
        except UnicodeDecodeError:
            bad = next(c for c, b in zip(_TEXT_COLUMNS, raw) if b is not None and not _utf8(b))
            return rows, (seq, bad)
        if kind_of_payload == "text" and not _utf8(payload):
            return rows, (seq, "payload")
        rows.append((seq, ts, kind, demo, prev_hash, stored_hash, payload, canon))
    return rows, None


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- a damaged ledger: loud, not fatal ------------------------------------------------------------
#: The damage notices already appended, one per first bad seq (table of this module, ``meta`` ``schema.damage``).
DAMAGE_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS ledger_damage (
        first_bad_seq INTEGER PRIMARY KEY,
        reason TEXT NOT NULL,
        detected_at TEXT NOT NULL,
        notice_seq INTEGER NOT NULL
    );
    """,
)


def damage_vi(seq: int | None) -> str:
    """The Vietnamese sentence for a damaged ledger (the English reason is :attr:`VerifyReport.error`)."""
    return (f"Sổ cái bị hỏng hoặc bị sửa từ bản ghi số {seq}: dữ liệu bị hỏng / bị sửa; hợp đồng mới vẫn được ghi, "
            "hãy gọi quản lý và báo cơ quan công an.")


class DamageWatch:
    """Watches the stored ledger for damage and makes it loud, never fatal (issue 17 item 6).

    :meth:`check` verifies the whole ledger (:func:`verify`) when something changed since the last
    verification (``PRAGMA data_version`` of a connection of its own, which changes when any other
    connection commits, SQLite "PRAGMA data_version"), so a health poll on an unchanged ledger costs a
    query. A damage found the first time is appended as an ``event`` entry of type
    ``ledger_damaged`` (``first_bad_seq``, ``reason``, ``reason_vi``, no personal data) that the
    relay delivers to the police in its next batch; one per first bad seq (the ``ledger_damage``
    table, written in the same transaction). New entries keep linking to the stored head, so the
    counter goes on recording contracts.
    """

    def __init__(self, ledger) -> None:
        import threading

        from verifier.ledger.schema import migrate_part

        self.ledger = ledger
        ledger.write(lambda conn: migrate_part(conn, "damage", DAMAGE_SCHEMA))
        self._conn = sqlite3.connect(f"file:{ledger.chain.db.path}?mode=ro", uri=True, timeout=30.0, check_same_thread=False)
        self._lock = threading.Lock()
        self._version: int | None = None
        self._state: dict | None = None

    def bad_seqs(self) -> frozenset[int]:
        """The first bad seqs found so far (checked now if the ledger changed)."""
        state = self.check()
        rows = self.ledger.reader().execute("SELECT first_bad_seq FROM ledger_damage").fetchall()
        return frozenset([r[0] for r in rows] + ([state["first_bad_seq"]] if state else []))

    def check(self) -> dict | None:
        """None while the ledger verifies; else ``{first_bad_seq, reason, reason_vi, notice_seq}``."""
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version == self._version:
                return self._state
            report = self.ledger.verify()
            self._version = version
            if report.ok:
                self._state = None
                return None
            self._state = {"first_bad_seq": report.first_bad_seq, "reason": report.error,
                           "reason_vi": damage_vi(report.first_bad_seq), "notice_seq": self._notice(report)}
            return self._state

    def _notice(self, report: VerifyReport) -> int | None:
        """The seq of the ``ledger_damaged`` entry for this damage, appended now if it is new."""
        from verifier.errors import LedgerError
        from verifier.ledger.entry import utc_now

        seq = int(report.first_bad_seq or 0)
        row = self.ledger.reader().execute("SELECT notice_seq FROM ledger_damage WHERE first_bad_seq = ?", (seq,)).fetchone()
        if row is not None:
            return row[0]
        payload = {"type": "ledger_damaged", "first_bad_seq": seq, "reason": report.error, "reason_vi": damage_vi(seq),
                   "head_seq": report.head_seq, "detected_at": utc_now()}

        def check_new(conn: sqlite3.Connection, p: dict) -> dict:
            if conn.execute("SELECT 1 FROM ledger_damage WHERE first_bad_seq = ?", (seq,)).fetchone():
                raise _AlreadyNoted()
            return p

        def note(conn: sqlite3.Connection, entry) -> None:
            conn.execute("INSERT INTO ledger_damage (first_bad_seq, reason, detected_at, notice_seq) VALUES (?, ?, ?, ?)",
                         (seq, str(report.error), payload["detected_at"], entry.seq))

        try:
            entry = self.ledger.append("event", payload, priority=0, prepare=check_new, also=note)
        except _AlreadyNoted:
            return None
        except LedgerError:  # a failed ledger says so itself (fail-stop); the damage stays in health
            return None
        self._version = self._conn.execute("PRAGMA data_version").fetchone()[0]  # our own notice changes nothing
        return entry.seq

    def close(self) -> None:
        self._conn.close()


class _AlreadyNoted(Exception):
    pass

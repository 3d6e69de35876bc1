"""What the pawn book indexes and searches: normalised terms, blinded.

Search without plaintext at rest: the projection tables (:mod:`verifier.ledger.pawn_store`) hold only
keyed hashes (HMAC, "blind index", :meth:`verifier.ledger.keys.Sealer.blind`) of normalised search
terms (ID number, each word of the name, item serials), so search is by exact ID number, whole words
of the name (accents optional) or exact serial, or by the last 4-6 characters of an ID number or a
serial (:data:`TAILS`: a tail term is indexed for each length, ``id_tail`` and ``serial_tail``).
An ID number that cannot be one (letters, a length other than 9 (CMND), 12 (CCCD) or a tail) is
refused (:class:`BadSearch`), never "0 results".

This module turns a contract payload into its index terms (:func:`index_terms`), indexes the tails of
contracts recorded before tails were (:func:`index_tails`), and turns a clerk's search fields into
the terms to look up (:func:`query_terms`). The pawn book (:mod:`verifier.ledger.pawn`) runs them.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Callable

from verifier import text as search_text
from verifier.errors import InputError, TamperError
from verifier.ledger.chain import ENTRY_COLUMNS
from verifier.ledger.pawn_events import STATUSES
from verifier.ledger.pawn_items import identifiers
from verifier.ledger.pawn_store import PawnStore
from verifier.ledger.store import Ledger

#: Lengths of the ID number and serial tails indexed for search ("the last 4-6 digits").
TAILS = (4, 5, 6)
#: Lengths of a whole ID number: 9 (old CMND) or 12 (CCCD, Circular 59/2021/TT-BCA art. 13).
ID_LENGTHS = (9, 12)

#: The ledger's keyed hash of a search term: ``blind(kind, value)`` (:meth:`verifier.ledger.keys.Sealer.blind`).
Blind = Callable[[str, str], str]


class BadSearch(InputError):
    """A search term that cannot be what it claims to be (an ID number with letters, of a wrong length)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # the catalogue code (verifier.messages)


def fold_text(text: str) -> str:
    """Name words to index and search: 'Nguyễn Văn A.' -> 'nguyen van a'. Folded as the police
    backend folds (:func:`verifier.text.fold`), then only letters and digits kept."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", search_text.fold(str(text))).split())


def norm_serial(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(text).upper())


def norm_id(text: str) -> str:
    return re.sub(r"\D", "", str(text))


def tails(value: str) -> list[str]:
    """The last :data:`TAILS` characters of a normalised ID number or serial (when it is longer)."""
    return [value[-n:] for n in TAILS if len(value) > n]


def id_search(text: str) -> tuple[str, str]:
    """An ID number as typed -> ``("id" | "id_tail", digits)``; :class:`BadSearch` when it cannot be one."""
    raw = re.sub(r"[\s.\-]", "", str(text))
    if not raw.isdigit() or not raw.isascii():
        raise BadSearch("bad_id_number", f"id_number: expected digits only, found {len(raw)} characters with other signs")
    if len(raw) in ID_LENGTHS:
        return "id", raw
    if len(raw) in TAILS:
        return "id_tail", raw
    raise BadSearch("bad_id_number", f"id_number: expected 12 digits (CCCD), 9 (CMND) or the last 4-6 digits; found {len(raw)} digits")


def index_terms(blind: Blind, payload: dict) -> set[str]:
    """The blinded search terms of a contract payload (or of corrected ``items``): ID number and its tails,
    name words, each item's serial, IMEI, frame and engine numbers and plate (searched as serials) and their tails."""
    pawner = payload.get("pawner") or {}
    terms = set()
    if pawner.get("id_number"):
        number = norm_id(pawner["id_number"])
        terms.add(blind("id", number))
        terms.update(blind("id_tail", t) for t in tails(number))
    for word in fold_text(pawner.get("full_name", "")).split():
        terms.add(blind("name", word))
    for item in payload.get("items") or []:
        for serial in filter(None, map(norm_serial, identifiers(item))):  # serial, IMEI, frame/engine no., plate
            terms.add(blind("serial", serial))
            terms.update(blind("serial_tail", t) for t in tails(serial))
    return terms


def index_tails(conn: sqlite3.Connection, ledger: Ledger, store: PawnStore) -> None:
    """Once per ledger (``meta`` ``search.tails``): index the tails of contracts recorded before tails
    were indexed, from their entries (an entry that cannot be read is skipped: it is reported as damage)."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'search.tails'").fetchone():
        return
    chain = ledger.chain
    blind = ledger.sealer.blind
    for txn_id, seqs in store.all_contract_seqs(conn):
        marks = ",".join("?" * len(seqs))
        for row in conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE seq IN ({marks})", seqs):
            try:
                p = chain.entry_from_row(row).payload
            except (TamperError, ValueError):
                continue
            items = p.get("items") or (p.get("fields") or {}).get("items") or []
            found = {blind("id_tail", t) for t in tails(norm_id((p.get("pawner") or {}).get("id_number") or ""))}
            for item in items:
                found.update(blind("serial_tail", t) for t in tails(norm_serial(item.get("serial") or "")))
            store.add_terms(conn, txn_id, found)
    conn.execute("INSERT INTO meta (key, value) VALUES ('search.tails', '1')")


def query_terms(blind: Blind, *, id_number: str | None, name: str | None, serial: str | None) -> list[str | tuple[str, ...]]:
    """The blinded terms a search must match (all of them; a tuple: any one of it); :class:`BadSearch` or
    :class:`InputError` for a field that cannot match anything."""
    terms: list[str | tuple[str, ...]] = []
    if id_number:
        terms.append(blind(*id_search(id_number)))
    if name:
        words = fold_text(name).split()
        if not words:
            raise InputError("name: expected at least one letter or digit")
        terms += [blind("name", w) for w in words]
    if serial:
        wanted = norm_serial(serial)
        if not wanted:
            raise BadSearch("bad_serial", "serial: expected letters or digits")
        # the whole serial, or its last 4-6 characters
        terms.append((blind("serial", wanted), blind("serial_tail", wanted)) if len(wanted) in TAILS else blind("serial", wanted))
    return terms


def check_status(status: str | None) -> None:
    """A status filter is one of :data:`verifier.ledger.pawn_events.STATUSES` or ``overdue``."""
    if status and status != "overdue" and status not in STATUSES:
        raise InputError(f"status: expected one of {', '.join(STATUSES + ('overdue',))}, found {status!r}")

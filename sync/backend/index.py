"""What the backend indexes from an entry's payload, read defensively (any key may be missing).

A ``transaction`` payload is the pawn contract as the shop records it
(:class:`verifier.results.ContractPayload`: ``id``, ``contract_no``, ``pawner`` {``id_number``,
``full_name``, ...}, ``items`` [{``description``, ``serial``, ``imei``, ...}]); an ``event``
payload has ``txn_id`` (the contract's ``id``) and ``type`` (``redeemed``, ``suspicious``, ...).
Only those documented keys are read (no other spellings), each checked for its type.
Search keys are normalised so that the inspector's query matches whatever the clerk typed:
names without diacritics and in lower case, serials and ID numbers as upper-case alphanumerics.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from verifier.ledger.entry import Entry
from verifier.text import fold, strip_marks

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_SPACES = re.compile(r"\s+")
MAX_KEY = 200
MAX_SEARCH_TEXT = 2000


def norm_text(s: Any) -> str:
    """'Nguyễn  Văn Đức' -> 'nguyen van duc': the shop's folding (:func:`verifier.text.fold`:
    diacritics dropped, đ -> d, lower case, single spaces), bounded in length."""
    if s is None:
        return ""
    return fold(str(s)[: 4 * MAX_SEARCH_TEXT].replace("\x00", ""))[:MAX_SEARCH_TEXT]


def norm_code(s: Any) -> str:
    """Serial numbers, IMEIs and ID numbers: upper-case alphanumerics only ('35-2099 00' -> '35209900')."""
    if s is None:
        return ""
    s = str(s)[: 4 * MAX_KEY]
    if not s.isascii():
        s = strip_marks(s)
    elif s.isalnum():  # already only [0-9A-Za-z], as most ID numbers and serials are
        return s.upper()[:MAX_KEY]
    return _NON_ALNUM.sub("", s).upper()[:MAX_KEY]


def name_suffixes(name: str) -> list[str]:
    """Every suffix of the name's words (of its first 12), so 'van an' and 'an' find 'nguyen van an'."""
    n = norm_text(name)  # single spaces, no leading or trailing one
    if not n:
        return []
    words = n.split(" ", 12)[:12]
    return [" ".join(words[i:])[:MAX_KEY] for i in range(len(words))]


class Indexed(NamedTuple):
    contract_no: str | None
    txn_ref: str | None
    event_type: str | None
    search_text: str
    keys: tuple[tuple[str, str], ...]  # (key_type, value): id, name, serial, txn; stored blinded (contract_no is a column)


_EMPTY: dict = {}
_SERIAL_FIELDS = ("serial", "imei", "serial_no", "imei2", "plate", "frame_no", "engine_no")
_ITEM_TEXT = ("description", "category", "brand", "model")
_FREE_TEXT = ("description",)  # free notes and reasons may name people: not searchable text
_ITEM_FIELDS = {f: i for i, f in enumerate(_SERIAL_FIELDS + _ITEM_TEXT)}  # field -> rank (serials first)
_N_SERIAL = len(_SERIAL_FIELDS)


def _str(v: Any) -> str | None:
    if type(v) is str:
        s = v.strip()
        if "\x00" in s:
            s = s.replace("\x00", "").strip()
        return s[:MAX_KEY] or None
    if v is None or isinstance(v, (dict, list, bool)):
        return None
    s = str(v).replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    return s[:MAX_KEY] or None


def contract_ref(payload: dict) -> str | None:
    """A contract's own id as its ``txn`` key holds it, and as its events name it."""
    return _str(payload.get("id"))


def index_entry(entry: Entry) -> Indexed:
    """Search keys and free text of one entry. The free text (``q``) holds what keys do not,
    and only item text: item descriptions, category, brand, model (never names, ID numbers,
    addresses, free notes), so an event's is empty. Keys are plain normalised values; ingest
    blinds them."""
    p = entry.payload if isinstance(entry.payload, dict) else _EMPTY
    pawner = p.get("pawner")
    if not isinstance(pawner, dict):
        pawner = _EMPTY
    id_number = norm_code(_str(pawner.get("id_number"))) or None
    full_name = _str(pawner.get("full_name"))
    contract_no = _str(p.get("contract_no"))
    # the contract's own id (transaction) or the contract an event is about
    txn_ref = contract_ref(p) if entry.kind == "transaction" else _str(p.get("txn_id"))
    event_type = _str(p.get("type")) if entry.kind == "event" else None
    keys: list[tuple[str, str]] = []
    serials: list[str] = []  # each once, in order
    texts: list[str] = []
    if id_number:
        keys.append(("id", id_number))
    if full_name:
        keys += [("name", s) for s in name_suffixes(full_name)]
    if txn_ref:
        keys.append(("txn", txn_ref))
    items = p.get("items")
    if type(items) is list:
        for item in items[:100]:
            if type(item) is not dict:
                continue
            # walk the item's own (few) keys, then keep the fields' documented order
            found = sorted((_ITEM_FIELDS[k], k, v) for k, v in item.items() if k in _ITEM_FIELDS and v)
            for rank, _, v in found:
                if rank < _N_SERIAL:
                    code = norm_code(_str(v))
                    if code and code not in serials:
                        serials.append(code)
                        keys.append(("serial", code))
                elif type(v) is str:
                    texts.append(v[:MAX_SEARCH_TEXT])
    for field in _FREE_TEXT:
        v = p.get(field)
        if v and type(v) is str:
            texts.append(v[:MAX_SEARCH_TEXT])
    return Indexed(contract_no, txn_ref, event_type, norm_text(" ".join(texts)) if texts else "", tuple(keys))

"""What the backend indexes from an entry's payload, read defensively (any key may be missing).

A ``transaction`` payload is the pawn contract as the shop records it
(:class:`verifier.results.ContractPayload`: ``id``, ``contract_no``, ``pawner`` {``id_number``,
``full_name``, ...}, ``items`` [{``description``, ``serial``, ``imei``, ...}]); an ``event``
payload has ``txn_id`` (the contract's ``id``) and ``type`` (``redeemed``, ``suspicious``, ...).
Only those documented keys are read (no other spellings), each checked for its type.
Search keys are normalised so that the inspector's query matches whatever the clerk typed:
names without diacritics and in lower case, serials and ID numbers as upper-case alphanumerics.

Keys that link people (issue 19 item 4, investigation views and watchlists), each only when the
payload has what it needs: ``namedob`` (the whole normalised name and the birth date,
:func:`person_key`: a watchlist of wanted people without an ID number), ``addr`` (the pawner's
``place_of_residence`` and the contract's ``current_address``, :func:`norm_address`) and ``phone``
(the contract's ``pawner_phone``, :func:`norm_phone`).
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

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


def _suffixes(n: str) -> list[str]:
    """Every suffix of the words (of the first 12) of a name already through :func:`norm_text` (single
    spaces, none at the ends), so 'van an' and 'an' find 'nguyen van an'."""
    if not n:
        return []
    words = n.split(" ", 12)[:12]
    return [" ".join(words[i:])[:MAX_KEY] for i in range(len(words))]


_DATE_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")
_DATE_VN = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_DATE_DIGITS = re.compile(r"^\s*(\d{2})(\d{2})(\d{4})\s*$")  # ddmmyyyy, as a CCCD's QR writes it


def norm_birth(s: Any) -> str:
    """A birth date as ``YYYYMMDD`` from ``1985-03-12``, ``12/03/1985`` or the QR's ``12031985``;
    ``""`` for anything else."""
    if s is None or not isinstance(s, str):
        return ""
    if len(s) >= 10 and s[4] == "-" == s[7] and s[:10].isascii() and s[:4].isdigit() and s[5:7].isdigit() and s[8:10].isdigit():
        # the chip's own form, as every contract has it: what _DATE_ISO matches, with two-digit month and
        # day, so the range check compares strings and they are already zero-padded (no int() round trips)
        mo, d = s[5:7], s[8:10]
        return f"{s[:4]}{mo}{d}" if "01" <= mo <= "12" and "01" <= d <= "31" else ""
    m = _DATE_ISO.match(s)
    if m:
        y, mo, d = m.groups()
    elif (m := _DATE_VN.match(s) or _DATE_DIGITS.match(s)):
        d, mo, y = m.groups()
    else:
        return ""
    if not (1 <= int(mo) <= 12 and 1 <= int(d) <= 31):
        return ""
    return f"{y}{int(mo):02d}{int(d):02d}"


def person_key(name: Any, birth: Any) -> str:
    """``"nguyen van an|19850312"``: the ``namedob`` key; ``""`` without both parts."""
    return _person_key(norm_text(name), birth)


def _person_key(n: str, birth: Any) -> str:
    """:func:`person_key` of a name already through :func:`norm_text`."""
    n, b = n[:MAX_KEY - 9], norm_birth(birth)
    return f"{n}|{b}" if n and b else ""


def parse_person(value: Any) -> str:
    """A watchlist's person, "Nguyễn Văn An|12/03/1985" (or a comma or semicolon before the date),
    as its :func:`person_key`; ``""`` when it does not end in a date."""
    s = str(value or "")
    for sep in ("|", ";", ","):
        if sep in s:
            name, _, birth = s.rpartition(sep)
            return person_key(name, birth.strip())
    return ""


_NOT_WORD = re.compile(r"[^0-9a-z]+")
# bytes.translate table: every byte but 0-9 and a-z becomes a space (what _NOT_WORD replaces)
_WORD_BYTES = bytes(c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))


def norm_address(s: Any) -> str:
    """An address folded to words and digits ("Số 12, Đường Lê Lợi, P.5" -> "so 12 duong le loi p 5")."""
    folded = norm_text(s)
    if folded.isascii():  # as folded Vietnamese is: one C call instead of the regular expression's scan
        return b" ".join(folded.encode().translate(_WORD_BYTES).split()).decode()[:MAX_KEY]
    return _NOT_WORD.sub(" ", folded).strip()[:MAX_KEY]


def norm_phone(s: Any) -> str:
    """A phone number as its national digits (``+84 912 345 678`` -> ``0912345678``); ``""`` for
    fewer than 8 digits."""
    digits = "".join(filter(str.isdigit, str(s or "")[:40]))
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits if len(digits) >= 8 else ""


class Indexed(NamedTuple):
    contract_no: str | None
    txn_ref: str | None
    event_type: str | None
    search_text: str
    keys: tuple[tuple[str, str], ...]  # (key_type, value): id, name, serial, txn, namedob, addr, phone; stored blinded


_EMPTY: dict = {}
_SERIAL_FIELDS = ("serial", "imei", "serial_no", "imei2", "plate", "frame_no", "engine_no")
_ITEM_TEXT = ("description", "category", "brand", "model")
_FREE_TEXT = ("description",)  # free notes and reasons may name people: not searchable text


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


class _Memo(dict):
    """``fn(s)`` by ``s``, an exact ``str`` (every character is the key), emptied when full: a
    pawner's name and address repeat from entry to entry (returning customers, a family, a street).
    About 1 KB an entry for real names (4 MB when full), 5 KB for a 200-character name of 12 words."""

    def __init__(self, fn: Callable[[str], Any], size: int = 4096) -> None:
        super().__init__()
        self._fn, self._size = fn, size

    def __missing__(self, s: str) -> Any:
        if len(self) >= self._size:
            self.clear()
        value = self[s] = self._fn(s)
        return value


def _name_keys(full_name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A pawner's name (a :func:`_str`) folded once for both uses: the folded name (for the ``namedob``
    key, :func:`_person_key`) and its ``name`` keys."""
    folded = norm_text(full_name)
    return folded, tuple(("name", s) for s in _suffixes(folded))


_names = _Memo(_name_keys)
_addresses = _Memo(norm_address)


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
    if id_number:
        keys.append(("id", id_number))
    # a value is normalised only when there is one (an event has none of these), but every value is
    # still read through _str, in the same order: its str() may raise
    if full_name:
        folded, name_keys = _names[full_name]
        keys += name_keys
        if (who := _person_key(folded, _str(pawner.get("date_of_birth")))):
            keys.append(("namedob", who))
    if (residence := _str(pawner.get("place_of_residence"))) and (residence := _addresses[residence]):
        keys.append(("addr", residence))
    if (current := _str(p.get("current_address"))) and (current := _addresses[current]) and current != residence:
        keys.append(("addr", current))
    if (phone := _str(p.get("pawner_phone"))) and (phone := norm_phone(phone)):
        keys.append(("phone", phone))
    if txn_ref:
        keys.append(("txn", txn_ref))
    texts: list[str] = []
    items = p.get("items")
    if type(items) is list:
        serials: set[str] = set()
        for item in items[:100]:
            if type(item) is not dict:
                continue
            # the fields in their documented order, serials first (an item has a few keys of its own)
            for field in _SERIAL_FIELDS:
                if (v := item.get(field)) and (code := norm_code(_str(v))) and code not in serials:
                    serials.add(code)
                    keys.append(("serial", code))
            for field in _ITEM_TEXT:
                if (v := item.get(field)) and type(v) is str:
                    texts.append(v[:MAX_SEARCH_TEXT])
    for field in _FREE_TEXT:
        v = p.get(field)
        if v and type(v) is str:
            texts.append(v[:MAX_SEARCH_TEXT])
    return Indexed(contract_no, txn_ref, event_type, norm_text(" ".join(texts)) if texts else "", tuple(keys))

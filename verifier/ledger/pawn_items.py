"""The items of a pawn contract: which fields each kind of item has, and what a valid value is.

Decree 96/2016/NĐ-CP art. 29 asks the pawn ledger to identify the item pawned; the police find a stolen
phone by its IMEI and a stolen motorbike by its frame number (số khung), engine number (số máy) or plate
(biển số). So each category has its own identifying fields, checked here before a contract is written:

* ``phone``: ``imei`` (15 digits whose last is the Luhn check digit of the other 14, 3GPP TS 23.003 §6.2.1
  and annex B; spaces, dots and dashes as typed are dropped), ``serial``;
* ``motorbike``: ``frame_no``, ``engine_no`` (letters and digits, 5-20 of them once spaces and dashes are
  dropped; kept upper-case), ``plate`` (Vietnamese format, Circular 24/2023/TT-BCA annex: province code of two
  digits, a series of one or two letters (đ/Đ counts as one) with an optional digit, then 4 or 5 digits, e.g.
  ``59-X1 123.45``, ``51F-123.45``, ``29-MĐ1 234.56``; kept as typed, only trimmed and upper-cased);
* ``laptop``, ``watch``: ``serial``;
* ``jewelry``: ``material`` (vàng 18K, bạc...) and ``weight`` (2 chỉ, 3,75 g...), as text;
* every item: ``description`` (required), ``brand``, ``model``, ``condition``, ``storage_location`` (vị trí lưu
  kho), ``photo_sha256`` (its photo, :mod:`verifier.api.item_photos`);
* ``other``: any of the fields above (a car, a tablet with an IMEI...).

A field of another category (an IMEI on a ring) is refused rather than silently kept. A broken rule is a
:class:`~verifier.ledger.admission.ContractRefused` ``bad_item`` whose ``details`` name the item (1-based
``item``), the ``field`` and the ``rule`` (the catalogue's variant ``bad_item.<rule>``: the clerk reads in
Vietnamese which item and what is wrong). Search indexes the identifying fields as serials
(:func:`identifiers`, used by :func:`verifier.ledger.pawn_search.index_terms`).
"""

from __future__ import annotations

import re
from typing import Any

from verifier.ledger.admission import ContractRefused

CATEGORIES = ("phone", "motorbike", "laptop", "jewelry", "watch", "other")
#: Fields every item may carry.
COMMON = ("description", "category", "brand", "model", "condition", "storage_location", "photo_sha256")
#: The identifying fields of each category ("other": all of them).
SPECIFIC: dict[str, tuple[str, ...]] = {
    "phone": ("imei", "serial"),
    "motorbike": ("frame_no", "engine_no", "plate", "serial"),
    "laptop": ("serial",),
    "jewelry": ("material", "weight"),
    "watch": ("serial",),
}
SPECIFIC["other"] = tuple(dict.fromkeys(f for fields in SPECIFIC.values() for f in fields))
#: The fields indexed for search as serials (whole and last 4-6 characters).
IDENTIFIERS = ("serial", "imei", "frame_no", "engine_no", "plate")
#: Longest text of each field.
MAX_LENGTH = {"description": 500, "condition": 300, "storage_location": 200, "photo_sha256": 64}
DEFAULT_MAX = 100

#: A plate as typed (upper-cased): province code, optional dash, series, optional space or dash, number (123.45 or 1234).
_PLATE = re.compile(r"^(\d{2}) ?-? ?([A-ZĐ]{1,2}\d?) ?[- ]? ?(\d{3}\.?\d{2}|\d{4})$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def luhn_ok(digits: str) -> bool:
    """The Luhn check (ISO/IEC 7812-1 annex B) of a string of digits, check digit last."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _refuse(n: int, field: str, rule: str, message: str, **found: Any) -> ContractRefused:
    return ContractRefused("bad_item", f"item {n}: {message}", {"item": n, "field": field, "rule": rule, **found})


def check_item(n: int, item: dict) -> dict:
    """Item number ``n`` (1-based) checked and normalised: empty fields dropped, IMEI as its 15 digits, frame and
    engine numbers upper-case without spaces, the plate trimmed and upper-cased (as typed otherwise)."""
    category = str(item.get("category") or "")
    if category not in CATEGORIES:
        raise _refuse(n, "category", "category", f"category: expected one of {', '.join(CATEGORIES)}, found {category!r}",
                      found=category[:40])
    allowed = COMMON + SPECIFIC[category]
    out: dict[str, str] = {}
    for key, value in item.items():
        if value is None or str(value).strip() == "":
            continue
        if key not in allowed:
            raise _refuse(n, key, "field_not_for_category", f"{key} is not a field of a {category} item")
        text = str(value).strip()
        limit = MAX_LENGTH.get(key, DEFAULT_MAX)
        if len(text) > limit:
            raise _refuse(n, key, "too_long", f"{key}: at most {limit} characters, found {len(text)}", max=limit)
        out[key] = text
    if not out.get("description"):
        raise _refuse(n, "description", "description_required", "a description is required")
    if "imei" in out:
        digits = re.sub(r"[\s.\-/]", "", out["imei"])
        if not digits.isascii() or not digits.isdigit() or len(digits) != 15:
            raise _refuse(n, "imei", "imei_length", f"imei: expected 15 digits, found {len(digits)} characters",
                          found=len(digits))
        if not luhn_ok(digits):
            raise _refuse(n, "imei", "imei_checksum", "imei: the last digit is not the Luhn check digit of the first 14 "
                          "(a typo?)")
        out["imei"] = digits
    for key in ("frame_no", "engine_no"):
        if key in out:
            compact = re.sub(r"[\s.\-]", "", out[key]).upper()
            if not re.fullmatch(r"[0-9A-Z]{5,20}", compact):
                raise _refuse(n, key, f"{key}_format", f"{key}: expected 5-20 letters or digits, found {len(compact)} "
                              "characters (or other signs)")
            out[key] = compact
    if "plate" in out:
        plate = re.sub(r"\s+", " ", out["plate"]).upper()
        if not _PLATE.fullmatch(plate):
            raise _refuse(n, "plate", "plate_format", "plate: expected a Vietnamese plate such as 59-X1 123.45 or "
                          "51F-123.45")
        out["plate"] = plate
    if "photo_sha256" in out and not _SHA256.fullmatch(out["photo_sha256"]):
        raise _refuse(n, "photo_sha256", "photo_sha256", "photo_sha256: expected 64 lower-case hex digits")
    return out


def check_items(items: list[dict]) -> list[dict]:
    """Every item checked and normalised (:func:`check_item`), in order."""
    return [check_item(n, dict(item)) for n, item in enumerate(items, 1)]


def identifiers(item: dict) -> list[str]:
    """The identifying values of an item (serial, IMEI, frame and engine numbers, plate) for the search index."""
    return [str(item[k]) for k in IDENTIFIERS if item.get(k)]

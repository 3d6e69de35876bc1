"""Search-key normalisation on the backend (sync/backend/index.py)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.backend.index import _suffixes, norm_code, norm_text


def _reference_fold(s: str) -> str:
    """The definition: NFKD, every combining mark dropped, đ/Đ -> d (one character at a time)."""
    s = unicodedata.normalize("NFKD", s.replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c))


def test_vietnamese_names_and_codes():
    assert norm_text("  Nguyễn   Văn ĐỨC ") == "nguyen van duc"
    assert norm_text("Trần Thị Ngọc Ánh") == "tran thi ngoc anh"
    assert norm_code("imei 35-2099 117654 ") == "IMEI352099117654"
    assert norm_code("Số 0791\x0088") == "SO079188"
    assert _suffixes(norm_text("Nguyễn Văn An")) == ["nguyen van an", "van an", "an"]
    assert len(_suffixes(norm_text(" ".join(f"w{i}" for i in range(20))))) == 12
    assert norm_text(None) == norm_code(None) == "" and _suffixes(norm_text("  ")) == []


def test_every_latin_and_combining_code_point_folds_as_defined():
    for cp in list(range(0x20, 0x2000)) + list(range(0x1E00, 0x1F00)):
        for text in (chr(cp), f"a{chr(cp)}b", f"Đ{chr(cp)} x"):
            assert norm_text(text) == " ".join(_reference_fold(text).lower().split()), hex(cp)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_any_text_folds_as_defined(text):
    assert norm_text(text) == " ".join(_reference_fold(text.replace("\x00", "")).lower().split())


# Vietnamese letters: 12 vowels (a ă â e ê i o ô ơ u ư y) with no tone and the five tones
# (huyền, sắc, hỏi, ngã, nặng), and đ; each in lower and upper case.
_VOWELS = {"a": "a", "ă": "a", "â": "a", "e": "e", "ê": "e", "i": "i", "o": "o", "ô": "o", "ơ": "o",
           "u": "u", "ư": "u", "y": "y"}
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def _vietnamese_letters() -> list[tuple[str, str]]:
    letters = [("đ", "d"), ("Đ", "d")]
    for vowel, base in _VOWELS.items():
        for tone in _TONES:
            lower = unicodedata.normalize("NFC", vowel + tone)
            letters += [(lower, base), (lower.upper(), base)]
    return letters


def test_every_vietnamese_letter_is_a_single_precomposed_character():
    letters = _vietnamese_letters()
    assert len(letters) == 2 + 12 * 6 * 2
    assert all(len(letter) == 1 for letter, _ in letters)  # the tables above are real letters


def test_shop_and_backend_fold_every_vietnamese_diacritic_alike():
    from verifier.ledger.pawn_search import fold_text

    for letter, base in _vietnamese_letters():
        for form in ("NFC", "NFD"):
            name = unicodedata.normalize(form, f"Nguy{letter}n  V{letter}n {letter}ức")
            expected = f"nguy{base}n v{base}n {base}uc"
            assert fold_text(name) == norm_text(name) == expected, (letter, form)
    whole = " ".join(letter for letter, _ in _vietnamese_letters())
    assert fold_text(whole) == norm_text(whole) == " ".join(base for _, base in _vietnamese_letters())
    assert fold_text("Trần Thị Ngọc Ánh") == norm_text("Trần Thị Ngọc Ánh") == "tran thi ngoc anh"


def test_the_shops_contract_payload_is_indexed_by_its_documented_keys():
    """The payload the pawn book builds (verifier.results.ContractPayload) is what the index reads:
    the contract's id, the pawner's ID number and name, item serials and descriptions; other
    spellings of those keys are not read."""
    import datetime as dt

    from sync.backend.index import index_entry
    from tests.service.conftest import face_decision, scan_result
    from verifier.ledger.entry import GENESIS, Entry
    from verifier.ledger.pawn_contract import contract_payload

    form = {"items": [{"description": "Điện thoại iPhone 13", "category": "phone", "serial": "f2lx-k0ab"}],
            "valuation_vnd": 5_000_000, "loan_vnd": 3_000_000, "interest_rate_year_pct": 12.0, "term_days": 30}
    payload = contract_payload(scan_result(), face_decision(), form, user="clerk-1", role="clerk",
                               face_confirmed_by=None, override=None, photos={}, scan_id="s1", demo=False,
                               rate=12.0, start=dt.date(2026, 11, 23)).to_json()
    payload.update(number=1, contract_no="HĐ-2026-000001")
    entry = Entry(1, "dev", "2026-11-23T02:00:00.000000Z", "transaction", payload, GENESIS, False)
    indexed = index_entry(entry)
    assert indexed.contract_no == "HĐ-2026-000001" and indexed.txn_ref == payload["id"]
    assert ("id", "079090001234") in indexed.keys and ("name", "van an") in indexed.keys
    assert ("serial", "F2LXK0AB") in indexed.keys and indexed.search_text == "dien thoai iphone 13 phone"
    assert payload["face"]["score"] == 80 and payload["face"]["thresholds"] == {"match": 0.45, "no_match": 0.6}
    other = {"type": "pawn_contract", "id": "x", "customer": {"id_number": "079090001234", "name": "Nguyễn Văn An"}}
    assert [k for k in index_entry(Entry(2, "dev", entry.ts, "transaction", other, GENESIS, False)).keys
            if k[0] in ("id", "name")] == []

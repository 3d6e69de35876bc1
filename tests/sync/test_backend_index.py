"""Search-key normalisation on the backend (sync/backend/index.py)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.backend.index import name_suffixes, norm_code, norm_text


def _reference_fold(s: str) -> str:
    """The definition: NFKD, every combining mark dropped, đ/Đ -> d (one character at a time)."""
    s = unicodedata.normalize("NFKD", s.replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c))


def test_vietnamese_names_and_codes():
    assert norm_text("  Nguyễn   Văn ĐỨC ") == "nguyen van duc"
    assert norm_text("Trần Thị Ngọc Ánh") == "tran thi ngoc anh"
    assert norm_code("imei 35-2099 117654 ") == "IMEI352099117654"
    assert norm_code("Số 0791\x0088") == "SO079188"
    assert name_suffixes("Nguyễn Văn An") == ["nguyen van an", "van an", "an"]
    assert len(name_suffixes(" ".join(f"w{i}" for i in range(20)))) == 12
    assert norm_text(None) == norm_code(None) == "" and name_suffixes("  ") == []


def test_every_latin_and_combining_code_point_folds_as_defined():
    for cp in list(range(0x20, 0x2000)) + list(range(0x1E00, 0x1F00)):
        for text in (chr(cp), f"a{chr(cp)}b", f"Đ{chr(cp)} x"):
            assert norm_text(text) == " ".join(_reference_fold(text).lower().split()), hex(cp)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_any_text_folds_as_defined(text):
    assert norm_text(text) == " ".join(_reference_fold(text.replace("\x00", "")).lower().split())

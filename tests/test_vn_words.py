"""verifier.vn_words: Vietnamese amounts in words, against hand-checked readings and a reverse parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.vn_words import capitalise, number_words, vnd_words

# each reading checked by hand against the rules in the module docstring ("linh", "mốt", "lăm", "bốn", "không trăm")
KNOWN = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi bốn"),
    (25, "hai mươi lăm"),
    (55, "năm mươi lăm"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (999, "chín trăm chín mươi chín"),
    (1_000, "một nghìn"),
    (1_001, "một nghìn không trăm linh một"),
    (1_015, "một nghìn không trăm mười lăm"),
    (1_050, "một nghìn không trăm năm mươi"),
    (2_021, "hai nghìn không trăm hai mươi mốt"),
    (10_000, "mười nghìn"),
    (15_000, "mười lăm nghìn"),
    (21_000, "hai mươi mốt nghìn"),
    (105_000, "một trăm linh năm nghìn"),
    (500_000, "năm trăm nghìn"),
    (1_000_000, "một triệu"),
    (1_000_005, "một triệu không trăm linh năm"),
    (1_000_100, "một triệu một trăm"),
    (1_005_000, "một triệu không trăm linh năm nghìn"),
    (1_500_000, "một triệu năm trăm nghìn"),
    (10_500_000, "mười triệu năm trăm nghìn"),
    (25_750_000, "hai mươi lăm triệu bảy trăm năm mươi nghìn"),
    (123_456_789, "một trăm hai mươi ba triệu bốn trăm năm mươi sáu nghìn bảy trăm tám mươi chín"),
    (1_000_000_000, "một tỷ"),
    (1_000_000_005, "một tỷ không trăm linh năm"),
    (1_000_001_000, "một tỷ không trăm linh một nghìn"),
    (2_500_000_000, "hai tỷ năm trăm triệu"),
    (1_234_000_000_000, "một nghìn hai trăm ba mươi bốn tỷ"),
    (10**12, "một nghìn tỷ"),
    (10**12 + 5, "một nghìn tỷ không trăm linh năm"),
    (10**15, "một triệu tỷ"),
    (10**18, "một tỷ tỷ"),
]


@pytest.mark.parametrize(("n", "words"), KNOWN)
def test_known_readings(n, words):
    assert number_words(n) == words
    assert vnd_words(n) == words + " đồng"


def test_the_issue_examples():
    assert vnd_words(10_500_000) == "mười triệu năm trăm nghìn đồng"
    assert vnd_words(1_000_005) == "một triệu không trăm linh năm đồng"
    assert vnd_words(0) == "không đồng"
    assert vnd_words(10_500_000, capital=True) == "Mười triệu năm trăm nghìn đồng"
    assert capitalise("một đồng") == "Một đồng" and capitalise("") == ""


@pytest.mark.parametrize("bad", [-1, 1.5, "10", None, True])
def test_bad_input_is_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        vnd_words(bad)


_DIGIT = {"không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "năm": 5, "lăm": 5, "sáu": 6, "bảy": 7,
          "tám": 8, "chín": 9}


def parse(words: str) -> int:
    """The reverse reading, written independently of the module: words -> number."""
    result = acc = small = last = 0
    for w in words.split():
        if w in _DIGIT:
            last = _DIGIT[w]
            small += last
        elif w == "mười":
            small += 10
        elif w == "mươi":
            small += last * 9  # the digit already counted once as a unit becomes tens
        elif w == "trăm":
            small += last * 99
        elif w == "linh":
            pass
        elif w == "nghìn":
            acc, small = acc + small * 1000, 0
        elif w == "triệu":
            acc, small = acc + small * 1_000_000, 0
        elif w == "tỷ":
            result, acc, small = (result + acc + small) * 10**9, 0, 0
        else:
            raise ValueError(w)
    return result + acc + small


def test_parser_reads_the_known_cases():
    for n, words in KNOWN:
        assert parse(words) == n


@given(st.integers(min_value=0, max_value=10**18))
def test_words_parse_back(n):
    words = vnd_words(n)
    assert words.endswith(" đồng")
    assert parse(words.removesuffix(" đồng")) == n


@given(st.integers(min_value=0, max_value=10**15))
def test_reading_rules_hold(n):
    words = number_words(n).split()
    for a, b in zip(words, words[1:]):
        assert not (a == "mười" and b == "mốt")  # 11 is "mười một"
        assert not (a == "linh" and b in ("mốt", "lăm"))  # 101 / 105: "linh một" / "linh năm"
        assert not (a == "mươi" and b == "năm")  # 25: "hai mươi lăm"
        assert not (a == "mươi" and b == "một")  # 21: "hai mươi mốt"

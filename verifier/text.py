"""The one Vietnamese text normaliser, for every layer that compares or searches names.

Users: the shop's pawn book (:mod:`verifier.ledger.pawn_search`) and the police backend
(:mod:`sync.backend.index`) index and search with it; the protocol core compares with it
(DG13's "Không thời hạn" in :mod:`verifier.cccd.dg13`, a CSCA's name in :mod:`verifier.trust.cccd`).
Pure standard library (``unicodedata``, ``re``), so it sits in the bottom layer next to
:mod:`verifier.errors` and every package may import it.

A clerk types "Nguyễn Văn Đức", an inspector searches "nguyen van duc": both sides fold text
the same way, so a name indexed at the counter is found at the backend and the other way round.
Folding is Unicode NFKD (UAX #15) with every combining mark dropped, đ/Đ -> d, lower case and
single spaces: 'Nguyễn  Văn ĐỨC' -> 'nguyen van duc'. Letters of other scripts and punctuation
are kept; a caller that wants words of letters and digits only splits further.

Performance (the backend folds every entry it ingests): ASCII text takes one C call; other
text is folded word by word with each word cached once per process, since names and item words
repeat from entry to entry (whitespace is a starter in NFKD and ends a word for ``lower()``, so
folding word by word equals folding the whole text).
"""

from __future__ import annotations

import re
import unicodedata

# the combining marks Vietnamese (and most Latin) letters decompose into; U+034F, the grapheme
# joiner, is no mark (combining class 0) and stays, as unicodedata.combining would keep it
_VI_MARKS = re.compile("[\u0300-\u034e\u0350-\u036f]+")

_folded_words: dict[str, str] = {}
_FOLDED_WORDS_MAX = 100_000  # a few MB at most; emptied when full


def strip_marks(s: str) -> str:
    """Diacritics dropped and đ -> d ('Nguyễn Văn Đức' -> 'Nguyen Van duc'), through NFKD; case kept.
    Latin letters (Vietnamese among them) take two C calls; marks of other scripts are found
    one character at a time."""
    s = unicodedata.normalize("NFKD", s.replace("đ", "d").replace("Đ", "d"))
    s = _VI_MARKS.sub("", s)
    if s.isascii():
        return s
    return "".join(c for c in s if not unicodedata.combining(c))


def fold(s: str) -> str:
    """'Nguyễn  Văn ĐỨC' -> 'nguyen van duc': diacritics dropped, đ -> d, lower case, single spaces."""
    if s.isascii():
        return " ".join(s.lower().split())
    words = []
    for w in s.split():
        f = _folded_words.get(w)
        if f is None:
            f = " ".join(strip_marks(w).lower().split())  # a word may fold to none, or to several
            if len(_folded_words) >= _FOLDED_WORDS_MAX:
                _folded_words.clear()
            _folded_words[w] = f
        if f:
            words.append(f)
    return " ".join(words)

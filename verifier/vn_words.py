"""Vietnamese amounts in words ("bằng chữ") for contracts and receipts: 10.500.000 -> "mười triệu năm trăm nghìn đồng".

A pawn contract and a receipt state every amount in figures and in words (the usual practice for
money documents; Decree 96/2016/NĐ-CP art. 29 asks the pawn book for the amounts, and the words
stop a figure from being altered after signing). Pure standard library: it sits in the bottom layer
and every package may import it.

Reading rules (the standard reading of Vietnamese numbers, as on invoices and bank documents):

- digits: không, một, hai, ba, bốn, năm, sáu, bảy, tám, chín;
- numbers are read in groups of three digits: "X trăm", tens, units, then the group's scale:
  nghìn (10^3), triệu (10^6), tỷ (10^9), and above that the scales repeat in front of "tỷ":
  nghìn tỷ (10^12), triệu tỷ (10^15), tỷ tỷ (10^18); a group that is all zeros is not read;
- "mười" for the tens digit 1 (10-19), "X mươi" for tens 2-9;
- a zero tens digit with a non-zero unit after a hundred is read "linh" (the southern "lẻ" is
  not used): 105 = "một trăm linh năm";
- "mốt" for a unit 1 after tens >= 2 (21 = "hai mươi mốt"; 11 = "mười một", 101 = "một trăm linh một");
- "lăm" for a unit 5 after tens >= 1 (15 = "mười lăm", 25 = "hai mươi lăm"; 105 = "một trăm linh năm");
- a unit 4 is always "bốn" (24 = "hai mươi bốn"): "tư" after tens >= 2 is an optional variant, not used,
  so each number has exactly one reading;
- every group after the first read one is read with its hundreds, "không trăm" when that digit is 0:
  1.000.005 = "một triệu không trăm linh năm", 1.050 = "một nghìn không trăm năm mươi";
- 0 = "không".
"""

from __future__ import annotations

__all__ = ["number_words", "vnd_words", "capitalise"]

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_BILLION = 10**9
_SCALES = ((10**6, "triệu"), (10**3, "nghìn"), (1, ""))


def _group(n: int, full: bool) -> list[str]:
    """One group of three digits (1..999); ``full``: read the hundreds even when 0 ("không trăm")."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    out: list[str] = []
    if hundreds or full:
        out += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and out:
            out.append("linh")
    elif tens == 1:
        out.append("mười")
    else:
        out += [DIGITS[tens], "mươi"]
    if units:
        if units == 1 and tens >= 2:
            out.append("mốt")
        elif units == 5 and tens >= 1:
            out.append("lăm")
        else:
            out.append(DIGITS[units])
    return out


def _words(n: int, leading: bool) -> list[str]:
    """``n`` > 0; ``leading``: nothing was read before it (its first group keeps a zero hundreds silent)."""
    if n >= _BILLION:
        high, low = divmod(n, _BILLION)
        out = _words(high, leading) + ["tỷ"]
        return out + _words(low, False) if low else out
    out = []
    for scale, name in _SCALES:
        group = n // scale % 1000
        if group:
            out += _group(group, full=not leading)
            if name:
                out.append(name)
            leading = False
    return out


def number_words(n: int) -> str:
    """A whole number >= 0 in Vietnamese words, lower case: 1_000_005 -> "một triệu không trăm linh năm"."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"a whole number is expected, found {type(n).__name__}")
    if n < 0:
        raise ValueError(f"an amount >= 0 is expected, found {n}")
    return "không" if n == 0 else " ".join(_words(n, True))


def capitalise(text: str) -> str:
    """First letter upper case, the rest untouched ("mười đồng" -> "Mười đồng"), as printed on a document."""
    return text[:1].upper() + text[1:]


def vnd_words(n: int, *, capital: bool = False) -> str:
    """An amount of đồng in words: 10_500_000 -> "mười triệu năm trăm nghìn đồng"; 0 -> "không đồng".

    ``capital=True`` capitalises the first letter, for the start of a printed line ("Bằng chữ: ...").
    """
    text = number_words(n) + " đồng"
    return capitalise(text) if capital else text

"""The QR code printed on the front of a chipped CCCD, and the card expiry it implies.

Observed layout (fields separated by ``|``)::

    ID12|oldID9|Full Name|DDMMYYYY birth|Nam or Nữ|address|DDMMYYYY issue

Variants seen in the field: the old ID empty or left out altogether (6 fields), extra
trailing fields on newer cards, a UTF-8 BOM, surrounding whitespace or a trailing newline.

The QR has no expiry date. It follows from the renewal ages (Law on CCCD 59/2014/QH13
Art. 21, Law on Identification 26/2023/QH15 Art. 21): a card is renewed at 14 (cards
issued under 14 since 2024), 25, 40 and 60; a card issued within 2 years before one of
those ages runs to the next one; after the last one it has no expiry ("không thời hạn").
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from verifier.errors import LimitExceededError, ParseError

MAX_QR_CHARS = 2048
RENEWAL_AGES = (14, 25, 40, 60)
GRACE_YEARS = 2


class _NoExpiry:
    """Sentinel for a card without expiry ("Không thời hạn").

    ICAO 9303-3 §4.2.2 fills an absent date with ``<`` characters; the MRZ of such a card
    is taken to carry ``<<<<<<`` in the date of expiry field (check digit 0).
    """

    mrz = "<<<<<<"
    text_vi = "Không thời hạn"

    def __repr__(self) -> str:
        return "NO_EXPIRY"

    def __reduce__(self):
        return "NO_EXPIRY"


NO_EXPIRY = _NoExpiry()


@dataclass(frozen=True)
class CardQR:
    raw: str
    id_number: str
    old_id_number: str | None
    full_name: str
    date_of_birth: _dt.date
    sex: str  # as printed: "Nam" / "Nữ"
    address: str
    date_of_issue: _dt.date | None
    extra: tuple[str, ...] = ()  # trailing fields beyond the known seven

    def __repr__(self) -> str:  # personal data stays out of logs
        return f"CardQR(old_id={'yes' if self.old_id_number else 'no'}, extra={len(self.extra)}, <redacted>)"

    @property
    def sex_code(self) -> str | None:
        t = self.sex.strip().casefold()
        return "M" if t in ("nam", "m", "male") else "F" if t in ("nữ", "nu", "f", "female") else None


def _date(text: str, what: str) -> _dt.date:
    t = text.strip()
    if len(t) != 8 or not t.isdigit():
        raise ParseError(f"card QR {what}: expected DDMMYYYY, found {t[:12]!r}")
    try:
        return _dt.date(int(t[4:]), int(t[2:4]), int(t[:2]))
    except ValueError as e:
        raise ParseError(f"card QR {what}: {t!r} is not a calendar date") from e


def _is_digits(text: str, *lengths: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) in lengths


def parse_card_qr(text: str | bytes) -> CardQR:
    """Parse the QR text of a CCCD. Raises :class:`ParseError` when it is not one."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError("card QR: text is not UTF-8") from e
    if len(text) > MAX_QR_CHARS:
        raise LimitExceededError(f"card QR: {len(text)} characters, at most {MAX_QR_CHARS} allowed")
    raw = text
    text = text.lstrip("\ufeff").strip()
    fields = [f.strip() for f in text.split("|")]
    if len(fields) < 6:
        raise ParseError(f"card QR: expected 6 or 7 fields separated by '|', found {len(fields)}")
    if not _is_digits(fields[0], 12):
        raise ParseError("card QR: first field should be the 12-digit ID number")
    # 7-field layout: the 4th field is the birth date; 6-field layout (old ID left out): the 3rd is.
    if len(fields) >= 7 and _is_digits(fields[3], 8) and (fields[1] == "" or _is_digits(fields[1], 9, 12)):
        old, name, birth, sex, address, issue, extra = (fields[1] or None, fields[2], fields[3], fields[4],
                                                       fields[5], fields[6], fields[7:])
    elif _is_digits(fields[2], 8):
        old, name, birth, sex, address, issue, extra = None, fields[1], fields[2], fields[3], fields[4], fields[5], fields[6:]
    else:
        raise ParseError("card QR: no DDMMYYYY birth date in the 3rd or 4th field")
    if not name:
        raise ParseError("card QR: full name is empty")
    born = _date(birth, "birth date")
    _birthday(born, RENEWAL_AGES[-1])  # every renewal age must be a date: year 9940 or later is refused here
    return CardQR(raw=raw, id_number=fields[0], old_id_number=old, full_name=name,
                  date_of_birth=born, sex=sex, address=address,
                  date_of_issue=_date(issue, "issue date") if issue else None, extra=tuple(extra))


def _year_in_range(year: int, what: str) -> int:
    if not _dt.MINYEAR <= year <= _dt.MAXYEAR:
        raise ParseError(f"card QR: {what} falls in year {year}, outside 1-9999: not a plausible date")
    return year


def _birthday(birth: _dt.date, age: int) -> _dt.date:
    year = _year_in_range(birth.year + age, f"the renewal at age {age}")
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return _dt.date(year, 2, 28)


def _minus_years(d: _dt.date, years: int) -> _dt.date:
    year = _year_in_range(d.year - years, f"{years} years before a renewal")
    try:
        return d.replace(year=year)
    except ValueError:
        return _dt.date(year, 2, 28)


def _plus_days(d: _dt.date, days: int) -> _dt.date:
    try:
        return d + _dt.timedelta(days=days)
    except OverflowError as e:
        raise ParseError(f"card QR: a day next to a renewal falls outside years 1-9999 ({d.year})") from e


def expiry_for(birth: _dt.date, issue: _dt.date) -> _dt.date | _NoExpiry:
    """The expiry the renewal rule gives: the birthday at the first renewal age that is more
    than 2 years after the issue date, or :data:`NO_EXPIRY` when there is none."""
    for age in RENEWAL_AGES:
        milestone = _birthday(birth, age)
        if issue < _minus_years(milestone, GRACE_YEARS):
            return milestone
    return NO_EXPIRY


def expiry_candidates(birth: _dt.date, issue: _dt.date | None) -> list:
    """Expiry dates to try, best first: the rule's answer, then its neighbours (the chip decides).

    Neighbours: the adjacent renewal ages (the 2-year window is counted differently by
    different offices), the day before the birthday, 1 March for a 29 February birth,
    and :data:`NO_EXPIRY`. Without an issue date every renewal age is a candidate.
    """
    milestones = [_birthday(birth, age) for age in RENEWAL_AGES]
    out: list = []

    def add(c) -> None:
        if c not in out:
            out.append(c)

    if issue is None:
        for m in milestones:
            add(m)
        add(NO_EXPIRY)
        return out
    best = expiry_for(birth, issue)
    add(best)
    index = milestones.index(best) if best is not NO_EXPIRY else len(milestones)
    if index < len(milestones):
        add(_plus_days(milestones[index], -1))
        if birth.month == 2 and birth.day == 29:
            add(_plus_days(milestones[index], 1))
    if index + 1 < len(milestones):
        add(milestones[index + 1])
    elif index + 1 == len(milestones):
        add(NO_EXPIRY)
    if index - 1 >= 0 and milestones[index - 1] > issue:
        add(milestones[index - 1])
    return out

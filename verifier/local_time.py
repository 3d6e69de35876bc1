"""The one way a time is shown to a person: Vietnam local time, labelled.

Storage, the ledger and the API's JSON keep UTC ISO 8601 (:func:`verifier.ledger.entry.utc_text`,
``2026-12-05T18:30:00.000000Z``); what a clerk, a customer on a printed contract or an inspector
reads is the local time of Asia/Ho_Chi_Minh with its label, so nobody has to add seven hours:

    >>> local_time("2026-12-05T18:30:00Z")
    '01:30 06/12/2026 (giờ Việt Nam)'
    >>> local_time("2026-12-05T18:30:00Z", "en")
    '01:30 06/12/2026 (Vietnam time)'

Vietnam is UTC+07:00 all year (no daylight saving time since 1975; IANA tz database zone
``Asia/Ho_Chi_Minh``), so a fixed offset is exact and needs no tz database on the machine.
The browser's twin is ``localTime`` in ``verifier/api/static/common.js`` (same format, same label).

Pure standard library: it sits in the bottom layer so the counter service, its pages, the PDF and
the police backend's pages all use it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from verifier.errors import InputError

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Asia/Ho_Chi_Minh: UTC+07:00, no daylight saving time

#: The label after every shown time, by language (``service.language``: vi or en).
LABELS = {"vi": "giờ Việt Nam", "en": "Vietnam time"}


def parse_utc(value: datetime | str) -> datetime:
    """A stored time (ISO 8601 text, ``Z`` or an offset; or a datetime) as an aware datetime.
    A time without an offset is UTC, as storage writes it. Raises :class:`InputError`."""
    if isinstance(value, datetime):
        t = value
    else:
        text = str(value).strip()
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as e:
            raise InputError(f"expected an ISO 8601 time such as 2026-12-05T18:30:00Z, found {text[:40]!r}") from e
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def unix_time(value: datetime | str | None) -> float:
    """A stored time as Unix seconds, 0.0 when there is none or it is not a time (Prometheus gauges)."""
    if not value:
        return 0.0
    try:
        return parse_utc(value).timestamp()
    except InputError:
        return 0.0


def local_time(value: datetime | str | None, lang: str = "vi", *, seconds: bool = False, label: bool = True) -> str:
    """``HH:MM dd/mm/yyyy (giờ Việt Nam)`` for a stored UTC time; ``""`` for none. The label is
    in ``lang`` (vi, else en). A text that is no time is shown as it is (a page never fails on it)."""
    if value is None or value == "":
        return ""
    try:
        t = parse_utc(value).astimezone(VN_TZ)
    except InputError:
        return str(value)
    text = t.strftime("%H:%M:%S %d/%m/%Y" if seconds else "%H:%M %d/%m/%Y")
    return f"{text} ({LABELS['en' if lang == 'en' else 'vi']})" if label else text


def local_date(value: date | datetime | str | None) -> str:
    """``dd/mm/yyyy``: a calendar date (due dates, birth dates: already local, shown as they are) or
    the Vietnam date of a stored UTC time (``2026-12-05T18:30Z`` -> ``06/12/2026``); ``""`` for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) or (isinstance(value, str) and len(value.strip()) > 10):
        try:
            return parse_utc(value).astimezone(VN_TZ).strftime("%d/%m/%Y")
        except InputError:
            return str(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    try:
        return date.fromisoformat(value.strip()).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)

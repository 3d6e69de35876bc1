"""The CCCD front QR and the expiry derived from the renewal ages 14/25/40/60."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.cccd.qr import NO_EXPIRY, expiry_candidates, expiry_for, parse_card_qr
from verifier.errors import LimitExceededError, ParseError

QR7 = "079090001234|025123456|Nguyễn Văn An|15031990|Nam|123 Lê Lợi, Quận 1, TP. Hồ Chí Minh|20042021"


def test_seven_fields():
    qr = parse_card_qr(QR7)
    assert qr.id_number == "079090001234"
    assert qr.old_id_number == "025123456"
    assert qr.full_name == "Nguyễn Văn An"
    assert qr.date_of_birth == dt.date(1990, 3, 15)
    assert qr.sex == "Nam" and qr.sex_code == "M"
    assert qr.address.startswith("123 Lê Lợi")
    assert qr.date_of_issue == dt.date(2021, 4, 20)
    assert qr.extra == ()


@pytest.mark.parametrize("text", [
    "\ufeff" + QR7, "  " + QR7 + "\r\n", QR7.encode("utf-8"), "\ufeff" + QR7 + "\n",
])
def test_bom_whitespace_bytes(text):
    assert parse_card_qr(text).date_of_issue == dt.date(2021, 4, 20)


def test_empty_old_id():
    qr = parse_card_qr(QR7.replace("|025123456|", "||"))
    assert qr.old_id_number is None and qr.full_name == "Nguyễn Văn An"


def test_six_fields_old_id_left_out():
    qr = parse_card_qr("001195012345|Trần Thị Bé|01071995|Nữ|Hà Nội|10012022")
    assert qr.old_id_number is None
    assert qr.full_name == "Trần Thị Bé" and qr.sex_code == "F"
    assert qr.date_of_issue == dt.date(2022, 1, 10)


def test_extra_trailing_fields_are_kept():
    qr = parse_card_qr(QR7 + "|Nguyễn Văn Bình|Trần Thị Cúc|")
    assert qr.date_of_issue == dt.date(2021, 4, 20)
    assert qr.extra == ("Nguyễn Văn Bình", "Trần Thị Cúc", "")


def test_twelve_digit_old_id_and_missing_issue():
    qr = parse_card_qr("079090001234|079090001234|An|15031990|Nam|x|")
    assert qr.old_id_number == "079090001234" and qr.date_of_issue is None


@pytest.mark.parametrize("text, message", [
    ("", "expected 6 or 7 fields"),
    ("hello world", "expected 6 or 7 fields"),
    ("a|b|c|d|e|f|g", "12-digit ID"),
    ("07909000123|x|An|15031990|Nam|addr|20042021", "12-digit ID"),
    ("079090001234|x|An|1503199|Nam|addr|20042021", "no DDMMYYYY"),
    ("079090001234|025123456|An|32131990|Nam|addr|20042021", "not a calendar date"),
    ("079090001234|025123456|An|15031990|Nam|addr|2004202", "DDMMYYYY"),
    ("079090001234|025123456||15031990|Nam|addr|20042021", "name is empty"),
    (b"\xff\xfe\x00", "not UTF-8"),
])
def test_garbage_is_a_parse_error(text, message):
    with pytest.raises(ParseError, match=message):
        parse_card_qr(text)


def test_huge_input_is_refused():
    with pytest.raises(LimitExceededError):
        parse_card_qr("0" * 100_000)


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text):
    try:
        parse_card_qr(text)
    except ParseError:
        pass


# --- expiry rules -----------------------------------------------------------------------------

BORN = dt.date(1990, 3, 15)


@pytest.mark.parametrize("issue, expected", [
    (dt.date(2008, 1, 1), dt.date(2015, 3, 15)),   # issued at 17 -> renew at 25
    (dt.date(2013, 3, 14), dt.date(2015, 3, 15)),  # 2 years and a day before 25 -> still 25
    (dt.date(2013, 3, 15), dt.date(2030, 3, 15)),  # exactly 2 years before 25 -> runs to 40
    (dt.date(2014, 6, 1), dt.date(2030, 3, 15)),   # within 2 years before 25 -> 40
    (dt.date(2021, 4, 20), dt.date(2030, 3, 15)),  # issued at 31 -> 40
    (dt.date(2028, 3, 14), dt.date(2030, 3, 15)),
    (dt.date(2028, 3, 15), dt.date(2050, 3, 15)),  # within 2 years before 40 -> 60
    (dt.date(2048, 3, 14), dt.date(2050, 3, 15)),
    (dt.date(2048, 3, 15), NO_EXPIRY),             # within 2 years before 60 -> no expiry
    (dt.date(2055, 1, 1), NO_EXPIRY),              # after 60 -> no expiry
])
def test_renewal_rule(issue, expected):
    assert expiry_for(BORN, issue) is expected if expected is NO_EXPIRY else expiry_for(BORN, issue) == expected


def test_child_card_renews_at_14():
    assert expiry_for(dt.date(2015, 6, 1), dt.date(2024, 8, 1)) == dt.date(2029, 6, 1)


def test_candidates_best_first_then_neighbours():
    c = expiry_candidates(BORN, dt.date(2021, 4, 20))
    assert c[0] == dt.date(2030, 3, 15)
    assert dt.date(2030, 3, 14) in c and dt.date(2050, 3, 15) in c
    assert len(c) == len(set(map(repr, c)))


def test_candidates_near_a_boundary_include_the_earlier_milestone():
    c = expiry_candidates(BORN, dt.date(2013, 6, 1))
    assert c[0] == dt.date(2030, 3, 15)
    assert dt.date(2015, 3, 15) in c


def test_candidates_after_60():
    c = expiry_candidates(BORN, dt.date(2049, 1, 1))
    assert c[0] is NO_EXPIRY
    assert dt.date(2050, 3, 15) in c


def test_candidates_just_before_the_last_window():
    c = expiry_candidates(BORN, dt.date(2048, 1, 1))
    assert c[0] == dt.date(2050, 3, 15)
    assert NO_EXPIRY in c


def test_candidates_without_issue_date_are_every_milestone():
    c = expiry_candidates(BORN, None)
    assert c == [dt.date(2004, 3, 15), dt.date(2015, 3, 15), dt.date(2030, 3, 15), dt.date(2050, 3, 15), NO_EXPIRY]


def test_29_february():
    born = dt.date(2000, 2, 29)
    assert expiry_for(born, dt.date(2018, 1, 1)) == dt.date(2025, 2, 28)
    assert dt.date(2025, 3, 1) in expiry_candidates(born, dt.date(2018, 1, 1))


def test_sentinel():
    assert NO_EXPIRY.mrz == "<<<<<<" and repr(NO_EXPIRY) == "NO_EXPIRY"


# --- dates beyond the calendar (issue 15 item 10) ---------------------------------------------

@pytest.mark.parametrize("birth", ["01019990", "31129940", "01019999"])
def test_birth_year_whose_renewals_leave_the_calendar_is_a_parse_error(birth):
    with pytest.raises(ParseError, match="outside 1-9999"):
        parse_card_qr(f"079090001234|025123456|An|{birth}|Nam|x|20042021")


def test_birth_year_9990_through_the_access_keys_is_an_access_key_error():
    from verifier.cccd.access import keys_from_qr
    from verifier.errors import AccessKeyError

    with pytest.raises(AccessKeyError, match="not a plausible date"):
        keys_from_qr("079090001234|025123456|An|01019990|Nam|x|20042021")


def test_last_accepted_birth_year_still_yields_candidates():
    qr = parse_card_qr("079090001234|025123456|An|31129939|Nam|x|20042021")
    assert expiry_candidates(qr.date_of_birth, qr.date_of_issue)[0] == dt.date(9953, 12, 31)


@pytest.mark.parametrize("birth, issue", [
    (dt.date(9985, 12, 31), dt.date(9990, 1, 1)),  # age 25 in year 10010
    (dt.date(9985, 12, 31), None),
    (dt.date(1, 1, 1), dt.date(1, 1, 1)),
])
def test_expiry_rules_at_the_ends_of_the_calendar_raise_only_parse_errors(birth, issue):
    try:
        candidates = expiry_candidates(birth, issue)
    except ParseError:
        return
    assert candidates  # year 1 works: every milestone is a date

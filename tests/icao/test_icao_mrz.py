"""MRZ: ICAO 9303 check digits, TD1 / TD3 parsing, CCCD layout, Hypothesis round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import MRZError
from verifier.icao.mrz import (check_digit, cccd_optional_data, format_cccd_td1, format_td1, format_td3,
                               parse_mrz)

# ICAO 9303-4 Appendix B / 9303-11 Appendix D.1 specimen passport
TD3 = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
       "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
# ICAO 9303-5 specimen TD1 card
TD1 = ("I<UTOD231458907<<<<<<<<<<<<<<<\n"
       "7408122F1204159UTO<<<<<<<<<<<6\n"
       "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")


def test_d1_check_digits():
    assert check_digit("L898902C<") == "3"
    assert check_digit("690806") == "1"
    assert check_digit("940623") == "6"
    assert check_digit("520727") == "3"
    assert check_digit("<<<<") == "0"
    with pytest.raises(MRZError):
        check_digit("abc")


def test_parse_td3_specimen():
    m = parse_mrz(TD3)
    assert (m.format, m.document_code, m.issuing_state, m.document_number) == ("TD3", "P", "UTO", "L898902C3")
    assert (m.date_of_birth, m.sex, m.date_of_expiry, m.nationality) == ("740812", "F", "120415", "UTO")
    assert m.optional_data == "ZE184226B"
    assert (m.primary_identifier, m.secondary_identifier) == ("ERIKSSON", "ANNA MARIA")
    assert all(m.check_digits_ok.values()) and m.valid
    assert parse_mrz(TD3.replace("\n", "")) == m


def test_parse_td1_specimen():
    m = parse_mrz(TD1)
    assert (m.format, m.document_code, m.issuing_state, m.document_number) == ("TD1", "I", "UTO", "D23145890")
    assert (m.date_of_birth, m.date_of_expiry, m.sex) == ("740812", "120415", "F")
    assert m.valid and m.raw == TD1


def test_strict_names_the_bad_field():
    bad = TD3.replace("7408122F", "7408123F")
    with pytest.raises(MRZError, match="date_of_birth"):
        parse_mrz(bad)
    m = parse_mrz(bad, strict=False)
    assert m.check_digits_ok["date_of_birth"] is False and m.check_digits_ok["document_number"] is True
    assert m.check_digits_ok["composite"] is False


@pytest.mark.parametrize("text", ["", "P<UTO", TD3 + "<", TD3.replace("L", "l").replace("P<", "P-"), "x" * 5000])
def test_rejects_malformed(text):
    with pytest.raises(MRZError):
        parse_mrz(text)


def test_cccd_td1_layout():
    mrz = format_cccd_td1("001093047064", "930105", "M", "330105", "Nguyễn", "Văn Đức")
    l1, l2, l3 = mrz.split("\n")
    assert l1 == "IDVNM0930470641001093047064<<2"
    assert l2.startswith("9301054M3301052VNM") and len(l2) == 30
    assert l3 == "NGUYEN<<VAN<DUC<<<<<<<<<<<<<<<"
    m = parse_mrz(mrz)
    assert m.document_number == "093047064" and m.optional_data == "001093047064<<2" and m.valid
    assert cccd_optional_data("001093047064") == "001093047064<<2"
    with pytest.raises(MRZError):
        cccd_optional_data("12345")


def test_td1_long_document_number():
    # ICAO 9303-5 §4.2.4: document number D23145890734, check digit 9 in the optional data
    l1 = "I<UTOD23145890<7349<<<<<<<<<<<"
    l2 = "3407127M9507122UTO<<<<<<<<<<<"
    from verifier.icao.mrz import check_digit as cd
    l2 += cd(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    m = parse_mrz(l1 + l2 + "STEVENSON<<PETER<JOHN<<<<<<<<<")
    assert m.document_number == "D23145890734" and m.valid


_alnum = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=9)
_date = st.dates().map(lambda d: d.strftime("%y%m%d"))
_name = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8)


@given(_alnum, _date, st.sampled_from("MF<"), _date, _name, _name,
       st.text(alphabet="ABC0123456789", max_size=15), st.text(alphabet="XYZ789", max_size=11))
@settings(max_examples=150)
def test_td1_round_trip(docno, dob, sex, doe, primary, secondary, opt1, opt2):
    m = parse_mrz(format_td1(docno, dob, sex, doe, "VNM", primary, secondary, optional_data=opt1,
                             optional_data_2=opt2))
    assert (m.document_number, m.date_of_birth, m.sex, m.date_of_expiry) == (docno, dob, sex, doe)
    assert (m.primary_identifier, m.secondary_identifier, m.optional_data, m.optional_data_2) == \
        (primary, secondary, opt1, opt2)
    assert m.valid


@given(_alnum, _date, st.sampled_from("MF<"), _date, _name, _name, st.text(alphabet="AB0123", max_size=14))
@settings(max_examples=150)
def test_td3_round_trip(docno, dob, sex, doe, primary, secondary, personal):
    m = parse_mrz(format_td3(docno, dob, sex, doe, "UTO", primary, secondary, optional_data=personal))
    assert (m.document_number, m.date_of_birth, m.sex, m.date_of_expiry, m.nationality) == (docno, dob, sex, doe, "UTO")
    assert (m.primary_identifier, m.secondary_identifier, m.optional_data) == (primary, secondary, personal)
    assert m.valid


def test_repr_hides_personal_data():
    m = parse_mrz(TD3)
    assert "ERIKSSON" not in repr(m) and "L898902C" not in repr(m)

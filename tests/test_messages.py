"""The one error catalogue (verifier/messages.py) and the one local-time format (verifier/local_time.py)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from verifier import errors as E
from verifier import messages
from verifier.local_time import local_date, local_time, parse_utc

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("code", sorted(messages.CATALOGUE))
def test_every_code_has_both_languages(code):
    vi, en = messages.CATALOGUE[code]
    assert vi.strip() and en.strip(), code
    assert vi != en or code in messages.SAME_IN_BOTH, code
    assert messages.fields(vi) == messages.fields(en), code
    # the Vietnamese text is Vietnamese: it has letters with diacritics, the English one has none
    assert re.search(r"[ạảãàáâậầấẩẫăắằặẳẵêềếểễệđìíĩỉịòóõỏọôốồổỗộơớờởỡợùúũủụưứừửữựỳýỷỹỵ]", vi.lower()), code
    assert not re.search(r"[ạảãàáậầấẩẫăắằặẳẵềếểễệđìíĩỉịòóõỏọốồổỗộơớờởỡợùúũủụưứừửữựỳýỷỹỵ]", en.lower()), code
    params = {name: 7 for name in messages.fields(vi)}
    assert "{" not in messages.text(code, "vi", params) and "{" not in messages.text(code, "en", params)


def _raised_codes() -> set[str]:
    """Every error code a raise site in the service writes literally (ApiError, ContractRefused, refused)."""
    pattern = re.compile(r"(?:ApiError\(\s*(?:\d{3}|[^,()]+\([^)]*\)[^,]*|\w+)\s*,|ContractRefused\(|refused\()\s*\"([a-z_]+)\"")
    found = set()
    for path in [*REPO.glob("verifier/**/*.py")]:
        found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_raised_code_is_in_the_catalogue():
    raised = _raised_codes()
    assert {"interest_rate_above_cap", "loan_above_valuation", "bad_transition", "scan_not_authentic",
            "face_not_confirmed", "weak_password", "scan_not_found", "unauthenticated"} <= raised  # the scan works
    assert raised - set(messages.CATALOGUE) == set()


def test_every_error_class_has_a_code():
    def leaves(cls):
        subs = cls.__subclasses__()
        return [cls] + [c for s in subs for c in leaves(s)]
    for cls in leaves(E.ChipidError):
        if cls is E.ChipidError or cls.__module__ != "verifier.errors":
            continue
        code = messages.error_code(cls("x"))
        assert code in messages.CATALOGUE and code != "internal_error", cls


def test_error_codes_of_the_counter_failures():
    assert messages.error_code(E.AccessDeniedError("PACE refused", step="PACE", sw=0x63C2)) == "access_key_wrong"
    assert messages.error_code(E.NoCardError("none")) == "no_card"
    assert messages.error_code(E.LedgerFailedError("disk")) == "ledger_failed"
    assert messages.error_code(ValueError("a bug")) == "internal_error"
    own = E.InputError("x")
    own.code = "last_admin"
    assert messages.error_code(own) == "last_admin"


def test_text_fills_fields_and_variants():
    details = {"interest_rate_year_pct": 20.5, "max_interest_rate_year_pct": 20.0}
    assert messages.text("interest_rate_above_cap", "vi", details) == (
        "Lãi suất 20.5%/năm vượt mức tối đa 20%/năm (Điều 468 Bộ luật Dân sự).")
    assert "20.5 %/year exceeds the legal cap of 20 %/year" in messages.text("interest_rate_above_cap", "en", details)
    assert messages.text("weak_password", "vi", {"rule": "too_short", "min": 12}) == "Mật khẩu mới cần ít nhất 12 ký tự."
    assert messages.text("weak_password", "en", {"rule": "nonsense"}) == "The new password cannot be used."
    assert messages.text("user_not_found", "vi") == "Không có người dùng “…”."  # a missing field never raises
    assert messages.text("no_such_code", "en").startswith("Internal error")


@pytest.mark.parametrize("header, fallbacks, lang", [
    ("en-US,en;q=0.9,vi;q=0.8", (), "en"),
    ("vi-VN,vi;q=0.9,en-US;q=0.8", ("en",), "vi"),
    ("fr-FR, en;q=0.5, vi;q=0.7", (), "vi"),
    ("de, fr", ("en", "vi"), "en"),
    (None, (None, "en"), "en"),
    ("", ("xx",), "vi"),
    ("en;q=abc, *;q=0.1", (), "vi"),
    ("EN", (), "en"),
])
def test_choose_language(header, fallbacks, lang):
    assert messages.choose_language(header, *fallbacks) == lang


def test_local_time_near_midnight_is_the_next_day_in_vietnam():
    assert local_time("2026-12-05T18:30:00.000000Z") == "01:30 06/12/2026 (giờ Việt Nam)"
    assert local_time("2026-12-05T18:30:00Z", "en") == "01:30 06/12/2026 (Vietnam time)"
    assert local_time("2026-12-05T16:59:59Z", seconds=True) == "23:59:59 05/12/2026 (giờ Việt Nam)"
    assert local_time(datetime(2026, 12, 5, 18, 30, tzinfo=timezone.utc), label=False) == "01:30 06/12/2026"
    assert local_time("2026-12-05T18:30:00") == "01:30 06/12/2026 (giờ Việt Nam)"  # stored without offset: UTC
    assert local_time("2026-12-06T01:30:00+07:00") == "01:30 06/12/2026 (giờ Việt Nam)"
    assert local_time(None) == "" and local_time("") == ""
    assert local_time("not a time") == "not a time"
    assert local_date("2026-12-05T18:30:00Z") == "06/12/2026" and local_date("2026-12-05") == "05/12/2026"
    with pytest.raises(E.InputError, match="ISO 8601"):
        parse_utc("05/12/2026")

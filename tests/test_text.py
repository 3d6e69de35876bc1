"""verifier/text.py, the one Vietnamese normaliser, as the protocol core uses it.

The shop/backend agreement on every Vietnamese diacritic is tests/sync/test_backend_index.py;
here: DG13's "Không thời hạn" and the CCCD CSCA's name compare through the same fold.
"""

from __future__ import annotations

import unicodedata

import pytest

from drivers.emulator import pki as p
from verifier.cccd.dg13 import NO_EXPIRY_TEXT, is_no_expiry
from verifier.errors import TrustError
from verifier.text import fold
from verifier.trust.cccd import check_presented_csca, shipped_witnesses
from verifier.trust.certs import load_certificate


@pytest.mark.parametrize("text,expected", [
    (NO_EXPIRY_TEXT, True),
    (unicodedata.normalize("NFD", NO_EXPIRY_TEXT), True),
    ("KHÔNG THỜI HẠN", True),
    ("  khong   thoi han ", True),
    ("Không thời hạn.", False),
    ("Không có thời hạn", False),
    ("31/12/2040", False),
    ("", False),
    (None, False),
])
def test_dg13_no_expiry_compares_through_the_one_fold(text, expected):
    assert is_no_expiry(text) is expected
    if text:
        assert is_no_expiry(text) == (fold(text) == fold(NO_EXPIRY_TEXT) == "khong thoi han")


def test_a_csca_named_like_the_cccd_csca_with_other_case_spacing_or_diacritics_presents_as_it():
    witness = shipped_witnesses()[0]
    assert witness.authority_name == "CSCA Vietnam"
    for cn in ("csca  VIETNAM", "CSCA Viêtnam", "CSCA VIỆTNAM"):
        look_alike = load_certificate(p.make_csca("VN", "secp256r1", cn).der)
        assert witness.presents(look_alike), cn
        with pytest.raises(TrustError, match="look-alike"):  # so the witness rule applies, and refuses it
            check_presented_csca(look_alike, [witness])
    other = load_certificate(p.make_csca("VN", "secp256r1", "CSCA Viet Nam").der)
    assert not witness.presents(other) and check_presented_csca(other, [witness]) is None

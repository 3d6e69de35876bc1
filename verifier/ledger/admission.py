"""Who may record a contract, from which scan: the rules a pawn contract must pass before it is written.

* :func:`admit`: the card's verdict and the face decision (README "POST /transactions"), with the
  manager's written override of a verdict other than ``authentic`` or of a face ``no_match``;
* :func:`capped_rate`: the yearly interest rate under the legal cap (Civil Code 2015 art. 468) on the
  effective rate, fees included, for a contract and for an extension; :func:`contract_rate`: the rate
  as typed (``rate_input``: %/year, %/month or đồng per million per day, :mod:`verifier.ledger.interest`);
* :func:`check_loan`: the loan within the valuation.

A broken rule is a :class:`ContractRefused` carrying a catalogue code (:mod:`verifier.messages`), which
the API answers in the caller's language. The lifecycle rules (which event, from which status) are in
:mod:`verifier.ledger.pawn_events`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from verifier import verdict as V
from verifier.ledger import interest
from verifier.errors import InputError
from verifier.results import FaceDecision, Override, ScanResult
from verifier.users import allowed


class ContractRefused(InputError):
    """A contract or event breaks a rule (legal rate cap, unverified card, face not confirmed...)."""

    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code  # the catalogue code (verifier.messages): the API answers in the caller's language
        self.details = details or {}


def admit(scan: ScanResult, face: FaceDecision | None, *, user: str, role: str, face_confirmed_by: str | None,
          override_reason: str | None) -> Override | None:
    """The one rule for recording a contract from a scan and a face decision (README "POST
    /transactions"); returns the manager's :class:`Override`, if one was needed.

    * a written ``override_reason`` may come only from a role with ``txn.override`` (a manager):
      anyone else is refused (``override_needs_manager``) whatever the verdict;
    * a verdict other than ``authentic`` needs that override (``scan_not_authentic``);
    * the face decision must be ``match``, or ``refer`` confirmed by the clerk, or a ``no_match`` the
      manager accepts with that written reason (an old chip photo, a changed face: issue 17 item 2);
      anything else (no face step, no face found, a poor picture) needs the face step done again
      (``face_not_confirmed``): no override replaces a comparison that never happened;
    * the holder must have an ID number and a name (``scan_incomplete``).
    """
    verdict = scan.verdict.value
    if override_reason and not allowed(role, "txn.override"):
        raise ContractRefused("override_needs_manager",
                              f"only a manager may override a {verdict!r} verdict; you are {role!r}")
    if scan.verdict is not V.Outcome.AUTHENTIC and not override_reason:
        raise ContractRefused(
            "scan_not_authentic",
            f"the card's verdict is {verdict!r}, not 'authentic'; a manager may override with a written reason",
            {"verdict": verdict},
        )
    decision = face.decision if face is not None else None
    face_ok = decision == "match" or (decision == "refer" and bool(face_confirmed_by))
    if not face_ok and not (decision == "no_match" and override_reason):
        raise ContractRefused(
            "face_not_confirmed",
            f"the face decision is {decision!r}: a contract needs 'match', 'refer' confirmed by the clerk, "
            "or a 'no_match' a manager accepts with a written reason",
            {"decision": decision},
        )
    if not scan.holder.id_number or not scan.holder.full_name:
        raise ContractRefused("scan_incomplete", "the scan has no holder ID number or name")
    if scan.verdict is V.Outcome.AUTHENTIC and face_ok:
        return None
    return Override(by=user, role=role, reason=str(override_reason), verdict=verdict,
                    face_decision=None if face_ok else decision)


def capped_rate(value: Any, max_rate: float, *, fees_vnd: int = 0, loan_vnd: int = 1, term_days: int = 1) -> float:
    """The yearly interest rate ``value`` (%; a float or an exact Fraction), refused when its effective rate with
    ``fees_vnd`` on ``loan_vnd`` over ``term_days`` (:func:`verifier.ledger.interest.effective_year_pct`) is above
    the legal cap ``max_rate`` (Civil Code 2015 art. 468; the cap itself is allowed)."""
    year = value if isinstance(value, Fraction) else Fraction(str(float(value)))
    if not interest.within_cap(year, max_rate, fees_vnd=fees_vnd, loan_vnd=loan_vnd, term_days=term_days):
        effective = interest.effective_year_pct(year, fees_vnd=fees_vnd, loan_vnd=loan_vnd, term_days=term_days)
        details: dict[str, Any] = {"interest_rate_year_pct": round(float(effective), 4), "max_interest_rate_year_pct": max_rate}
        if fees_vnd:
            details.update(rule="with_fees", nominal_year_pct=round(float(year), 4), fees_vnd=int(fees_vnd))
        raise ContractRefused(
            "interest_rate_above_cap",
            f"interest rate {float(effective):g} %/year{' (fees included)' if fees_vnd else ''} exceeds the legal cap "
            f"of {max_rate:g} %/year (Civil Code art. 468)", details)
    return float(year)


def contract_rate(form: dict, max_rate: float) -> tuple[float, dict | None]:
    """A new contract's yearly rate (%) and its ``rate_input`` (None: typed as ``interest_rate_year_pct``, an
    old client's ``year_pct``), capped with its fees over its term (:func:`capped_rate`). A rate typed in
    another unit is converted exactly (:func:`verifier.ledger.interest.year_pct`); sent with
    ``interest_rate_year_pct`` too, both must say the same rate (``bad_rate_input``)."""
    typed = form.get("rate_input")
    if typed:
        try:
            year = interest.year_pct(typed.get("value"), typed.get("unit"))
            block = interest.rate_input(typed.get("value"), typed.get("unit"))
        except interest.RateInputError as e:
            raise ContractRefused("bad_rate_input", str(e), {"rate_input": dict(typed)}) from e
        given = form.get("interest_rate_year_pct")
        if given is not None and abs(float(given) - float(year)) > 1e-6:
            raise ContractRefused("bad_rate_input", f"rate_input is {float(year):g} %/year but interest_rate_year_pct "
                                  f"is {float(given):g}: send one, or both the same", {"rate_input": block})
    elif form.get("interest_rate_year_pct") is not None:
        year, block = Fraction(str(float(form["interest_rate_year_pct"]))), None
    else:
        raise ContractRefused("bad_rate_input", "a contract needs rate_input or interest_rate_year_pct")
    rate = capped_rate(year, max_rate, fees_vnd=int(form.get("fees_vnd") or 0), loan_vnd=int(form["loan_vnd"]),
                       term_days=int(form["term_days"]))
    return rate, block


def check_loan(form: dict) -> None:
    """The loan may not exceed the valuation of the items."""
    if int(form["loan_vnd"]) > int(form["valuation_vnd"]):
        raise ContractRefused("loan_above_valuation", f"loan {form['loan_vnd']} VND exceeds the valuation {form['valuation_vnd']} VND")

"""Graded verdicts: each check passed / failed / not performed, with a reason in two languages.

The overall verdict follows the written policy in README.md ("Verdict policy"):

* ``not_authentic`` when any check in :data:`DECISIVE` failed;
* ``authentic`` when every check in :data:`REQUIRED` passed and no decisive check failed;
* ``unverified`` otherwise (read fine, but something could not be proven).

A check absent from a result counts as ``not_performed``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_PERFORMED = "not_performed"


class Outcome(str, enum.Enum):
    AUTHENTIC = "authentic"
    NOT_AUTHENTIC = "not_authentic"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Check:
    """One check's result. ``reason`` is English, ``reason_vi`` Vietnamese."""

    name: str
    status: Status
    reason: str
    reason_vi: str = ""
    details: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        out = {"status": self.status.value, "reason": self.reason, "reason_vi": self.reason_vi or self.reason}
        if self.details:
            out["details"] = self.details
        return out


# Names of the checks, shared by everything that produces or reads them.
CHIP_ACCESS = "chip_access"
SOD_SIGNATURE = "sod_signature"
DSC_CHAIN = "dsc_chain"
REVOCATION = "revocation"
DG_HASHES = "dg_hashes"  # per-DG results are reported as "dg_hash_<n>"
SOD_COMPLETENESS = "sod_completeness"
CHIP_AUTHENTICATION = "chip_authentication"
ACTIVE_AUTHENTICATION = "active_authentication"
MRZ_CONSISTENCY = "mrz_consistency"
ISSUER_COUNTRY = "issuer_country"
CARD_EXPIRY = "card_expiry"
ACCESS_PROTOCOL = "access_protocol"  # PACE advertised but the session ended on BAC: a downgrade
ACCESS_DATA_MATCH = "access_data_match"  # DG1/DG13 vs the access data used (ICAO 9303-11 §4.3)

#: A failure of any of these means the document is not authentic.
DECISIVE = frozenset(
    {
        SOD_SIGNATURE,
        DSC_CHAIN,
        REVOCATION,
        DG_HASHES,
        SOD_COMPLETENESS,
        CHIP_AUTHENTICATION,
        ACTIVE_AUTHENTICATION,
        MRZ_CONSISTENCY,
        ISSUER_COUNTRY,
        ACCESS_DATA_MATCH,
        ACCESS_PROTOCOL,
    }
)

#: All of these must pass for ``authentic``.
REQUIRED = (CHIP_ACCESS, SOD_SIGNATURE, DSC_CHAIN, DG_HASHES)


def passed(name: str, reason: str, reason_vi: str = "", **details) -> Check:
    return Check(name, Status.PASSED, reason, reason_vi, details)


def failed(name: str, reason: str, reason_vi: str = "", **details) -> Check:
    return Check(name, Status.FAILED, reason, reason_vi, details)


def not_performed(name: str, reason: str, reason_vi: str = "", **details) -> Check:
    return Check(name, Status.NOT_PERFORMED, reason, reason_vi, details)


def _family(name: str) -> str:
    return DG_HASHES if name.startswith("dg_hash_") else name


def decide(checks: list[Check] | tuple[Check, ...]) -> Outcome:
    """Apply the verdict policy to a list of checks."""
    by_name = {c.name: c for c in checks}
    if any(c.status is Status.FAILED and _family(c.name) in DECISIVE for c in checks):
        return Outcome.NOT_AUTHENTIC
    for name in REQUIRED:
        if name == DG_HASHES:
            dg_checks = [c for c in checks if _family(c.name) == DG_HASHES]
            if not dg_checks or any(c.status is not Status.PASSED for c in dg_checks):
                return Outcome.UNVERIFIED
            continue
        check = by_name.get(name)
        if check is None or check.status is not Status.PASSED:
            return Outcome.UNVERIFIED
    return Outcome.AUTHENTIC


def checks_json(checks: list[Check] | tuple[Check, ...]) -> dict:
    return {c.name: c.to_json() for c in checks}

"""The ``access_protocol`` check: a chip that offers PACE but was read over BAC (issue 15 item 12).

ICAO 9303-11 §4.2: a terminal that supports PACE uses it on a chip that offers it (EF.CardAccess,
§9.2.1; repeated in the signed DG14 on a CCCD); BAC is the fallback for chips without PACE.
Under ``chip.access_policy = "pace-then-bac"`` a man in the middle who corrupts the PACE
exchange makes the reader fall back to BAC, with its weaker, offline-guessable key. So when the
chip advertises a PACE variant this reader supports and the session still ended on BAC, the
check fails (decisive: :data:`verifier.verdict.DECISIVE`), unless the operator chose BAC
(``chip.access_policy = "bac"``). The signed DG14 is the strong evidence: a man in the middle
can hide EF.CardAccess but cannot change DG14 without failing its hash.
"""

from __future__ import annotations

from verifier import verdict as V
from verifier.errors import ParseError
from verifier.icao.lds.dg14 import DG14
from verifier.icao.lds.security_infos import parse_card_access
from verifier.icao.pace import supported


def _pace_offers(files: dict[str, bytes], dg14: DG14 | None) -> dict[str, bool]:
    """Where the chip advertises PACE: file -> whether this reader supports one variant offered.
    A malformed DG14 (``dg14`` None) is judged by its hash and by chip authentication."""
    found: dict[str, bool] = {}
    offered = [("DG14", dg14.security_infos.pace if dg14 is not None else ())]
    if "CardAccess" in files:
        try:
            offered.append(("CardAccess", parse_card_access(files["CardAccess"]).pace))
        except ParseError:
            pass
    for name, pace in offered:
        if pace:
            found[name] = any(supported(info) for info in pace)
    return found


def access_protocol_check(protocol: str | None, policy: str, files: dict[str, bytes], dg14: DG14 | None) -> V.Check:
    """Grade the access protocol the session ended on against what the chip advertises
    (``dg14``: DG14 as the reader parsed it, None when absent or malformed)."""
    if protocol == "PACE":
        return V.passed(V.ACCESS_PROTOCOL, "the chip was opened with PACE", "Chip được mở bằng PACE")
    offers = _pace_offers(files, dg14)
    where = " and ".join("DG14 (signed)" if n == "DG14" else "EF.CardAccess" for n in offers)
    if not offers:
        return V.passed(V.ACCESS_PROTOCOL, "the chip does not offer PACE: BAC is its access protocol",
                        "Chip không hỗ trợ PACE: dùng BAC là đúng")
    if policy == "bac":
        return V.not_performed(V.ACCESS_PROTOCOL, f"the chip offers PACE ({where}) but chip.access_policy is bac: "
                                                  "BAC by the operator's choice",
                               "Chip hỗ trợ PACE nhưng cấu hình chỉ dùng BAC (chip.access_policy = bac)")
    if not any(offers.values()):
        return V.not_performed(V.ACCESS_PROTOCOL, f"the chip offers PACE ({where}) only in variants this reader "
                                                  "does not support: BAC was used",
                               "Chip chỉ hỗ trợ loại PACE mà đầu đọc này không hỗ trợ: đã dùng BAC")
    return V.failed(V.ACCESS_PROTOCOL,
                    f"the chip offers PACE ({where}) but the session ended on BAC: PACE was refused or broken "
                    "on the way (possible downgrade by a man in the middle)",
                    "Chip hỗ trợ PACE nhưng phiên đọc phải dùng BAC: PACE bị từ chối hoặc bị phá "
                    "(nghi bị tấn công hạ cấp giao thức)", offered_in=sorted(offers))

"""The support bundle of ``chipid read --diagnose FILE``: what went on between reader and chip, and nothing personal.

A shop sends the bundle to support when a card will not read or verify. It must not carry
personal data (Decree 13/2023/NĐ-CP), so it is built from a whitelist:

* the reader (name, ATR, extended-length support), chipid's version and the chip settings;
* every APDU as the transport saw it (:class:`RecordingTransport`): the header CLA INS P1 P2
  (ISO/IEC 7816-4 §5.1; under secure messaging the header travels in clear, ICAO 9303-11
  §9.8), the command and response lengths, the status word and the time taken. Never a
  payload: plain payloads may hold the MRZ or the CAN-derived PACE exchange, protected ones
  are encrypted personal data;
* EF.CardAccess and EF.COM in full (identical on every CCCD: protocol constants);
* EF.SOD reduced to its algorithms, the data-group numbers and the Document Signer
  certificate (a public authority object shared by many cards); never the data-group hashes
  or the signature, which are unique to one card;
* DG13's structure: tags, lengths and field numbers, never a value;
* the sizes of the other files, the verdict and each check's status (reasons may name the
  holder, so they stay out), the access protocol and the kind of key (never the key, nor the
  expiry date a BAC key describes itself with);
* on failure: the error's class, protocol step and status word, its message with every number
  of two digits or more (dates, ID digits) and every long hex run removed.
"""

from __future__ import annotations

import datetime as _dt
import logging
import platform
import re
import time

from verifier import __version__
from verifier.errors import ChipidError, ParseError
from verifier.icao import apdu as A
from verifier.icao import tlv
from verifier.icao.lds.files import FILES

log = logging.getLogger(__name__)

FORMAT = "chipid-diagnose/1"

#: INS -> command name (ISO/IEC 7816-4 §11, ICAO 9303-11 §4, §9).
_INS_NAMES = {
    A.INS_SELECT: "SELECT", A.INS_READ_BINARY: "READ BINARY", A.INS_READ_BINARY_ODD: "READ BINARY (odd INS)",
    A.INS_GET_CHALLENGE: "GET CHALLENGE", A.INS_EXTERNAL_AUTHENTICATE: "EXTERNAL AUTHENTICATE",
    A.INS_INTERNAL_AUTHENTICATE: "INTERNAL AUTHENTICATE", A.INS_MSE: "MSE", A.INS_GENERAL_AUTHENTICATE:
    "GENERAL AUTHENTICATE", A.INS_GET_RESPONSE: "GET RESPONSE",
}
#: SFI -> file name for READ BINARY with P1 = 100xxxxx (ISO/IEC 7816-4 §7.2.2); inside the eMRTD
#: application SFI 1D is EF.SOD (EF.CardSecurity shares it in the master file).
_SFI_NAMES = {f.sfi: f.name for f in FILES.values() if f.sfi is not None and f.name != "CardSecurity"}

_DIGITS = re.compile(r"(?<!DG)(?<!\d)\d{2,}")  # "DG13" keeps its number
_HEX_RUN = re.compile(r"\b(?=[0-9A-Fa-f]*\d)[0-9A-Fa-f]{6,}\b")
MAX_DG13_NODES = 512


def redact(text: str) -> str:
    """``text`` without numbers of two digits or more (data-group numbers excepted) and without hex runs:
    what an error may say."""
    return _DIGITS.sub("…", _HEX_RUN.sub("…", text))


class RecordingTransport:
    """A :class:`verifier.transport.CardTransport` that records every exchange's header, lengths,
    status word and time (never a payload). ``phase`` labels the exchanges that follow it."""

    def __init__(self, inner, clock=time.perf_counter) -> None:
        self.inner = inner
        self.name = inner.name
        self.extended_length = getattr(inner, "extended_length", False)
        self.exchanges: list[dict] = []
        self.phase = "reading"
        self._clock = clock

    @property
    def atr(self) -> bytes | None:
        atr = getattr(self.inner, "atr", None)
        return bytes(atr) if atr else None

    def transmit(self, apdu: bytes) -> bytes:
        entry = _header(bytes(apdu))
        entry["phase"] = self.phase
        started = self._clock()
        try:
            rapdu = self.inner.transmit(apdu)
        except ChipidError as e:
            entry.update(ms=round((self._clock() - started) * 1000, 2), error=type(e).__name__)
            self.exchanges.append(entry)
            raise
        entry["ms"] = round((self._clock() - started) * 1000, 2)
        entry["response_bytes"] = max(len(rapdu) - 2, 0)
        entry["sw"] = rapdu[-2:].hex().upper() if len(rapdu) >= 2 else None
        self.exchanges.append(entry)
        return rapdu

    def close(self) -> None:
        self.inner.close()

    def last_failure(self) -> dict | None:
        """The last exchange that failed on the link or answered neither 9000 nor 61xx (more data):
        where a failed read stopped."""
        for e in reversed(self.exchanges):
            sw = e.get("sw")
            if e.get("error") or (sw and sw != "9000" and not sw.startswith("61")):
                return {k: e.get(k) for k in ("command", "header", "file", "sw", "error") if e.get(k) is not None}
        return None


def _header(apdu: bytes) -> dict:
    if len(apdu) < 4:
        return {"command_bytes": len(apdu), "command": "malformed"}
    cla, ins, p1, p2 = apdu[:4]
    entry = {"command": _INS_NAMES.get(ins, f"INS {ins:02X}"), "header": apdu[:4].hex().upper(),
             "secure_messaging": cla & 0x0C == 0x0C, "extended": A.Command.is_extended(apdu),
             "command_bytes": len(apdu)}
    if ins == A.INS_READ_BINARY and p1 & 0x80:
        entry["file"] = _SFI_NAMES.get(p1 & 0x1F, f"SFI {p1 & 0x1F:02X}")
    elif ins == A.INS_MSE:
        entry["command"] = {(0xC1, 0xA4): "MSE:SET AT", (0x41, 0xA6): "MSE:SET KAT",
                            (0x41, 0xA4): "MSE:SET AT"}.get((p1, p2), "MSE")
    return entry


def dg13_structure(raw: bytes) -> dict:
    """DG13's shape: tags, lengths and field numbers (the INTEGER that opens a field's SEQUENCE),
    never a value. A malformed DG13 gives the error's class only (messages may quote bytes)."""
    count = 0

    def walk(node: tlv.TLV, depth: int) -> dict:
        nonlocal count
        count += 1
        if count > MAX_DG13_NODES or depth > tlv.MAX_DEPTH:
            raise ParseError("DG13 structure too large")
        out: dict = {"tag": f"{node.tag:02X}", "length": len(node.value)}
        if node.constructed:
            kids = node.children()
            # a field: 30 L 02 01 NN [value]; the container (02 01 01 = version, 06 = OID, 31 = SET) is not
            if (node.tag == 0x30 and kids and kids[0].tag == 0x02 and len(kids[0].value) == 1
                    and not any(k.tag in (0x06, 0x31) for k in kids)):
                out["field"] = kids[0].value[0]
            out["children"] = [walk(k, depth + 1) for k in kids]
        return out

    try:
        return walk(tlv.decode_first(bytes(raw)), 0)
    except ChipidError as e:
        return {"error": type(e).__name__}


def _sod_part(raw: bytes) -> dict:
    from verifier.lds_summary import sod_fields

    try:
        f = sod_fields(raw)
    except ChipidError as e:
        return {"error": type(e).__name__}
    signer = f["signer"]
    dsc = next((c for c in f["certificates"] if c.get("signer")), None)
    keep = ("subject", "issuer", "serial", "not_before", "not_after", "key", "key_algorithm", "curve", "key_bits",
            "signature_algorithm", "sha256", "extensions", "private_key_usage", "key_usage", "subject_key_identifier",
            "authority_key_identifier", "crl_urls", "ca_issuer_urls")
    return {
        "size": len(raw),
        "signed_data_version": f["signed_data_version"], "content_type": f["content_type"],
        "lds_object_version": f["lds_object_version"], "hash_algorithm": f["hash_algorithm"],
        "digest_algorithms": f["digest_algorithms"], "lds_version": f["lds_version"],
        "data_groups": f["data_groups"],
        "signer": {k: signer[k] for k in ("version", "identified_by", "digest_algorithm", "signature_algorithm")},
        "certificates": len(f["certificates"]),
        "document_signer": {k: dsc.get(k) for k in keep} if dsc else None,
    }


def _protocol_file(raw: bytes, fields) -> dict:
    try:
        return {"hex": raw.hex().upper(), **fields(raw)}
    except ChipidError as e:
        return {"hex": raw.hex().upper(), "error": type(e).__name__}


def _dg14_part(raw: bytes) -> dict:
    from verifier.icao.lds.dg14 import parse_dg14
    from verifier.lds_summary import security_info_fields

    try:
        infos = parse_dg14(raw).security_infos.infos
    except ChipidError as e:
        return {"size": len(raw), "error": type(e).__name__}
    return {"size": len(raw), "security_infos": [security_info_fields(i, with_keys=False) for i in infos]}


def _attempt(text: str) -> dict:
    """An access attempt as the session words it ("PACE with CAN key (key 1 of 1): refused"), without the key's description."""
    protocol = text.split(" ", 1)[0].rstrip(":")
    key = "CAN" if "CAN key" in text else "MRZ" if "MRZ key" in text else None
    for outcome in ("ok", "refused", "no EF.CardAccess"):
        if text.endswith(": " + outcome):
            break
    else:
        outcome = "unusable" if " unusable (" in text else "other"
    return {"protocol": protocol, "key": key, "outcome": outcome}


def _files_part(files: dict[str, bytes]) -> dict:
    from verifier.lds_summary import card_access_fields, com_fields

    out: dict = {"sizes": {name: len(data) for name, data in files.items()}}
    if "CardAccess" in files:
        out["EF.CardAccess"] = _protocol_file(files["CardAccess"], card_access_fields)
    if "COM" in files:
        out["EF.COM"] = _protocol_file(files["COM"], com_fields)
    if "SOD" in files:
        out["EF.SOD"] = _sod_part(files["SOD"])
    if "DG13" in files:
        out["DG13_structure"] = dg13_structure(files["DG13"])
    if "DG14" in files:
        out["DG14"] = _dg14_part(files["DG14"])
    return out


def build_bundle(recorder: RecordingTransport | None, *, outcome=None, error: ChipidError | None = None,
                 hint: str | None = None, settings: dict | None = None,
                 now: _dt.datetime | None = None) -> dict:
    """The bundle as a dict (see the module docstring for what it holds and why)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    bundle: dict = {
        "format": FORMAT,
        "chipid_version": __version__,
        "created": now.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "settings": settings or {},
        "reader": None,
        "result": "read" if outcome is not None else "failed",
    }
    if recorder is not None:
        atr = recorder.atr
        bundle["reader"] = {"name": recorder.name, "atr": atr.hex().upper() if atr else None,
                            "extended_length": bool(recorder.extended_length)}
        exchanges = recorder.exchanges
        bundle["apdus"] = exchanges
        bundle["totals"] = {"apdus": len(exchanges), "ms": round(sum(e.get("ms", 0) for e in exchanges), 1),
                            "command_bytes": sum(e.get("command_bytes", 0) for e in exchanges),
                            "response_bytes": sum(e.get("response_bytes", 0) for e in exchanges)}
    if error is not None:
        bundle["error"] = {"code": type(error).__name__, "step": error.step,
                           "sw": f"{error.sw:04X}" if error.sw is not None else None,
                           "last_failed_apdu": recorder.last_failure() if recorder is not None else None,
                           "message": redact(error.message), "hint": hint}
    if outcome is not None:
        result = outcome.result.to_json()
        access = result.get("access") or {}
        key = access.get("key") or ""
        bundle["access"] = {"protocol": access.get("protocol"),
                            "key": "CAN" if key.startswith("CAN") else "MRZ" if key.startswith("MRZ") else None,
                            "attempts": [_attempt(a) for a in access.get("attempts") or []]}
        bundle["files"] = _files_part(outcome.files)
        bundle["not_readable"] = dict(result.get("not_readable") or {})
        face = result.get("face_image") or {}
        bundle["face_image"] = {k: face.get(k) for k in ("format", "width", "height", "standard")} if face else None
        bundle["verdict"] = result.get("verdict")
        bundle["demo"] = result.get("demo")
        bundle["checks"] = {name: c.get("status") for name, c in (result.get("checks") or {}).items()}
        bundle["warnings"] = len(result.get("warnings") or [])
        bundle["elapsed_ms"] = result.get("elapsed_ms")
    return bundle

"""The backend's entry indexing (sync/backend/index.py) and key blinding (Vault.blind_keys), made
cheaper for ingest, give exactly what they gave before: same keys in the same order, same search
text, same errors. The implementations before the speed-up are kept here as the reference and
compared over generated shop entries and adversarial payloads."""

from __future__ import annotations

import hashlib
import os
import random
import re
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest

from sync.backend import index
from sync.backend.index import index_entry, norm_address, norm_birth, norm_phone
from sync.backend.vault import Vault
from sync.testing import event_payload, pawn_payload
from verifier.ledger.entry import GENESIS, Entry
from verifier.text import fold, strip_marks

# -- the reference: sync/backend/index.py as it was before the speed-up (commit 96635d6) -----------

_R_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_R_DATE_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")
_R_DATE_VN = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_R_DATE_DIGITS = re.compile(r"^\s*(\d{2})(\d{2})(\d{4})\s*$")
_R_NOT_WORD = re.compile(r"[^0-9a-z]+")
_R_SERIAL_FIELDS = ("serial", "imei", "serial_no", "imei2", "plate", "frame_no", "engine_no")
_R_ITEM_FIELDS = {f: i for i, f in enumerate(_R_SERIAL_FIELDS + ("description", "category", "brand", "model"))}


class _RIndexed(NamedTuple):
    contract_no: str | None
    txn_ref: str | None
    event_type: str | None
    search_text: str
    keys: tuple[tuple[str, str], ...]


def _r_norm_text(s: Any) -> str:
    if s is None:
        return ""
    return fold(str(s)[:8000].replace("\x00", ""))[:2000]


def _r_norm_code(s: Any) -> str:
    if s is None:
        return ""
    s = str(s)[:800]
    if not s.isascii():
        s = strip_marks(s)
    elif s.isalnum():
        return s.upper()[:200]
    return _R_NON_ALNUM.sub("", s).upper()[:200]


def _r_suffixes(n: str) -> list[str]:
    if not n:
        return []
    words = n.split(" ", 12)[:12]
    return [" ".join(words[i:])[:200] for i in range(len(words))]


def _r_norm_birth(s: Any) -> str:
    if s is None or not isinstance(s, str):
        return ""
    m = _R_DATE_ISO.match(s)
    if m:
        y, mo, d = m.groups()
    elif (m := _R_DATE_VN.match(s) or _R_DATE_DIGITS.match(s)):
        d, mo, y = m.groups()
    else:
        return ""
    if not (1 <= int(mo) <= 12 and 1 <= int(d) <= 31):
        return ""
    return f"{y}{int(mo):02d}{int(d):02d}"


def _r_person_key(n: str, birth: Any) -> str:
    n, b = n[:191], _r_norm_birth(birth)
    return f"{n}|{b}" if n and b else ""


def _r_norm_address(s: Any) -> str:
    return _R_NOT_WORD.sub(" ", _r_norm_text(s)).strip()[:200]


def _r_norm_phone(s: Any) -> str:
    digits = "".join(c for c in str(s or "")[:40] if c.isdigit())
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits if len(digits) >= 8 else ""


def _r_str(v: Any) -> str | None:
    if type(v) is str:
        s = v.strip()
        if "\x00" in s:
            s = s.replace("\x00", "").strip()
        return s[:200] or None
    if v is None or isinstance(v, (dict, list, bool)):
        return None
    s = str(v).replace("\x00", "").strip()
    return s[:200] or None


def _r_index_entry(entry) -> _RIndexed:
    p = entry.payload if isinstance(entry.payload, dict) else {}
    pawner = p.get("pawner")
    if not isinstance(pawner, dict):
        pawner = {}
    id_number = _r_norm_code(_r_str(pawner.get("id_number"))) or None
    full_name = _r_str(pawner.get("full_name"))
    contract_no = _r_str(p.get("contract_no"))
    txn_ref = _r_str(p.get("id")) if entry.kind == "transaction" else _r_str(p.get("txn_id"))
    event_type = _r_str(p.get("type")) if entry.kind == "event" else None
    keys: list[tuple[str, str]] = []
    serials: list[str] = []
    texts: list[str] = []
    if id_number:
        keys.append(("id", id_number))
    if full_name:
        folded = _r_norm_text(full_name)
        keys += [("name", s) for s in _r_suffixes(folded)]
        if (who := _r_person_key(folded, _r_str(pawner.get("date_of_birth")))):
            keys.append(("namedob", who))
    for addr in dict.fromkeys((_r_norm_address(_r_str(pawner.get("place_of_residence"))),
                               _r_norm_address(_r_str(p.get("current_address"))))):
        if addr:
            keys.append(("addr", addr))
    if (phone := _r_norm_phone(_r_str(p.get("pawner_phone")))):
        keys.append(("phone", phone))
    if txn_ref:
        keys.append(("txn", txn_ref))
    items = p.get("items")
    if type(items) is list:
        for item in items[:100]:
            if type(item) is not dict:
                continue
            found = sorted((_R_ITEM_FIELDS[k], k, v) for k, v in item.items() if k in _R_ITEM_FIELDS and v)
            for rank, _, v in found:
                if rank < len(_R_SERIAL_FIELDS):
                    code = _r_norm_code(_r_str(v))
                    if code and code not in serials:
                        serials.append(code)
                        keys.append(("serial", code))
                elif type(v) is str:
                    texts.append(v[:2000])
    v = p.get("description")
    if v and type(v) is str:
        texts.append(v[:2000])
    return _RIndexed(contract_no, txn_ref, event_type, _r_norm_text(" ".join(texts)) if texts else "", tuple(keys))


def _r_blind(index_key: bytes, key_type: str, value: str) -> int:
    """The blind index by its definition (sync/backend/vault.py): keyed BLAKE2b-64 of ``type:value``."""
    digest = hashlib.blake2b(f"{key_type}:".encode() + value.encode("utf-8"), key=index_key, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# -- generated entries -----------------------------------------------------------------------------

def _outcome(fn, *args) -> tuple:
    """What a call gives: its result, or the type and message of what it raised."""
    try:
        return ("ok", tuple(fn(*args)))
    except Exception as e:  # noqa: BLE001 -- the same error is part of the same behaviour
        return ("raised", type(e), str(e))


def _assert_same(entry) -> tuple:
    got, want = _outcome(index_entry, entry), _outcome(_r_index_entry, entry)
    assert got == want, entry.payload
    return want


def _ledger(n: int, seed: int) -> list[Entry]:
    """Contracts and their events mixed as benchmarks/bench_sync.py's ``_ledger`` mixes them."""
    out: list[Entry] = []
    open_txns: list[dict] = []
    i = 0
    while len(out) < n:
        if not open_txns or i % 9 in (0, 2, 4, 6):
            txn = pawn_payload(seed * 1_000_000 + i)
            out.append(Entry(len(out) + 1, "dev", "2026-11-23T02:00:00.000000Z", "transaction", txn, GENESIS, False))
            open_txns.append(txn)
        else:
            txn = open_txns.pop(0)
            kind = ("extended", "redeemed", "redeemed", "forfeited", "redeemed")[i % 5]
            out.append(Entry(len(out) + 1, "dev", "2026-11-23T02:00:00.000000Z", "event", event_payload(i, txn, kind),
                             GENESIS, False))
            if kind == "extended":
                open_txns.append(txn)
        i += 1
    return out


_HUGE = 10 ** 5000  # str() of it raises ValueError (Python's integer string conversion limit)

_DATES = ["1985-03-12", "1985-3-2", "1985-03-12T10:00:00", "  1985-03-12", "1985-03-123", "1985-13-01", "1985-00-10",
          "1985-02-31", "1985-02-32", "1985-12-00", "12/03/1985", "1/3/1985", "12.03.1985", "12-03-1985 ", "31/12/1985",
          "32/01/1985", "12031985", " 12031985 ", "1203198", "1985/03/12", "1985-03", "1985-03-1", "1985-0a-12",
          "١٩٨٥-٠٣-١٢", "1985-٠٣-12", "１９８５-03-12", "12/٠٣/1985", "", " ", "abc", "\x001985-03-12", "1985-03-12\x00",
          "1985–03–12", None, 19850312, 1985.0312, True, [], {}, ["1985-03-12"]]

_WORDS = ["Nguyễn", "Văn", "Đức", "An", "Thị", "NGỌC", "ánh", "Đường", "Lê", "Lợi", "Phường", "P.5,", "Số", "12/3A",
          "Hẻm", "K14", "tổ", "3", "ấp", "Tân-Phú", "Quận", "Bình", "Thạnh", "TP.HCM", "Hà", "Nội", "Иван", "Петров",
          "王小明", "محمد", "नमस्ते", "ﷺ", "Ⅻ", "ﬁ", "Kelvin\u212a", "e\u0301", "\u0301", "\u034f", "a\u0308b", "x\u200by",
          "tab\there", "new\nline", "nul\x00byte", "\x00", "!!!", "--", "__", "ß", "İstanbul", "ǅ", "𝔘𝔫𝔦", "😀"]


def _text(rnd: random.Random, words: int = 6) -> str:
    seps = [" ", "  ", ", ", "\t", "\u00a0", " - ", "\u3000", ""]
    return "".join(rnd.choice(_WORDS) + rnd.choice(seps) for _ in range(rnd.randrange(words + 1)))


_ODD = (None, "", " ", "\x00", "\x00 \x00", True, False, 0, 1, -7, 3.5, float("nan"), 1e308, 10 ** 30, [], ["a"], {},
        {"a": 1}, "  padded  ", "x" * 1000, "Đ" * 300, "+84 912 345 678", "0912.345.678", "84912345678", "(028) 3822 1234",
        "123", "٠٩١٢٣٤٥٦٧٨", "²³⁴⁵⁶⁷⁸⁹", "SN-0042/ab", "imei 35-2099 117654", "Số 0791\x0088", "ÀBC-123", "abc", "ABC")


def _odd(rnd: random.Random) -> Any:
    """A value of any JSON type (and a few that only a hand-built payload has) where a string is expected."""
    return _text(rnd, 40) if rnd.random() < 0.05 else rnd.choice(_ODD)


def _value(rnd: random.Random, good: Any) -> Any:
    return good if rnd.random() < 0.5 else _odd(rnd)


def _item(rnd: random.Random) -> Any:
    if rnd.random() < 0.1:
        return _odd(rnd)
    fields = list(_R_ITEM_FIELDS) + ["notes", "serial ", "Serial", "valuation_vnd"]
    item = {f: _value(rnd, rnd.choice([f"SN{rnd.randrange(10 ** 6)}", "sn-00 42", _text(rnd, 4), "35-2099 117654"]))
            for f in rnd.sample(fields, rnd.randrange(len(fields) + 1))}
    if rnd.random() < 0.2:  # the same serial under several fields, or spelled another way
        item["imei"] = item["serial"] = rnd.choice(["35-2099", "352099", "35 2099"])
    return item


def _adversarial(rnd: random.Random) -> dict:
    p: dict[str, Any] = {}
    if rnd.random() < 0.8:
        pawner = {k: _value(rnd, good) for k, good in (
            ("id_number", f"0{rnd.randrange(10 ** 10, 10 ** 11)}"), ("full_name", _text(rnd, 14)),
            ("date_of_birth", rnd.choice(_DATES)), ("place_of_residence", _text(rnd, 12))) if rnd.random() < 0.85}
        p["pawner"] = pawner if rnd.random() < 0.9 else _odd(rnd)
    for k, good in (("id", f"txn-{rnd.randrange(10 ** 6)}"), ("txn_id", f"txn-{rnd.randrange(10 ** 6)}"),
                    ("type", rnd.choice(["redeemed", "suspicious", "extended"])), ("contract_no", "HĐ-2026-000001"),
                    ("current_address", _text(rnd, 12)), ("pawner_phone", "0912 345 678"), ("description", _text(rnd, 8))):
        if rnd.random() < 0.6:
            p[k] = _value(rnd, good)
    if rnd.random() < 0.2 and isinstance(p.get("pawner"), dict):  # the same address twice
        p["current_address"] = p["pawner"].get("place_of_residence")
    if rnd.random() < 0.8:
        n = rnd.choice([0, 1, 1, 2, 2, 3, 5, 5, 100, 101])
        p["items"] = [_item(rnd) for _ in range(n)] if rnd.random() < 0.9 else _odd(rnd)
    if rnd.random() < 0.05:  # a value whose str() raises, at one of the places read
        where = rnd.choice(["id", "txn_id", "type", "contract_no", "current_address", "pawner_phone"])
        p[where] = _HUGE + rnd.randrange(10)
        if isinstance(p.get("pawner"), dict):
            p["pawner"][rnd.choice(["id_number", "full_name", "date_of_birth", "place_of_residence"])] = _HUGE
    if rnd.random() < 0.05:
        p["evidence"] = {"sod": "A" * 5000}
    return p


def test_generated_ledger_entries_index_as_before():
    seen: set[str] = set()
    for entry in _ledger(3000, seed=1) + _ledger(500, seed=1):  # the second pass meets the memos warm
        seen.update(k for k, _ in _assert_same(entry)[1][4])
    assert seen == {"id", "name", "namedob", "addr", "txn", "serial"}  # the comparison covered every key a contract has


def test_contracts_with_every_optional_field_index_as_before():
    rnd = random.Random(7)
    for i in range(1500):
        p = pawn_payload(i, name=rnd.choice([None, _text(rnd, 14)]))
        p["pawner"]["date_of_birth"] = rnd.choice(_DATES)
        p["current_address"] = rnd.choice([None, p["pawner"]["place_of_residence"], _text(rnd, 12), "Số 12, Đường Lê Lợi, P.5"])
        p["pawner_phone"] = rnd.choice([None, "0912 345 678", "+84 912 345 678", "+84-28-3822-1234", "1234"])
        p["items"] = [_item(rnd) for _ in range(rnd.randrange(4))]
        p["evidence"] = {"sod": "A" * 3000, "dg13": "B" * 1000}
        _assert_same(Entry(i + 1, "dev", "2026-11-23T02:00:00.000000Z", "transaction", p, GENESIS, False))


@pytest.mark.parametrize("seed", range(4))
def test_adversarial_payloads_index_as_before(seed):
    rnd = random.Random(seed)
    outcomes = {"ok": 0, "raised": 0}
    for _ in range(1000):
        kind = rnd.choice(["transaction", "event", "checkpoint"])
        outcomes[_assert_same(SimpleNamespace(kind=kind, payload=_adversarial(rnd)))[0]] += 1
    assert outcomes["ok"] > 800 and outcomes["raised"] > 0  # both outcomes were compared
    for payload in (None, [], "text", 42, {"pawner": [], "items": {}}, {"items": [None, 1, "x", [], {}]}):
        _assert_same(SimpleNamespace(kind="transaction", payload=payload))


class _Unprintable:
    """A value whose str() raises, naming where it was put: shows which values are read, in which order."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __str__(self) -> str:
        raise ValueError(self.where)


def test_every_value_is_read_in_the_same_order():
    """Each value is read (through str()) as before, also where it adds no key (a name that folds
    to nothing still has its birth date read), and the first one that fails is the same."""
    pawner_fields = ("id_number", "full_name", "date_of_birth", "place_of_residence")
    payload_fields = ("id", "txn_id", "type", "contract_no", "current_address", "pawner_phone", "serial", "imei")
    fields = pawner_fields + payload_fields
    errors: set[str] = set()
    for kind in ("transaction", "event"):
        for name in ("Nguyễn Văn An", "\u0301", "\x00", None):
            for mask in range(1, 1 << len(fields)):
                bad = {f: _Unprintable(f) for i, f in enumerate(fields) if mask >> i & 1}
                pawner = {"full_name": name, "date_of_birth": "1985-03-12", "place_of_residence": "Số 1 Lê Lợi"}
                pawner.update({f: v for f, v in bad.items() if f in pawner_fields})
                item = {f: bad.get(f, "SN-1") for f in ("serial", "imei")}
                p = {f: v for f, v in bad.items() if f in payload_fields[:6]} | {"pawner": pawner, "items": [item]}
                outcome = _assert_same(SimpleNamespace(kind=kind, payload=p))
                errors.add(outcome[2] if outcome[0] == "raised" else "")
    assert errors - {""} == set(fields)  # each was the first one read in some payload


def test_long_names_and_addresses_index_as_before():
    """Past the key length (200), past the 12 words of the name keys, and texts that NFKD makes
    longer than the search text's bound (2000)."""
    for name in (" ".join(f"w{i}" for i in range(30)), "Nguyễn " * 40, "Ⅻ" * 199, "㎒ " * 150, "ﬁ" * 120 + " x", "ﷺ " * 150, "a" * 500, "ﷺ" * 199, "x " * 199 + "y",
                 "Đ" * 199 + " a b", "  ".join(["ﷺ"] * 100)):
        for addr in (name, name.upper(), "Số 12, " * 60, "\x00".join(name)):
            p = {"pawner": {"full_name": name, "date_of_birth": "1985-03-12", "place_of_residence": addr},
                 "current_address": addr[::-1], "items": [{"description": name, "serial": addr}], "description": addr}
            _assert_same(SimpleNamespace(kind="transaction", payload=p))


def test_norm_birth_norm_address_norm_phone_as_before():
    rnd = random.Random(3)
    dates = _DATES + [f"{y}-{m}-{d}" for y in ("1985", "0000", "9999") for m in ("0", "00", "01", "1", "09", "12", "13", "99")
                      for d in ("0", "00", "01", "1", "29", "31", "32", "99")]
    for s in dates + [f"{rnd.randrange(10 ** 10):010d}"[:rnd.randrange(11)] + rnd.choice(["", "-", "/", " "]) for _ in range(2000)]:
        assert norm_birth(s) == _r_norm_birth(s), s
    for s in [_text(rnd, 10) for _ in range(2000)] + [chr(c) * 3 for c in range(0x2000)] + [None, "", 12, 3.5, "Ⅻ" * 300]:
        assert norm_address(s) == _r_norm_address(s), s
        assert norm_phone(s) == _r_norm_phone(s), s
    assert norm_birth("1985-03-12") == "19850312" and norm_address("Số 12, Đường Lê Lợi, P.5") == "so 12 duong le loi p 5"


def test_memos_give_what_they_compute_when_full_and_emptied():
    memo = index._Memo(lambda s: s.upper(), size=3)
    assert [memo[s] for s in "abcdeab"] == list("ABCDEAB") and len(memo) <= 3
    index._names.clear()
    index._addresses.clear()
    entries = _ledger(200, seed=5)
    cold = [index_entry(e) for e in entries]
    assert len(index._names) > 0 and len(index._addresses) > 0
    assert [index_entry(e) for e in entries] == cold == [tuple(_r_index_entry(e)) for e in entries]


def test_blind_keys_as_defined():
    index_key = os.urandom(32)
    vault = Vault(os.urandom(32), index_key)
    rnd = random.Random(11)
    keys = [(t, v) for e in _ledger(300, seed=2) for t, v in index_entry(e).keys]
    keys += [(rnd.choice(["id", "name", "addr", "x", "", "ñ"]), _text(rnd, 5)) for _ in range(500)] + [("id", ""), ("", "")]
    blinds = vault.blind_keys(keys)
    assert blinds == [_r_blind(index_key, t, v) for t, v in keys] and min(blinds) < 0 < max(blinds)  # signed
    assert vault.blind_keys([]) == [] and vault.blind("name", "an") == _r_blind(index_key, "name", "an")
    assert [vault.blind("t", v) for v in ("\x80", "\xff", "\U0010ffff")] == [_r_blind(index_key, "t", v) for v in ("\x80", "\xff", "\U0010ffff")]
    with pytest.raises(UnicodeEncodeError):
        vault.blind_keys([("id", "a\ud800")])

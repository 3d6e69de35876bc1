"""Fuzzing the LDS parsers from real bytes: only project errors (``ChipidError``) may come out.

Seeds: the real EF.SODs (``sod/real_sods.json``), the ISO/IEC 19794-5 sample record, the real CCCD
EF.CardAccess / EF.COM, and the demo card's real-shaped DG2 / DG14 / DG15. Each example mutates
one seed (flip, overwrite, insert, delete, truncate) and hands it to the parser of its kind; the
chip keys found in DG14 / DG15 also go through :func:`verifier.icao.chip_keys.parse_public_key`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.emulator.personalise import personalise
from tests.mutations import mutated
from drivers.emulator.profile import DEMO_PROFILE_DIR, load_profile
from verifier.errors import ChipidError
from verifier.icao import chip_keys, tlv
from verifier.icao.lds.com import parse_com
from verifier.icao.lds.dg1 import parse_dg1
from verifier.icao.lds.dg2 import parse_dg2
from verifier.icao.lds.dg14 import parse_dg14
from verifier.icao.lds.dg15 import parse_dg15
from verifier.icao.lds.face_19794 import parse_19794_5
from verifier.icao.lds.security_infos import parse_card_access, parse_security_infos
from verifier.trust.sod import parse_sod

#: CHIPID_FUZZ_SCALE=N multiplies the examples of every fuzz target (README "Fuzzing"); CI runs 1.
FUZZ_SCALE = int(os.environ.get("CHIPID_FUZZ_SCALE", "1"))

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as tests/conftest.py's SHARED_DATA


def _hex(name: str) -> bytes:
    return bytes.fromhex((SHARED_DATA / "cccd" / name).read_text().strip())


_DEMO = personalise(load_profile(DEMO_PROFILE_DIR))
_RECORD = (SHARED_DATA / "dg2" / "iso19794-5_sample.bin").read_bytes()
_DG2_SAMPLE = tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01") + tlv.encode(
    0x7F60, tlv.encode(0xA1, tlv.encode(0x81, b"\x02")) + tlv.encode(0x5F2E, _RECORD))))


def _keys_of_dg14(raw: bytes) -> None:
    for info in parse_dg14(raw).security_infos.chip_auth_keys:
        chip_keys.parse_public_key(info.public_key)


def _key_of_dg15(raw: bytes) -> None:
    chip_keys.parse_public_key(parse_dg15(raw).public_key_info)


#: kind -> (parser, seeds)
TARGETS = {
    "sod": (parse_sod, [bytes.fromhex(s["sod"]) for s in json.loads((SHARED_DATA / "sod" / "real_sods.json").read_text())]
            + [_DEMO["SOD"]]),
    "card_access": (parse_card_access, [_hex("ef_cardaccess.hex"), _DEMO["CardAccess"]]),
    "security_infos": (parse_security_infos, [_hex("ef_cardaccess.hex"), tlv.decode_first(_DEMO["DG14"]).value]),
    "com": (parse_com, [_hex("ef_com.hex")]),
    "dg1": (parse_dg1, [_DEMO["DG1"]]),
    "dg2": (parse_dg2, [_DG2_SAMPLE, _DEMO["DG2"]]),
    "19794-5": (parse_19794_5, [_RECORD]),
    "dg14": (_keys_of_dg14, [_DEMO["DG14"]]),
    "dg15": (_key_of_dg15, [_DEMO["DG15"], bytes.fromhex("6f133011300b06072a8648ce3d0201090003020004")]),
}


def _only_project_errors(kind: str, data: bytes) -> None:
    parser = TARGETS[kind][0]
    try:
        parser(data)
    except ChipidError:
        pass


def test_every_seed_parses():
    for kind, (parser, seeds) in TARGETS.items():
        for seed in seeds:
            if kind == "dg15" and seed.startswith(bytes.fromhex("6f1330")):
                continue  # the hostile key of issue 15 item 6: a ParseError, tested in test_lds_chip_keys.py
            parser(seed)


@settings(max_examples=600 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_mutated_real_bytes_give_only_project_errors(data):
    kind = data.draw(st.sampled_from(sorted(TARGETS)))
    _only_project_errors(kind, data.draw(mutated(TARGETS[kind][1])))


@settings(max_examples=200 * FUZZ_SCALE, deadline=None)
@given(st.sampled_from(sorted(TARGETS)), st.binary(max_size=200))
def test_random_bytes_give_only_project_errors(kind, data):
    _only_project_errors(kind, data)

"""Card profiles: everything needed to personalise an emulated CCCD, as a directory.

::

    <dir>/profile.json          citizen fields, file references, chip options
    <dir>/photo.jp2 | photo.jpg the chip portrait (goes into DG2 byte for byte)
    <dir>/chip_auth_key.pem     chip authentication private key (DG14 holds its public half)
    <dir>/active_auth_key.pem   active authentication private key (DG15), optional
    <dir>/dsc.pem, dsc_key.pem  document signer certificate and key, optional: without them
                                the committed demo DSC (``drivers/emulator/demo/``) signs the SOD

``profile.json``::

    {"format": "chipid-card-profile/1",
     "citizen": {"id_number": "079090001234", "full_name": "Nguyễn Văn An",
                 "date_of_birth": "1990-03-15", "sex": "M", "date_of_issue": "2021-04-20",
                 "date_of_expiry": "2030-03-15" | "none", "nationality": "Việt Nam", ...},
     "photo": "photo.jpg",
     "keys": {"chip_auth": "chip_auth_key.pem", "active_auth": "active_auth_key.pem"},
     "signer": {"dsc": "dsc.pem", "dsc_key": "dsc_key.pem"} | null,
     "chip": {"bac": true, "pace": true, "pace_parameter_id": 13, "pace_cipher": "AES",
              "pace_key_bits": 128, "chip_auth": true, "active_auth": true, "dg3": true,
              "dg2_header_size": [480, 400] | null}}

``chip``: which protocols the emulated chip offers: BAC, PACE (ECDH generic mapping over the
standardized domain parameters ``pace_parameter_id``, e.g. 13 = brainpoolP256r1, 12 = NIST P-256),
chip authentication (DG14) and active authentication (DG15); ``dg3``: DG3 listed and answering
6982 as on real cards; ``dg2_header_size``: the width and height DG2's record header claims
(real CCCDs say 480 x 400 for a 300 x 400 JPEG; null: the image's own size).

A profile holds synthetic people only: real citizens' data never belongs here.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from verifier.cccd.id_number import check_format
from verifier.errors import AccessKeyError, InputError

FORMAT = "chipid-card-profile/1"
PROFILE_FILE = "profile.json"
DEMO_DIR = Path(__file__).resolve().parent / "demo"
#: The committed demo card (synthetic citizen, portrait derived from a public-domain photo).
DEMO_PROFILE_DIR = DEMO_DIR / "card"
#: A "camera" photo of the same person, for demo mode's face match.
DEMO_CAMERA_PHOTO = DEMO_PROFILE_DIR / "camera.jpg"

#: Default chip options (see drivers/emulator/personalise.py for their meaning).
DEFAULT_CHIP = {
    "bac": True,
    "pace": True,
    "pace_parameter_id": 13,  # standardized domain parameters: brainpoolP256r1 (ICAO 9303-11 §9.5.1)
    "pace_cipher": "AES",  # ECDH generic mapping with AES (or "3DES")
    "pace_key_bits": 128,
    "chip_auth": True,
    "active_auth": True,
    "dg3": True,  # DG3 (fingerprints) listed in EF.COM and answering 6982, TA info in EF.CardAccess / DG14
    "dg2_header_size": None,  # [w, h] written in DG2's record header instead of the image's size ([480, 400] on real cards)
}

_TEXT_FIELDS = ("nationality", "ethnicity", "religion", "place_of_origin", "place_of_residence",
                "personal_identification", "father_name", "mother_name", "spouse_name", "old_id_number")


@dataclass(frozen=True)
class CardProfile:
    id_number: str
    full_name: str
    date_of_birth: _dt.date
    sex: str  # "M" or "F"
    date_of_expiry: _dt.date | None  # None: the card has no expiry ("không thời hạn")
    photo: bytes = field(repr=False)
    photo_name: str = "photo.jp2"
    date_of_issue: _dt.date | None = None
    nationality: str | None = "Việt Nam"
    ethnicity: str | None = "Kinh"
    religion: str | None = "Không"
    place_of_origin: str | None = None
    place_of_residence: str | None = None
    personal_identification: str | None = None
    father_name: str | None = None
    mother_name: str | None = None
    spouse_name: str | None = None
    old_id_number: str | None = None
    chip_auth_key_pem: bytes | None = field(default=None, repr=False)
    active_auth_key_pem: bytes | None = field(default=None, repr=False)
    dsc_cert_pem: bytes | None = field(default=None, repr=False)  # None: the demo DSC
    dsc_key_pem: bytes | None = field(default=None, repr=False)
    chip: dict = field(default_factory=lambda: dict(DEFAULT_CHIP))
    directory: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "id_number", check_format(self.id_number))
        except AccessKeyError as e:
            raise InputError(f"card profile: {e.message}") from e
        if self.sex not in ("M", "F"):
            raise InputError(f"card profile: sex must be M or F, found {self.sex!r}")
        if not self.full_name or not self.full_name.strip():
            raise InputError("card profile: full name is empty")
        if not self.photo:
            raise InputError("card profile: no photo")
        chip = dict(DEFAULT_CHIP)
        chip.update(self.chip or {})
        object.__setattr__(self, "chip", chip)

    def __repr__(self) -> str:  # keep names and numbers out of logs, even synthetic ones
        return f"CardProfile(directory={str(self.directory) if self.directory else None!r}, <redacted>)"

    # --- what the chip shows ------------------------------------------------------------
    @property
    def no_expiry(self) -> bool:
        return self.date_of_expiry is None

    @property
    def sex_vi(self) -> str:
        return "Nam" if self.sex == "M" else "Nữ"

    @property
    def mrz_names(self) -> tuple[str, str]:
        """(primary, secondary) identifier: family name, then the rest ("NGUYỄN", "VĂN AN")."""
        parts = self.full_name.split()
        return parts[0], " ".join(parts[1:])

    def save(self, directory) -> Path:
        return save_profile(self, directory)


def _date(value, what: str, *, allow_none: bool = False) -> _dt.date | None:
    if value is None or (allow_none and str(value).strip().lower() in ("none", "", "không thời hạn")):
        if allow_none:
            return None
        raise InputError(f"card profile: {what} is missing")
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError as e:
        raise InputError(f"card profile: {what} must be YYYY-MM-DD, found {value!r}") from e


def _iso(d: _dt.date | None) -> str | None:
    return d.isoformat() if d else None


def to_json(profile: CardProfile, *, photo: str, keys: dict, signer: dict | None) -> dict:
    citizen = {
        "id_number": profile.id_number,
        "full_name": profile.full_name,
        "date_of_birth": _iso(profile.date_of_birth),
        "sex": profile.sex,
        "date_of_issue": _iso(profile.date_of_issue),
        "date_of_expiry": _iso(profile.date_of_expiry) if profile.date_of_expiry else "none",
    }
    for name in _TEXT_FIELDS:
        citizen[name] = getattr(profile, name)
    return {"format": FORMAT, "citizen": citizen, "photo": photo, "keys": keys, "signer": signer,
            "chip": dict(profile.chip)}


def save_profile(profile: CardProfile, directory) -> Path:
    """Write ``profile`` as a profile directory (created if needed). Returns the directory."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    photo_name = Path(profile.photo_name).name or "photo.jp2"
    (d / photo_name).write_bytes(profile.photo)
    keys = {}
    for name, pem, file in (("chip_auth", profile.chip_auth_key_pem, "chip_auth_key.pem"),
                            ("active_auth", profile.active_auth_key_pem, "active_auth_key.pem")):
        if pem:
            (d / file).write_bytes(pem)
            keys[name] = file
    signer = None
    if profile.dsc_cert_pem and profile.dsc_key_pem:
        (d / "dsc.pem").write_bytes(profile.dsc_cert_pem)
        (d / "dsc_key.pem").write_bytes(profile.dsc_key_pem)
        signer = {"dsc": "dsc.pem", "dsc_key": "dsc_key.pem"}
    doc = to_json(profile, photo=photo_name, keys=keys, signer=signer)
    (d / PROFILE_FILE).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return d


def _read(d: Path, name: str | None, what: str) -> bytes | None:
    if not name:
        return None
    path = (d / name) if not Path(name).is_absolute() else Path(name)
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"card profile: cannot read {what} file {path}: {e.strerror}") from e


def load_profile(directory) -> CardProfile:
    """Read a profile directory written by :func:`save_profile` (or by hand)."""
    d = Path(directory)
    path = d / PROFILE_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"card profile: cannot read {path}: {e.strerror}") from e
    except ValueError as e:
        raise InputError(f"card profile: {path} is not valid JSON: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"card profile: {path} is not a {FORMAT} document")
    c = doc.get("citizen") or {}
    if not isinstance(c, dict):
        raise InputError("card profile: 'citizen' must be an object")
    keys = doc.get("keys") or {}
    signer = doc.get("signer") or {}
    kwargs = {name: c.get(name) for name in _TEXT_FIELDS if name in c}
    photo_name = doc.get("photo") or "photo.jp2"
    return CardProfile(
        id_number=str(c.get("id_number", "")),
        full_name=str(c.get("full_name") or ""),
        date_of_birth=_date(c.get("date_of_birth"), "date_of_birth"),
        sex=str(c.get("sex", "")),
        date_of_issue=_date(c.get("date_of_issue"), "date_of_issue", allow_none=True),
        date_of_expiry=_date(c.get("date_of_expiry"), "date_of_expiry", allow_none=True),
        photo=_read(d, photo_name, "photo") or b"",
        photo_name=Path(photo_name).name,
        chip_auth_key_pem=_read(d, keys.get("chip_auth"), "chip authentication key"),
        active_auth_key_pem=_read(d, keys.get("active_auth"), "active authentication key"),
        dsc_cert_pem=_read(d, signer.get("dsc"), "document signer certificate"),
        dsc_key_pem=_read(d, signer.get("dsc_key"), "document signer key"),
        chip=doc.get("chip") or {},
        directory=d,
        **kwargs,
    )


def generate_keys(profile: CardProfile, *, chip_auth_curve: str = "brainpoolP256r1",
                  active_auth: str = "rsa") -> CardProfile:
    """A copy with fresh chip-authentication (EC) and active-authentication (EC or RSA) keys
    for whichever of the two is missing. ``active_auth``: "rsa" (RSA-2048, e=65537, as real CCCDs),
    "ec" or "none"."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    curves = {"brainpoolP256r1": ec.BrainpoolP256R1, "secp256r1": ec.SECP256R1, "P-256": ec.SECP256R1,
              "brainpoolP384r1": ec.BrainpoolP384R1, "secp384r1": ec.SECP384R1}
    if chip_auth_curve not in curves:
        raise InputError(f"chip authentication curve: expected one of {', '.join(curves)}, found {chip_auth_curve!r}")

    def pem(key) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    changes: dict = {}
    if profile.chip_auth_key_pem is None:
        changes["chip_auth_key_pem"] = pem(ec.generate_private_key(curves[chip_auth_curve]()))
    if profile.active_auth_key_pem is None and active_auth != "none":
        if active_auth == "ec":
            changes["active_auth_key_pem"] = pem(ec.generate_private_key(ec.SECP256R1()))
        elif active_auth == "rsa":
            changes["active_auth_key_pem"] = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        else:
            raise InputError(f"active authentication: expected ec, rsa or none, found {active_auth!r}")
    if active_auth == "none":
        chip = dict(profile.chip)
        chip["active_auth"] = False
        changes["chip"] = chip
    return replace(profile, **changes) if changes else profile


def copy_profile(src, dst) -> Path:
    """Copy a profile directory (e.g. the demo card) somewhere writable."""
    shutil.copytree(Path(src), Path(dst), dirs_exist_ok=True)
    return Path(dst)


__all__ = ["CardProfile", "DEMO_PROFILE_DIR", "DEMO_CAMERA_PHOTO", "DEFAULT_CHIP", "save_profile", "load_profile",
           "generate_keys", "copy_profile"]

"""``chipid card``: make and inspect card profiles for the emulated CCCD (test cards only).

    chipid card make --name "Nguyễn Văn An" --id-number 079090001234 --birth-date 1990-03-15 \\
        --sex M --issue-date 2021-04-20 --photo face.jpg --out cards/an
    chipid card show cards/an
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from verifier.errors import ChipidError

_TEXT_OPTIONS = (
    ("nationality", "Quốc tịch / nationality.", "Việt Nam"),
    ("ethnicity", "Dân tộc / ethnicity.", "Kinh"),
    ("religion", "Tôn giáo / religion.", "Không"),
    ("place_of_origin", "Quê quán / place of origin.", None),
    ("place_of_residence", "Nơi thường trú / place of residence.", None),
    ("personal_identification", "Đặc điểm nhận dạng / identifying marks.", None),
    ("father_name", "Họ tên cha / father's name.", None),
    ("mother_name", "Họ tên mẹ / mother's name.", None),
    ("spouse_name", "Họ tên vợ/chồng / spouse's name.", None),
    ("old_id_number", "Số CMND cũ / old 9-digit ID number.", None),
)


def _date(value: str | None, what: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as e:
        raise click.BadParameter(f"{what} must be YYYY-MM-DD, found {value!r}") from e


def _photo_bytes(path: Path) -> tuple[bytes, str]:
    """JPEG / JPEG 2000 files go on the chip byte for byte; anything else is converted to JPEG."""
    from verifier.icao.lds.image_headers import image_format

    data = path.read_bytes()
    fmt = image_format(data)
    if fmt == "jpeg":
        return data, "photo.jpg"
    if fmt == "jpeg2000":
        return data, "photo.jp2"
    from biometrics.images import decode_image, encode_jpeg

    return encode_jpeg(decode_image(data, name=f"photo {path.name}"), quality=90), "photo.jpg"


@click.group("card")
def card() -> None:
    """Hồ sơ thẻ thử nghiệm / test card profiles for the emulated CCCD chip."""


@card.command("make")
@click.option("--name", "full_name", required=True, help="Họ và tên / full name, e.g. \"Nguyễn Văn An\".")
@click.option("--id-number", required=True, help="Số định danh 12 chữ số / 12-digit personal ID number.")
@click.option("--birth-date", required=True, help="Ngày sinh / date of birth, YYYY-MM-DD.")
@click.option("--sex", type=click.Choice(["M", "F"], case_sensitive=False), required=True, help="M (Nam) or F (Nữ).")
@click.option("--issue-date", default=None, help="Ngày cấp / date of issue, YYYY-MM-DD.")
@click.option("--expiry-date", default=None,
              help="Ngày hết hạn, YYYY-MM-DD or 'none' (không thời hạn). Default: from the renewal ages and the issue date.")
@click.option("--photo", "photo_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Portrait for DG2 (JPEG / JPEG 2000 kept byte for byte; other formats converted to JPEG).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Profile directory to write (default: ./card-<last 6 digits of the ID>).")
@click.option("--active-auth", type=click.Choice(["ec", "rsa", "none"]), default="rsa", show_default=True,
              help="Active authentication key type (DG15): rsa (RSA-2048, as real CCCDs), ec or none.")
@click.option("--no-pace", is_flag=True, help="A BAC-only chip (no EF.CardAccess).")
@click.option("--nationality", default="Việt Nam", show_default=True, help=_TEXT_OPTIONS[0][1])
@click.option("--ethnicity", default="Kinh", show_default=True, help=_TEXT_OPTIONS[1][1])
@click.option("--religion", default="Không", show_default=True, help=_TEXT_OPTIONS[2][1])
@click.option("--place-of-origin", default=None, help=_TEXT_OPTIONS[3][1])
@click.option("--place-of-residence", default=None, help=_TEXT_OPTIONS[4][1])
@click.option("--personal-identification", default=None, help=_TEXT_OPTIONS[5][1])
@click.option("--father-name", default=None, help=_TEXT_OPTIONS[6][1])
@click.option("--mother-name", default=None, help=_TEXT_OPTIONS[7][1])
@click.option("--spouse-name", default=None, help=_TEXT_OPTIONS[8][1])
@click.option("--old-id-number", default=None, help=_TEXT_OPTIONS[9][1])
def make(full_name, id_number, birth_date, sex, issue_date, expiry_date, photo_path, out_dir, active_auth, no_pace,
         **text_fields) -> None:
    """Tạo hồ sơ thẻ / write a card profile directory (profile.json, photo, chip keys)."""
    from drivers.emulator.profile import CardProfile, generate_keys, save_profile
    from verifier.cccd.id_number import validate_id_number
    from verifier.cccd.qr import NO_EXPIRY, expiry_for

    birth = _date(birth_date, "--birth-date")
    issue = _date(issue_date, "--issue-date")
    if expiry_date is None:
        if issue is None:
            raise click.UsageError("give --expiry-date, or --issue-date to derive it from the renewal ages")
        derived = expiry_for(birth, issue)
        expiry = None if derived is NO_EXPIRY else derived
    elif expiry_date.strip().lower() in ("none", "không thời hạn", "khong thoi han"):
        expiry = None
    else:
        expiry = _date(expiry_date, "--expiry-date")
    try:
        info = validate_id_number(id_number, birth, sex.upper())
        for w in info.warnings:
            click.echo(f"warning: {w}", err=True)
        photo, photo_name = _photo_bytes(photo_path)
        profile = CardProfile(
            id_number=id_number, full_name=full_name.strip(), date_of_birth=birth, sex=sex.upper(),
            date_of_issue=issue, date_of_expiry=expiry, photo=photo, photo_name=photo_name,
            chip={"pace": not no_pace, "active_auth": active_auth != "none"},
            **{k: (v if v not in ("",) else None) for k, v in text_fields.items()},
        )
        profile = generate_keys(profile, active_auth=active_auth)
        out = out_dir or Path(f"card-{profile.id_number[-6:]}")
        save_profile(profile, out)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"card profile written to {out}")


@card.command("show")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--files/--no-files", default=True, show_default=True, help="Also personalise and list the chip's files.")
def show(directory: Path, files: bool) -> None:
    """Xem hồ sơ thẻ / print a card profile and the files its chip would serve."""
    from drivers.emulator.personalise import mrz_text, personalise
    from drivers.emulator.profile import load_profile

    try:
        p = load_profile(directory)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    rows = [
        ("Số định danh / ID number", p.id_number),
        ("Họ và tên / name", p.full_name),
        ("Ngày sinh / born", p.date_of_birth.isoformat()),
        ("Giới tính / sex", f"{p.sex_vi} ({p.sex})"),
        ("Ngày cấp / issued", p.date_of_issue.isoformat() if p.date_of_issue else "-"),
        ("Có giá trị đến / expires", p.date_of_expiry.isoformat() if p.date_of_expiry else "không thời hạn / none"),
    ]
    for name in ("nationality", "ethnicity", "religion", "place_of_origin", "place_of_residence",
                 "personal_identification", "father_name", "mother_name", "spouse_name", "old_id_number"):
        value = getattr(p, name)
        if value:
            rows.append((name.replace("_", " "), value))
    rows.append(("photo", f"{p.photo_name} ({len(p.photo)} bytes)"))
    rows.append(("BAC document number", p.id_number[-9:]))
    rows.append(("CAN", p.id_number[-6:]))
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        click.echo(f"{label.ljust(width)}  {value}")
    click.echo("MRZ:")
    for line in mrz_text(p).split("\n"):
        click.echo(f"  {line}")
    if files:
        try:
            built = personalise(p, sign=False)
        except ChipidError as e:
            raise click.ClickException(str(e)) from e
        click.echo("files (unsigned): " + ", ".join(f"{k} {len(v)} B" for k, v in built.items()))

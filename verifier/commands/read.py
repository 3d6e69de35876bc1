"""``chipid read``: read a card and verify it, for people (a table) or tools (``--json``).

Exit codes: 0 authentic, 2 not authentic, 3 unverified (read fine but not proven),
1 could not read (no reader, no card, wrong access key, ...: said on stderr).

Field tools: ``--save-files DIR`` keeps every file exactly as read (personal data: a 0700
directory, 0600 files, written atomically); ``--diagnose FILE`` writes a support bundle without
personal data (:mod:`verifier.diagnose`), also when the read fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.cli_options import cli_config, config_options
from verifier.errors import (
    AccessDeniedError,
    AccessKeyError,
    CardRemovedError,
    ChipidError,
    InputError,
    NoCardError,
    NoReaderError,
)
from verifier.report import render

EXIT = {"authentic": 0, "not_authentic": 2, "unverified": 3}
EXIT_UNREADABLE = 1

_HINTS = [
    (NoReaderError, "Không tìm thấy đầu đọc / no card reader found"),
    (NoCardError, "Chưa đặt thẻ lên đầu đọc / no card on the reader"),
    (CardRemovedError, "Thẻ bị rút ra khi đang đọc / the card was removed during the read"),
    (AccessDeniedError, "Chip từ chối khóa truy cập: kiểm tra lại số CCCD, ngày sinh, ngày hết hạn hoặc CAN / "
                        "the chip refused the access key: check the ID number, dates or CAN"),
    (AccessKeyError, "Thông tin truy cập không hợp lệ / the access data is unusable"),
]


def _hint(error: ChipidError) -> str:
    for cls, text in _HINTS:
        if isinstance(error, cls):
            return text
    return "Không đọc được thẻ / the card could not be read"


@click.command("read")
@click.option("--reader", default=None, help="emulator | pcsc[:NAME] | nfc[:DEVICE] | auto (default: reader.name).")
@click.option("--doc-number", help="Document number (BAC), with --birth-date and --expiry-date.")
@click.option("--id-number", help="12-digit ID number, with --birth-date and --expiry-date.")
@click.option("--birth-date", help="Date of birth, YYMMDD.")
@click.option("--expiry-date", help="Date of expiry, YYMMDD.")
@click.option("--mrz", help="The MRZ text (TD1 or TD3).")
@click.option("--qr", help="The text of the QR code printed on the card.")
@click.option("--can", help="Card access number (last 6 digits of the ID number on a CCCD).")
@click.option("--card", "card_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="With --reader emulator: the card profile directory to emulate (default: the demo card).")
@click.option("--save-files", "save_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Lưu mọi tệp đọc từ chip vào DIR (EF.CardAccess.bin, EF.COM.bin, EF.SOD.bin, DG1.bin, ...), "
                   "đúng từng byte. ĐÂY LÀ DỮ LIỆU CÁ NHÂN (Nghị định 13/2023/NĐ-CP): phải bảo vệ và xóa khi "
                   "không còn cần. / Write every file exactly as read into DIR (created mode 0700, files "
                   "0600). The files are PERSONAL DATA (Decree 13/2023): protect them, delete them when done.")
@click.option("--diagnose", "diagnose_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ghi gói chẩn đoán (JSON) gửi bộ phận hỗ trợ, không có dữ liệu cá nhân, kể cả khi đọc lỗi. / "
                   "Write a support bundle (JSON) to FILE, also when the read fails: reader, ATR, APDU headers, "
                   "status words and timings, EF.CardAccess, EF.COM, the SOD's algorithms and Document Signer, "
                   "DG13's structure, check statuses. No personal value, key or MRZ.")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def read(reader, doc_number, id_number, birth_date, expiry_date, mrz, qr, can, card_dir, save_dir, diagnose_path,
         config_path, data_dir, as_json):
    """Đọc và xác thực thẻ / read and verify a card."""
    from verifier.results import ScanStep
    from verifier.scan import run_scan

    config = cli_config(config_path, data_dir)
    access = {"doc_number": doc_number, "id_number": id_number, "birth_date": birth_date,
              "expiry_date": expiry_date, "mrz": mrz, "qr": qr, "can": can}
    recorder = None

    def record(transport):
        from verifier.diagnose import RecordingTransport

        nonlocal recorder
        recorder = RecordingTransport(transport)
        return recorder

    def progress(step: ScanStep) -> None:
        if recorder is not None:
            recorder.phase = step.value
        if step in (ScanStep.CARD_LIFTED, ScanStep.CARD_BACK):  # lifted mid-read: ask the clerk to put it back
            click.echo(f"chipid read: {step.label_vi} / {step.label}", err=True)

    try:
        outcome = run_scan(config, access, progress, reader=reader, card_dir=card_dir,
                           wrap=record if diagnose_path else None)
    except ChipidError as e:
        click.echo(f"chipid read: {_hint(e)}\n  {e}", err=True)
        if diagnose_path:
            _diagnose(diagnose_path, recorder, config, error=e, hint=_hint(e))
        if save_dir:
            click.echo("chipid read: không có tệp nào được lưu / no file saved", err=True)
        if as_json:
            click.echo(json.dumps({"error": {"code": type(e).__name__, "message": str(e)}}, ensure_ascii=False))
        sys.exit(EXIT_UNREADABLE)
    if diagnose_path:
        _diagnose(diagnose_path, recorder, config, outcome=outcome)
    if save_dir:
        try:
            written = save_files(outcome.files, save_dir)
        except ChipidError as e:
            click.echo(f"chipid read: không lưu được tệp / the files could not be saved: {e}", err=True)
            sys.exit(EXIT_UNREADABLE)
        click.echo(f"chipid read: đã lưu {len(written)} tệp vào {save_dir} (dữ liệu cá nhân, hãy bảo vệ) / "
                   f"saved {len(written)} files to {save_dir} (personal data: protect them)", err=True)
    result = outcome.result.to_json()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(render(result))
    sys.exit(EXIT.get(outcome.result.verdict.value, 3))


def saved_name(name: str) -> str:
    """File name under ``--save-files`` for a file of the scan ("SOD" -> "EF.SOD.bin", "DG1" -> "DG1.bin")."""
    return f"{name}.bin" if name.startswith("DG") else f"EF.{name}.bin"


def save_files(files: dict[str, bytes], directory: Path) -> list[Path]:
    """Write each file exactly as read into ``directory`` (mode 0700), each file mode 0600 through a
    temporary file and an atomic rename (the ledger's key writer). Raises :class:`InputError` when
    the directory cannot be written."""
    from verifier.ledger.keys import write_secret

    written = []
    try:
        for name, data in files.items():
            path = directory / saved_name(name)
            write_secret(path, data)
            written.append(path)
    except OSError as e:
        raise InputError(f"cannot write into {directory}: {e.strerror or e}") from e
    return written


def _diagnose(path: Path, recorder, config, **kwargs) -> None:
    """Write the support bundle; a bundle that cannot be written is said on stderr, the read's exit code stays.

    A plain write: the bundle holds nothing personal and is made to be sent away."""
    from verifier.diagnose import build_bundle

    settings = {k: config[k] for k in ("reader.name", "chip.access_policy", "chip.extended_length", "chip.max_le",
                                       "trust.demo", "trust.validity_policy")}
    bundle = build_bundle(recorder, settings=settings, **kwargs)
    try:
        path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as e:
        click.echo(f"chipid read: không ghi được gói chẩn đoán / cannot write the diagnostic bundle {path}: "
                   f"{e.strerror or e}", err=True)
        return
    click.echo(f"chipid read: đã ghi gói chẩn đoán / diagnostic bundle written: {path}", err=True)

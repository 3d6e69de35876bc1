"""``chipid read``: read a card and verify it, for people (a table) or tools (``--json``).

Exit codes: 0 authentic, 2 not authentic, 3 unverified (read fine but not proven),
1 could not read (no reader, no card, wrong access key, ...: said on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.commands.options import cli_config, config_options
from verifier.errors import (
    AccessDeniedError,
    AccessKeyError,
    CardRemovedError,
    ChipidError,
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
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def read(reader, doc_number, id_number, birth_date, expiry_date, mrz, qr, can, card_dir, config_path, data_dir, as_json):
    """Đọc và xác thực thẻ / read and verify a card."""
    from verifier.scan import run_scan

    config = cli_config(config_path, data_dir)
    access = {"doc_number": doc_number, "id_number": id_number, "birth_date": birth_date,
              "expiry_date": expiry_date, "mrz": mrz, "qr": qr, "can": can}
    try:
        outcome = run_scan(config, access, reader=reader, card_dir=card_dir)
    except ChipidError as e:
        click.echo(f"chipid read: {_hint(e)}\n  {e}", err=True)
        if as_json:
            click.echo(json.dumps({"error": {"code": type(e).__name__, "message": str(e)}}, ensure_ascii=False))
        sys.exit(EXIT_UNREADABLE)
    result = outcome.result
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(render(result))
    sys.exit(EXIT.get(result["verdict"], 3))

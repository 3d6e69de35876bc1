"""``chipid lds show FILE... [--json]``: what an LDS file holds, field by field.

For files saved by ``chipid read --save-files`` and dumps from other tools (raw bytes or hex
text). The file kind comes from its first tag (:mod:`verifier.lds_summary`); the project's own
parsers read it. A local tool on the operator's own files: DG1 and DG13 values (personal data)
are printed.

Exit codes: 0 every file parsed, 2 a file is of an unknown kind or malformed (said on stderr,
naming the file and what was expected; the other files are still shown).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.errors import ChipidError

EXIT_BAD_FILE = 2


@click.group("lds")
def lds() -> None:
    """Tệp dữ liệu trên chip (LDS) / the chip's data files (LDS)."""


def _render(path: Path, summary: dict) -> str:
    from verifier.lds_summary import flatten

    tag = f"tag {summary['tag']}, " if summary["tag"] else ""
    lines = [f"{path}: {summary['file']} ({tag}{summary['size']} bytes, sha256 {summary['sha256']})"]
    rows = flatten(summary["fields"])
    width = max((len(k) for k, _ in rows), default=0)
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)


@lds.command("show")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per file.")
def show(files: tuple[Path, ...], as_json: bool) -> None:
    """Hiển thị nội dung tệp LDS / show what LDS files hold.

    FILE: EF.CardAccess, EF.COM, EF.SOD, DG1, DG2, DG13, DG14, DG15 (or a bare ISO/IEC 19794-5
    face record), as raw bytes or hex text. DG1 and DG13 hold personal data (Decree 13/2023):
    keep what this prints as protected as the files themselves.
    """
    from verifier.lds_summary import decode_dump, summarise

    shown, failed = [], 0
    for path in files:
        try:
            raw = decode_dump(path.read_bytes())
            summary = summarise(raw)
        except OSError as e:
            click.echo(f"chipid lds show: không đọc được tệp / cannot read {path}: {e.strerror or e}", err=True)
            failed += 1
            continue
        except ChipidError as e:
            click.echo(f"chipid lds show: {path}: không phải tệp LDS hợp lệ / not a valid LDS file: {e}", err=True)
            failed += 1
            continue
        shown.append({"path": str(path), **summary})
        if not as_json:
            click.echo(_render(path, summary))
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False, indent=1))
    if failed:
        sys.exit(EXIT_BAD_FILE)

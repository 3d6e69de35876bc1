"""The shop's reports as files: CSV for Excel, XLSX, printable HTML. One :class:`Table` per report, three writers.

* **CSV**: UTF-8 with a byte order mark (Excel for Windows reads a file without it as the ANSI code page and
  garbles Vietnamese; RFC 4180 layout, comma separated, CRLF line ends): the header row, then the rows, then the
  totals row. Money as plain whole numbers of đồng, dates ``dd/mm/yyyy``, times ``HH:MM dd/mm/yyyy`` in Vietnam
  time (the header says so).
* **XLSX** (openpyxl, ECMA-376): title and period above the table, headers in Vietnamese, money as numbers with the
  format ``#,##0``, dates as Excel dates (``dd/mm/yyyy``), times as Excel date-times in Vietnam time (labelled in
  the header), the header row frozen.
* **HTML**: a printable page (A4 landscape), money ``10.500.000 ₫``, times local and labelled; no script.

The reports' content comes from :mod:`verifier.ledger.due_lists`, :mod:`verifier.ledger.cash_book` and
:mod:`verifier.ledger.pawn_register`; this module only lays them out.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from verifier.api.contract import vdate, vnd
from verifier.ledger.pawn_records import local_datetime
from verifier.local_time import LABELS, local_time

MONEY_FORMAT = "#,##0"
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
KINDS = ("text", "money", "int", "date", "datetime")
MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class Column:
    """A column: the row's ``key``, its Vietnamese ``header`` and what it holds (:data:`KINDS`): ``money`` whole
    đồng, ``date`` an ISO day (already local), ``datetime`` a stored UTC time (shown in Vietnam time)."""

    key: str
    header: str
    kind: str = "text"

    def title(self) -> str:
        return f"{self.header} ({LABELS['vi']})" if self.kind == "datetime" else self.header


@dataclass
class Table:
    """A report laid out: ``title``, ``meta`` lines (label, value) above the table, ``columns``, ``rows`` (dicts),
    an optional ``totals`` row (same keys), and the file name without extension."""

    title: str
    columns: list[Column]
    rows: list[dict]
    meta: list[tuple[str, str]] = field(default_factory=list)
    totals: dict | None = None
    name: str = "bao-cao"


# --- cells ----------------------------------------------------------------------------------
def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def text_cell(col: Column, value: Any) -> str:
    """A value as CSV text (numbers bare, so a spreadsheet reads them as numbers)."""
    if value is None or value == "":
        return ""
    if col.kind in ("money", "int"):
        return str(int(value))
    if col.kind == "date":
        return vdate(value)
    if col.kind == "datetime":
        return local_time(value, "vi", label=False)
    return str(value)


def html_cell(col: Column, value: Any) -> str:
    """A value as a person reads it: ``10.500.000 ₫``, ``dd/mm/yyyy``, ``HH:MM dd/mm/yyyy``."""
    if value is None or value == "":
        return "—" if col.kind in ("money", "date", "datetime") else ""
    if col.kind == "money":
        return vnd(value)
    if col.kind == "int":
        return f"{int(value):,}".replace(",", ".")
    return text_cell(col, value)


def xlsx_cell(col: Column, value: Any) -> Any:
    if value is None or value == "":
        return None
    if col.kind in ("money", "int"):
        return int(value)
    if col.kind == "date":
        return _day(value) or str(value)
    if col.kind == "datetime":
        try:
            return local_datetime(str(value))
        except Exception:  # noqa: BLE001 - a text that is no time is shown as it is
            return str(value)
    return xlsx_text(str(value))


def xlsx_text(text: Any) -> Any:
    """``text`` with the characters an XLSX cell cannot hold (C0 controls but tab, LF, CR) shown as U+FFFD,
    so a name typed with a stray control character still exports instead of failing the whole report."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text) if isinstance(text, str) else text


# --- writers --------------------------------------------------------------------------------
def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([c.title() for c in table.columns])
    for row in table.rows:
        w.writerow([text_cell(c, row.get(c.key)) for c in table.columns])
    if table.totals is not None:
        w.writerow([text_cell(c, table.totals.get(c.key)) for c in table.columns])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = xlsx_text(table.title[:31])
    ws.append([xlsx_text(table.title)])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    for label, value in table.meta:
        ws.append([xlsx_text(label), xlsx_text(value)])
    ws.append([])
    header_row = ws.max_row + 1
    ws.append([c.title() for c in table.columns])
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    body = list(table.rows) + ([table.totals] if table.totals is not None else [])
    for row in body:
        ws.append([xlsx_cell(c, row.get(c.key)) for c in table.columns])
        r = ws.max_row
        for i, c in enumerate(table.columns, 1):
            fmt = {"money": MONEY_FORMAT, "int": MONEY_FORMAT, "date": DATE_FORMAT, "datetime": DATETIME_FORMAT}.get(c.kind)
            if fmt and not isinstance(ws.cell(r, i).value, str):
                ws.cell(r, i).number_format = fmt
    if table.totals is not None:
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    for i, c in enumerate(table.columns, 1):
        width = {"money": 16, "int": 10, "date": 12, "datetime": 18}.get(c.kind, 24)
        ws.column_dimensions[get_column_letter(i)].width = max(width, min(len(c.title()) + 2, 40))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_STYLE = """@page { size: A4 landscape; margin: 12mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11px; color: #000; }
h1 { font-size: 16px; margin: 0 0 4px; } .meta { margin: 0 0 8px; } .meta span { margin-right: 16px; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #444; padding: 2px 4px; vertical-align: top; }
th { background: #eee; } td.money, td.int { text-align: right; white-space: nowrap; } tr.totals td { font-weight: bold; }
"""


def to_html(table: Table) -> bytes:
    e = html.escape
    head = "".join(f"<th>{e(c.title())}</th>" for c in table.columns)

    def tr(row: dict, cls: str = "") -> str:
        cells = "".join(f'<td class="{c.kind}">{e(html_cell(c, row.get(c.key)))}</td>' for c in table.columns)
        return f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>"

    body = "".join(tr(r) for r in table.rows) + (tr(table.totals, "totals") if table.totals is not None else "")
    meta = "".join(f"<span>{e(label)}: <b>{e(value)}</b></span>" for label, value in table.meta)
    page = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{e(table.title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{e(table.title)}</h1><p class=\"meta\">{meta}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>")
    return page.encode("utf-8")


WRITERS = {"csv": to_csv, "xlsx": to_xlsx, "html": to_html}


def render(table: Table, fmt: str) -> tuple[bytes, str, str]:
    """``(content, media type, file name)`` of ``table`` as ``fmt`` (csv, xlsx or html)."""
    return WRITERS[fmt](table), MEDIA[fmt], f"{table.name}.{fmt}"

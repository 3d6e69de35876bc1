"""The one PDF writer of the printed documents (contract, receipts): fpdf2 with the embedded DejaVu fonts.

DejaVu Sans covers Vietnamese (every precomposed letter with its diacritics), and the fonts ship in
``verifier/api/static/fonts`` so printing works offline. :class:`Doc` keeps the few ways a document
writes: a paragraph, a label/value table, a line of two signature blocks. A receipt for an 80 mm
thermal printer has no fixed page height: :func:`auto_height` lays the document out once on a tall
page, then again on a page as tall as what was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

FONTS = Path(__file__).resolve().parent / "static" / "fonts"
RED = (180, 0, 0)


class Doc:
    """An fpdf2 document with the DejaVu fonts; ``format`` is "A4", "A5" or ``(width_mm, height_mm)``."""

    def __init__(self, format: str | tuple[float, float] = "A4", *, margin: float = 15, title: str = "") -> None:
        from fpdf import FPDF

        self.pdf = pdf = FPDF(format=format)
        pdf.set_margins(margin, margin, margin)
        pdf.set_auto_page_break(True, margin=margin)
        pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        if title:
            pdf.set_title(title)
        pdf.add_page()

    @property
    def width(self) -> float:
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def page(self) -> None:
        self.pdf.add_page()

    def text(self, s: str, size: float = 10, bold: bool = False, align: str = "L", h: float | None = None,
             color: tuple[int, int, int] | None = None) -> None:
        pdf = self.pdf
        pdf.set_font("DejaVu", "B" if bold else "", size)
        if color:
            pdf.set_text_color(*color)
        pdf.multi_cell(self.width, h or size * 0.5 + 1, s, align=align, new_x="LMARGIN", new_y="NEXT")
        if color:
            pdf.set_text_color(0, 0, 0)

    def heading(self, s: str, size: float = 11) -> None:
        """A heading kept with what follows it (a new page rather than a heading alone at the bottom)."""
        if self.pdf.will_page_break(25):
            self.pdf.add_page()
        self.text(s, size, True, h=size * 0.5 + 3)

    def rows(self, pairs: Iterable[tuple[str, object]], label_w: float | None = None, size: float = 10) -> None:
        """Label: value lines (a value wraps in its column; an empty one prints "—")."""
        pdf = self.pdf
        lw = label_w if label_w is not None else self.width * 0.36
        h = size * 0.5 + 1
        for label, value in pairs:
            pdf.set_font("DejaVu", "", size)
            if pdf.will_page_break(h * 2):
                pdf.add_page()
            top = pdf.get_y()
            pdf.multi_cell(lw - 1, h, f"{label}:", new_x="LMARGIN", new_y="NEXT")  # a long label wraps in its column
            below_label = pdf.get_y()
            pdf.set_xy(pdf.l_margin + lw, top)
            pdf.multi_cell(self.width - lw, h, str(value if value not in (None, "") else "—"), align="L",
                           new_x="LMARGIN", new_y="NEXT")
            pdf.set_y(max(below_label, pdf.get_y()))

    def signatures(self, blocks: list[tuple[str, str]], *, space: float = 18, size: float = 9) -> None:
        """Signature blocks side by side: (title, hint under it), then room to sign."""
        pdf = self.pdf
        w = self.width / max(1, len(blocks))
        if pdf.will_page_break(space + 15):  # the blocks and the room to sign stay together
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", size + 1)
        for i, (title, _) in enumerate(blocks):
            pdf.cell(w, 5, title, align="C", new_x="LMARGIN" if i == len(blocks) - 1 else "RIGHT",
                     new_y="NEXT" if i == len(blocks) - 1 else "TOP")
        pdf.set_font("DejaVu", "", size)
        for i, (_, hint) in enumerate(blocks):
            pdf.cell(w, 5, hint, align="C", new_x="LMARGIN" if i == len(blocks) - 1 else "RIGHT",
                     new_y="NEXT" if i == len(blocks) - 1 else "TOP")
        pdf.ln(space)

    def rule(self) -> None:
        pdf = self.pdf
        pdf.ln(1)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(2)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def auto_height(width_mm: float, draw: Callable[[Doc], None], *, margin: float = 4, title: str = "") -> bytes:
    """A one-page PDF ``width_mm`` wide and as tall as what ``draw`` writes (an 80 mm roll has no page length)."""
    probe = Doc((width_mm, 2000), margin=margin, title=title)
    draw(probe)
    height = probe.pdf.get_y() + margin
    doc = Doc((width_mm, max(height, 60)), margin=margin, title=title)
    doc.pdf.set_auto_page_break(False)
    draw(doc)
    return doc.output()

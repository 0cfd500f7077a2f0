"""Lay out the markup of official templates as a PDF, the way Nghị định 30/2020/NĐ-CP sets
administrative documents: A4, margins 20 mm top and bottom, 30 mm left, 15 mm right, a Times
New Roman-metric serif (Tinos, bundled) at 13 pt, lines 1.4 em apart so that the stacked
diacritics of one line never touch the line above, 6 pt between paragraphs.

Why not fpdf2's own ``write_html``: its table cells take one run of text in one style, and an
official header is a two-column table mixing regular, bold, underlined and italic lines. The
templates use a small subset of HTML that browsers show as it is (the HTML copy of a form is
the same markup in a page) and that this module draws with fpdf2's table and text calls:

=========================  =================================================================
``<h1>``                   the document's name: bold, 14 pt, centred
``<p align= size=>``       a paragraph (``left``, ``center``, ``right``, ``justify``); an
                           empty one is a blank line
``<table border= size=>``  ``<col width="40%">`` per column, rows of ``<th>`` (headings,
                           repeated on a new page) or ``<td align= colspan= rowspan=>``;
                           ``border="1"`` draws the grid, else none
inline                     ``<b>``, ``<i>``, ``<u>``, ``<br>``
=========================  =================================================================

Anything else is a :class:`~dossier.errors.DocumentError` naming the tag: a template that
would lose part of a form silently is a bug to see at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from html.parser import HTMLParser

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, VAlign, WrapMode
from fpdf.fonts import FontFace

from dossier.clock import require_aware
from dossier.errors import DocumentError
from dossier.resources import serif_path

FONT = "Tinos"
BODY_PT = 13.0
TITLE_PT = 14.0
#: Line height as a multiple of the font size: ≥ 1.3 keeps stacked marks (Ậ, Ễ) clear.
LINE_HEIGHT = 1.4
PARAGRAPH_GAP_PT = 6.0
#: Margins in mm: top, right, bottom, left (Nghị định 30/2020/NĐ-CP, Phụ lục I).
MARGINS = (20.0, 15.0, 20.0, 30.0)
_PT = 25.4 / 72  # mm per point
_INLINE = {"b": "**", "strong": "**", "i": "__", "em": "__", "u": "--"}
_MARKERS = ("**", "__", "~~", "--")
_ALIGN = {"left": "L", "center": "C", "right": "R", "justify": "J"}


@dataclass
class Cell:
    text: str = ""
    align: str = "L"
    colspan: int = 1
    rowspan: int = 1
    heading: bool = False


@dataclass
class Table:
    border: bool = False
    size: float = BODY_PT
    widths: list[float] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Paragraph:
    text: str = ""
    align: str = "L"
    size: float = BODY_PT
    bold: bool = False


Block = Paragraph | Table


class _Parser(HTMLParser):
    """The markup as blocks, inline styles turned into fpdf2's markdown markers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._text: list[str] | None = None
        self._cell: Cell | None = None
        self._table: Table | None = None
        self._paragraph: Paragraph | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in _INLINE and self._text is not None:
            self._text.append(_INLINE[tag])
        elif tag == "br" and self._text is not None:
            self._text.append("\n")
        elif tag in ("p", "h1") and self._table is None:
            title = tag == "h1"
            self._paragraph = Paragraph(align="C" if title else _align(a.get("align")),
                                        size=TITLE_PT if title else _size(a.get("size")),
                                        bold=title)
            self._text = []
        elif tag == "table" and self._table is None:
            self._table = Table(border=a.get("border") == "1", size=_size(a.get("size")))
        elif tag == "col" and self._table is not None:
            self._table.widths.append(float(a.get("width", "0").rstrip("%") or 0))
        elif tag in ("colgroup", "thead", "tbody"):
            pass
        elif tag == "tr" and self._table is not None:
            self._table.rows.append([])
        elif tag in ("td", "th") and self._table is not None and self._table.rows:
            self._cell = Cell(align=_align(a.get("align"), "C" if tag == "th" else "L"),
                              colspan=int(a.get("colspan") or 1),
                              rowspan=int(a.get("rowspan") or 1), heading=tag == "th")
            self._text = []
        else:
            raise DocumentError(f"official templates cannot use <{tag}> here (see "
                                "dossier.documents.layout for the markup they may use)")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INLINE and self._text is not None:
            self._text.append(_INLINE[tag])
        elif tag in ("p", "h1") and self._paragraph is not None and self._text is not None:
            self._paragraph.text = _join(self._text)
            self.blocks.append(self._paragraph)
            self._paragraph, self._text = None, None
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._cell.text = _join(self._text or [])
            self._table.rows[-1].append(self._cell)
            self._cell, self._text = None, None
        elif tag == "table" and self._table is not None:
            self.blocks.append(self._table)
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(_escape(data))
        elif data.strip():
            raise DocumentError(f"text outside a paragraph or cell: {data.strip()[:40]!r}")


def _escape(text: str) -> str:
    """Text as it was typed: markdown markers in it are not styles."""
    for marker in _MARKERS:
        text = text.replace(marker, "\\" + marker)
    return text


def _join(parts: list[str]) -> str:
    # HTML collapses white space; line breaks come from <br> only
    text = " ".join("".join(parts).replace("\n", "\x00").split())
    return text.replace(" \x00 ", "\n").replace("\x00 ", "\n").replace(" \x00", "\n") \
        .replace("\x00", "\n")


def _align(value: str | None, default: str = "L") -> str:
    return _ALIGN.get((value or "").lower(), default)


def _size(value: str | None) -> float:
    return float(value) if value else BODY_PT


def parse(markup: str) -> list[Block]:
    """The blocks of ``markup``; :class:`DocumentError` for markup outside the subset."""
    parser = _Parser()
    try:
        parser.feed(markup)
        parser.close()
    except ValueError as exc:
        raise DocumentError(f"official template markup is malformed: {exc}") from exc
    return parser.blocks


@cache
def _font_files() -> tuple[tuple[str, str], ...]:
    return tuple((style, str(serif_path(style))) for style in ("", "B", "I", "BI"))


def new_page(*, title: str, created_at: datetime, landscape: bool = False) -> FPDF:
    """An A4 document with the bundled serif and fixed metadata (no wall clock)."""
    pdf = FPDF(orientation="L" if landscape else "P", format="A4")
    pdf.set_creation_date(require_aware(created_at, "created_at"))
    pdf.set_title(title)
    pdf.set_creator("dossier")
    pdf.set_lang("vi")
    for style, path in _font_files():
        pdf.add_font(FONT, style, path)
    top, right, bottom, left = MARGINS
    pdf.set_margins(left, top, right)
    pdf.set_auto_page_break(True, margin=bottom)
    pdf.set_font(FONT, size=BODY_PT)
    pdf.add_page()
    return pdf


def draw(pdf: FPDF, blocks: list[Block]) -> None:
    """Draw ``blocks`` from the current position."""
    for block in blocks:
        if isinstance(block, Paragraph):
            _paragraph(pdf, block)
        else:
            _table(pdf, block)


def _paragraph(pdf: FPDF, p: Paragraph) -> None:
    pdf.set_font(FONT, "B" if p.bold else "", p.size)
    height = p.size * LINE_HEIGHT * _PT
    if p.text:
        pdf.multi_cell(0, height, p.text, align=p.align, markdown=True, new_x="LMARGIN",
                       new_y="NEXT", wrapmode=WrapMode.WORD)
    else:
        pdf.ln(height)
    pdf.ln(PARAGRAPH_GAP_PT * _PT)


def _table(pdf: FPDF, t: Table) -> None:
    if not t.rows:
        return
    columns = max(sum(c.colspan for c in row) for row in t.rows)
    widths = t.widths if len(t.widths) == columns else [1.0] * columns
    headings = 0
    for row in t.rows:
        if not row or not all(c.heading for c in row):
            break
        headings += 1
    pdf.set_font(FONT, "", t.size)
    with pdf.table(
            col_widths=tuple(widths), width=pdf.epw, markdown=True,
            line_height=t.size * LINE_HEIGHT * _PT, first_row_as_headings=headings > 0,
            num_heading_rows=headings, headings_style=FontFace(emphasis="BOLD"),
            borders_layout=TableBordersLayout.ALL if t.border else TableBordersLayout.NONE,
            v_align=VAlign.T, padding=(0.6, 1.2), wrapmode=WrapMode.WORD) as table:
        for cells in t.rows:
            drawn = table.row()
            for c in cells:
                drawn.cell(c.text, align=c.align, colspan=c.colspan, rowspan=c.rowspan)
    pdf.ln(PARAGRAPH_GAP_PT * _PT)


def render(markup: str, *, title: str, created_at: datetime, landscape: bool = False) -> bytes:
    """``markup`` laid out as a PDF (text extractable: the font is embedded as a subset with
    a ToUnicode map)."""
    blocks = parse(markup)
    pdf = new_page(title=title, created_at=created_at, landscape=landscape)
    try:
        draw(pdf, blocks)
    except (ValueError, KeyError, IndexError) as exc:
        raise DocumentError(f"{title}: the template cannot be laid out ({exc})") from exc
    return bytes(pdf.output())

"""Render the result page and other official pages from ``templates/`` to PDF.

Why fpdf2: it is pure Python and installs from PyPI alone, so ``pip install dossier`` is
enough on any machine; WeasyPrint would render richer HTML but needs system libraries
(Pango, HarfBuzz, fontconfig) that a one-stop-shop server may not have. Pages are written in
the markup :mod:`dossier.documents.layout` draws (the header of Nghị định 30/2020/NĐ-CP, a
Times New Roman-metric serif, lines far enough apart for Vietnamese diacritics), embedded as a
subset with a ToUnicode map, so ``pdftotext`` returns the text with its diacritics. The PDF's
dates come from the caller (no wall clock). :func:`new_document` is a plain page in Noto Sans
(scans in tests and the demo).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fpdf import FPDF

from dossier.clock import LOCAL_TZ, require_aware
from dossier.documents.base import FormSheet, Letterhead, Signatory
from dossier.documents.layout import render
from dossier.documents.official import markup
from dossier.documents.wording import long_date
from dossier.resources import font_path

FONT = "NotoSans"


def new_document(*, title: str, created_at: datetime) -> FPDF:
    """An A4 fpdf2 document with the bundled font and fixed metadata."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(require_aware(created_at, "created_at"))
    pdf.set_title(title)
    pdf.set_creator("dossier")
    pdf.set_lang("vi")
    pdf.add_font(FONT, "", str(font_path("regular")))
    pdf.add_font(FONT, "B", str(font_path("bold")))
    # fpdf2 only has the two faces we ship: italics are drawn with the upright ones
    pdf.add_font(FONT, "I", str(font_path("regular")))
    pdf.add_font(FONT, "BI", str(font_path("bold")))
    pdf.set_font(FONT, size=12)
    pdf.set_margins(20, 20, 20)
    return pdf


def render_pdf(template: str, context: Mapping[str, Any], *, title: str,
               created_at: datetime, letterhead: Letterhead,
               signatories: tuple[Signatory, ...] = ()) -> bytes:
    """Render ``templates/<template>`` (the official markup, with the header of Nghị định
    30/2020/NĐ-CP from ``letterhead``) and lay it out as a PDF."""
    sheet = FormSheet(kind="", circular="", title=title, template=template,
                      letterhead=letterhead, issued_at=created_at, signatories=signatories,
                      fields={"issued_long": long_date(created_at)})
    body = markup(template, {**context, "sheet": sheet})
    return render(body, title=title, created_at=created_at)


def render_result(*, dossier_code: str, procedure_name: str, applicant_name: str,
                  agency: str, decided_at: datetime, outcome: str = "",
                  lookup_url: str = "", place: str = "", parent: str = "") -> bytes:
    """The generic result page (``ket-qua.html.j2``) of a dossier, unsigned."""
    local = decided_at.astimezone(LOCAL_TZ)
    return render_pdf("ket-qua.html.j2", {
        "dossier_code": dossier_code, "procedure_name": procedure_name,
        "applicant_name": applicant_name, "date": local.strftime("%d/%m/%Y"),
        "outcome": outcome or "Hồ sơ đã được giải quyết theo quy định.",
        "lookup_url": lookup_url,
    }, title=f"Kết quả giải quyết hồ sơ {dossier_code}", created_at=decided_at,
        letterhead=Letterhead(name=agency, parent=parent, place=place))

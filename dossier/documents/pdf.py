"""Render a Jinja2 template from ``templates/`` to a PDF with extractable Vietnamese text.

Why fpdf2: it is pure Python and installs from PyPI alone, so ``pip install dossier`` is
enough on any machine; WeasyPrint would render richer HTML but needs system libraries
(Pango, HarfBuzz, fontconfig) that a one-stop-shop server may not have. fpdf2 understands a
subset of HTML (headings, paragraphs with ``align``, ``b``/``i``/``br``, simple tables), which
is what an administrative result page needs; templates meant for PDF stay inside it.

Text is set in the bundled Noto Sans (:func:`dossier.resources.font_path`, the same font as
the signature stamp), embedded as a subset with a ToUnicode map, so ``pdftotext`` returns
the Vietnamese text with its diacritics. The PDF's dates come from the caller (no wall clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from dossier.clock import LOCAL_TZ, require_aware
from dossier.errors import DocumentError
from dossier.resources import font_path, template_dir

FONT = "NotoSans"


@cache
def _environment() -> Environment:
    # fpdf2 parses the HTML itself; escape the values so that a name with "<" stays text
    return Environment(loader=FileSystemLoader(str(template_dir())), autoescape=True,
                       undefined=StrictUndefined)


def long_date(instant: datetime) -> str:
    """``ngày 08 tháng 9 năm 2025``, in Vietnam's time zone, as documents write dates."""
    day = instant.astimezone(LOCAL_TZ)
    return f"ngày {day.day:02d} tháng {day.month} năm {day.year}"


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
               created_at: datetime) -> bytes:
    """Render ``templates/<template>`` with ``context`` and lay it out as a PDF."""
    try:
        html = _environment().get_template(template).render(**context)
    except TemplateError as exc:
        raise DocumentError(f"template {template!r} cannot be rendered: {exc}") from exc
    pdf = new_document(title=title, created_at=created_at)
    pdf.add_page()
    try:
        pdf.write_html(html, font_family=FONT)
    except (ValueError, NotImplementedError, KeyError) as exc:
        raise DocumentError(
            f"template {template!r} uses HTML that fpdf2 cannot lay out: {exc}") from exc
    return bytes(pdf.output())


def render_result(*, dossier_code: str, procedure_name: str, applicant_name: str,
                  agency: str, decided_at: datetime, outcome: str = "",
                  lookup_url: str = "", place: str = "") -> bytes:
    """The generic result page (``ket-qua.html.j2``) of a dossier, unsigned."""
    local = decided_at.astimezone(LOCAL_TZ)
    return render_pdf("ket-qua.html.j2", {
        "dossier_code": dossier_code, "procedure_name": procedure_name,
        "applicant_name": applicant_name, "agency": agency,
        "date": local.strftime("%d/%m/%Y"), "long_date": long_date(decided_at),
        "outcome": outcome or "Hồ sơ đã được giải quyết theo quy định.",
        "lookup_url": lookup_url, "place": place or agency,
    }, title=f"Kết quả giải quyết hồ sơ {dossier_code}", created_at=decided_at)

"""The default :class:`~dossier.documents.base.Paperwork`: the shipped templates, rendered
to PDF with fpdf2, certified copies assembled with pyHanko."""

from __future__ import annotations

from dossier.documents.base import CertificationStatement, ResultPage
from dossier.documents.certified_copy import build_certified_copy, page_count
from dossier.documents.pdf import render_result


class PdfPaperwork:
    """Result pages from ``templates/ket-qua.html.j2``; certified copies with the lời chứng
    page of ``templates/loi-chung.html.j2``."""

    def result(self, page: ResultPage) -> bytes:
        return render_result(dossier_code=page.dossier_code, procedure_name=page.procedure_name,
                             applicant_name=page.applicant_name, agency=page.agency,
                             decided_at=page.decided_at, lookup_url=page.lookup_url,
                             parent=page.parent, place=page.place)

    def page_count(self, pdf: bytes) -> int:
        return page_count(pdf)

    def certified_copy(self, original: bytes, statement: CertificationStatement) -> bytes:
        return build_certified_copy(original, statement)

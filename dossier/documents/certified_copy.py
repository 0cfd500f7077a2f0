"""Certified electronic copy (chứng thực bản sao điện tử từ bản chính): the unsigned PDF.

The copy is the scanned original's pages, untouched, followed by one page carrying the
certification statement (lời chứng, ``templates/loi-chung.html.j2``): "Chứng thực bản sao
đúng với bản chính", the certification number and book (số chứng thực, quyển số — the
engine takes them from its per-agency, per-year counter), the date, the certifier and the
page count. The page is appended as an incremental update, so anything already in the
original (including an earlier signature) stays byte for byte. The certifier then signs the
result with any :class:`~dossier.signing.base.Signer`; this module does not sign.
"""

from __future__ import annotations

from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject

from dossier.clock import LOCAL_TZ
from dossier.documents.base import CertificationStatement, Letterhead, Signatory
from dossier.documents.pdf import render_pdf
from dossier.errors import InvalidDocument


def _open_original(pdf: bytes) -> IncrementalPdfFileWriter:
    if not isinstance(pdf, bytes | bytearray) or b"%PDF-" not in bytes(pdf[:1024]):
        raise InvalidDocument(
            "the original is not a PDF (no %PDF- header); scan or export it as PDF")
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        count = int(writer.root["/Pages"]["/Count"])
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidDocument(f"the original PDF cannot be read ({exc}); scan it again") \
            from exc
    if writer.security_handler is not None:
        raise InvalidDocument(
            "the original PDF is encrypted (password-protected); provide an unprotected scan")
    if count < 1:
        raise InvalidDocument("the original PDF has no pages")
    return writer


def page_count(pdf: bytes) -> int:
    """Pages in ``pdf`` (the fee of a certified copy follows it); InvalidDocument if unusable."""
    return int(_open_original(pdf).root["/Pages"]["/Count"])


def render_statement(statement: CertificationStatement, original_pages: int) -> bytes:
    """The lời chứng page alone, as a one-page PDF."""
    when = statement.certified_at
    return render_pdf("loi-chung.html.j2", {
        "number": statement.number, "book": statement.book, "page_count": original_pages,
        "date": when.astimezone(LOCAL_TZ).strftime("%d/%m/%Y"),
        "document_name": statement.document_name, "dossier_code": statement.dossier_code,
    }, title=f"Lời chứng số {statement.number}, quyển số {statement.book}", created_at=when,
        letterhead=Letterhead(name=statement.agency, parent=statement.parent,
                              place=statement.place),
        signatories=(Signatory(capacity=statement.certifier_title,
                               name=statement.certifier_name),))


def build_certified_copy(original: bytes, statement: CertificationStatement) -> bytes:
    """The original's pages plus the statement page, unsigned (sign it next)."""
    writer = _open_original(original)
    pages = int(writer.root["/Pages"]["/Count"])
    statement_pdf = PdfFileReader(BytesIO(render_statement(statement, pages)))
    form = writer.import_page_as_xobject(statement_pdf, page_ix=0)
    page = statement_pdf.root["/Pages"]["/Kids"][0].get_object()
    box = page.get("/MediaBox") or statement_pdf.root["/Pages"]["/MediaBox"]
    content = writer.add_object(generic.StreamObject(stream_data=b"q /LoiChung Do Q"))
    resources = generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {pdf_name("/XObject"): generic.DictionaryObject(  # type: ignore[no-untyped-call]
            {pdf_name("/LoiChung"): form})})
    page = PageObject(contents=content,  # type: ignore[no-untyped-call]
                      media_box=[float(v) for v in box], resources=resources)
    writer.insert_page(page)  # type: ignore[no-untyped-call]
    output = BytesIO()
    writer.write(output)  # type: ignore[no-untyped-call]
    return output.getvalue()

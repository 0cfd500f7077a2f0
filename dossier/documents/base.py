"""The paperwork port: the PDFs the signing service needs made, and the values it passes.

The signing service asks a :class:`Paperwork` for the result page and the certified copy
before it signs them; the default, :class:`dossier.documents.paperwork.PdfPaperwork`
(fpdf2 and pyHanko), is loaded only when a dossier needs it, and an agency may give its own
(its letterhead, its result templates) as ``Engine(paperwork=…)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from dossier.clock import require_aware
from dossier.errors import InvalidInput


@dataclass(frozen=True, kw_only=True)
class ResultPage:
    """What the generic result page (kết quả giải quyết) of a dossier says."""

    dossier_code: str
    procedure_name: str
    applicant_name: str
    agency: str
    decided_at: datetime
    lookup_url: str = ""


@dataclass(frozen=True, kw_only=True)
class CertificationStatement:
    """What the lời chứng says. ``number`` is the số chứng thực, ``book`` the quyển số."""

    number: int
    book: str
    certified_at: datetime
    certifier_name: str
    certifier_title: str
    agency: str
    place: str = ""
    document_name: str = ""
    dossier_code: str = ""

    def __post_init__(self) -> None:
        require_aware(self.certified_at, "CertificationStatement.certified_at")
        if self.number < 1:
            raise InvalidInput("the certification number (số chứng thực) starts at 1")
        if not self.book.strip():
            raise InvalidInput("the certification book (quyển số) is required")


@runtime_checkable
class Paperwork(Protocol):
    """Makes the unsigned PDFs the engine signs."""

    def result(self, page: ResultPage) -> bytes:
        """The dossier's result page as an unsigned PDF."""
        ...

    def page_count(self, pdf: bytes) -> int:
        """How many pages ``pdf`` has; :class:`~dossier.errors.InvalidDocument` if it is not
        a usable PDF."""
        ...

    def certified_copy(self, original: bytes, statement: CertificationStatement) -> bytes:
        """The original's pages followed by the certification statement, unsigned."""
        ...

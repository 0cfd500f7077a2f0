"""The paperwork ports: the PDFs the engine needs made, and the values that cross them.

- :class:`Paperwork`: the result page and the certified copy the signing service signs; the
  default, :class:`dossier.documents.paperwork.PdfPaperwork` (fpdf2 and pyHanko), is loaded
  only when a dossier needs it, and an agency may give its own as ``Engine(paperwork=…)``.
- :class:`FormRenderer`: the one-stop-shop forms (:class:`FormSheet` → PDF and HTML); the
  default is :class:`dossier.documents.official.OfficialForms` (``Engine(forms=…)``).
- :class:`Sealer`: signs what the engine issues by itself (forms, receipts) with the
  agency's own signer, when it has one that signs here and at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

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
    parent: str = ""               # the agency above, for the header
    place: str = ""                # the place of the date line


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
    parent: str = ""
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


@dataclass(frozen=True, kw_only=True)
class Letterhead:
    """Who issues a document, as its header prints it (Nghị định 30/2020/NĐ-CP): the agency
    above (``parent``, may be empty) and the agency itself, the place of the date line, and
    for receipts its address and tax code (mã số thuế)."""

    name: str
    parent: str = ""
    place: str = ""
    address: str = ""
    tax_code: str = ""


@dataclass(frozen=True, kw_only=True)
class Signatory:
    """One signature block: the capacity it is signed in (``NGƯỜI TIẾP NHẬN HỒ SƠ``), the
    person's title and full name (empty: a line left for a name written by hand)."""

    capacity: str
    title: str = ""
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class FormSheet:
    """Everything one form prints. ``kind`` and ``circular`` pick the template
    (``templates/forms/<circular>/mau-NN.html.j2``); ``fields`` are the form's own values
    (plain strings, numbers, lists and mappings of them)."""

    kind: str
    circular: str
    title: str
    template: str
    letterhead: Letterhead
    issued_at: datetime
    number: int | None = None
    symbol: str = ""
    dossier_code: str = ""
    signatories: Sequence[Signatory] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)
    landscape: bool = False

    def __post_init__(self) -> None:
        require_aware(self.issued_at, "FormSheet.issued_at")

    @property
    def reference(self) -> str:
        """Số, ký hiệu as printed: ``05/GTN`` (numbers below 10 with a leading zero, as
        Nghị định 30/2020/NĐ-CP writes them); empty for an unnumbered form."""
        if self.number is None:
            return ""
        return f"{self.number:02d}/{self.symbol}" if self.symbol else f"{self.number:02d}"


@runtime_checkable
class FormRenderer(Protocol):
    """Lays out forms."""

    def pdf(self, sheet: FormSheet) -> bytes:
        """The form as an unsigned PDF."""
        ...

    def html(self, sheet: FormSheet) -> str:
        """The form as an HTML page (UTF-8)."""
        ...


@dataclass(frozen=True, kw_only=True)
class Sealed:
    """A document signed by an agency's signer: the signed PDF and the signer's name."""

    pdf: bytes
    signer: str


@runtime_checkable
class Sealer(Protocol):
    """Signs a PDF the engine issued with ``agency``'s default signer; None when the agency
    has no signer that signs here and at once (the document is then kept unsigned)."""

    def __call__(self, pdf: bytes, *, agency: str, dossier_code: str, reason: str,
                 field_name: str, signed_at: datetime) -> Sealed | None:
        ...

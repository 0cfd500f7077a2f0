"""The signers one engine may use, by name, and what the signing service needs of them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dossier.agencies import EMPTY_DIRECTORY, AgencyDirectory
from dossier.documents.base import Paperwork, Sealed
from dossier.errors import InvalidInput, SigningError
from dossier.signing.base import ChecksDocuments, KnowsHolder, Signer, SignRequest, Ticket

#: The paperwork used when the engine is given none (loaded on first use: fpdf2, pyHanko).
PDF_PAPERWORK = "dossier.documents.paperwork:PdfPaperwork"
MAX_DOCUMENT = 50 * 1024 * 1024
_SIGNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


class Signers:
    """Signers by name (1-32 letters, digits, ``_.-``; the name is what ``signer=`` picks and
    what documents and requests record), the agencies' printed names, and the paperwork."""

    def __init__(self, signers: Mapping[str, Signer], *,
                 agency_names: Mapping[str, str] | None = None,
                 paperwork: Paperwork | None = None,
                 agencies: AgencyDirectory = EMPTY_DIRECTORY) -> None:
        if not isinstance(signers, Mapping):
            raise InvalidInput("signers must map names to dossier.signing.Signer objects")
        for name, signer in signers.items():
            if not isinstance(name, str) or not _SIGNER_NAME.fullmatch(name):
                raise InvalidInput(f"signer name {name!r} must be 1-32 letters, digits, "
                                   "'_', '.' or '-'")
            if not isinstance(signer, Signer):
                raise InvalidInput(f"signers[{name!r}] must implement dossier.signing.Signer")
        names = dict(agency_names or {})
        if not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                   for k, v in names.items()):
            raise InvalidInput("agency_names must map agency codes to non-empty names")
        if paperwork is not None and not isinstance(paperwork, Paperwork):
            raise InvalidInput("paperwork must implement dossier.documents.base.Paperwork")
        self.by_name: dict[str, Signer] = dict(signers)
        self.agency_names = names
        self.agencies = agencies
        self._paperwork = paperwork

    @property
    def paperwork(self) -> Paperwork:
        if self._paperwork is None:
            from dossier.plugins import load_object

            self._paperwork = load_object(PDF_PAPERWORK)()
        return self._paperwork

    def get(self, name: str) -> Signer:
        """The signer called ``name``; :class:`InvalidInput` naming the known ones if none."""
        signer = self.by_name.get(name) if isinstance(name, str) else None
        if signer is None:
            known = ", ".join(sorted(self.by_name)) or "none configured"
            raise InvalidInput(f"no signer named {name!r} (signers: {known})")
        return signer

    def agency_name(self, agency: str) -> str:
        return self.agency_names.get(agency, agency)

    def place(self, agency: str) -> str:
        """The place of the agency's date lines (empty when the directory has none)."""
        listed = self.agencies.get(agency)
        return listed.place if listed is not None else ""

    def parent_name(self, agency: str) -> str:
        """The name of the agency above, for headers (empty when none is known)."""
        listed = self.agencies.get(agency)
        parent = self.agencies.get(listed.parent) if listed and listed.parent else None
        return parent.name if parent is not None else ""

    def seal(self, pdf: bytes, *, agency: str, dossier_code: str, reason: str,
             field_name: str, signed_at: datetime) -> Sealed | None:
        """Sign what the engine issued by itself with ``agency``'s default signer, when that
        signer holds its key here (it knows its holder without asking anyone: a local key).
        A remote signer would put a network call or a phone confirmation inside the
        transaction that issues the document, so with one the document stays unsigned."""
        listed = self.agencies.get(agency)
        name = listed.signer if listed is not None else None
        chosen = self.by_name.get(name) if name is not None else None
        if name is None or chosen is None or holder_name(chosen) is None:
            return None
        outcome = chosen.sign(pdf, SignRequest(dossier_code=dossier_code, reason=reason,
                                               field_name=field_name, signed_at=signed_at))
        if isinstance(outcome, Ticket):
            raise SigningError(f"signer {name!r} returned a ticket for a document that must "
                               "be signed at once")
        return Sealed(pdf=signed_pdf(outcome, name), signer=name)

    def checked_pdf(self, document: Any, signer: Signer) -> bytes:
        """``document`` as PDF bytes the signer can sign; raises before anyone is asked."""
        if not isinstance(document, bytes | bytearray) or not document:
            raise InvalidInput("document must be the result PDF as non-empty bytes")
        if len(document) > MAX_DOCUMENT:
            raise InvalidInput(f"document is larger than {MAX_DOCUMENT // 2**20} MiB")
        pdf = bytes(document)
        if isinstance(signer, ChecksDocuments):
            signer.check_document(pdf)  # InvalidDocument
        else:
            self.paperwork.page_count(pdf)
        return pdf


def holder_name(signer: Signer) -> str | None:
    """The name in the signer's certificate, when it is known here (a local key)."""
    return signer.holder_name() if isinstance(signer, KnowsHolder) else None


def signed_pdf(outcome: object, signer: str) -> bytes:
    """What a signer returned, if it looks like a PDF; else :class:`SigningError`."""
    if not isinstance(outcome, bytes | bytearray) or b"%PDF-" not in bytes(outcome[:1024]):
        raise SigningError(f"signer {signer!r} did not return a signed PDF; check its adapter")
    return bytes(outcome)


def optional_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be non-empty text")
    return value.strip()

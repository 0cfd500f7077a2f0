"""The signers one engine may use, by name, and what the signing service needs of them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dossier.documents.base import Paperwork
from dossier.errors import InvalidInput, SigningError
from dossier.signing.base import ChecksDocuments, KnowsHolder, Signer

#: The paperwork used when the engine is given none (loaded on first use: fpdf2, pyHanko).
PDF_PAPERWORK = "dossier.documents.paperwork:PdfPaperwork"
MAX_DOCUMENT = 50 * 1024 * 1024
_SIGNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


class Signers:
    """Signers by name (1-32 letters, digits, ``_.-``; the name is what ``signer=`` picks and
    what documents and requests record), the agencies' printed names, and the paperwork."""

    def __init__(self, signers: Mapping[str, Signer], *,
                 agency_names: Mapping[str, str] | None = None,
                 paperwork: Paperwork | None = None) -> None:
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

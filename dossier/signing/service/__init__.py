"""The signing service: signed results, remote signature requests, certified e-copies, on
the kernel. It knows signers only through the :class:`~dossier.signing.base.Signer` port
(with its optional capabilities ``ChecksDocuments`` and ``KnowsHolder``) and the PDFs it signs
through the :class:`~dossier.documents.base.Paperwork` port.

::

    results    sign a result at once, or leave a remote request pending
    requests   poll remote requests; complete, reject or expire them
    copies     certified copies, numbered in the agency's book of the year
    signers    the named signers, agency names, paperwork, PDF checks

Logs name dossiers by code and people by account id; never applicant data or ID numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from dossier.actors import Actor
from dossier.documents.base import Paperwork, Sealed
from dossier.engine.kernel import Kernel
from dossier.records import DocumentRecord, SignatureRequest
from dossier.signing.base import Signer
from dossier.signing.service.copies import (
    CERTIFICATION_BOOK,
    CERTIFY_REASON,
    DEFAULT_CERTIFIER_TITLE,
    Copies,
)
from dossier.signing.service.requests import ABANDON_AFTER, POLL_OUTCOMES, Requests
from dossier.signing.service.results import PDF, RESULT_REASON, Results
from dossier.signing.service.signers import Signers
from dossier.store import signatures_repo as srepo


class SigningService:
    """The signing side of one engine.

    ``signers`` maps names to signers; ``agency_names`` maps agency codes to the names
    printed on statements (the code when missing); the kernel's agency directory gives each
    agency's place and default signer (:meth:`seal`); ``certification_book`` is the
    quyển số pattern, with ``{year}``; ``paperwork`` makes the PDFs (default: the shipped
    templates).
    """

    def __init__(self, kernel: Kernel, signers: Mapping[str, Signer], *,
                 agency_names: Mapping[str, str] | None = None,
                 certification_book: str = CERTIFICATION_BOOK,
                 paperwork: Paperwork | None = None) -> None:
        self.kernel = kernel
        self.signers = Signers(signers, agency_names=agency_names, paperwork=paperwork,
                               agencies=kernel.agencies)
        self.requests = Requests(kernel, self.signers)
        self.results = Results(kernel, self.signers, self.requests.settle)
        self.copies = Copies(kernel, self.signers, certification_book)

    def seal(self, pdf: bytes, *, agency: str, dossier_code: str, reason: str,
             field_name: str, signed_at: datetime) -> Sealed | None:
        """See :meth:`Signers.seal` (the :class:`~dossier.documents.base.Sealer` port)."""
        return self.signers.seal(pdf, agency=agency, dossier_code=dossier_code, reason=reason,
                                 field_name=field_name, signed_at=signed_at)

    def documents(self, code: str, actor: Actor | None = None) -> list[DocumentRecord]:
        """The dossier's signed documents (results, certified copies), oldest first."""
        with self.kernel.transaction(write=False) as tx:
            return srepo.documents_of(tx, self.kernel.load_as(tx, code, actor).id)

    def read_document(self, code: str, sha256: str, actor: Actor | None = None) -> bytes:
        """The content of one of the dossier's signed documents."""
        with self.kernel.transaction(write=False) as tx:
            dossier = self.kernel.load_as(tx, code, actor)
            return self.kernel.read_blob(tx, dossier, sha256,
                                         (d.sha256 for d in srepo.documents_of(tx, dossier.id)),
                                         "document")

    def signature_requests(self, code: str, actor: Actor | None = None) -> list[SignatureRequest]:
        """The dossier's remote signature requests, oldest first."""
        with self.kernel.transaction(write=False) as tx:
            dossier = self.kernel.load_as(tx, code, actor)
            return [s.record for s in srepo.requests_of(tx, dossier.id)]


__all__ = [
    "ABANDON_AFTER",
    "CERTIFICATION_BOOK",
    "CERTIFY_REASON",
    "DEFAULT_CERTIFIER_TITLE",
    "PDF",
    "POLL_OUTCOMES",
    "RESULT_REASON",
    "SigningService",
]

"""Certified electronic copies (chứng thực bản sao điện tử từ bản chính).

The number (số chứng thực) comes from a counter per agency and calendar year (Vietnam
time), taken in a short transaction of its own before the copy is built and signed, so a
failure after it leaves a gap in the numbering, as a spoiled line does in the paper book (sổ
chứng thực); the book (quyển số) is :data:`CERTIFICATION_BOOK` for that year. The copy is
made from the latest file attached to the component. Each certifiable component is
certified once; ``certify`` fires when every certifiable component that is required or has
a stored original has its copy (the ``copies_certified`` guard). An unknown or not
certifiable component is :class:`~dossier.errors.InvalidInput`, one without a stored
original is :class:`~dossier.errors.GuardFailed` (``originals_stored``), an original that is
not a usable PDF is :class:`~dossier.errors.InvalidDocument` (no number is taken for any of
these). The certifier's signer must sign at once: a ticket is a
:class:`~dossier.errors.SigningError`.
"""

from __future__ import annotations

import hashlib
import logging

from dossier.actors import Actor
from dossier.clock import local_date
from dossier.documents.base import CertificationStatement
from dossier.engine.kernel import GuardView, Kernel
from dossier.errors import GuardFailed, InvalidInput, SigningError, TransitionNotAllowed
from dossier.guards import GUARD_HINTS, uncertified
from dossier.policy import Action
from dossier.procedure.model import Component
from dossier.records import Attachment, DocumentRecord, Dossier
from dossier.signing.base import SignRequest, Ticket
from dossier.signing.service.signers import Signers, holder_name, optional_text, signed_pdf
from dossier.states import Trigger
from dossier.store import repository as repo
from dossier.store import signatures_repo as srepo
from dossier.store.database import Tx

log = logging.getLogger("dossier.signatures")

DEFAULT_CERTIFIER_TITLE = "Công chức tư pháp - hộ tịch"
#: The certification book (quyển số) of a year; ``{year}`` is the year in Vietnam.
CERTIFICATION_BOOK = "01/{year}-SCT/BS"
CERTIFY_REASON = "Chứng thực bản sao điện tử từ bản chính"
_PENDING = ("originals_stored", "copies_certified")  # what certify_copy is doing


class Copies:
    """Issues certified copies and fires ``certify`` with the last one."""

    def __init__(self, kernel: Kernel, signers: Signers,
                 certification_book: str = CERTIFICATION_BOOK) -> None:
        if not isinstance(certification_book, str) or "{year}" not in certification_book \
                or len(certification_book.format(year=2000)) > 32:
            raise InvalidInput("certification_book must contain {year} and be at most 32 "
                               "characters, e.g. '01/{year}-SCT/BS'")
        self.kernel = kernel
        self.signers = signers
        self.certification_book = certification_book

    def certify(self, code: str, component: str, *, actor: Actor, signer: str,
                certifier_name: str | None, certifier_title: str | None) -> Dossier:
        chosen = self.signers.get(signer)
        if not isinstance(component, str):
            raise InvalidInput("component must be a component id")
        # the lời chứng prints the certifier's full name and title: given here, else the
        # actor's, else (name only) the holder of the key that signs; never an account id
        name = optional_text(certifier_name, "certifier_name") or actor.name \
            or holder_name(chosen)
        if name is None:
            raise InvalidInput("give certifier_name= (or an Actor with a name): the "
                               "certification statement prints the certifier's full name")
        title = optional_text(certifier_title, "certifier_title") or actor.title \
            or DEFAULT_CERTIFIER_TITLE
        now = self.kernel.now()
        with self.kernel.transaction(write=False) as tx:
            dossier = self._authorise(tx, code, actor)
            spec, latest = self._original(tx, dossier, component)
            original = repo.get_blob(tx, latest.sha256)
            document_name = spec.name
        assert original is not None  # attachments reference blobs by foreign key
        paperwork = self.signers.paperwork
        paperwork.page_count(original)  # a usable PDF, before a number is taken
        year = local_date(now).year
        with self.kernel.transaction() as tx:
            number = repo.next_counter(tx, "certification", f"{dossier.agency}:{year}")
        book = self.certification_book.format(year=year)
        agency = self.signers.agency_name(dossier.agency)
        unsigned = paperwork.certified_copy(original, CertificationStatement(
            number=number, book=book, certified_at=now, certifier_name=name,
            certifier_title=title, agency=agency, document_name=document_name,
            dossier_code=code, place=self.signers.place(dossier.agency),
            parent=self.signers.parent_name(dossier.agency)))
        outcome = chosen.sign(unsigned, SignRequest(
            dossier_code=code, reason=CERTIFY_REASON, field_name=f"ChungThuc{number}",
            signed_at=now))
        if isinstance(outcome, Ticket):
            raise SigningError(
                f"{code}: signer {signer!r} signs remotely and returned a ticket; a certified "
                "copy needs a signer that signs at once (its number and date are fixed when "
                f"it is signed). Number {number} of book {book} stays unused; certify again "
                "with an immediate signer")
        signed = signed_pdf(outcome, signer)
        digest = hashlib.sha256(signed).hexdigest()
        with self.kernel.transaction() as tx:
            dossier = self._authorise(tx, code, actor)
            self._original(tx, dossier, component)
            repo.put_blob(tx, digest, signed)
            srepo.insert_document(tx, dossier.id, DocumentRecord(
                dossier_code=code, kind="certified_copy",
                filename=f"ban-sao-{component}-so-{number}-{year}.pdf", sha256=digest,
                size=len(signed), media_type="application/pdf", signed_by=actor.id,
                provider=signer, created_at=now, component=component, number=number,
                book=book))
            after = dossier
            view = GuardView(tx, dossier, self.kernel.procedure_of(tx, dossier), {}, now=now,
                             calendar=self.kernel.calendar_for(dossier.agency))
            if not uncertified(view.procedure, view.stored_components(),
                               view.certified_components()):
                _, after = self.kernel.fire(tx, dossier, Trigger.CERTIFY, actor, {}, now=now)
        log.info("%s certified copy no. %d, book %s, of %s by %s with %s", code, number, book,
                 component, actor.id, signer)
        return after

    def _authorise(self, tx: Tx, code: str, actor: Actor) -> Dossier:
        """The certifier in person, and ``certify`` allowed now (but for the copies)."""
        dossier, _ = self.kernel.authorise(tx, code, actor, Action.CERTIFY_COPY)
        return self.kernel.check(tx, dossier, Trigger.CERTIFY, actor, {},
                                 now=self.kernel.now(), pending=_PENDING).dossier

    def _original(self, tx: Tx, dossier: Dossier,
                  component: str) -> tuple[Component, Attachment]:
        """The component to certify and its latest stored file; raises if it cannot be."""
        procedure = self.kernel.procedure_of(tx, dossier)
        spec = procedure.component(component)
        if spec is None or not spec.may_certify:
            certifiable = ", ".join(c.id for c in procedure.components if c.may_certify)
            raise InvalidInput(f"{dossier.code}: component {component!r} cannot be certified "
                               f"under procedure {procedure.code} (certifiable: "
                               f"{certifiable or 'none'})")
        for doc in srepo.documents_of(tx, dossier.id):
            if doc.kind == "certified_copy" and doc.component == component:
                raise TransitionNotAllowed(f"{dossier.code}: {component} was already certified "
                                           f"(number {doc.number}, book {doc.book})")
        files = [a for a in repo.load_attachments(tx, dossier.id) if a.component == component]
        if not files:
            raise GuardFailed(dossier.code, "originals_stored", [component],
                              GUARD_HINTS["originals_stored"])
        return spec, files[-1]

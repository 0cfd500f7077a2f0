"""Signed results (ký số kết quả): sign at once, or leave a remote request pending.

A signer is never called inside a database transaction (a remote service may take seconds):
the dossier is checked first, the document signed, and the signed document stored with its
``sign`` event in one transaction that checks everything again. A failure at any point
leaves the dossier as it was; a signed document whose dossier moved on meanwhile is
discarded.

``sign_result`` is for the signer in person (the role of the procedure's ``sign`` step, in
the dossier's agency); ``system`` completes remote signatures by polling, recording the
requesting signer in ``on_behalf_of``. One remote request at a time: while one is pending,
``sign_result`` raises :class:`~dossier.errors.TransitionNotAllowed` (a pending request past
its expiry is asked about first).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime

from dossier.actors import Actor
from dossier.documents.base import ResultPage
from dossier.engine.kernel import Kernel, Move
from dossier.errors import InvalidInput, RemoteSigningError, TransitionNotAllowed
from dossier.policy import Action
from dossier.records import (
    DocumentRecord,
    Dossier,
    SignatureRequest,
    SignatureRequestState,
)
from dossier.signing.base import SignRequest, Ticket
from dossier.signing.service.signers import Signers, signed_pdf
from dossier.states import Trigger
from dossier.store import repository as repo
from dossier.store import signatures_repo as srepo
from dossier.store.database import Tx

log = logging.getLogger("dossier.signatures")

RESULT_REASON = "Ký duyệt kết quả giải quyết thủ tục hành chính"
PDF = "application/pdf"
#: Settles one pending request that expired (asks its service): see ``requests.py``.
Settle = Callable[[srepo.StoredRequest, datetime], str]


class Results:
    """Signs dossiers' results."""

    def __init__(self, kernel: Kernel, signers: Signers, settle: Settle) -> None:
        self.kernel = kernel
        self.signers = signers
        self._settle = settle

    def sign(self, code: str, *, actor: Actor, signer: str, document: bytes | None,
             lookup_url: str) -> Dossier | SignatureRequest:
        chosen = self.signers.get(signer)
        pdf = None if document is None else self.signers.checked_pdf(document, chosen)
        if not isinstance(lookup_url, str):
            raise InvalidInput("lookup_url must be text")
        now = self.kernel.now()
        move = self._check(code, actor, now)
        agency = self.signers.agency_name(move.dossier.agency)
        if pdf is None:
            pdf = self.signers.paperwork.result(ResultPage(
                dossier_code=code, procedure_name=move.procedure.name,
                applicant_name=str(move.dossier.applicant.get("name", "")), agency=agency,
                decided_at=now, lookup_url=lookup_url,
                parent=self.signers.parent_name(move.dossier.agency),
                place=self.signers.place(move.dossier.agency)))
        outcome = chosen.sign(pdf, SignRequest(
            dossier_code=code, lookup_url=lookup_url, reason=RESULT_REASON,
            field_name="ChuKyKetQua", signed_at=now))
        if isinstance(outcome, Ticket):
            return self._store_request(code, actor, signer, outcome, now)
        signed = signed_pdf(outcome, signer)
        with self.kernel.transaction() as tx:
            self._authorise(tx, code, actor, now)
            after = record_result(self.kernel, tx, code, actor, None, signer, signed,
                                  signed_by=actor.id, now=now)
        log.info("%s result signed by %s with %s", code, actor.id, signer)
        return after

    def _authorise(self, tx: Tx, code: str, actor: Actor, now: datetime) -> Move:
        """The signer in person, then everything ``sign`` checks but the signed result
        (about to be made); :class:`TransitionNotAllowed` while a request is pending."""
        dossier, _ = self.kernel.authorise(tx, code, actor, Action.SIGN_RESULT)
        move = self.kernel.check(tx, dossier, Trigger.SIGN, actor, {}, now=now,
                                 pending=("result_signed",))
        _refuse_if_pending(tx, dossier)
        return move

    def _check(self, code: str, actor: Actor, now: datetime) -> Move:
        """The checks before the signer is bothered; settles lapsed requests first."""
        with self.kernel.transaction(write=False) as tx:
            dossier, _ = self.kernel.authorise(tx, code, actor, Action.SIGN_RESULT)
            self.kernel.check(tx, dossier, Trigger.SIGN, actor, {}, now=now,
                              pending=("result_signed",))
            lapsed = [s for s in _pending(tx, dossier) if now >= s.record.expires_at]
        for stored in lapsed:
            self._settle(stored, now)  # it may have been signed just in time
        with self.kernel.transaction(write=False) as tx:
            return self._authorise(tx, code, actor, now)

    def _store_request(self, code: str, actor: Actor, signer: str, ticket: Ticket,
                       now: datetime) -> SignatureRequest:
        if not isinstance(ticket.transaction_id, str) or not 1 <= len(ticket.transaction_id) \
                <= 128:
            raise RemoteSigningError(f"signer {signer!r} returned a ticket whose transaction "
                                     "id is empty or longer than 128 characters")
        record = SignatureRequest(
            dossier_code=code, provider=signer, state=SignatureRequestState.PENDING,
            transaction_id=ticket.transaction_id, requested_by=actor.id, requested_at=now,
            expires_at=ticket.expires_at)
        with self.kernel.transaction() as tx:
            move = self._authorise(tx, code, actor, now)
            srepo.insert_request(tx, move.dossier.id, record,
                                 json.dumps(ticket.to_json(), separators=(",", ":")))
        log.info("%s signature requested from %s by %s (transaction %s)", code, signer,
                 actor.id, ticket.transaction_id)
        return record


def record_result(kernel: Kernel, tx: Tx, code: str, actor: Actor, behalf: str | None,
                  provider: str, signed: bytes, *, signed_by: str, now: datetime) -> Dossier:
    """Store the signed result and fire ``sign`` naming its SHA-256, inside ``tx``."""
    dossier = kernel.load(tx, code)
    digest = hashlib.sha256(signed).hexdigest()
    repo.put_blob(tx, digest, signed)
    srepo.insert_document(tx, dossier.id, DocumentRecord(
        dossier_code=code, kind="result", filename=f"ket-qua-{code}.pdf", sha256=digest,
        size=len(signed), media_type=PDF, signed_by=signed_by, provider=provider,
        created_at=now))
    _, after = kernel.fire(tx, dossier, Trigger.SIGN, actor, {"document": digest}, now=now,
                           on_behalf_of=behalf)
    return after


def _pending(tx: Tx, dossier: Dossier) -> list[srepo.StoredRequest]:
    return [s for s in srepo.requests_of(tx, dossier.id) if s.record.pending]


def _refuse_if_pending(tx: Tx, dossier: Dossier) -> None:
    pending = _pending(tx, dossier)
    if pending:
        r = pending[-1].record
        raise TransitionNotAllowed(
            f"{dossier.code}: the signature request sent to {r.provider} (transaction "
            f"{r.transaction_id}) is pending until {r.expires_at.isoformat()}; the signer "
            "confirms or rejects it, or it expires, before another can be made")

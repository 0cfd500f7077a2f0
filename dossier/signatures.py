"""Signing on the engine's side: signed results, remote signature requests, certified e-copies.

:class:`Signatures` is given the engine (any :class:`SignaturesHost`) and the signers it may
use, by name (the name is what ``signer=`` picks and what documents and requests record)::

    signatures = Signatures(engine, {"local": LocalSigner.from_pkcs12(p12, passphrase),
                                     "smartca": PhoneConfirmSigner(url, ...)})
    outcome = signatures.sign_result(code, actor=leader, signer="smartca",
                                     signer_name="Trần Thị Duyệt")
    # a Dossier (signed at once, ``sign`` fired) or a SignatureRequest (waiting on the phone)
    signatures.poll_signatures()   # the worker's job: fires ``sign`` once the signer confirmed

A signer is never called inside a database transaction (a remote service may take seconds):
the dossier is checked first, the document signed, and the signed document stored with its
``sign`` (or ``certify``) event in one transaction that checks everything again. A failure
at any point leaves the dossier as it was; a signed document whose dossier moved on
meanwhile is discarded.

Rules:

- ``sign_result`` is for the signer in person (the role of the procedure's ``sign`` step,
  in the dossier's agency); ``system`` completes remote signatures by polling, recording the
  requesting signer in ``on_behalf_of``.
- One remote request at a time: while a request of the dossier is pending, ``sign_result``
  raises :class:`~dossier.errors.TransitionNotAllowed` (a pending request past its expiry
  is asked about first). A rejected or expired request leaves the dossier in
  ``awaiting_signature``; calling ``sign_result`` again makes a new request.
- A request whose dossier left ``awaiting_signature`` (withdrawn, stopped…) is marked
  ``expired`` when next polled, and its signature, if any, is not used. A request whose
  signing service cannot be reached stays pending; one day after its expiry
  (:data:`ABANDON_AFTER`) it is marked ``expired`` so that the signature can be asked again.
- A signing service callback only makes us poll that request: the outcome always comes from
  the service itself, so a forged callback changes nothing.
- Certified copies (chứng thực bản sao điện tử từ bản chính): the number (số chứng thực)
  comes from a counter per agency and calendar year (Vietnam time), taken in a short
  transaction of its own before the copy is built and signed, so a failure after it leaves
  a gap in the numbering, as a spoiled line does in the paper book (sổ chứng thực); the book
  (quyển số) is :data:`CERTIFICATION_BOOK` for that year. The copy is made from the latest
  file attached to the component. Each certifiable component is certified once; ``certify``
  fires when every certifiable component that is required or has a stored original has its
  copy. An unknown or not certifiable component is :class:`~dossier.errors.InvalidInput`,
  one without a stored original is :class:`~dossier.errors.GuardFailed`
  (``originals_stored``), an original that is not a usable PDF is
  :class:`~dossier.errors.InvalidDocument` (no number is taken for any of these). The
  certifier's signer must sign at once: a signer that returns a ticket is a
  :class:`~dossier.errors.SigningError`.

Logs name dossiers by code and people by account id; never applicant data or ID numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from cryptography import x509

from dossier.actors import Actor
from dossier.authorise import check_actor
from dossier.clock import local_date, require_aware
from dossier.documents.certified_copy import (
    CertificationStatement,
    build_certified_copy,
    page_count,
)
from dossier.documents.pdf import render_result
from dossier.errors import (
    DossierError,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    RemoteSigningError,
    SigningError,
    TransitionNotAllowed,
)
from dossier.guards import GUARD_HINTS
from dossier.procedure.model import Component, Procedure
from dossier.records import Attachment, DocumentRecord, Dossier, SignatureRequest
from dossier.rulebook import Rule, RuleBook
from dossier.signing.base import Signer, SignRequest, Ticket, TicketStatus
from dossier.signing.credentials import common_name
from dossier.signing.pades import open_pdf
from dossier.states import Role, State, Trigger
from dossier.store import repository as repo
from dossier.store import signatures_repo as srepo
from dossier.store.database import Database, Tx
from dossier.trigger_data import validate_trigger_data

log = logging.getLogger("dossier.signatures")

DEFAULT_CERTIFIER_TITLE = "Công chức tư pháp - hộ tịch"
#: The certification book (quyển số) of a year; ``{year}`` is the year in Vietnam.
CERTIFICATION_BOOK = "01/{year}-SCT/BS"
#: How long after its expiry a request whose service cannot be reached stays pending.
ABANDON_AFTER = timedelta(days=1)
RESULT_REASON = "Ký duyệt kết quả giải quyết thủ tục hành chính"
CERTIFY_REASON = "Chứng thực bản sao điện tử từ bản chính"
#: The keys of :meth:`Signatures.poll_signatures`'s answer.
POLL_OUTCOMES = ("signed", "rejected", "expired", "pending", "errors", "skipped")
PDF = "application/pdf"
_MAX_DOCUMENT = 50 * 1024 * 1024
_SIGNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


class SignaturesHost(Protocol):
    """What signing needs of the engine (the engine is passed in; never imported here)."""

    db: Database

    def _now(self) -> datetime: ...
    def _load(self, tx: Tx, code: str) -> Dossier: ...
    def _load_for(self, tx: Tx, code: str, actor: Actor) -> Dossier: ...
    def _load_procedure(self, tx: Tx, code: str, version: str) -> Procedure: ...
    def _book(self, procedure: Procedure) -> RuleBook: ...
    def _apply(self, tx: Tx, before: Dossier, procedure: Procedure, trigger: Trigger,
               target: State, actor: Actor, behalf: str | None, clean: Mapping[str, Any],
               now: datetime) -> Dossier: ...


@dataclass(frozen=True)
class _Checked:
    """A dossier checked for one step by one actor: its procedure and the step's rules."""

    dossier: Dossier
    procedure: Procedure
    rules: list[Rule]


class Signatures:
    """The signing side of one engine: results, remote requests, certified copies.

    ``signers`` maps names (1-32 letters, digits, ``_.-``) to signers. ``agency_names`` maps
    agency codes to the names printed on stamps and statements (the code when missing).
    ``certification_book`` is the quyển số pattern, with ``{year}``.
    """

    def __init__(self, host: SignaturesHost, signers: Mapping[str, Signer], *,
                 agency_names: Mapping[str, str] | None = None,
                 certification_book: str = CERTIFICATION_BOOK) -> None:
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
        if not isinstance(certification_book, str) or "{year}" not in certification_book \
                or len(certification_book.format(year=2000)) > 32:
            raise InvalidInput("certification_book must contain {year} and be at most 32 "
                               "characters, e.g. '01/{year}-SCT/BS'")
        self.host = host
        self.signers: dict[str, Signer] = dict(signers)
        self.agency_names = names
        self.certification_book = certification_book

    @property
    def db(self) -> Database:
        return self.host.db

    # --- results --------------------------------------------------------------------------

    def sign_result(self, code: str, *, actor: Actor, signer: str,
                    document: bytes | None = None, signer_name: str | None = None,
                    lookup_url: str = "") -> Dossier | SignatureRequest:
        """Sign the dossier's result with ``signer`` and fire ``sign``; or, when the signer
        works remotely, leave a pending :class:`SignatureRequest` for :meth:`poll_signatures`.

        The dossier must be in ``awaiting_signature`` and ``actor`` hold the ``sign`` step's
        role in its agency. ``document`` is the result PDF (default: the generic result page
        rendered now); ``signer_name`` is shown on the stamp (default: the certificate's name
        for a local signer, else the actor's id); ``lookup_url`` goes into the stamp's QR code.
        Raises what the checks raise (:class:`~dossier.errors.PermissionDenied`,
        :class:`~dossier.errors.TransitionNotAllowed`, :class:`~dossier.errors.GuardFailed`),
        :class:`~dossier.errors.InvalidDocument` for a document that is not a usable PDF, and
        the signer's :class:`~dossier.errors.SigningError`; nothing is written then.
        """
        check_actor(actor)
        chosen = self._signer(signer)
        if actor.role is Role.SYSTEM:
            raise PermissionDenied(f"{code}: sign_result is for the signer in person; remote "
                                   "signatures are completed by poll_signatures")
        pdf = None if document is None else _checked_pdf(document)
        name = _optional_text(signer_name, "signer_name")
        if not isinstance(lookup_url, str):
            raise InvalidInput("lookup_url must be text")
        now = self.host._now()
        checked = self._check_sign(code, actor)
        agency = self._agency_name(checked.dossier.agency)
        if pdf is None:
            pdf = render_result(
                dossier_code=code, procedure_name=checked.procedure.name,
                applicant_name=str(checked.dossier.applicant.get("name", "")), agency=agency,
                decided_at=now, lookup_url=lookup_url)
        outcome = chosen.sign(pdf, SignRequest(
            signer_name=name or _certificate_name(chosen) or actor.id, agency=agency,
            dossier_code=code, lookup_url=lookup_url, reason=RESULT_REASON,
            field_name="ChuKyKetQua", signed_at=now))
        if isinstance(outcome, Ticket):
            return self._store_request(code, actor, signer, outcome, now)
        signed = _signed_pdf(outcome, signer)
        with self.db.transaction() as tx:
            checked = self._authorise(tx, code, actor, Trigger.SIGN)
            _refuse_if_pending(tx, checked)
            after = self._record_result(tx, checked, actor, None, signer, signed,
                                        signed_by=actor.id, now=now)
        log.info("%s result signed by %s with %s", code, actor.id, signer)
        return after

    def _check_sign(self, code: str, actor: Actor) -> _Checked:
        """The checks of ``sign`` before the signer is bothered; settles lapsed requests."""
        with self.db.transaction(write=False) as tx:
            checked = self._authorise(tx, code, actor, Trigger.SIGN)
            self._rule(tx, checked, {})  # the fee is paid (and any other guard)
            pending = _pending(tx, checked)
        if not pending:
            return checked
        now = self.host._now()
        for stored in pending:
            if now >= stored.record.expires_at:
                self._poll_one(stored, now)  # it may have been signed just in time
        with self.db.transaction(write=False) as tx:
            checked = self._authorise(tx, code, actor, Trigger.SIGN)
            _refuse_if_pending(tx, checked)
        return checked

    def _store_request(self, code: str, actor: Actor, signer: str, ticket: Ticket,
                       now: datetime) -> SignatureRequest:
        if not isinstance(ticket.transaction_id, str) or not 1 <= len(ticket.transaction_id) \
                <= 128:
            raise RemoteSigningError(f"signer {signer!r} returned a ticket whose transaction "
                                     "id is empty or longer than 128 characters")
        record = SignatureRequest(
            dossier_code=code, provider=signer, state="pending",
            transaction_id=ticket.transaction_id, requested_by=actor.id, requested_at=now,
            expires_at=ticket.expires_at)
        with self.db.transaction() as tx:
            checked = self._authorise(tx, code, actor, Trigger.SIGN)
            _refuse_if_pending(tx, checked)
            srepo.insert_request(tx, checked.dossier.id, record,
                                 json.dumps(ticket.to_json(), separators=(",", ":")))
        log.info("%s signature requested from %s by %s (transaction %s)", code, signer,
                 actor.id, ticket.transaction_id)
        return record

    def _record_result(self, tx: Tx, checked: _Checked, actor: Actor, behalf: str | None,
                       provider: str, signed: bytes, *, signed_by: str,
                       now: datetime) -> Dossier:
        """Store the signed result and fire ``sign`` recording its SHA-256, inside ``tx``."""
        digest = hashlib.sha256(signed).hexdigest()
        clean = validate_trigger_data(Trigger.SIGN, {"document": digest}, checked.procedure)
        rule = self._rule(tx, checked, clean)
        code = checked.dossier.code
        repo.put_blob(tx, digest, signed)
        srepo.insert_document(tx, checked.dossier.id, DocumentRecord(
            dossier_code=code, kind="result", filename=f"ket-qua-{code}.pdf", sha256=digest,
            size=len(signed), media_type=PDF, signed_by=signed_by, provider=provider,
            created_at=now))
        return self.host._apply(tx, checked.dossier, checked.procedure, Trigger.SIGN,
                                rule.target, actor, behalf, clean, now)

    # --- remote requests ------------------------------------------------------------------

    def poll_signatures(self, now: datetime | None = None, *,
                        batch: int = 100) -> dict[str, int]:
        """Ask the signing services about up to ``batch`` pending requests, oldest first;
        return how many ended in each of :data:`POLL_OUTCOMES`.

        A signed one stores the result and fires ``sign`` as ``system`` on behalf of the
        requesting signer; a rejected or expired one is marked so (the dossier stays in
        ``awaiting_signature``); a service that cannot be reached leaves it pending
        (``errors``); one resolved meanwhile by another poller or a callback is ``skipped``.
        ``now`` (default: the clock) is when outcomes are recorded.
        """
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidInput("batch must be a positive whole number")
        at = self.host._now() if now is None else require_aware(now, "now")
        with self.db.transaction(write=False) as tx:
            waiting = srepo.pending_requests(tx, batch)
        counts = dict.fromkeys(POLL_OUTCOMES, 0)
        for stored in waiting:
            counts[self._poll_one(stored, at)] += 1
        if waiting:
            log.info("signature poll at %s: %s", at.isoformat(),
                     ", ".join(f"{n} {k}" for k, n in counts.items() if n))
        return counts

    def signature_callback(self, provider: str, transaction_id: str) -> SignatureRequest:
        """A signing service said transaction ``transaction_id`` of signer ``provider``
        changed: poll that request now and return it (as it was, if already resolved)."""
        if not isinstance(provider, str) or not isinstance(transaction_id, str):
            raise InvalidInput("signature_callback takes the signer name and transaction id")
        with self.db.transaction(write=False) as tx:
            found = srepo.requests_by_transaction(tx, provider, transaction_id)
        if not found:
            raise InvalidInput(f"no signature request {transaction_id!r} of signer "
                               f"{provider!r}")
        stored = next((s for s in found if s.record.pending), found[0])
        if stored.record.pending:
            self._poll_one(stored, self.host._now())
        with self.db.transaction(write=False) as tx:
            fresh = srepo.request_by_id(tx, stored.id)
        assert fresh is not None
        return fresh.record

    def _poll_one(self, stored: srepo.StoredRequest, at: datetime) -> str:
        r = stored.record
        signer = self.signers.get(r.provider)
        if signer is None:
            log.warning("%s: signature request %s names signer %r, which is not configured; "
                        "it cannot be polled", r.dossier_code, r.transaction_id, r.provider)
            return "errors"
        with self.db.transaction(write=False) as tx:
            state = self.host._load(tx, r.dossier_code).state
        if state is not State.AWAITING_SIGNATURE:
            return self._resolve(stored, "expired", at,
                                 f"the dossier is {state.value} now; the request lapsed unused")
        try:
            outcome = signer.poll(Ticket.from_json(json.loads(stored.ticket)))
        except RemoteSigningError as exc:
            if at >= r.expires_at + ABANDON_AFTER:
                return self._resolve(stored, "expired", at,
                                     "the signing service could not be asked for a day after "
                                     "the request expired; request the signature again")
            log.warning("%s: signature request %s (%s) not resolved: %s; polled again later",
                        r.dossier_code, r.transaction_id, r.provider, type(exc).__name__)
            return "errors"
        except (SigningError, ValueError) as exc:  # a ticket that can never be finished
            return self._resolve(stored, "rejected", at,
                                 f"the signature cannot be completed: {exc}")
        if outcome.status is TicketStatus.PENDING:
            return "pending"
        if outcome.status is TicketStatus.REJECTED:
            return self._resolve(stored, "rejected", at, outcome.reason or "rejected")
        if outcome.status is TicketStatus.EXPIRED:
            return self._resolve(stored, "expired", at,
                                 outcome.reason or "the signer did not confirm in time")
        try:
            signed = _signed_pdf(outcome.pdf, r.provider)
            return self._complete(stored, signed, at)
        except DossierError as exc:  # a clerk changed the dossier meanwhile…: next poll
            log.warning("%s: signed document of request %s not recorded: %s; polled again "
                        "later", r.dossier_code, r.transaction_id, type(exc).__name__)
            return "errors"

    def _complete(self, stored: srepo.StoredRequest, signed: bytes, at: datetime) -> str:
        r = stored.record
        system = Actor.system()
        with self.db.transaction() as tx:
            fresh = srepo.request_by_id(tx, stored.id, lock=not self.db.is_sqlite)
            if fresh is None or not fresh.record.pending:
                return "skipped"  # another poller or a callback got there first
            dossier = self.host._load(tx, r.dossier_code)
            if dossier.state is not State.AWAITING_SIGNATURE:
                srepo.resolve_request(tx, stored.id, "expired", at,
                                      reason=f"the dossier is {dossier.state.value} now; the "
                                             "signed document was not used")
                return "expired"
            checked = self._authorise(tx, r.dossier_code, system, Trigger.SIGN)
            self._record_result(tx, checked, system, r.requested_by, r.provider, signed,
                                signed_by=r.requested_by, now=at)
            srepo.resolve_request(tx, stored.id, "signed", at,
                                  document_sha256=hashlib.sha256(signed).hexdigest())
        log.info("%s result signed remotely with %s on behalf of %s (transaction %s)",
                 r.dossier_code, r.provider, r.requested_by, r.transaction_id)
        return "signed"

    def _resolve(self, stored: srepo.StoredRequest, state: str, at: datetime,
                 reason: str) -> str:
        with self.db.transaction() as tx:
            done = srepo.resolve_request(tx, stored.id, state, at, reason=reason[:2000])
        if not done:
            return "skipped"
        r = stored.record
        log.info("%s: signature request %s (%s) %s", r.dossier_code, r.transaction_id,
                 r.provider, state)
        return state

    # --- certified copies -----------------------------------------------------------------

    def certify_copy(self, code: str, component: str, *, actor: Actor, signer: str,
                     certifier_name: str | None = None,
                     certifier_title: str = DEFAULT_CERTIFIER_TITLE) -> Dossier:
        """Make, sign and store the certified e-copy of ``component`` (its latest file plus
        the lời chứng page, numbered in the agency's book of the year); fire ``certify``
        once every certifiable component has its copy. See the module's rules."""
        check_actor(actor)
        chosen = self._signer(signer)
        if not isinstance(component, str):
            raise InvalidInput("component must be a component id")
        name = _optional_text(certifier_name, "certifier_name")
        title = _optional_text(certifier_title, "certifier_title")
        if title is None:
            raise InvalidInput("certifier_title must be non-empty text")
        now = self.host._now()
        with self.db.transaction(write=False) as tx:
            checked = self._authorise(tx, code, actor, Trigger.CERTIFY)
            spec, latest = self._original(tx, checked, component)
            original = repo.get_blob(tx, latest.sha256)
        assert original is not None  # attachments reference blobs by foreign key
        page_count(original)  # a usable PDF, before a number is taken
        year = local_date(now).year
        with self.db.transaction() as tx:
            number = repo.next_counter(tx, "certification", f"{checked.dossier.agency}:{year}")
        book = self.certification_book.format(year=year)
        agency = self._agency_name(checked.dossier.agency)
        name = name or _certificate_name(chosen) or actor.id
        unsigned = build_certified_copy(original, CertificationStatement(
            number=number, book=book, certified_at=now, certifier_name=name,
            certifier_title=title, agency=agency, document_name=spec.name, dossier_code=code))
        outcome = chosen.sign(unsigned, SignRequest(
            signer_name=name, agency=agency, dossier_code=code, reason=CERTIFY_REASON,
            field_name=f"ChungThuc{number}", signed_at=now))
        if isinstance(outcome, Ticket):
            raise SigningError(
                f"{code}: signer {signer!r} signs remotely and returned a ticket; a certified "
                "copy needs a signer that signs at once (its number and date are fixed when "
                f"it is signed). Number {number} of book {book} stays unused; certify again "
                "with an immediate signer")
        signed = _signed_pdf(outcome, signer)
        digest = hashlib.sha256(signed).hexdigest()
        with self.db.transaction() as tx:
            checked = self._authorise(tx, code, actor, Trigger.CERTIFY)
            self._original(tx, checked, component)
            repo.put_blob(tx, digest, signed)
            srepo.insert_document(tx, checked.dossier.id, DocumentRecord(
                dossier_code=code, kind="certified_copy",
                filename=f"ban-sao-{component}-so-{number}-{year}.pdf", sha256=digest,
                size=len(signed), media_type=PDF, signed_by=actor.id, provider=signer,
                created_at=now, component=component, number=number, book=book))
            after = checked.dossier
            if self._all_certified(tx, checked):
                rule = self._rule(tx, checked, {})
                after = self.host._apply(tx, checked.dossier, checked.procedure,
                                         Trigger.CERTIFY, rule.target, actor, None, {}, now)
        log.info("%s certified copy no. %d, book %s, of %s by %s with %s", code, number, book,
                 component, actor.id, signer)
        return after

    def _original(self, tx: Tx, checked: _Checked,
                  component: str) -> tuple[Component, Attachment]:
        """The component to certify and its latest stored file; raises if it cannot be."""
        dossier, procedure = checked.dossier, checked.procedure
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

    def _all_certified(self, tx: Tx, checked: _Checked) -> bool:
        stored = repo.stored_components(tx, checked.dossier.id)
        wanted = {c.id for c in checked.procedure.components
                  if c.may_certify and (c.required or c.id in stored)}
        done = {d.component for d in srepo.documents_of(tx, checked.dossier.id)
                if d.kind == "certified_copy"}
        return wanted <= done

    # --- queries --------------------------------------------------------------------------

    def documents(self, code: str) -> list[DocumentRecord]:
        """The dossier's signed documents (results, certified copies), oldest first."""
        with self.db.transaction(write=False) as tx:
            return srepo.documents_of(tx, self.host._load(tx, code).id)

    def read_document(self, code: str, sha256: str) -> bytes:
        """The content of one of the dossier's signed documents."""
        with self.db.transaction(write=False) as tx:
            dossier = self.host._load(tx, code)
            if sha256 not in {d.sha256 for d in srepo.documents_of(tx, dossier.id)}:
                raise InvalidInput(f"{code} has no document with SHA-256 {sha256}")
            blob = repo.get_blob(tx, sha256)
        assert blob is not None  # documents reference blobs by foreign key
        return blob

    def requests(self, code: str) -> list[SignatureRequest]:
        """The dossier's remote signature requests, oldest first."""
        with self.db.transaction(write=False) as tx:
            return [s.record for s in srepo.requests_of(tx, self.host._load(tx, code).id)]

    # --- helpers --------------------------------------------------------------------------

    def _signer(self, name: str) -> Signer:
        signer = self.signers.get(name) if isinstance(name, str) else None
        if signer is None:
            known = ", ".join(sorted(self.signers)) or "none configured"
            raise InvalidInput(f"no signer named {name!r} (signers: {known})")
        return signer

    def _agency_name(self, agency: str) -> str:
        return self.agency_names.get(agency, agency)

    def _authorise(self, tx: Tx, code: str, actor: Actor, trigger: Trigger) -> _Checked:
        """As :meth:`Engine.fire` checks: the dossier, the party, the state, the role."""
        dossier = self.host._load_for(tx, code, actor)
        procedure = self.host._load_procedure(tx, dossier.procedure_code,
                                              dossier.procedure_version)
        book = self.host._book(procedure)
        rules = book.candidates(dossier.state, trigger.value)
        roles = book.allowed_roles(dossier.state, trigger.value)
        if actor.role not in roles:
            raise PermissionDenied(f"{code}: a {actor.role.value} may not {trigger.value} in "
                                   f"state {dossier.state.value} (allowed: "
                                   f"{', '.join(sorted(roles))})")
        return _Checked(dossier=dossier, procedure=procedure, rules=rules)

    def _rule(self, tx: Tx, checked: _Checked, clean: Mapping[str, Any]) -> Rule:
        book = self.host._book(checked.procedure)
        return book.resolve(checked.dossier.code, checked.rules,
                            _GuardView(tx, checked.dossier, checked.procedure, clean))


class _GuardView:
    """What the guards see of one dossier (see :class:`dossier.guards.GuardContext`)."""

    def __init__(self, tx: Tx, dossier: Dossier, procedure: Procedure,
                 data: Mapping[str, Any]) -> None:
        self._tx, self._dossier = tx, dossier
        self.procedure, self.data = procedure, data

    state = property(lambda self: self._dossier.state)
    resume_state = property(lambda self: self._dossier.resume_state)
    received = property(lambda self: self._dossier.received_at is not None)
    fee_due = property(lambda self: self._dossier.fee_due)
    paid_amount = property(lambda self: self._dossier.paid_amount)

    def stored_components(self) -> frozenset[str]:
        return repo.stored_components(self._tx, self._dossier.id)


def _pending(tx: Tx, checked: _Checked) -> list[srepo.StoredRequest]:
    return [s for s in srepo.requests_of(tx, checked.dossier.id) if s.record.pending]


def _refuse_if_pending(tx: Tx, checked: _Checked) -> None:
    pending = _pending(tx, checked)
    if pending:
        r = pending[-1].record
        raise TransitionNotAllowed(
            f"{checked.dossier.code}: the signature request sent to {r.provider} (transaction "
            f"{r.transaction_id}) is pending until {r.expires_at.isoformat()}; the signer "
            "confirms or rejects it, or it expires, before another can be made")


def _checked_pdf(document: Any) -> bytes:
    if not isinstance(document, bytes | bytearray) or not document:
        raise InvalidInput("document must be the result PDF as non-empty bytes")
    if len(document) > _MAX_DOCUMENT:
        raise InvalidInput(f"document is larger than {_MAX_DOCUMENT // 2**20} MiB")
    pdf = bytes(document)
    open_pdf(pdf)  # InvalidDocument before any signing service is asked
    return pdf


def _signed_pdf(outcome: object, signer: str) -> bytes:
    if not isinstance(outcome, bytes | bytearray) or b"%PDF-" not in bytes(outcome[:1024]):
        raise SigningError(f"signer {signer!r} did not return a signed PDF; check its adapter")
    return bytes(outcome)


def _optional_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be non-empty text")
    return value.strip()


def _certificate_name(signer: Signer) -> str | None:
    """The name in a signer's certificate, when the signer holds one here (a local key)."""
    cert = getattr(signer, "certificate", None)
    return common_name(cert) if isinstance(cert, x509.Certificate) else None

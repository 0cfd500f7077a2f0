"""Remote signature requests (ký số từ xa): polled until the signer confirms or gives up.

A signed one stores the result and fires ``sign`` as ``system`` on behalf of the requesting
signer; a rejected or expired one is marked so (the dossier stays in
``awaiting_signature``, and ``sign_result`` may ask again). A request whose dossier left
``awaiting_signature`` is marked ``expired`` when next polled, its signature unused. A request
whose service cannot be reached stays pending; :data:`ABANDON_AFTER` past its expiry it is
marked ``expired``. A signing service's callback only makes us poll that request: the outcome
always comes from the service itself, so a forged callback changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta

from dossier.actors import Actor
from dossier.engine.kernel import Kernel
from dossier.errors import DossierError, InvalidInput, RemoteSigningError, SigningError
from dossier.records import SignatureRequest, SignatureRequestState
from dossier.signing.base import Ticket, TicketStatus
from dossier.signing.service.results import record_result
from dossier.signing.service.signers import Signers, signed_pdf
from dossier.states import State
from dossier.store import signatures_repo as srepo

log = logging.getLogger("dossier.signatures")

#: How long after its expiry a request whose service cannot be reached stays pending.
ABANDON_AFTER = timedelta(days=1)
#: The keys of :meth:`Requests.poll`'s answer.
POLL_OUTCOMES = ("signed", "rejected", "expired", "pending", "errors", "skipped")
_STATE_OF = {TicketStatus.REJECTED: SignatureRequestState.REJECTED,
             TicketStatus.EXPIRED: SignatureRequestState.EXPIRED}


class Requests:
    """Polls pending remote signatures and completes them."""

    def __init__(self, kernel: Kernel, signers: Signers) -> None:
        self.kernel = kernel
        self.signers = signers

    def poll(self, at: datetime, *, batch: int) -> dict[str, int]:
        with self.kernel.transaction(write=False) as tx:
            waiting = srepo.pending_requests(tx, batch)
        counts = dict.fromkeys(POLL_OUTCOMES, 0)
        for stored in waiting:
            counts[self.settle(stored, at)] += 1
        if waiting:
            log.info("signature poll at %s: %s", at.isoformat(),
                     ", ".join(f"{n} {k}" for k, n in counts.items() if n))
        return counts

    def callback(self, provider: str, transaction_id: str) -> SignatureRequest:
        if not isinstance(provider, str) or not isinstance(transaction_id, str):
            raise InvalidInput("signature_callback takes the signer name and transaction id")
        with self.kernel.transaction(write=False) as tx:
            found = srepo.requests_by_transaction(tx, provider, transaction_id)
        if not found:
            raise InvalidInput(f"no signature request {transaction_id!r} of signer "
                               f"{provider!r}")
        stored = next((s for s in found if s.record.pending), found[0])
        if stored.record.pending:
            self.settle(stored, self.kernel.now())
        with self.kernel.transaction(write=False) as tx:
            fresh = srepo.request_by_id(tx, stored.id)
        assert fresh is not None
        return fresh.record

    def settle(self, stored: srepo.StoredRequest, at: datetime) -> str:
        """Ask the request's service where it stands and record the outcome."""
        r = stored.record
        signer = self.signers.by_name.get(r.provider)
        if signer is None:
            log.warning("%s: signature request %s names signer %r, which is not configured; "
                        "it cannot be polled", r.dossier_code, r.transaction_id, r.provider)
            return "errors"
        with self.kernel.transaction(write=False) as tx:
            state = self.kernel.load(tx, r.dossier_code).state
        if state is not State.AWAITING_SIGNATURE:
            return self._resolve(stored, SignatureRequestState.EXPIRED, at,
                                 f"the dossier is {state.value} now; the request lapsed unused")
        try:
            outcome = signer.poll(Ticket.from_json(json.loads(stored.ticket)))
        except RemoteSigningError as exc:
            if at >= r.expires_at + ABANDON_AFTER:
                return self._resolve(stored, SignatureRequestState.EXPIRED, at,
                                     "the signing service could not be asked for a day after "
                                     "the request expired; request the signature again")
            log.warning("%s: signature request %s (%s) not resolved: %s; polled again later",
                        r.dossier_code, r.transaction_id, r.provider, type(exc).__name__)
            return "errors"
        except (SigningError, ValueError) as exc:  # a ticket that can never be finished
            return self._resolve(stored, SignatureRequestState.REJECTED, at,
                                 f"the signature cannot be completed: {exc}")
        if outcome.status is TicketStatus.PENDING:
            return "pending"
        if outcome.status in _STATE_OF:
            default = "rejected" if outcome.status is TicketStatus.REJECTED \
                else "the signer did not confirm in time"
            return self._resolve(stored, _STATE_OF[outcome.status], at,
                                 outcome.reason or default)
        try:
            return self._complete(stored, signed_pdf(outcome.pdf, r.provider), at)
        except DossierError as exc:  # a clerk changed the dossier meanwhile…: next poll
            log.warning("%s: signed document of request %s not recorded: %s; polled again "
                        "later", r.dossier_code, r.transaction_id, type(exc).__name__)
            return "errors"

    def _complete(self, stored: srepo.StoredRequest, signed: bytes, at: datetime) -> str:
        r = stored.record
        with self.kernel.transaction() as tx:
            fresh = srepo.request_by_id(tx, stored.id, lock=not self.kernel.db.is_sqlite)
            if fresh is None or not fresh.record.pending:
                return "skipped"  # another poller or a callback got there first
            dossier = self.kernel.load(tx, r.dossier_code)
            if dossier.state is not State.AWAITING_SIGNATURE:
                srepo.resolve_request(tx, stored.id, SignatureRequestState.EXPIRED, at,
                                      reason=f"the dossier is {dossier.state.value} now; the "
                                             "signed document was not used")
                return "expired"
            record_result(self.kernel, tx, r.dossier_code, Actor.system(), r.requested_by,
                          r.provider, signed, signed_by=r.requested_by, now=at)
            srepo.resolve_request(tx, stored.id, SignatureRequestState.SIGNED, at,
                                  document_sha256=hashlib.sha256(signed).hexdigest())
        log.info("%s result signed remotely with %s on behalf of %s (transaction %s)",
                 r.dossier_code, r.provider, r.requested_by, r.transaction_id)
        return "signed"

    def _resolve(self, stored: srepo.StoredRequest, state: SignatureRequestState,
                 at: datetime, reason: str) -> str:
        with self.kernel.transaction() as tx:
            done = srepo.resolve_request(tx, stored.id, state, at, reason=reason[:2000])
        if not done:
            return "skipped"
        r = stored.record
        log.info("%s: signature request %s (%s) %s", r.dossier_code, r.transaction_id,
                 r.provider, state.value)
        return state.value

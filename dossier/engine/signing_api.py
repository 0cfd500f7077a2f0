"""The signing half of :class:`~dossier.engine.Engine`'s public API (see
:mod:`dossier.signing.service` for the rules).

Signers are blocking calls that are safe inside a running event loop (pyHanko's coroutines
run on a private thread then); from async code, call these methods through
``asyncio.to_thread`` so the loop is not held while a signature is made.
"""

from __future__ import annotations

from datetime import datetime

from dossier.actors import Actor
from dossier.agencies import AgencyDirectory
from dossier.clock import require_aware
from dossier.engine.kernel import Kernel
from dossier.engine.payments_api import check_batch
from dossier.errors import InvalidInput
from dossier.policy import check_actor
from dossier.records import DocumentRecord, Dossier, SignatureRequest
from dossier.signing.service import SigningService


class SigningApi:
    """Signed results, remote signature requests, certified copies, signed documents."""

    _signing: SigningService
    _kernel: Kernel
    _agencies: AgencyDirectory

    def _signer_for(self, code: str, signer: str | None) -> str:
        """``signer``, or the default signer of the dossier's agency in the directory."""
        if signer is not None:
            return signer
        with self._kernel.transaction(write=False) as tx:
            agency = self._kernel.load(tx, code).agency
        listed = self._agencies.get(agency)
        if listed is None or listed.signer is None:
            raise InvalidInput(f"give signer=: agency {agency} has no default signer in the "
                               "agency directory")
        return listed.signer

    def sign_result(self, code: str, *, actor: Actor, signer: str | None = None,
                    document: bytes | None = None,
                    lookup_url: str = "") -> Dossier | SignatureRequest:
        """Sign the dossier's result with the signer registered as ``signer`` (the leader of
        the ``sign`` step acts). A signer that signs at once fires ``sign`` and returns the
        dossier; a remote signer returns the pending :class:`SignatureRequest`, completed by
        :meth:`poll_signatures` (the worker) or :meth:`signature_callback`. ``document``
        defaults to the result page rendered from ``templates/ket-qua.html.j2``. Without
        ``signer``, the agency's default signer (:attr:`Engine.agencies`) signs."""
        check_actor(actor)
        signer = self._signer_for(code, signer)
        return self._signing.results.sign(code, actor=actor, signer=signer, document=document,
                                          lookup_url=lookup_url)

    def poll_signatures(self, now: datetime | None = None, *, batch: int = 100) -> dict[str, int]:
        """Ask remote signers about pending requests; fire ``sign`` for those now signed."""
        check_batch(batch)
        at = self._kernel.now() if now is None else require_aware(now, "now")
        return self._signing.requests.poll(at, batch=batch)

    def signature_callback(self, provider: str, transaction_id: str) -> SignatureRequest:
        """A signing service said a request changed: poll that one request now."""
        return self._signing.requests.callback(provider, transaction_id)

    def certify_copy(self, code: str, component: str, *, actor: Actor,
                     signer: str | None = None,
                     certifier_name: str | None = None,
                     certifier_title: str | None = None) -> Dossier:
        """Issue the electronic certified copy (bản sao điện tử chứng thực từ bản chính) of a
        stored original: statement page with its number and book, signed; ``certify`` fires
        once every certifiable component has its copy. Without ``signer``, the agency's
        default signer signs. The statement prints ``certifier_name`` (else the actor's
        name, else the signing key's holder) and ``certifier_title`` (else the actor's
        title, else :data:`~dossier.signing.service.DEFAULT_CERTIFIER_TITLE`)."""
        check_actor(actor)
        signer = self._signer_for(code, signer)
        return self._signing.copies.certify(code, component, actor=actor, signer=signer,
                                            certifier_name=certifier_name,
                                            certifier_title=certifier_title)

    def documents(self, code: str, *, actor: Actor | None = None) -> list[DocumentRecord]:
        """The dossier's documents, oldest first: its signed results and certified copies,
        the forms its events issued (kinds ``form-01`` … ``form-05``) and its e-receipts
        (kind ``receipt``) (``actor``: see :class:`Engine`)."""
        return self._signing.documents(code, actor)

    def read_document(self, code: str, sha256: str, *, actor: Actor | None = None) -> bytes:
        """The bytes of one of the dossier's documents."""
        return self._signing.read_document(code, sha256, actor)

    def signature_requests(self, code: str, *,
                           actor: Actor | None = None) -> list[SignatureRequest]:
        """The dossier's remote signature requests, oldest first."""
        return self._signing.signature_requests(code, actor)

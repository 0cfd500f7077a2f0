"""``CscRemoteSigner``: remote signing through the Cloud Signature Consortium API (v1).

A thin layer over pyHanko's CSC client (``pyhanko.sign.signers.csc_signer``). The calls, in
order, all ``POST`` with JSON under ``{service_url}/csc/v1/`` and a bearer token:

1. ``credentials/list`` → ``credentialIDs`` (only when no credential id is configured);
2. ``credentials/info`` (pyHanko's ``fetch_certs_in_csc_credential``) → the certificate
   chain, key algorithms, ``SCAL``; the certificate is checked like a local one;
3. phase one of two-phase signing (:mod:`dossier.signing.twophase`): only the SHA-256 of
   the CMS signed attributes is computed to be signed;
4. ``credentials/authorize`` with the ``PIN`` (and the hash, when ``SCAL`` is 2) → ``SAD``;
5. ``signatures/signHash`` (pyHanko's ``CSCSigner``, with the SAD) → the raw signature,
   which is checked against the certificate and embedded.

With ``deferred=True`` :meth:`CscRemoteSigner.sign` stops after step 4 and returns a
:class:`~dossier.signing.base.Ticket` whose state holds everything for step 5 (the
prepared PDF, the digest, the SAD bound to that digest); :meth:`CscRemoteSigner.poll`
— in any process, on a new signer object — completes it, until the SAD expires.

:meth:`CscRemoteSigner.sign_statement` signs a statement (a detached CMS) through the same
calls at once, deferred or not: the PIN is configured, so nobody has to act in between.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
from cryptography import x509
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCCredentialInfo,
    CSCServiceSessionInfo,
    CSCSigner,
    PrefetchedSADAuthorizationManager,
    fetch_certs_in_csc_credential,
)
from pyhanko.sign.timestamps import TimeStamper

from dossier.clock import Clock, SystemClock, require_aware
from dossier.errors import (
    DossierError,
    InvalidInput,
    RemoteSigningError,
    SignerCredentialError,
    SigningError,
)
from dossier.signing import pades, statements, twophase
from dossier.signing.base import PollResult, SignRequest, StateValue, Ticket, TicketStatus
from dossier.signing.credentials import check_signing_certificate
from dossier.signing.remote import run_remote

T = TypeVar("T")


class CscRemoteSigner:
    """A signer whose key is held by a CSC remote signing service.

    ``token`` is the OAuth2 bearer token and ``pin`` the credential's PIN (both from
    configuration); ``credential_id`` picks the credential. Without it the account must list
    exactly one credential: with several, the signer refuses to guess which one is the
    agency's (:class:`~dossier.errors.SignerCredentialError` names them).
    """

    provider = "csc"

    def __init__(self, service_url: str, *, token: str | None = None,
                 credential_id: str | None = None, pin: str | None = None,
                 clock: Clock | None = None, timeout: float = 30.0,
                 timestamper: TimeStamper | None = None, deferred: bool = False) -> None:
        self._url = service_url.rstrip("/")
        self._token = token
        self._credential_id = credential_id
        self._pin = pin
        self._clock = clock or SystemClock()
        self._timeout = timeout
        self._timestamper = timestamper
        self._deferred = deferred

    def sign(self, pdf: bytes, request: SignRequest) -> bytes | Ticket:
        """Sign through the service (or, when deferred, authorise and return a ticket)."""
        self.check_document(pdf)  # InvalidDocument before the service is asked anything
        ticket = self._run(self._start(pdf, request))
        if self._deferred:
            return ticket
        result = self.poll(ticket)
        if result.pdf is None:
            raise RemoteSigningError(
                f"CSC service {self._url}: the signature authorised just now is {result.status}"
                f"{': ' + result.reason if result.reason else ''}; request it again")
        return result.pdf

    def poll(self, ticket: Ticket) -> PollResult:
        """Finish a deferred signature: ``signatures/signHash`` with the stored SAD."""
        if ticket.provider != self.provider:
            raise SigningError(f"ticket from {ticket.provider!r} given to the CSC signer")
        if self._clock.now() >= ticket.expires_at:
            return PollResult(status=TicketStatus.EXPIRED,
                              reason="the signature activation data (SAD) expired")
        pdf = self._run(self._finish(dict(ticket.state)))
        return PollResult(status=TicketStatus.SIGNED, pdf=pdf)

    def sign_statement(self, data: bytes) -> bytes:
        """A detached CMS signature over ``data`` (DER) made through the service now
        (``credentials/authorize`` with the PIN and, at SCAL 2, the hash; then
        ``signatures/signHash``), timestamped when the signer has a timestamper; see
        :class:`~dossier.signing.base.SignsStatements`. A signature value that does not
        verify with the credential's certificate is a
        :class:`~dossier.errors.RemoteSigningError`, never a CMS handed back."""
        if not isinstance(data, bytes | bytearray):
            raise InvalidInput("sign_statement() takes the statement's bytes")
        signed = self._run(self._sign_statement(bytes(data)))
        found = statements.verify_statement(bytes(data), signed)
        if not found.ok:
            raise RemoteSigningError(
                f"CSC service {self._url} returned a signature that does not check out "
                f"({'; '.join(found.problems)}); request the signature again")
        return signed

    def check_document(self, pdf: bytes) -> None:
        """Raise :class:`~dossier.errors.InvalidDocument` unless ``pdf`` can be signed."""
        pades.open_pdf(pdf)

    def holder_name(self) -> str | None:
        """None: the certificate is fetched from the service when signing, not known here."""
        return None

    # -- the protocol ------------------------------------------------------------------------

    def _session_info(self, credential_id: str) -> CSCServiceSessionInfo:
        return CSCServiceSessionInfo(service_url=self._url, credential_id=credential_id,
                                     oauth_token=self._token)

    async def _post(self, http: aiohttp.ClientSession, endpoint: str,
                    body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        url = f"{self._url}/csc/v1/{endpoint}"
        async with http.post(url, json=body, headers=headers,
                             timeout=aiohttp.ClientTimeout(total=self._timeout)) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = None
            if response.status >= 400:
                detail = data.get("error_description") or data.get("error") \
                    if isinstance(data, dict) else response.reason
                raise RemoteSigningError(
                    f"CSC service {endpoint} failed with HTTP {response.status}: {detail}")
            if not isinstance(data, dict):
                raise RemoteSigningError(f"CSC service {endpoint} did not answer a JSON object")
            return data

    async def _credential(self, http: aiohttp.ClientSession) -> tuple[str, CSCCredentialInfo]:
        credential_id = self._credential_id
        if credential_id is None:
            listed = (await self._post(http, "credentials/list", {})).get("credentialIDs")
            if not isinstance(listed, list) or not listed:
                raise SignerCredentialError(
                    "the CSC service lists no credentials for this account; enrol a signing "
                    "certificate or configure credential_id")
            if len(listed) > 1:
                # the order of credentials/list means nothing: taking the first could sign
                # with a colleague's or a test certificate
                raise SignerCredentialError(
                    f"the CSC service lists {len(listed)} credentials for this account "
                    f"({', '.join(repr(str(c)) for c in listed)}); configure credential_id "
                    "with the one to sign with")
            credential_id = str(listed[0])
        info = await fetch_certs_in_csc_credential(http, self._session_info(credential_id),
                                                   timeout=max(1, round(self._timeout)))
        return credential_id, info

    async def _start(self, pdf: bytes, request: SignRequest) -> Ticket:
        signed_at = require_aware(request.signed_at or self._clock.now(), "signing time")
        async with aiohttp.ClientSession() as http:
            credential_id, info = await self._credential(http)
            cert = x509.load_der_x509_certificate(info.signing_cert.dump())
            check_signing_certificate(cert, signed_at)
            chain = [x509.load_der_x509_certificate(c.dump()) for c in info.chain]
            started = await _prepare_locally(pdf, request, cert, chain, signed_at)
            manager = _PinAuthorization(self, http, credential_id, info)
            answer = await manager.authorize(started.digest_b64)
        state = dict(started.state)
        state.update(credential_id=credential_id, sad=answer.sad)
        return Ticket(provider=self.provider, transaction_id=started.digest.hex()[:32],
                      expires_at=manager.expires_at, state=state)

    async def _finish(self, state: dict[str, StateValue]) -> bytes:
        try:
            credential_id = str(state["credential_id"])
            started_with = twophase.certificates(state)[0].dump()
            sad = CSCAuthorizationInfo(sad=str(state["sad"]))
        except (KeyError, IndexError, ValueError) as exc:
            # a ticket we wrote ourselves, damaged in storage: no retry can mend it, so not a
            # RemoteSigningError (which the engine polls again for a day)
            raise SigningError(
                f"the CSC ticket's stored state is incomplete or damaged ({type(exc).__name__}"
                "); request the signature again") from exc
        async with aiohttp.ClientSession() as http:
            info = await fetch_certs_in_csc_credential(
                http, self._session_info(credential_id), timeout=max(1, round(self._timeout)))
            if info.signing_cert.dump() != started_with:
                raise SignerCredentialError(
                    f"CSC credential {credential_id!r} now holds another certificate than when "
                    "the signature was started; start the signature again")
            manager = PrefetchedSADAuthorizationManager(
                self._session_info(credential_id), info, sad)
            signer = CSCSigner(http, manager, sign_timeout=max(1, round(self._timeout)))
            return await twophase.finish(state, signer, self._timestamper, "the CSC service")

    async def _sign_statement(self, data: bytes) -> bytes:
        signed_at = require_aware(self._clock.now(), "signing time")
        async with aiohttp.ClientSession() as http:
            credential_id, info = await self._credential(http)
            cert = x509.load_der_x509_certificate(info.signing_cert.dump())
            check_signing_certificate(cert, signed_at)
            manager = _PinAuthorization(self, http, credential_id, info)
            signer = CSCSigner(http, manager, sign_timeout=max(1, round(self._timeout)))
            return await statements.sign(signer, data, signed_at=signed_at,
                                         timestamper=self._timestamper)

    def _run(self, work: Awaitable[T]) -> T:
        return run_remote(work, service=f"CSC service {self._url}", timeout=self._timeout,
                          unusable_hint="check the service configuration")


async def _prepare_locally(pdf: bytes, request: SignRequest, cert: x509.Certificate,
                           chain: list[x509.Certificate], signed_at: datetime) -> twophase.Started:
    """Phase one, which runs here and asks the service nothing.

    Its failures are the document's or the request's (``pades.prepare`` already says which:
    InvalidDocument or SigningError), never the service's. They must not reach
    :func:`~dossier.signing.remote.run_remote`, which reads pyHanko's errors and
    ``ValueError`` as a garbled answer (RemoteSigningError) — and a RemoteSigningError has
    the request polled again and again for a day, when trying again cannot help.
    """
    try:
        return await twophase.start(pdf, request, cert=cert, chain=chain, signed_at=signed_at,
                                    # a resuming signer may add a timestamp
                                    with_timestamp=True)
    except DossierError:
        raise
    except Exception as exc:
        raise SigningError(
            f"the PDF could not be prepared for signing here, before anything was sent to "
            f"the CSC service ({type(exc).__name__})") from exc


class _PinAuthorization(CSCAuthorizationManager):
    """``credentials/authorize`` with the configured PIN; pins the hash when SCAL is 2."""

    def __init__(self, owner: CscRemoteSigner, http: aiohttp.ClientSession,
                 credential_id: str, info: CSCCredentialInfo) -> None:
        super().__init__(owner._session_info(credential_id), info)
        self._owner = owner
        self._http = http
        self.expires_at: datetime = owner._clock.now()

    async def authorize(self, hash_b64: str) -> CSCAuthorizationInfo:
        return await self.authorize_signature([hash_b64])

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        pinned = hash_b64s if self.credential_info.hash_pinning_required else None
        body = self.format_csc_auth_request(num_signatures=len(hash_b64s),
                                            pin=self._owner._pin, hash_b64s=pinned)
        answer = await self._owner._post(self._http, "credentials/authorize", body)
        if "SAD" not in answer:
            raise RemoteSigningError("CSC credentials/authorize answered without a SAD")
        lifetime = int(answer.get("expiresIn", 3600))
        self.expires_at = self._owner._clock.now() + timedelta(seconds=lifetime)
        return CSCAuthorizationInfo(sad=str(answer["SAD"]), expires_at=self.expires_at)


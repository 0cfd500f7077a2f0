"""``PhoneConfirmSigner``: remote signing confirmed on the signer's phone (ký số từ xa).

Modelled on the Vietnamese remote-signing services (VNPT SmartCA, Viettel MySign, FPT CA):
the service holds the key; we send a hash, the signer gets a notification in the vendor's app
and confirms (or rejects); we poll until the outcome is known; the request lapses after about
five minutes. Vendors differ in field names, so this is a configurable HTTP adapter over the
mapping below; a vendor whose names differ needs only a subclass overriding the ``_…_body``
and ``_read_…`` methods. Only the SHA-256 of the CMS signed attributes leaves the machine
(two-phase signing, :mod:`dossier.signing.twophase`); the PDF stays here.

HTTP mapping (JSON bodies; every call carries ``Authorization: Basic base64(client_id:
client_secret)``; errors are HTTP 4xx/5xx with ``{"error": code, "message": text}``)::

    POST {base_url}/v1/certificates          {"user_id": U}
      200 {"certificates": [b64 DER signer certificate, b64 DER CA certificate, …]}

    POST {base_url}/v1/signatures
         {"user_id": U, "transaction_id": T, "description": text shown on the phone,
          "hash_algorithm": "SHA-256", "hashes": [{"name": field name, "hash": b64 digest}],
          "expires_in": seconds}
      201 {"transaction_id": T, "status": "waiting", "expires_at": ISO-8601 instant}

    GET  {base_url}/v1/signatures/{T}
      200 {"transaction_id": T, "status": "waiting" | "done" | "rejected" | "expired",
           "signatures": [{"name": field name, "signature": b64}],   (when done)
           "reason": text}                                            (when rejected)

The signature is raw RSA PKCS#1 v1.5 (or ECDSA) over the given SHA-256 digest. ``U`` is the
signer's account at the vendor (often a citizen ID number): it is sent, never logged, never
stored in the ticket, never put in an error message.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
from cryptography import x509
from pyhanko.sign.timestamps import TimeStamper

from dossier.clock import Clock, SystemClock, require_aware
from dossier.errors import RemoteSigningError, SignerCredentialError, SigningError
from dossier.signing import pades, twophase
from dossier.signing.base import PollResult, SignRequest, Ticket, TicketStatus
from dossier.signing.credentials import check_signing_certificate
from dossier.signing.remote import run_remote

T = TypeVar("T")
_STATUSES = {"waiting": TicketStatus.PENDING, "done": TicketStatus.SIGNED,
             "rejected": TicketStatus.REJECTED, "expired": TicketStatus.EXPIRED}


class PhoneConfirmSigner:
    """Starts signatures the signer confirms on their phone; always returns a ticket.

    ``client_id``/``client_secret`` identify this system to the vendor and ``user_id`` the
    signer's account (all from configuration). ``request_ttl`` is how long the signer has
    to confirm (vendors use about 300 s).
    """

    provider = "phone"

    def __init__(self, base_url: str, *, client_id: str, client_secret: str, user_id: str,
                 clock: Clock | None = None, timeout: float = 15.0, request_ttl: int = 300,
                 timestamper: TimeStamper | None = None) -> None:
        self._url = base_url.rstrip("/")
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}
        self._user_id = user_id
        self._clock = clock or SystemClock()
        self._timeout = timeout
        self._ttl = request_ttl
        self._timestamper = timestamper

    def sign(self, pdf: bytes, request: SignRequest) -> Ticket:
        """Send the hash to the signer's phone; return the ticket to poll."""
        self.check_document(pdf)  # InvalidDocument before the service is asked anything
        return self._run(self._start(pdf, request))

    def poll(self, ticket: Ticket) -> PollResult:
        """Ask the service; when the signer has confirmed, finish and return the signed PDF."""
        if ticket.provider != self.provider:
            raise SigningError(f"ticket from {ticket.provider!r} given to the phone signer")
        return self._run(self._poll(ticket))

    def check_document(self, pdf: bytes) -> None:
        """Raise :class:`~dossier.errors.InvalidDocument` unless ``pdf`` can be signed."""
        pades.open_pdf(pdf)

    def holder_name(self) -> str | None:
        """None: the certificate is fetched from the service when signing, not known here."""
        return None

    # -- request bodies and answers: override these for a vendor with other names ---------

    def _signature_body(self, transaction_id: str, digest_b64: str,
                        request: SignRequest) -> dict[str, Any]:
        what = f" hồ sơ {request.dossier_code}" if request.dossier_code else ""
        return {"user_id": self._user_id, "transaction_id": transaction_id,
                "description": f"{request.reason}{what}", "hash_algorithm": "SHA-256",
                "hashes": [{"name": request.field_name, "hash": digest_b64}],
                "expires_in": self._ttl}

    @staticmethod
    def _read_certificates(answer: dict[str, Any]) -> list[x509.Certificate]:
        return [x509.load_der_x509_certificate(pades.unb64(c))
                for c in answer["certificates"]]

    @staticmethod
    def _read_status(answer: dict[str, Any]) -> tuple[TicketStatus, bytes | None, str]:
        status = _STATUSES[str(answer["status"])]
        signature = None
        if status is TicketStatus.SIGNED:
            signature = pades.unb64(answer["signatures"][0]["signature"])
        return status, signature, str(answer.get("reason") or "")

    # -- the flow ------------------------------------------------------------------------

    async def _call(self, http: aiohttp.ClientSession, method: str, path: str,
                    body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with http.request(method, f"{self._url}{path}", json=body, headers=self._headers,
                                timeout=aiohttp.ClientTimeout(total=self._timeout)) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = None
            if response.status >= 400:
                detail = data.get("message") or data.get("error") \
                    if isinstance(data, dict) else response.reason
                raise RemoteSigningError(
                    f"remote signing service {method} {path.split('/')[2]} failed with HTTP "
                    f"{response.status}: {detail}")
            if not isinstance(data, dict):
                raise RemoteSigningError("the remote signing service did not answer JSON")
            return data

    async def _start(self, pdf: bytes, request: SignRequest) -> Ticket:
        signed_at = require_aware(request.signed_at or self._clock.now(), "signing time")
        async with aiohttp.ClientSession() as http:
            certs = self._read_certificates(
                await self._call(http, "POST", "/v1/certificates", {"user_id": self._user_id}))
            if not certs:
                raise SignerCredentialError(
                    "the remote signing service has no certificate for this signer; check "
                    "the account (user_id) in the configuration")
            check_signing_certificate(certs[0], signed_at)
            started = await twophase.start(pdf, request, cert=certs[0], chain=certs[1:],
                                           signed_at=signed_at,
                                           # a resuming signer may add a timestamp
                                           with_timestamp=True)
            # the id is ours, derived from what is signed: a retried request is idempotent
            transaction_id = hashlib.sha256(started.digest).hexdigest()[:32]
            answer = await self._call(http, "POST", "/v1/signatures", self._signature_body(
                transaction_id, started.digest_b64, request))
        transaction_id = str(answer.get("transaction_id") or transaction_id)
        expires = answer.get("expires_at")
        expires_at = require_aware(datetime.fromisoformat(str(expires)), "expires_at") \
            if expires else self._clock.now() + timedelta(seconds=self._ttl)
        return Ticket(provider=self.provider, transaction_id=transaction_id,
                      expires_at=expires_at, state=started.state)

    async def _poll(self, ticket: Ticket) -> PollResult:
        async with aiohttp.ClientSession() as http:
            answer = await self._call(http, "GET", f"/v1/signatures/{ticket.transaction_id}")
        status, signature, reason = self._read_status(answer)
        if status is TicketStatus.PENDING and self._clock.now() >= ticket.expires_at:
            return PollResult(status=TicketStatus.EXPIRED,
                              reason="the signer did not confirm in time")
        if status is TicketStatus.SIGNED:
            assert signature is not None
            state = dict(ticket.state)
            try:
                external = twophase.external_signer(state, signature)
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                # a ticket we wrote ourselves, damaged in storage: not the service's fault
                raise SigningError(f"the phone ticket's stored state is incomplete or damaged "
                                   f"({type(exc).__name__}); request the signature again"
                                   ) from exc
            pdf = await twophase.finish(state, external, self._timestamper,
                                        "the remote signing service")
            return PollResult(status=status, pdf=pdf)
        if status is TicketStatus.EXPIRED and not reason:
            reason = "the signer did not confirm in time"
        return PollResult(status=status, reason=reason)

    def _run(self, work: Awaitable[T]) -> T:
        return run_remote(work, service=f"the remote signing service at {self._url}",
                          timeout=self._timeout, unusable_hint="check the adapter's field mapping")

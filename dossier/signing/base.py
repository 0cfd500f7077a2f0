"""The signing port: what the engine needs from any signer, and the values that cross it.

A signer either signs at once (:meth:`Signer.sign` returns the signed PDF) or starts a remote
signature and returns a :class:`Ticket` (ký số từ xa: the signer confirms on a phone or a
remote service acts later). The engine stores the ticket on the dossier while it waits in
``awaiting_signature``; a worker calls :meth:`Signer.poll` until the outcome is final::

    result = signer.sign(pdf, request)
    if isinstance(result, Ticket):
        store(result.to_json())                       # survives restarts
        ...
        outcome = signer.poll(Ticket.from_json(stored))
        if outcome.status is TicketStatus.SIGNED:
            engine.fire(code, "sign", document=outcome.pdf, ...)

Normal outcomes (pending, rejected, expired) are return values; errors are
:class:`~dossier.errors.SigningError` subclasses.

A signer may also offer optional capabilities, each a small protocol the caller tests with
``isinstance``: :class:`ChecksDocuments` (refuse an unusable PDF before anything is signed or
sent), :class:`KnowsHolder` (the certificate holder's name, e.g. for the stamp) and
:class:`SignsStatements` (a detached CMS signature over arbitrary bytes, e.g. a ledger
checkpoint; :class:`StatementSignature` is what checking one found). They keep callers such as
the engine free of PDF and certificate libraries: this module imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from dossier.clock import require_aware
from dossier.errors import InvalidInput

#: What a ticket's resume state may hold: it is stored as JSON on the dossier.
StateValue = str | int


@dataclass(frozen=True, kw_only=True)
class SignRequest:
    """What to sign and how the signature looks (the stamp is the signature's appearance).

    The stamp's "Ký bởi" and "Cơ quan" lines are the signing certificate's subject (CN and
    O), whatever signs: nothing here can make a stamp name someone the certificate does not.
    ``signed_at`` is the signing time written into the signature and shown on the stamp;
    ``None`` takes it from the signer's clock. ``lookup_url`` (or, failing that,
    ``dossier_code``) goes into the stamp's QR code. ``visible=False`` makes an invisible
    signature. ``page`` is 0-based, negative counts from the end; ``box`` is
    ``(x1, y1, x2, y2)`` in PDF points on that page.
    """

    dossier_code: str = ""
    lookup_url: str = ""
    reason: str = "Ký duyệt kết quả giải quyết thủ tục hành chính"
    location: str = ""
    field_name: str = "ChuKySo1"
    signed_at: datetime | None = None
    visible: bool = True
    page: int = -1
    box: tuple[int, int, int, int] = (330, 40, 565, 135)

    def __post_init__(self) -> None:
        if self.signed_at is not None:
            require_aware(self.signed_at, "SignRequest.signed_at")
        if not self.field_name or "." in self.field_name:
            raise InvalidInput("SignRequest.field_name must be a non-empty name without dots")

    @property
    def qr_content(self) -> str:
        return self.lookup_url or self.dossier_code


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """A remote signature under way.

    ``provider`` names the signer that issued it (route :meth:`Signer.poll` by it),
    ``transaction_id`` is the remote service's id, ``state`` is everything needed to finish
    after a restart (the prepared PDF, the digest sent, the certificate…; plain JSON values,
    no secrets other than a short-lived, hash-bound activation token), ``expires_at`` is
    when the remote side gives up.
    """

    provider: str
    transaction_id: str
    expires_at: datetime
    state: Mapping[str, StateValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_aware(self.expires_at, "Ticket.expires_at")

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict; :meth:`from_json` reads it back."""
        return {"provider": self.provider, "transaction_id": self.transaction_id,
                "expires_at": self.expires_at.isoformat(), "state": dict(self.state)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Ticket:
        """Read a ticket written by :meth:`to_json`."""
        try:
            state = data["state"]
            if not isinstance(state, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, str | int) for k, v in state.items()):
                raise TypeError("state must map names to str or int")
            return cls(provider=str(data["provider"]),
                       transaction_id=str(data["transaction_id"]),
                       expires_at=datetime.fromisoformat(str(data["expires_at"])),
                       state=dict(state))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"not a stored signing ticket: {exc}") from exc


class TicketStatus(StrEnum):
    """Where a remote signature stands."""

    PENDING = "pending"
    SIGNED = "signed"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True, kw_only=True)
class PollResult:
    """The answer to :meth:`Signer.poll`: ``pdf`` when signed, ``reason`` when rejected."""

    status: TicketStatus
    pdf: bytes | None = None
    reason: str = ""

    @property
    def final(self) -> bool:
        return self.status is not TicketStatus.PENDING


@runtime_checkable
class Signer(Protocol):
    """Anything that signs PDFs with a PAdES signature (subfilter ``ETSI.CAdES.detached``).

    ``sign`` and ``poll`` are blocking calls, safe inside a running event loop: there they run
    pyHanko's coroutines on a private thread (:mod:`dossier.signing.blocking`); from async code
    call them via ``asyncio.to_thread`` to avoid blocking your loop.
    """

    #: Provider name written into tickets, e.g. ``"local"``, ``"csc"``, ``"phone"``.
    provider: str

    def sign(self, pdf: bytes, request: SignRequest) -> bytes | Ticket:
        """Sign now and return the signed PDF, or start a remote signature and return a ticket.

        Raises :class:`~dossier.errors.InvalidDocument` for input that is not a usable PDF,
        :class:`~dossier.errors.SignerCredentialError` or
        :class:`~dossier.errors.RemoteSigningError` when the signature cannot be made.
        """
        ...

    def poll(self, ticket: Ticket) -> PollResult:
        """Ask where a ticket stands; finish the signature when the remote side is done."""
        ...


@runtime_checkable
class ChecksDocuments(Protocol):
    def check_document(self, pdf: bytes) -> None:
        """Raise InvalidDocument unless ``pdf`` is a PDF this signer can sign."""


@runtime_checkable
class KnowsHolder(Protocol):
    def holder_name(self) -> str | None:
        """The name in the signing certificate, when it is known here without a network call
        (a local key); else None."""


@runtime_checkable
class SignsStatements(Protocol):
    def sign_statement(self, data: bytes) -> bytes:
        """A detached CMS signature over exactly ``data``, DER-encoded.

        A SignedData (RFC 5652) without encapsulated content (content type id-data), SHA-256,
        with the signed attributes content-type, signing-time (the signer's clock),
        message-digest and signing-certificate-v2, and the signer's certificate with its chain.
        When the signer has a time-stamping authority, the signature value carries an RFC 3161
        token as the unsigned attribute signature-time-stamp-token (id-aa 14). Signs at once,
        never through a ticket; raises :class:`~dossier.errors.SigningError` kinds (an
        unreachable TSA is a :class:`~dossier.errors.RemoteSigningError`).
        """
        ...


@dataclass(frozen=True, kw_only=True)
class StatementSignature:
    """What checking a detached CMS signature over a statement found.

    ``signer`` and ``organisation`` are the certificate subject's CN and O (``""`` when
    absent: other subject fields may hold a citizen ID and are never shown); ``signed_at`` is
    the signing-time the signer claims; ``timestamped_at`` and ``timestamp_authority`` (the
    TSA certificate's CN) come from an RFC 3161 token, when there is one. ``chain_checked``
    says whether the certificates were validated up to a trust anchor the caller gave; when it
    is False only the signature, the digest, the token and the certificates themselves were
    checked, so anyone could have made a certificate with that name. ``problems`` lists what
    failed, empty when the signature holds.
    """

    signer: str
    organisation: str = ""
    signed_at: datetime | None = None
    timestamped_at: datetime | None = None
    timestamp_authority: str = ""
    chain_checked: bool = False
    problems: Sequence[str] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

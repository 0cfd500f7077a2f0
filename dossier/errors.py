"""Every error `dossier` raises on purpose, in one tree.

::

    DossierError                      base: catch this to catch everything below
    ├── InvalidInput                  an argument or trigger data is malformed (also a ValueError)
    ├── ProcedureDefinitionError      a procedure file fails schema or lint (.file, .errors)
    ├── ConfigError                   a dossier.toml fails its checks (.file, .errors)
    ├── ProcedureNotFound             no registered procedure/version for a code or date
    ├── ProcedureConflict             same code + version registered with other content
    ├── DossierNotFound               no dossier with that code
    ├── PermissionDenied              wrong agency, role, or not the citizen's own dossier
    ├── TransitionNotAllowed          the trigger is unknown or not allowed in this state
    ├── GuardFailed                   a named guard is not met (.guard, .missing)
    ├── ConcurrencyConflict           someone else changed the dossier first; reload and retry
    │   └── DuplicateRecord           a unique row (a number, a key) was inserted concurrently
    ├── AuditError                    the event hash chain is broken (.code, .seq)
    ├── SchemaError                   the database schema is not the one this version needs
    ├── CalendarError                 a deadline cannot be computed (no working day in range…)
    ├── SigningError                  signing or verification could not be done (subclasses below)
    │   ├── InvalidDocument           not a PDF, encrypted, or damaged
    │   ├── SignerCredentialError     key file, passphrase, certificate or key usage unusable
    │   ├── RemoteSigningError        a remote signing service failed, timed out or answered garbage
    │   └── SignatureRejected         the signer rejected the request or let it expire
    ├── PaymentError                  a payment could not be created, queried or refunded
    │   ├── CallbackVerificationError a callback's signature, merchant or amount does not check out
    │   ├── IdempotencyConflict       an idempotency key was reused with a different request
    │   └── RefundNotAllowed          a refund exceeds what was paid, or nothing was paid
    └── DocumentError                 a template, PDF or statement file cannot be made or read

Messages say what was wrong and what to do; they never contain a citizen ID number.
"""

from __future__ import annotations

from collections.abc import Sequence


class DossierError(Exception):
    """Base class of every error raised by `dossier`."""


class InvalidInput(DossierError, ValueError):
    """An argument to a public call is malformed; nothing was changed."""


class ProcedureDefinitionError(DossierError):
    """A procedure definition failed validation.

    ``errors`` holds every problem as ``(field_path, message)``; ``str()`` shows them all
    as ``FILE: field.path: message`` lines.
    """

    def __init__(self, file: str, errors: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.errors = list(errors)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One ``FILE: field.path: message`` line per problem."""
        return [f"{self.file}: {path}: {message}" if path else f"{self.file}: {message}"
                for path, message in self.errors]


class ConfigError(DossierError):
    """A deployment configuration (``dossier.toml``) failed its checks.

    ``errors`` holds every problem as ``(key_path, message)``; ``str()`` shows them all as
    ``FILE: key.path: message`` lines. Messages never contain a secret's value.
    """

    def __init__(self, file: str, errors: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.errors = list(errors)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One ``FILE: key.path: message`` line per problem."""
        return [f"{self.file}: {path}: {message}" if path else f"{self.file}: {message}"
                for path, message in self.errors]


class ProcedureNotFound(DossierError):
    """No registered procedure matches the code (or none is in force at that date)."""


class ProcedureConflict(DossierError):
    """The same code and version is already registered with different content."""


class DossierNotFound(DossierError):
    """No dossier has this code."""


class PermissionDenied(DossierError):
    """The actor may not do this: another agency, a role without the right, or not the owner."""


class TransitionNotAllowed(DossierError):
    """The trigger is unknown to the procedure or not allowed from the dossier's state."""


class GuardFailed(DossierError):
    """A guard of the transition is not met.

    ``guard`` names the guard (e.g. ``components_digitised``); ``missing`` lists what is
    missing (component ids, ``"payment"``…).
    """

    def __init__(self, code: str, guard: str, missing: Sequence[str], hint: str = "") -> None:
        self.code = code
        self.guard = guard
        self.missing = tuple(missing)
        detail = ", ".join(self.missing) or "-"
        super().__init__(f"{code}: guard {guard!r} not met (missing: {detail}). {hint}".rstrip())


class ConcurrencyConflict(DossierError):
    """Another transaction changed the dossier (or held the database) first.

    Nothing was written. Reload the dossier and decide again.
    """


class DuplicateRecord(ConcurrencyConflict):
    """A unique row was inserted concurrently by someone else; reload and retry.

    The store raises it from the driver's unique violation (``__cause__``), so a caller never
    sees a driver error: a concurrent writer took the same order or refund reference,
    idempotency key or number first. Nothing of this transaction was written; deciding again
    sees the other row.
    """


class AuditError(DossierError):
    """The event log of a dossier does not match its hash chain, or the dossier row does not
    match its event log (``field`` names the row's field).

    ``seq`` is the 1-based position of the first event that fails (``None`` when the
    damage is at the head: a missing last event or a count mismatch).
    """

    def __init__(self, code: str, seq: int | None, reason: str,
                 field: str | None = None) -> None:
        self.code = code
        self.seq = seq
        self.field = field  # the row's field the events do not account for, if that is it
        where = f"event #{seq}" if seq is not None else "head"
        super().__init__(f"{code}: audit chain broken at {where}: {reason}")


class SchemaError(DossierError):
    """The database schema is older or newer than this version of `dossier` expects."""


class CalendarError(DossierError, ValueError):
    """A working-day computation is impossible with this calendar or input."""


class SigningError(DossierError):
    """Signing or verifying a document failed; the dossier stays where it was."""


class InvalidDocument(SigningError):
    """The input is not a usable PDF (not a PDF, encrypted, or damaged)."""


class SignerCredentialError(SigningError):
    """The signing key or certificate cannot be used (wrong passphrase, expired, key usage)."""


class RemoteSigningError(SigningError):
    """A remote signing service failed, timed out or answered something unreadable."""


class SignatureRejected(SigningError):
    """The signer rejected the request on their phone, or let it expire."""


class PaymentError(DossierError):
    """A payment could not be created, queried or refunded."""


class CallbackVerificationError(PaymentError):
    """A payment callback failed verification (signature, merchant, amount or currency)."""


class IdempotencyConflict(PaymentError):
    """The idempotency key was already used for a different request (e.g. another amount)."""


class RefundNotAllowed(PaymentError):
    """The refund would exceed what was paid, or the payment has not succeeded."""


class DocumentError(DossierError):
    """A document could not be produced or read (template, PDF, statement file)."""

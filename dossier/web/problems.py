"""Errors as HTTP answers: every :class:`~dossier.errors.DossierError` maps to ONE status,
sent as an RFC 9457 ``application/problem+json`` body.

::

    400  CallbackVerificationError, BadRequest (a body that is not JSON, a missing field…)
    401  Unauthorized (no or unknown bearer token)
    403  PermissionDenied, CsrfFailed
    404  DossierNotFound, ProcedureNotFound, NotFound (no such route, provider or file)
    405  (a method the route does not take)
    409  TransitionNotAllowed, GuardFailed, ConcurrencyConflict (DuplicateRecord),
         ProcedureConflict, IdempotencyConflict, RefundNotAllowed, SignatureRejected
    413  BodyTooLarge
    422  InvalidInput, CalendarError, ProcedureDefinitionError, InvalidDocument
    429  TooManyRequests (with Retry-After)
    500  AuditError, ConfigError, DocumentError, SignerCredentialError, DossierError (any other)
    502  PaymentError, SigningError, RemoteSigningError (the provider or signer failed)
    503  SchemaError (the database needs ``dossier db upgrade``)

The body's ``detail`` is the error's message (which names what to do) with anything shaped
like an ID number masked once more; ``instance`` is the path without its query string, which
may hold one. A 500 says nothing of the cause.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from dossier import errors
from dossier.logs import mask_id_numbers

log = logging.getLogger("dossier.web")
MEDIA_TYPE = "application/problem+json"


class HttpProblem(Exception):
    """A problem of the HTTP exchange itself (not of the library): bad body, no token…"""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class BadRequest(HttpProblem):
    status, title = 400, "Bad request"


class Unauthorized(HttpProblem):
    status, title = 401, "Unauthorized"

    def __init__(self, detail: str = "send Authorization: Bearer <token> with a token "
                                     "the deployment's [web] table lists") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="dossier"'})


class CsrfFailed(HttpProblem):
    status, title = 403, "Form expired or forged"


class NotFound(HttpProblem):
    status, title = 404, "Not found"


class BodyTooLarge(HttpProblem):
    status, title = 413, "Content too large"


class TooManyRequests(HttpProblem):
    status, title = 429, "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


#: each library error class → its HTTP status (subclasses not listed take their parent's)
STATUS: dict[type[errors.DossierError], int] = {
    errors.DossierError: 500,
    errors.InvalidInput: 422,
    errors.ProcedureDefinitionError: 422,
    errors.ConfigError: 500,
    errors.ProcedureNotFound: 404,
    errors.ProcedureConflict: 409,
    errors.DossierNotFound: 404,
    errors.PermissionDenied: 403,
    errors.TransitionNotAllowed: 409,
    errors.GuardFailed: 409,
    errors.ConcurrencyConflict: 409,
    errors.DuplicateRecord: 409,
    errors.AuditError: 500,
    errors.SchemaError: 503,
    errors.CalendarError: 422,
    errors.SigningError: 502,
    errors.InvalidDocument: 422,
    errors.SignerCredentialError: 500,
    errors.RemoteSigningError: 502,
    errors.SignatureRejected: 409,
    errors.PaymentError: 502,
    errors.CallbackVerificationError: 400,
    errors.IdempotencyConflict: 409,
    errors.RefundNotAllowed: 409,
    errors.DocumentError: 500,
}


def status_of(error: errors.DossierError) -> int:
    """The HTTP status of a library error: its class's, else its nearest listed parent's."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _slug(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


def problem(status: int, title: str, detail: str, *, kind: str, instance: str,
            headers: Mapping[str, str] | None = None,
            extra: Mapping[str, Any] | None = None) -> Response:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {"type": f"urn:dossier:problem:{kind}", "title": title,
                            "status": status, "detail": mask_id_numbers(detail),
                            "instance": instance}
    body.update(extra or {})
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    media_type=MEDIA_TYPE, headers={**(headers or {}),
                                                    "Cache-Control": "no-store"})


def from_error(request: Request, error: errors.DossierError) -> Response:
    """The problem response of a library error."""
    status = status_of(error)
    name = type(error).__name__
    extra: dict[str, Any] = {}
    if isinstance(error, errors.GuardFailed):
        extra = {"guard": error.guard, "missing": list(error.missing)}
    if status >= 500 and status != 502 and status != 503:
        # the message may describe the server's insides (a key file, a template): log it
        log.error("%s %s: %s: %s", request.method, request.url.path, name, error)
        detail = "the server could not complete this request; it has been logged"
    else:
        detail = str(error)
    return problem(status, name, detail, kind=_slug(name), instance=request.url.path,
                   extra=extra)


def from_http(request: Request, error: HttpProblem) -> Response:
    """The problem response of an HTTP-level problem."""
    return problem(error.status, error.title, error.detail,
                   kind=_slug(type(error).__name__), instance=request.url.path,
                   headers=error.headers)


def unexpected(request: Request) -> Response:
    """A 500 that tells nothing of its cause (the traceback goes to the log)."""
    return problem(500, "Internal error", "the server could not complete this request; it "
                   "has been logged", kind="internal-error", instance=request.url.path)

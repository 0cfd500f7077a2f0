"""dossier — the engine under Vietnam's one-stop-shop (một cửa) public-service systems.

Quickstart::

    from dossier import Engine, Actor, load_procedure
    engine = Engine("sqlite:///dossiers.db")
    engine.register(load_procedure("samples/chung-thuc-ban-sao-dien-tu-2025-11.toml"))
    clerk = Actor(id="nv01", role="clerk", agency="000.00.12.H12")
    d = engine.submit("2.000815", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                      actor=clerk)
    d = engine.fire(d.code, "receive", actor=clerk)

Every name below is importable from here; the error tree and the small value modules load
at once, the engine (SQLAlchemy, transitions) and the procedure model (pydantic) on first use
(PEP 562), so ``import dossier`` stays cheap for a CLI or a worker that only needs part.
"""

import logging
from typing import TYPE_CHECKING

from dossier.actors import Actor
from dossier.clock import Clock, SystemClock
from dossier.errors import (
    AuditError,
    CalendarError,
    CallbackVerificationError,
    ConcurrencyConflict,
    ConfigError,
    DocumentError,
    DossierError,
    DossierNotFound,
    DuplicateRecord,
    GuardFailed,
    IdempotencyConflict,
    InvalidDocument,
    InvalidInput,
    PaymentError,
    PermissionDenied,
    ProcedureConflict,
    ProcedureDefinitionError,
    ProcedureNotFound,
    RefundNotAllowed,
    RemoteSigningError,
    SchemaError,
    SignatureRejected,
    SignerCredentialError,
    SigningError,
    TransitionNotAllowed,
)
from dossier.plugins import lazy_exports
from dossier.public import PublicEvent, PublicStatus
from dossier.query import Page, WorkItem
from dossier.ratings import RATING_CRITERIA, RATING_LEVELS, Rating, RatingCriterion, RatingLevel
from dossier.records import (
    Attachment,
    ClockPause,
    Deadlines,
    DigitisationKind,
    DigitisationRecord,
    DocumentRecord,
    Dossier,
    Event,
    FeedEvent,
    OutboxBacklog,
    OutboxEntry,
    OutboxStatus,
    Payment,
    PaymentCallback,
    PaymentState,
    Refund,
    RefundState,
    ReuseKind,
    ReuseSource,
    SignatureRequest,
    SignatureRequestState,
    StoredReceipt,
)
from dossier.states import Role, State, Step, Trigger

if TYPE_CHECKING:
    from dossier.engine import Engine
    from dossier.fees import FeeBasis, compute_fee
    from dossier.procedure import Procedure, load_procedure
    from dossier.quality import QualityReport
    from dossier.resources import sample_path, samples

__version__ = "0.1.0"

# A library does not decide where its logs go: silent unless the application configures logging.
logging.getLogger("dossier").addHandler(logging.NullHandler())

_LAZY = {
    "Engine": "dossier.engine",
    "FeeBasis": "dossier.fees",
    "compute_fee": "dossier.fees",
    "Procedure": "dossier.procedure",
    "load_procedure": "dossier.procedure",
    "QualityReport": "dossier.quality",
    "sample_path": "dossier.resources",
    "samples": "dossier.resources",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "RATING_CRITERIA",
    "RATING_LEVELS",
    "Actor",
    "Attachment",
    "AuditError",
    "CalendarError",
    "CallbackVerificationError",
    "Clock",
    "ClockPause",
    "ConcurrencyConflict",
    "ConfigError",
    "Deadlines",
    "DigitisationKind",
    "DigitisationRecord",
    "DocumentError",
    "DocumentRecord",
    "Dossier",
    "DossierError",
    "DossierNotFound",
    "DuplicateRecord",
    "Engine",
    "Event",
    "FeeBasis",
    "FeedEvent",
    "GuardFailed",
    "IdempotencyConflict",
    "InvalidDocument",
    "InvalidInput",
    "OutboxBacklog",
    "OutboxEntry",
    "OutboxStatus",
    "Page",
    "Payment",
    "PaymentCallback",
    "PaymentError",
    "PaymentState",
    "PermissionDenied",
    "Procedure",
    "ProcedureConflict",
    "ProcedureDefinitionError",
    "ProcedureNotFound",
    "PublicEvent",
    "PublicStatus",
    "QualityReport",
    "Rating",
    "RatingCriterion",
    "RatingLevel",
    "Refund",
    "RefundNotAllowed",
    "RefundState",
    "RemoteSigningError",
    "ReuseKind",
    "ReuseSource",
    "Role",
    "SchemaError",
    "SignatureRejected",
    "SignatureRequest",
    "SignatureRequestState",
    "SignerCredentialError",
    "SigningError",
    "State",
    "Step",
    "StoredReceipt",
    "SystemClock",
    "TransitionNotAllowed",
    "Trigger",
    "WorkItem",
    "compute_fee",
    "load_procedure",
    "sample_path",
    "samples",
]

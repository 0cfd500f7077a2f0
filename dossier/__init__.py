"""dossier — the engine under Vietnam's one-stop-shop (một cửa) public-service systems.

Quickstart::

    from dossier import Engine, Actor, load_procedure
    engine = Engine("sqlite:///dossiers.db")
    engine.register(load_procedure("samples/chung-thuc-ban-sao-dien-tu.toml"))
    clerk = Actor(id="nv01", role="clerk", agency="000.00.12.H12")
    d = engine.submit("2.000815", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                      actor=clerk)
    d = engine.fire(d.code, "receive", actor=clerk)
"""

import logging

from dossier.actors import Actor
from dossier.clock import Clock, SystemClock
from dossier.engine import Engine
from dossier.errors import (
    AuditError,
    ConcurrencyConflict,
    DossierError,
    DossierNotFound,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    ProcedureConflict,
    ProcedureDefinitionError,
    ProcedureNotFound,
    SchemaError,
    TransitionNotAllowed,
)
from dossier.fees import FeeBasis, compute_fee
from dossier.procedure import Procedure, load_procedure
from dossier.records import Attachment, Dossier, Event
from dossier.resources import sample_path, samples
from dossier.states import Role, State, Step, Trigger

__version__ = "0.1.0"

# A library does not decide where its logs go: silent unless the application configures logging.
logging.getLogger("dossier").addHandler(logging.NullHandler())

__all__ = [
    "Actor",
    "Attachment",
    "AuditError",
    "Clock",
    "ConcurrencyConflict",
    "Dossier",
    "DossierError",
    "DossierNotFound",
    "Engine",
    "Event",
    "FeeBasis",
    "GuardFailed",
    "InvalidInput",
    "PermissionDenied",
    "Procedure",
    "ProcedureConflict",
    "ProcedureDefinitionError",
    "ProcedureNotFound",
    "Role",
    "SchemaError",
    "State",
    "Step",
    "SystemClock",
    "TransitionNotAllowed",
    "Trigger",
    "compute_fee",
    "load_procedure",
    "sample_path",
    "samples",
]

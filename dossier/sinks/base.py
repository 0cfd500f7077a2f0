"""The sink port: where the outbox delivers what happened to dossiers.

Every event the kernel records is written, in the same transaction, as one outbox row per
sink that :meth:`Sink.wants` it. The dispatcher (``engine.dispatch_outbox()``, a worker job)
later hands each row to its sink as a :class:`Message`, at least once and, per dossier and
sink, in the order of the dossier's events: event n+1 is not handed over before event n was
acknowledged. A sink acknowledges by returning; it raises :class:`DeliveryFailed` to have the
message tried again later (with backoff), or with ``permanent=True`` to dead-letter it at once.

A message carries no personal data: no applicant name, no ID number. A sink that must reach
the applicant (a notifier) reads the contact from the dossier the dispatcher passes with it.

::

    kernel.record ──▶ events row + outbox rows (one per wanting sink)    one transaction
    dispatcher ──▶ sink.deliver(message, dossier)                        after commit
                     returns → delivered │ DeliveryFailed → retry later / dead
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from dossier.errors import DossierError
from dossier.records import Dossier

#: Message types are ``"dossier." + trigger`` (``dossier.receive``, ``dossier.sla_warning``…).
TYPE_PREFIX = "dossier."


@dataclass(frozen=True, kw_only=True)
class Message:
    """One event of one dossier, as every sink receives it.

    ``id`` is the same for every delivery attempt and every sink of one event (receivers
    de-duplicate by it); ``attempt`` counts this sink's deliveries of it, from 1.
    """

    id: str
    type: str                      # "dossier.<trigger>"
    code: str                      # the dossier code
    agency: str
    procedure: str                 # procedure code
    procedure_version: str
    channel: str
    seq: int                       # the event's number within its dossier (1 = submit)
    at: datetime                   # when the event was recorded (aware, UTC)
    source: str | None             # the state before
    state: str                     # the state after
    portal_status: int             # the national portal's status code after (1–10)
    due_at: datetime | None        # the appointment (ngày hẹn trả) after the event
    role: str                      # the role of whoever caused it
    data: Mapping[str, Any]        # the event's data minus anything personal
    attempt: int = 1

    @property
    def trigger(self) -> str:
        return self.type.removeprefix(TYPE_PREFIX)

    def body(self) -> dict[str, Any]:
        """The JSON object a sink sends: every field but ``attempt``, times as ISO 8601."""
        return {
            "id": self.id, "type": self.type, "code": self.code, "agency": self.agency,
            "procedure": self.procedure, "procedure_version": self.procedure_version,
            "channel": self.channel, "seq": self.seq, "at": self.at.isoformat(),
            "source": self.source, "state": self.state, "portal_status": self.portal_status,
            "due_at": self.due_at.isoformat() if self.due_at else None, "role": self.role,
            "data": dict(self.data),
        }


class DeliveryFailed(DossierError):
    """A sink could not deliver a message. ``permanent``: trying again cannot help (the
    message goes to the dead letters at once); otherwise it is retried with backoff."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@runtime_checkable
class Sink(Protocol):
    """Something outside the engine that hears about dossiers' events."""

    def wants(self, message_type: str) -> bool:
        """Whether this sink subscribes to messages of ``message_type`` (decided when the
        event is recorded: a sink that does not want it gets no outbox row)."""
        ...

    def deliver(self, message: Message, dossier: Dossier) -> None:
        """Deliver ``message``; ``dossier`` is the dossier as it is now (for a sink that
        needs more than the message, e.g. the applicant's contact). Return to acknowledge;
        raise :class:`DeliveryFailed` otherwise. Must be safe to call again with the same
        message (at-least-once delivery)."""
        ...


#: The ``kind`` a sink that syncs dossiers' status to the national public-service portal
#: declares (a class attribute ``kind = PORTAL_SYNC``): the quality report counts dossiers
#: synced to the portal from those sinks' outbox rows.
PORTAL_SYNC = "portal"


def is_portal_sync(sink: object) -> bool:
    """Whether ``sink`` syncs the national portal (declares ``kind = PORTAL_SYNC``)."""
    return getattr(sink, "kind", None) == PORTAL_SYNC


def subscribed(types: frozenset[str] | None, message_type: str) -> bool:
    """The usual :meth:`Sink.wants`: every type when ``types`` is None, else those listed
    (``"dossier.receive"`` or the bare trigger ``"receive"``)."""
    return types is None or message_type in types \
        or message_type.removeprefix(TYPE_PREFIX) in types

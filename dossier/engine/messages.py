"""How a recorded event becomes the :class:`~dossier.sinks.base.Message` sinks receive.

The message is built when the event is recorded, from the event and the dossier as the event
left it, and stored as the outbox row's payload (its JSON body); each delivery reads it back
with that delivery's attempt number. So every sink and every retry of one event get the same
message, whatever happened to the dossier since.

What of the event's data goes out (:func:`public_data`), since a message leaves the engine
and must carry nothing personal:

- keys naming the applicant or a person's details are dropped: any key containing
  ``applicant``, ``id_number``, ``name`` (also ``filename``: people name scans after
  themselves), ``phone``, ``email``, ``address`` or ``birth``;
- ``note`` is dropped: an internal remark, free text nobody outside was promised;
- values are kept only when they are text, numbers, booleans, null, or lists of those: a
  nested mapping is a structure nobody vetted (the applicant is one), so it is dropped.

Kept: reasons (addressed to the applicant), legal bases, amounts, methods, references,
component ids, digests of signed documents, dates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dossier.records import Dossier, Event
from dossier.sinks.base import TYPE_PREFIX, Message
from dossier.store.repository import dumps

#: Parts of a key that mark a person's details (see the module's docstring).
PERSONAL_KEY_PARTS = ("applicant", "id_number", "name", "phone", "email", "address", "birth")
#: Keys dropped whole: free text meant for staff only.
INTERNAL_KEYS = frozenset({"note"})
_SCALARS = (str, int, float, bool, type(None))


def message_id(event: Event) -> str:
    """The id receivers de-duplicate by: from the event's chained hash, which no other event
    has, so the same for every sink and every attempt."""
    return "msg_" + event.hash[:32]


def message_type(event: Event) -> str:
    """``"dossier.<trigger>"``: what :meth:`Sink.wants` is asked about."""
    return TYPE_PREFIX + event.trigger


def public_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an event's data a message may carry (the rule is in the module's
    docstring)."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        lowered = key.lower()
        if key in INTERNAL_KEYS or any(part in lowered for part in PERSONAL_KEY_PARTS):
            continue
        if isinstance(value, _SCALARS) or (
                isinstance(value, list | tuple) and all(isinstance(v, _SCALARS) for v in value)):
            kept[key] = list(value) if isinstance(value, tuple) else value
    return kept


def message_for(after: Dossier, event: Event) -> Message:
    """The message about ``event``, which left the dossier as ``after``; times in UTC."""
    appointment = after.deadlines.appointment_at
    return Message(
        id=message_id(event), type=message_type(event), code=after.code,
        agency=after.agency, procedure=after.procedure_code,
        procedure_version=after.procedure_version, channel=after.channel, seq=event.seq,
        at=event.at, source=event.source, state=event.target,
        portal_status=after.portal_status,
        due_at=None if appointment is None else appointment.astimezone(UTC),
        role=event.role, data=public_data(event.data))


def payload(message: Message) -> str:
    """The JSON text the outbox row keeps: the message's body."""
    return dumps(message.body())


def from_payload(text: str, *, attempt: int) -> Message:
    """The message an outbox row's payload holds, for delivery attempt ``attempt``."""
    body = json.loads(text)
    due = body["due_at"]
    return Message(
        id=body["id"], type=body["type"], code=body["code"], agency=body["agency"],
        procedure=body["procedure"], procedure_version=body["procedure_version"],
        channel=body["channel"], seq=body["seq"], at=datetime.fromisoformat(body["at"]),
        source=body["source"], state=body["state"], portal_status=body["portal_status"],
        due_at=datetime.fromisoformat(due) if due else None, role=body["role"],
        data=body["data"], attempt=attempt)

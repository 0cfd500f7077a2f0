"""What a transition does to a dossier, and the event that records it. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from dossier.audit import AuditKey, event_hash
from dossier.records import Dossier, Event
from dossier.states import FINAL_STATES, State, Trigger


def chain_event(dossier: Dossier, *, trigger: str, source: str | None, target: str,
                actor: str, role: str, on_behalf_of: str | None, at: datetime,
                data: Mapping[str, Any], key: AuditKey | None = None) -> Event:
    """The next event of ``dossier``'s chain (``dossier`` as it was before the event), linked
    with the audit ``key`` when the engine has one."""
    seq = dossier.event_count + 1
    digest = event_hash(dossier=dossier.code, seq=seq, trigger=trigger, source=source,
                        target=target, actor=actor, role=role, on_behalf_of=on_behalf_of,
                        at=at, data=data, prev_hash=dossier.head_hash,
                        key=key.secret if key is not None else None)
    return Event(seq=seq, trigger=trigger, source=source, target=target, actor=actor, role=role,
                 on_behalf_of=on_behalf_of, at=at, data=dict(data),
                 prev_hash=dossier.head_hash, hash=digest,
                 key_id=key.id if key is not None else None)


def after_event(dossier: Dossier, event: Event, **changes: Any) -> Dossier:
    """``dossier`` once ``event`` is recorded: new head, count and lock version."""
    return replace(dossier, version=dossier.version + 1, event_count=event.seq,
                   head_hash=event.hash, updated_at=event.at, **changes)


def transition_changes(dossier: Dossier, trigger: Trigger, target: State,
                       data: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """The fields a transition changes besides the bookkeeping of :func:`after_event`."""
    changes: dict[str, Any] = {"state": target}
    if target is not dossier.state:  # a new step is a new assignment
        changes["assignee"] = None
    if trigger is Trigger.RECEIVE and dossier.received_at is None:
        changes["received_at"] = at
    elif trigger is Trigger.PAY:
        changes["paid_amount"] = dossier.paid_amount + int(data["amount"])
    elif trigger is Trigger.REQUEST_SUPPLEMENT:
        changes["resume_state"] = dossier.state
    elif trigger is Trigger.SUPPLEMENT:
        changes["resume_state"] = None
    if target in FINAL_STATES:
        changes["closed_at"] = at
    return changes

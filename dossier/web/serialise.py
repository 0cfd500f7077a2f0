"""Library records as the JSON API sends them.

Times are ISO 8601 in UTC. An applicant's ID number is never sent back (it is written once,
at submission, and looked up by its keyed digest): any key naming ``id_number`` is dropped,
at any depth, from the applicant and from event data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dossier.query import Page, WorkItem
from dossier.records import Attachment, DocumentRecord, Dossier, Event, SignatureRequest


def when(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def without_id_numbers(value: Any) -> Any:
    """``value`` with every mapping key containing ``id_number`` left out."""
    if isinstance(value, Mapping):
        return {str(k): without_id_numbers(v) for k, v in value.items()
                if "id_number" not in str(k).lower()}
    if isinstance(value, list | tuple):
        return [without_id_numbers(v) for v in value]
    return value


def dossier(d: Dossier) -> dict[str, Any]:
    deadlines = d.deadlines
    return {
        "code": d.code, "procedure_code": d.procedure_code,
        "procedure_version": d.procedure_version, "agency": d.agency, "channel": d.channel,
        "state": d.state.value, "portal_status": d.portal_status,
        "resume_state": d.resume_state.value if d.resume_state else None, "owner": d.owner,
        "applicant": without_id_numbers(d.applicant), "fee_due": d.fee_due,
        "paid_amount": d.paid_amount, "version": d.version,
        "assignee": d.assignee, "step_role": d.step_role.value if d.step_role else None,
        "submitted_at": when(d.submitted_at), "received_at": when(d.received_at),
        "updated_at": when(d.updated_at), "closed_at": when(d.closed_at),
        "due_at": when(d.due_at), "appointment_at": when(deadlines.appointment_at),
        "step_due_at": when(d.step_due_at), "paused_at": when(deadlines.paused_at),
        "timeliness": deadlines.timeliness, "extended": deadlines.extended,
    }


def event(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "trigger": e.trigger, "source": e.source, "target": e.target,
            "actor": e.actor, "role": e.role, "on_behalf_of": e.on_behalf_of,
            "at": when(e.at), "data": without_id_numbers(dict(e.data)), "hash": e.hash}


def attachment(a: Attachment) -> dict[str, Any]:
    return {"component": a.component, "filename": a.filename, "sha256": a.sha256,
            "size": a.size, "media_type": a.media_type, "attached_by": a.attached_by,
            "attached_at": when(a.attached_at)}


def document(r: DocumentRecord) -> dict[str, Any]:
    return {"kind": r.kind, "filename": r.filename, "sha256": r.sha256, "size": r.size,
            "media_type": r.media_type, "signed_by": r.signed_by, "provider": r.provider,
            "created_at": when(r.created_at), "component": r.component,
            "number": r.number, "book": r.book}


def work_item(w: WorkItem) -> dict[str, Any]:
    return {"dossier": dossier(w.dossier), "assigned": w.assigned,
            "remaining_seconds": None if w.remaining is None else
            int(w.remaining.total_seconds()), "remaining_text": w.remaining_text}


def page(p: Page[Any], item: Any) -> dict[str, Any]:
    return {"items": [item(i) for i in p.items], "next": p.next}


def signature_request(r: SignatureRequest) -> dict[str, Any]:
    return {"dossier_code": r.dossier_code, "provider": r.provider, "state": r.state.value,
            "resolved_at": when(r.resolved_at)}


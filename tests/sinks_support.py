"""Messages and dossiers for the sink tests (what the outbox dispatcher hands a sink)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dossier.records import Deadlines, Dossier
from dossier.sinks import Message
from dossier.states import State, portal_status

ROOT = Path(__file__).resolve().parent.parent
AGENCY = "000.00.12.H12"
CODE = "000.00.12.H12-260105-0001"
ID_NUMBER = "001203004567"
RECEIVED = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)        # 09:00 in Hà Nội
APPOINTMENT = datetime(2026, 1, 19, 10, 0, tzinfo=UTC)   # 17:00 on 19/01/2026


def message(trigger: str = "receive", *, state: str = "processing",
            source: str | None = "awaiting_reception", **overrides: Any) -> Message:
    """The message of one event; ``portal_status`` follows ``state``."""
    base = Message(
        id="evt_0001", type=f"dossier.{trigger}", code=CODE, agency=AGENCY,
        procedure="2.000815", procedure_version="1", channel="counter", seq=3,
        at=RECEIVED, source=source, state=state,
        portal_status=portal_status(State(state), received=True), due_at=APPOINTMENT,
        role="clerk", data={})
    return replace(base, **overrides)


def dossier(applicant: dict[str, Any] | None = None, **overrides: Any) -> Dossier:
    """The dossier as the dispatcher reads it; the applicant has an ID number (which no
    sink may ever send) unless ``applicant`` says otherwise."""
    base = Dossier(
        id=1, code=CODE, procedure_code="2.000815", procedure_version="1", agency=AGENCY,
        channel="counter", state=State.PROCESSING, resume_state=None, owner=None,
        applicant=applicant if applicant is not None else {
            "name": "Nguyễn Văn A", "id_number": ID_NUMBER,
            "email": "nguyen.van.a@example.vn", "phone": "0912 345 678"},
        fee_due=0, paid_amount=0, version=3, event_count=3, head_hash="0" * 64,
        submitted_at=RECEIVED, received_at=RECEIVED, updated_at=RECEIVED, closed_at=None,
        deadlines=Deadlines(due_at=APPOINTMENT, appointment_at=APPOINTMENT))
    return replace(base, **overrides)

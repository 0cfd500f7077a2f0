"""What the public status lookup (tra cứu hồ sơ) shows of a dossier: :class:`PublicStatus`.

Only what the citizen already knows or is owed: the procedure, where the dossier stands (its
state and the national portal's status code), the appointment, a timeline of the public
moments and a masked applicant name. Never an officer's id, a note, a reason, a file or the
ID number. Pure.

**Timeline.** One entry per event that the citizen takes part in or is told of: submission,
reception, a supplement request and the supplement, payment, a new appointment (apology
letter), the result being ready (the event that brings the dossier to ``awaiting_return``,
whatever the step before), its return, and a refusal, withdrawal or stop. Internal steps
(digitising, certifying, processing, signing), attachments, assignments and timers are not
shown.

**Masked name.** The family name (the first word) in full; every other word as its first
letter and two asterisks, whatever its length: "Nguyễn Văn An" → "Nguyễn V** A**". A
one-word name shows its first letter only ("A**").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from dossier.records import Dossier, Event
from dossier.states import State, Trigger

#: event trigger → what the timeline says
PUBLIC_EVENTS: dict[str, str] = {
    Trigger.SUBMIT: "Nộp hồ sơ",
    Trigger.RECEIVE: "Tiếp nhận hồ sơ",
    Trigger.REQUEST_SUPPLEMENT: "Yêu cầu bổ sung hồ sơ",
    Trigger.SUPPLEMENT: "Bổ sung hồ sơ",
    Trigger.PAY: "Nộp phí, lệ phí",
    Trigger.EXTEND: "Hẹn lại ngày trả kết quả",
    Trigger.RETURN_RESULT: "Trả kết quả",
    Trigger.REFUSE: "Từ chối giải quyết",
    Trigger.WITHDRAW: "Rút hồ sơ",
    Trigger.STOP: "Dừng giải quyết",
}
#: the timeline entry of the event that made the result ready (its trigger is internal)
RESULT_READY = "result_ready"
RESULT_READY_LABEL = "Đã có kết quả, chờ trả"

#: the national portal's status codes as the lookup page shows them
PORTAL_STATUS_LABELS: dict[int, str] = {
    1: "Chờ tiếp nhận", 2: "Đang số hóa, chứng thực", 3: "Từ chối tiếp nhận",
    4: "Đang giải quyết", 5: "Chờ bổ sung hồ sơ", 6: "Chờ nộp phí, lệ phí", 7: "Đã rút hồ sơ",
    8: "Dừng giải quyết", 9: "Chờ trả kết quả", 10: "Đã trả kết quả",
}


@dataclass(frozen=True, kw_only=True)
class PublicEvent:
    """One public moment of a dossier: when, what (a trigger, or ``result_ready``), and the
    words the lookup page shows."""

    at: datetime
    kind: str
    label: str


@dataclass(frozen=True, kw_only=True)
class PublicStatus:
    """A dossier as the public status lookup shows it (see the module's docstring)."""

    code: str
    procedure_code: str
    procedure_name: str
    state: State
    portal_status: int
    status_label: str
    applicant: str                  # masked: "Nguyễn V** A**"
    submitted_at: datetime
    received_at: datetime | None
    appointment_at: datetime | None
    closed_at: datetime | None
    timeline: tuple[PublicEvent, ...]


def mask_name(name: str) -> str:
    """The applicant's name as a public page may show it: "Nguyễn Văn An" → "Nguyễn V** A**"."""
    words = name.split()
    if not words:
        return ""
    if len(words) == 1:
        return f"{words[0][0]}**"
    return " ".join([words[0], *(f"{word[0]}**" for word in words[1:])])


def timeline(events: Iterable[Event]) -> tuple[PublicEvent, ...]:
    """The public moments among ``events``, oldest first."""
    entries: list[PublicEvent] = []
    for event in events:
        label = PUBLIC_EVENTS.get(event.trigger)
        if label is not None:
            entries.append(PublicEvent(at=event.at, kind=event.trigger, label=label))
        elif event.target == State.AWAITING_RETURN and event.source != event.target:
            entries.append(PublicEvent(at=event.at, kind=RESULT_READY, label=RESULT_READY_LABEL))
    return tuple(entries)


def public_status(dossier: Dossier, procedure_name: str, events: Iterable[Event]) -> PublicStatus:
    """What the lookup shows of ``dossier`` (its ``events`` oldest first)."""
    name = dossier.applicant.get("name")
    status = dossier.portal_status
    return PublicStatus(
        code=dossier.code, procedure_code=dossier.procedure_code,
        procedure_name=procedure_name, state=dossier.state, portal_status=status,
        status_label=PORTAL_STATUS_LABELS[status],
        applicant=mask_name(name) if isinstance(name, str) else "",
        submitted_at=dossier.submitted_at, received_at=dossier.received_at,
        appointment_at=dossier.deadlines.appointment_at, closed_at=dossier.closed_at,
        timeline=timeline(events))

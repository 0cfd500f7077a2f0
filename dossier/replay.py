"""The dossier row against its events: every value the row derives from the chain, replayed.

The chain proves the events were not edited; this proves the row was not edited around them
(``UPDATE dossiers SET state = 'awaiting_return'`` on a dossier in ``processing`` would
otherwise let ``return_result`` skip the steps). Pure: the caller loads the row and events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dossier.errors import AuditError
from dossier.records import DigitisationKind, DigitisationRecord, Dossier, Event
from dossier.states import FINAL_STATES, Role, State, Trigger

#: Events that record something without moving the dossier: source and target are equal.
_IN_PLACE = frozenset({Trigger.ATTACH.value, Trigger.EXTEND.value, Trigger.SLA_WARNING.value,
                       Trigger.OVERDUE.value, Trigger.ASSIGN.value, Trigger.RATE.value})


def check_row(dossier: Dossier, events: Sequence[Event],
              applicant_digest: Callable[[Mapping[str, Any], str | None], str],
              step_role: Callable[[State], Role | None] | None = None) -> None:
    """Raise :class:`AuditError` naming the first field of the row that the events do not
    account for (``events`` already verified as a chain). ``applicant_digest(applicant,
    key_id)`` recomputes the submit event's digest with the key that event was linked with;
    ``step_role(state)``, when given, is who the procedure has do the step of a state (the
    row's ``step_role``, which the work queues select by)."""
    code = dossier.code

    def mismatch(name: str, stored: object, replayed: object) -> AuditError:
        return AuditError(code, None, f"{name} is {stored!r} in the dossier row but "
                                      f"{replayed!r} by its events (the row was edited)",
                          field=name)

    if not events or events[0].trigger != Trigger.SUBMIT.value:
        raise AuditError(code, 1, "the chain does not start with its submit event")
    submit = events[0]
    for name, stored in (("procedure_code", dossier.procedure_code),
                         ("procedure_version", dossier.procedure_version),
                         ("channel", dossier.channel), ("fee_due", dossier.fee_due)):
        replayed = submit.data.get({"procedure_code": "procedure",
                                    "procedure_version": "version"}.get(name, name))
        if stored != replayed:
            raise mismatch(name, stored, replayed)
    recorded = submit.data.get("applicant_digest")
    if recorded is not None and applicant_digest(dossier.applicant, submit.key_id) != recorded:
        raise AuditError(code, None, "applicant does not match the digest its submit event "
                                     "recorded (the row was edited)", field="applicant")
    if dossier.submitted_at != submit.at:
        raise mismatch("submitted_at", dossier.submitted_at, submit.at)

    state: str | None = None
    resume: str | None = None
    paid = 0
    received_at: datetime | None = None
    closed_at: datetime | None = None
    due_at: str | None = None
    assignee: str | None = None
    for event in events:
        if event.source != state:
            raise AuditError(code, event.seq, f"starts from {event.source!r}, but the event "
                                              f"before it left the dossier in {state!r}")
        if event.trigger in _IN_PLACE and event.target != event.source:
            raise AuditError(code, event.seq, f"a {event.trigger} event moved the dossier")
        if event.trigger == Trigger.RECEIVE.value and received_at is None:
            received_at = event.at
        elif event.trigger == Trigger.PAY.value:
            paid += int(event.data.get("amount", 0))
        elif event.trigger == Trigger.REQUEST_SUPPLEMENT.value:
            resume = event.source
        elif event.trigger == Trigger.SUPPLEMENT.value:
            resume = None
        if event.trigger == Trigger.ASSIGN.value:
            assignee = event.data.get("assignee")
        elif event.target != event.source:  # a new step is a new assignment
            assignee = None
        if "due_at" in event.data:
            due_at = event.data["due_at"]
        if State(event.target) in FINAL_STATES and closed_at is None:
            closed_at = event.at
        state = event.target
    checks: tuple[tuple[str, object, object], ...] = (
        ("state", dossier.state.value, state),
        ("version", dossier.version, len(events)),
        ("paid_amount", dossier.paid_amount, paid),
        ("resume_state", dossier.resume_state.value if dossier.resume_state else None, resume),
        ("received_at", dossier.received_at, received_at),
        ("closed_at", dossier.closed_at, closed_at),
        ("assignee", dossier.assignee, assignee),
    )
    if step_role is not None and state is not None:
        expected = step_role(State(state))
        checks += (("step_role", dossier.step_role.value if dossier.step_role else None,
                    expected.value if expected else None),)
    for name, in_row, by_events in checks:
        if in_row != by_events:
            raise mismatch(name, in_row, by_events)
    stored_due = dossier.deadlines.due_at
    if due_at is not None and (stored_due is None
                               or stored_due != datetime.fromisoformat(due_at)):
        raise mismatch("due_at", stored_due, due_at)


def check_case(code: str, stored: str | None, events: Sequence[Event]) -> None:
    """Raise :class:`AuditError` unless the special case in the row (``dossiers.case_id``,
    which sets the time limit) is the one the submit event recorded."""
    recorded = events[0].data.get("applicant_case") if events else None
    if stored != recorded:
        raise AuditError(code, None, f"case is {stored!r} in the dossier row but {recorded!r} "
                                     "by its submit event (the row was edited)", field="case")


def check_digitisation(code: str, records: Sequence[DigitisationRecord],
                       events: Sequence[Event]) -> None:
    """Raise :class:`AuditError` naming the first digitisation record its event does not
    account for: a scan by the ``digitise`` event (who, when, pages), a reuse by the
    ``attach`` event (component, file, source), the result by ``return_result``."""
    by_seq = {event.seq: event for event in events}
    for record in records:
        event = by_seq.get(record.seq)
        expected = _RECORDED_BY[record.kind]
        if event is None or event.trigger != expected:
            raise AuditError(code, record.seq, f"a {record.kind.value} digitisation record "
                                               f"has no {expected} event at its seq")
        wrong = _record_mismatch(record, event)
        if wrong is not None or record.by != event.actor or record.at != event.at:
            raise AuditError(code, record.seq, f"the {record.kind.value} digitisation record "
                             f"of {record.component or 'the result'} does not match its event"
                             f"{f' ({wrong})' if wrong else ''} (the record was edited)",
                             field="digitisation")


_RECORDED_BY = {DigitisationKind.DIGITISED: Trigger.DIGITISE.value,
                DigitisationKind.REUSED: Trigger.ATTACH.value,
                DigitisationKind.RESULT: Trigger.RETURN_RESULT.value}


def _record_mismatch(record: DigitisationRecord, event: Event) -> str | None:
    data = event.data
    if record.kind is DigitisationKind.DIGITISED:
        pages = data.get("pages") or {}
        return None if record.pages == pages.get(record.component) else "pages"
    if record.kind is DigitisationKind.REUSED:
        source = data.get("reused_from") or {}
        same = (data.get("component") == record.component and data.get("sha256") == record.sha256
                and source.get("kind") == (record.source.value if record.source else None)
                and source.get("reference") == record.source_ref)
        return None if same else "component, file or source"
    electronic = data.get("method") == "online"
    return None if record.returned_electronically == electronic else "returned electronically"

"""Time limits on a dossier: due dates, hand-over timeliness, clock pauses and timers. Pure.

Every function takes the dossier's :class:`~dossier.records.Deadlines` as they were and
returns what changes; the engine writes the result in the same transaction as the event.

The rules:

- The clock starts at valid reception (``receive``): counter time, the instant an online
  dossier was accepted complete, or the post-arrival instant given with ``receive``. The due
  date comes from the procedure's time limit for the channel (or for the special case the
  dossier declared at submission), counted on the agency's calendar, and each step with a
  budget gets its own due instant (chained in step order).
- A hand-over (a step's trigger) is *early*, *on time* or *late* (trước hạn / đúng hạn /
  quá hạn) when it happens on an earlier local date than due, on the due date, or later; the
  return of the result classifies the dossier as a whole against ``due_at``.
- A supplement request after reception stops the clock unless the procedure's clock policy is
  ``none``; when the complete dossier comes back the due date moves by the working time spent
  waiting (``pause``) or the full time starts again (``restart``). Each stop is a ledger row.
- ``extend`` (an apology letter) moves the appointment once; ``due_at`` stays, so a dossier
  returned after it still counts as late.
- Timers: a warning ``warning_offset`` before the appointment, ``overdue`` when it passes
  while the dossier is open, and the end of the citizen's time to supplement. Each fires once
  per appointment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dossier.calendar import WorkingCalendar
from dossier.clock import LOCAL_TZ, local_date
from dossier.procedure.model import ClockPolicy, Duration, Procedure
from dossier.records import Deadlines
from dossier.states import FINAL_STATES, STEP_BY_TRIGGER, State, Step, Trigger

#: Why the timer worker refuses a dossier whose supplement time ran out.
SUPPLEMENT_EXPIRED_REASON = "hết hạn bổ sung"


class Timeliness(StrEnum):
    EARLY = "early"        # trước hạn
    ON_TIME = "on_time"    # đúng hạn
    LATE = "late"          # quá hạn


TIMELINESS_LABELS: dict[str, str] = {
    Timeliness.EARLY: "Trước hạn", Timeliness.ON_TIME: "Đúng hạn", Timeliness.LATE: "Quá hạn"}


class Timer(StrEnum):
    """What the sweep may have to do for a dossier."""

    WARNING = "sla_warning"
    OVERDUE = "overdue"
    SUPPLEMENT_EXPIRED = "supplement_expired"


def classify(finished_at: datetime, due_at: datetime) -> Timeliness:
    """Early, on time or late: finished on an earlier local date than due, on it, or later."""
    finished, due = local_date(finished_at), local_date(due_at)
    if finished < due:
        return Timeliness.EARLY
    return Timeliness.ON_TIME if finished == due else Timeliness.LATE


def _iso(instant: datetime | None) -> str | None:
    """Event data is JSON: instants go in as Vietnam-time ISO 8601 text."""
    return None if instant is None else instant.astimezone(LOCAL_TZ).isoformat()


def _add(calendar: WorkingCalendar, start: datetime, limit: Duration) -> datetime:
    return calendar.add(start, limit.amount, limit.unit, limit.cutoff)


def _warning(calendar: WorkingCalendar, procedure: Procedure, appointment: datetime,
             not_before: datetime) -> datetime | None:
    offset = procedure.warning_offset
    warning = calendar.subtract(appointment, offset.amount, offset.unit)
    # a limit shorter than the offset (same-day procedures) gets no warning
    return warning if warning > not_before else None


def _step_plan(calendar: WorkingCalendar, procedure: Procedure, start: datetime,
               from_step: int = 1) -> dict[str, datetime]:
    plan: dict[str, datetime] = {}
    anchor = start
    for spec in procedure.steps[from_step:]:
        if spec.budget is not None:
            anchor = _add(calendar, anchor, spec.budget)
            plan[spec.name.value] = anchor
    return plan


def start_clock(deadlines: Deadlines, procedure: Procedure, channel: str, start: datetime,
                calendar: WorkingCalendar, case: str | None = None) -> Deadlines:
    """The deadlines of a dossier validly received at ``start`` (in special ``case``, if it
    declared one at submission)."""
    due = _add(calendar, start, procedure.processing_time_for(channel, case))
    return replace(deadlines, clock_started_at=start, due_at=due, appointment_at=due,
                   warning_at=_warning(calendar, procedure, due, start),
                   steps=_step_plan(calendar, procedure, start))


@dataclass(frozen=True, kw_only=True)
class PauseStart:
    """A clock stop to record in the ledger."""

    started_at: datetime
    reason: str
    legal_basis: str


@dataclass(frozen=True, kw_only=True)
class PauseEnd:
    """The open clock stop ends; the due date moved from ``due_before`` to ``due_after``."""

    ended_at: datetime
    due_before: datetime | None
    due_after: datetime | None


@dataclass(frozen=True, kw_only=True)
class SlaChange:
    """What a transition does to the deadlines, and what its event records about them."""

    deadlines: Deadlines
    event_data: dict[str, Any]
    pause_start: PauseStart | None = None
    pause_end: PauseEnd | None = None


def on_transition(deadlines: Deadlines, *, procedure: Procedure, channel: str,
                  trigger: Trigger, source: State, target: State, data: Mapping[str, Any],
                  at: datetime, calendar: WorkingCalendar, case: str | None = None) -> SlaChange:
    """The deadline side of a transition fired at ``at`` (``data`` is the clean trigger data;
    ``case`` the special case the dossier declared at submission, if any)."""
    extra: dict[str, Any] = {}
    pause_start: PauseStart | None = None
    pause_end: PauseEnd | None = None
    d = deadlines
    step = STEP_BY_TRIGGER.get(trigger)

    if trigger is Trigger.RECEIVE and d.clock_started_at is None:
        arrived = data.get("arrived_at")
        start = datetime.fromisoformat(arrived) if arrived else at
        d = start_clock(d, procedure, channel, start, calendar, case)
        extra["due_at"] = _iso(d.due_at)
    elif step is not None and step is not Step.RECEIVE and d.due_at is not None:
        step_due = d.steps.get(step.value)
        judged_against = step_due or d.due_at
        extra["step_due_at"] = _iso(judged_against)
        extra["timeliness"] = classify(at, judged_against).value
        if step is Step.RETURN:
            d = replace(d, timeliness=extra["timeliness"])

    if trigger is Trigger.REQUEST_SUPPLEMENT:
        if d.clock_started_at is not None and procedure.clock_policy is not ClockPolicy.NONE:
            d = replace(d, paused_at=at)
            pause_start = PauseStart(
                started_at=at, reason=str(data.get("reason", "")),
                legal_basis=str(data.get("legal_basis") or "; ".join(procedure.legal_basis)))
        if procedure.supplement_deadline is not None:
            d = replace(d, supplement_due_at=_add(calendar, at, procedure.supplement_deadline))
            extra["supplement_due_at"] = _iso(d.supplement_due_at)
    elif trigger is Trigger.SUPPLEMENT:
        d = replace(d, supplement_due_at=None)
        if d.paused_at is not None:
            d, pause_end = _resume(d, procedure, channel, target, at, calendar, case)
            extra["due_before"] = _iso(pause_end.due_before)
            extra["due_at"] = _iso(pause_end.due_after)
    elif target in FINAL_STATES and d.paused_at is not None:
        pause_end = PauseEnd(ended_at=at, due_before=d.due_at, due_after=d.due_at)
        d = replace(d, paused_at=None, supplement_due_at=None)

    if target in FINAL_STATES and d.supplement_due_at is not None:
        d = replace(d, supplement_due_at=None)
    timer = next_timer(target, d)
    if timer != d.next_timer_at:
        d = replace(d, next_timer_at=timer)
    # unchanged deadlines stay the very object read: the store then writes none of them
    return SlaChange(deadlines=d, event_data=extra, pause_start=pause_start, pause_end=pause_end)


def _resume(d: Deadlines, procedure: Procedure, channel: str, back_to: State, at: datetime,
            calendar: WorkingCalendar, case: str | None) -> tuple[Deadlines, PauseEnd]:
    assert d.paused_at is not None
    assert d.due_at is not None
    assert d.appointment_at is not None
    due_before = d.due_at
    if procedure.clock_policy is ClockPolicy.RESTART:
        due = _add(calendar, at, procedure.processing_time_for(channel, case))
        resume_index = next((i for i, s in enumerate(procedure.steps) if s.state is back_to), 1)
        steps = {**d.steps, **_step_plan(calendar, procedure, at, max(resume_index, 1))}
        appointment = max(due, d.appointment_at) if d.extended else due
    else:
        waited = calendar.working_time_between(d.paused_at, at)
        due = calendar.shift(d.due_at, waited)
        steps = {name: calendar.shift(instant, waited) for name, instant in d.steps.items()}
        appointment = calendar.shift(d.appointment_at, waited)
    resumed = replace(d, due_at=due, appointment_at=appointment, steps=steps, paused_at=None,
                      warning_at=_warning(calendar, procedure, appointment, at))
    return resumed, PauseEnd(ended_at=at, due_before=due_before, due_after=due)


def extend(deadlines: Deadlines, *, procedure: Procedure, new_appointment: datetime,
           calendar: WorkingCalendar, at: datetime) -> Deadlines:
    """The deadlines once an apology letter promised ``new_appointment`` (due_at stays)."""
    return replace(deadlines, appointment_at=new_appointment, extended=True,
                   warning_at=_warning(calendar, procedure, new_appointment, at))


def next_timer(state: State, d: Deadlines) -> datetime | None:
    """The earliest instant the sweep has something to do for this dossier."""
    if state in FINAL_STATES:
        return None
    candidates: list[datetime] = []
    if state is State.AWAITING_SUPPLEMENT and d.supplement_due_at is not None:
        candidates.append(d.supplement_due_at)
    running = d.clock_started_at is not None and d.paused_at is None
    if running and d.appointment_at is not None and d.overdue_for != d.appointment_at:
        candidates.append(d.appointment_at)
        if d.warning_at is not None and d.warned_for != d.appointment_at:
            candidates.append(d.warning_at)
    return min(candidates, default=None)


def due_timer(state: State, d: Deadlines, now: datetime) -> Timer | None:
    """The timer to fire for this dossier at ``now``, if any (the most serious first)."""
    if state in FINAL_STATES:
        return None
    if (state is State.AWAITING_SUPPLEMENT and d.supplement_due_at is not None
            and d.supplement_due_at <= now):
        return Timer.SUPPLEMENT_EXPIRED
    if d.clock_started_at is None or d.paused_at is not None or d.appointment_at is None:
        return None
    if d.overdue_for != d.appointment_at and d.appointment_at <= now:
        return Timer.OVERDUE
    if (d.warning_at is not None and d.warned_for != d.appointment_at
            and d.overdue_for != d.appointment_at and d.warning_at <= now):
        return Timer.WARNING
    return None


def after_timer(state: State, d: Deadlines, timer: Timer) -> Deadlines:
    """The deadlines once ``timer`` fired (an overdue dossier needs no warning any more)."""
    if timer is Timer.OVERDUE:
        d = replace(d, overdue_for=d.appointment_at, warned_for=d.appointment_at)
    elif timer is Timer.WARNING:
        d = replace(d, warned_for=d.appointment_at)
    return replace(d, next_timer_at=next_timer(state, d))


def remaining(calendar: WorkingCalendar, d: Deadlines, now: datetime) -> timedelta | None:
    """Working time left until the appointment (negative once overdue); None before reception."""
    if d.appointment_at is None:
        return None
    return calendar.working_time_between(now, d.appointment_at)

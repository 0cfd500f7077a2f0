"""Immutable snapshots the engine hands out: :class:`Dossier`, :class:`Event`, :class:`Attachment`.

They are plain frozen dataclasses, never ORM rows: safe to keep, share between threads and
compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dossier.states import FINAL_STATES, State, portal_status


@dataclass(frozen=True, kw_only=True)
class Deadlines:
    """The time limits of a dossier (computed at valid reception with the agency's calendar).

    ``due_at`` is what the dossier is judged against (moved only by a supplement round under
    the procedure's clock policy); ``appointment_at`` is the date promised to the citizen,
    which an apology letter (``extend``) may move later without changing ``due_at``.
    """

    clock_started_at: datetime | None = None
    due_at: datetime | None = None
    appointment_at: datetime | None = None
    warning_at: datetime | None = None             # when the "due soon" warning falls due
    steps: Mapping[str, datetime] = field(default_factory=dict)  # step → due instant
    paused_at: datetime | None = None              # clock stopped for a supplement round
    supplement_due_at: datetime | None = None      # the citizen's time to supplement
    warned_for: datetime | None = None             # appointment a warning was sent for
    overdue_for: datetime | None = None            # appointment an overdue event was sent for
    extended: bool = False                         # an apology letter was issued
    timeliness: str | None = None                  # early / on_time / late, once returned
    next_timer_at: datetime | None = None          # the earliest timer still to fire


NO_DEADLINES = Deadlines()


@dataclass(frozen=True, kw_only=True)
class Dossier:
    """One application (hồ sơ) under one procedure version, as of the moment it was read."""

    id: int
    code: str
    procedure_code: str
    procedure_version: str
    agency: str
    channel: str
    state: State
    resume_state: State | None
    owner: str | None              # the citizen account that may act on it, if any
    applicant: Mapping[str, Any] = field(repr=False)  # personal data: never in repr or logs
    fee_due: int
    paid_amount: int
    version: int                   # optimistic-lock counter, +1 per change
    event_count: int
    head_hash: str
    submitted_at: datetime
    received_at: datetime | None
    updated_at: datetime
    closed_at: datetime | None
    deadlines: Deadlines = NO_DEADLINES

    @property
    def due_at(self) -> datetime | None:
        """The due date the dossier is judged against (None before reception)."""
        return self.deadlines.due_at

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def portal_status(self) -> int:
        """The national portal's status code (1–10); see :func:`dossier.states.portal_status`."""
        return portal_status(self.state, self.received_at is not None)


@dataclass(frozen=True, kw_only=True)
class Event:
    """One recorded change of a dossier (append-only, hash-chained)."""

    seq: int
    trigger: str
    source: str | None
    target: str
    actor: str
    role: str
    on_behalf_of: str | None
    at: datetime
    data: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A stored file of a dossier component (content-addressed by SHA-256)."""

    component: str
    filename: str
    sha256: str
    size: int
    media_type: str
    attached_by: str
    attached_at: datetime


@dataclass(frozen=True, kw_only=True)
class ClockPause:
    """One row of the clock-pause ledger: a supplement round that stopped the clock."""

    started_at: datetime
    ended_at: datetime | None      # None while the dossier still waits
    reason: str
    legal_basis: str
    actor: str
    role: str
    due_before: datetime | None    # the due date when the clock stopped
    due_after: datetime | None     # the due date once it ran again

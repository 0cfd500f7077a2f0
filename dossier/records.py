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

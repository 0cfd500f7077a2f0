"""Dossiers as ``dossier list`` prints them: one JSON-ready row each, and a plain-text table.

A row says nothing personal (no applicant data): the code, procedure, state, who it is
assigned to, its dates and the working time left until its due date. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dossier.calendar import WorkingCalendar
from dossier.clock import LOCAL_TZ
from dossier.records import Dossier

#: (JSON key, table heading) of the columns the table shows
COLUMNS = (("code", "code"), ("procedure_code", "procedure"), ("state", "state"),
           ("assignee", "assignee"), ("due_at", "due"), ("remaining", "remaining"))


def listed(dossier: Dossier, calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    """One dossier as a JSON-ready row; ``remaining`` is the working time until its due date
    ("Còn 2 ngày 3 giờ", "Quá 1 ngày") while it is open, else None."""
    due = dossier.due_at
    remaining = None if due is None or dossier.is_final else calendar.remaining_text(now, due)
    return {
        "code": dossier.code, "procedure_code": dossier.procedure_code,
        "procedure_version": dossier.procedure_version, "agency": dossier.agency,
        "channel": dossier.channel, "state": dossier.state.value,
        "portal_status": dossier.portal_status, "assignee": dossier.assignee,
        "step_role": dossier.step_role.value if dossier.step_role else None,
        "submitted_at": _iso(dossier.submitted_at), "received_at": _iso(dossier.received_at),
        "due_at": _iso(due), "appointment_at": _iso(dossier.deadlines.appointment_at),
        "step_due_at": _iso(dossier.step_due_at), "remaining": remaining,
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as aligned columns (local times, "-" for what is missing)."""
    cells = [[heading for _, heading in COLUMNS]]
    for row in rows:
        cells.append([_cell(key, row[key]) for key, _ in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                        strict=True)).rstrip()
                     for line in cells)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "due_at":
        return datetime.fromisoformat(value).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
    return str(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()

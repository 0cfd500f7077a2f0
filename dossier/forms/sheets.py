"""What each form prints, taken from the dossier, its procedure, its events and the agency
directory: :class:`~dossier.documents.base.FormSheet` values for the renderer. Pure.

People are printed by name and title (``Actor.name``/``title``, kept in the events they
fired), agencies by the directory's names; without a directory (library use) the agency code
stands in. The applicant's identity paper number is never printed: none of these forms asks
for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dossier.agencies import AgencyDirectory
from dossier.documents.base import FormSheet, Letterhead, Signatory
from dossier.documents.circulars import FormSpec, Use
from dossier.documents.wording import (
    CHANNEL_RETURN,
    STATE_LABELS,
    TRIGGER_LABELS,
    UNITS,
    clock_text,
    duration_text,
    long_date,
    person,
    short_date,
)
from dossier.procedure.model import Procedure
from dossier.records import Deadlines, Dossier, Event
from dossier.sla import TIMELINESS_LABELS
from dossier.states import Role

#: Số, ký hiệu: the symbol after the number, per form (an agency setting: the circulars
#: fix no symbol for these forms; override with ``FormSettings(symbols=…)``).
SYMBOLS: Mapping[Use, str] = {
    Use.RECEPTION: "GTN", Use.SUPPLEMENT: "YCBS", Use.REFUSAL: "TC", Use.APOLOGY: "XL",
    Use.STOP: "TB-DGQ",
}
#: Nơi nhận of the letters (04, 05).
RECIPIENTS = ("Như trên;", "Lưu: VT.")
#: Who signs a letter of the agency when the person gave no title.
HEAD = "Thủ trưởng cơ quan"


def letterhead(directory: AgencyDirectory, agency: str) -> Letterhead:
    """The agency as the header prints it; its code alone without a directory."""
    listed = directory.get(agency)
    if listed is None:
        return Letterhead(name=agency)
    parent = directory.get(listed.parent) if listed.parent else None
    return Letterhead(name=listed.name, parent=parent.name if parent else "",
                      place=listed.place, address=listed.address, tax_code=listed.tax_code)


def applicant(dossier: Dossier) -> dict[str, str]:
    """The applicant's name and contact details (never an identity number)."""
    a = dossier.applicant
    return {key: str(a.get(key, "") or "") for key in ("name", "address", "phone", "email")}


def _sheet(spec: FormSpec, dossier: Dossier, head: Letterhead, at: datetime, *,
           number: int | None, symbol: str, signatories: Sequence[Signatory],
           fields: Mapping[str, Any]) -> FormSheet:
    return FormSheet(kind=spec.kind, circular=spec.circular.value, title=spec.title,
                     template=spec.template, letterhead=head, issued_at=at, number=number,
                     symbol=symbol, dossier_code=dossier.code, signatories=tuple(signatories),
                     landscape=spec.landscape,
                     fields={"issued_long": long_date(at), **fields})


def issued(spec: FormSpec, *, dossier: Dossier, procedure: Procedure, head: Letterhead,
           data: Mapping[str, Any], deadlines: Deadlines, at: datetime, number: int,
           symbol: str, name: str | None, title: str | None, role: str) -> FormSheet:
    """The form a trigger issues (01 to 05), from the event about to be written."""
    common: dict[str, Any] = {"applicant": applicant(dossier), "procedure": procedure.name}
    signer = Signatory(capacity=_capacity(spec.use, role, title, head), title=title or "",
                       name=name or "")
    fields: dict[str, Any]
    signatories: list[Signatory] = [signer]
    if spec.use is Use.RECEPTION:
        fields = {**common, **_reception(procedure, dossier, deadlines, at, number)}
        signatories = [Signatory(capacity="Người nộp hồ sơ", name=common["applicant"]["name"]),
                       signer]
    elif spec.use is Use.SUPPLEMENT:
        wanted = [c.name for cid in data.get("components", ())
                  if (c := procedure.component(cid)) is not None]
        fields = {**common, "wanted": wanted or [data["reason"]], "reason": data["reason"],
                  "supplement_due": clock_text(deadlines.supplement_due_at),
                  "contact": f"{person(name, role)}, {head.name}"}
    elif spec.use is Use.REFUSAL:
        fields = {**common, "reason": data["reason"]}
    else:  # apology, stop: letters to the applicant
        started = dossier.received_at or deadlines.clock_started_at
        fields = {**common, "reason": data["reason"], "recipients": list(RECIPIENTS),
                  "received_date": f"Ngày {long_date(started)[5:]}" if started else "",
                  "previous": clock_text(data.get("previous_appointment_at")),
                  "appointment": clock_text(data.get("appointment_at"))}
    return _sheet(spec, dossier, head, at, number=number, symbol=symbol,
                  signatories=signatories, fields=fields)


def _reception(procedure: Procedure, dossier: Dossier, deadlines: Deadlines, at: datetime,
               number: int) -> dict[str, Any]:
    components = [{"name": c.name, "note": "" if c.required else "Nếu có"}
                  for c in procedure.components]
    started = deadlines.clock_started_at or at
    return {"components": components, "processing_time": duration_text(
                procedure.online_processing_time or procedure.processing_time
                if dossier.channel == "online" else procedure.processing_time),
            "received_at": clock_text(started),
            "due_at": clock_text(deadlines.appointment_at or deadlines.due_at),
            "return_at": CHANNEL_RETURN.get(dossier.channel, ""),
            "book_volume": str(started.year), "book_number": f"{number:02d}"}


def _capacity(use: Use, role: str, title: str | None, head: Letterhead) -> str:
    if use in (Use.APOLOGY, Use.STOP):
        return title or HEAD
    if role == Role.SYSTEM:
        return head.name  # issued by the system in the agency's name, under its seal
    if use is Use.SUPPLEMENT:
        return "Người hướng dẫn"
    return "Người tiếp nhận hồ sơ" if role == Role.CLERK else (title or HEAD)


def control_sheet(spec: FormSpec, *, dossier: Dossier, procedure: Procedure, head: Letterhead,
                  events: Sequence[Event], at: datetime, reception_ref: str) -> FormSheet:
    """Phiếu kiểm soát: one row per hand-over. Each event that moved the dossier hands it
    from whoever fired it to whoever fired the next one."""
    moves = [e for e in events if e.trigger != "submit" and (e.source != e.target
                                                            or e.trigger in ("extend", "assign"))]
    holders = {spec.state.value: UNITS.get(spec.role.value, "") for spec in procedure.steps}
    rows = []
    for i, event in enumerate(moves):
        after = moves[i + 1] if i + 1 < len(moves) else None
        note = TRIGGER_LABELS.get(event.trigger, event.trigger)
        if event.trigger == "assign":  # phân công: the leader hands the step to an officer
            officer = event.data.get("assignee_name") or event.data.get("assignee")
            note = f"{note}: giao cho {officer}" if officer else f"{note}: bỏ phân công"
        reason = event.data.get("reason")
        rows.append({
            "giver_unit": UNITS.get(event.role, ""),
            "receiver_unit": UNITS.get(after.role, "") if after else
            holders.get(event.target) or _ending(event.target),
            "at": clock_text(event.at),
            "giver": person(event.data.get("actor_name"), event.role),
            "receiver": person(after.data.get("actor_name"), after.role) if after else "",
            "result": TIMELINESS_LABELS.get(event.data.get("timeliness", ""), ""),
            "note": f"{note}: {reason}" if reason else note,
        })
    d = dossier.deadlines
    assigned = [e for e in moves if e.trigger == "assign"]
    officer = (assigned[-1].data.get("assignee_name") or dossier.assignee) \
        if assigned and dossier.assignee else None
    fields = {"applicant": applicant(dossier), "procedure": procedure.name, "rows": rows,
              "assignee": officer,
              "reception_ref": reception_ref, "received_at": clock_text(d.clock_started_at),
              "due_at": clock_text(d.appointment_at or d.due_at)}
    return _sheet(spec, dossier, head, at, number=None, symbol="", signatories=(),
                  fields=fields)


def _ending(state: str) -> str:
    """Who has the dossier once it left the agency's hands."""
    if state == "returned":
        return UNITS["citizen"]
    return STATE_LABELS.get(state, UNITS["citizen"])


def book_row(dossier: Dossier, procedure: Procedure, agency_name: str) -> dict[str, str]:
    """One line of the tracking book."""
    a = applicant(dossier)
    d = dossier.deadlines
    note = STATE_LABELS.get(dossier.state.value, "Đang giải quyết")
    if d.timeliness:
        note = f"{note} ({TIMELINESS_LABELS[d.timeliness].lower()})"
    return {"code": dossier.code, "procedure": procedure.name, "applicant": a["name"],
            "contact": ", ".join(v for v in (a["address"], a["phone"]) if v),
            "agency": agency_name, "received": short_date(d.clock_started_at),
            "due": short_date(d.appointment_at or d.due_at),
            "returned": short_date(dossier.closed_at) if dossier.state.value == "returned"
            else "", "note": note}


def tracking_book(spec: FormSpec, *, head: Letterhead, rows: Sequence[Mapping[str, str]],
                  start: str, end: str, at: datetime) -> FormSheet:
    """Sổ theo dõi hồ sơ of one agency for a period."""
    return FormSheet(kind=spec.kind, circular=spec.circular.value, title=spec.title,
                     template=spec.template, letterhead=head, issued_at=at,
                     landscape=True, fields={"issued_long": long_date(at), "rows": list(rows),
                                             "start": start, "end": end})

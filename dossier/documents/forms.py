"""The one-stop-shop forms a dossier's deadlines produce, as HTML.

- Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01): the receipt given at valid reception,
  with the appointment date the engine computed.
- Phiếu xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04): the apology letter an agency sends
  when it cannot return the result by the appointment (``engine.extend``).

Form numbers follow Thông tư 01/2018/TT-VPCP, whose forms Thông tư 03/2025/TT-VPCP keeps.
"""

from __future__ import annotations

from collections.abc import Sequence

from dossier.documents.control_sheet import CHANNEL_LABELS
from dossier.documents.rendering import html_environment, local_time
from dossier.errors import InvalidInput
from dossier.procedure.model import Procedure
from dossier.records import Dossier, Event
from dossier.states import Trigger


def _last(events: Sequence[Event], trigger: Trigger) -> Event:
    for event in reversed(events):
        if event.trigger == trigger.value:
            return event
    raise InvalidInput(f"the dossier has no {trigger.value!r} event")


def render_receipt(dossier: Dossier, procedure: Procedure, events: Sequence[Event], *,
                   agency_name: str = "") -> str:
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả, for a received dossier."""
    received = _last(events, Trigger.RECEIVE)
    return html_environment().get_template("giay-tiep-nhan.html.j2").render(
        dossier=dossier, procedure=procedure, agency=agency_name or dossier.agency,
        applicant_name=dossier.applicant.get("name", ""),
        channel=CHANNEL_LABELS.get(dossier.channel, dossier.channel),
        received_at=local_time(dossier.deadlines.clock_started_at or received.at),
        due_at=local_time(received.data.get("due_at")),
        clerk=received.actor, components=procedure.components)


def render_apology_letter(dossier: Dossier, procedure: Procedure, events: Sequence[Event], *,
                          agency_name: str = "") -> str:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả, for a dossier that was extended."""
    letter = _last(events, Trigger.EXTEND)
    return html_environment().get_template("phieu-xin-loi.html.j2").render(
        dossier=dossier, procedure=procedure, agency=agency_name or dossier.agency,
        applicant_name=dossier.applicant.get("name", ""),
        received_at=local_time(dossier.deadlines.clock_started_at),
        previous=local_time(letter.data.get("previous_appointment_at")),
        appointment=local_time(letter.data.get("appointment_at")),
        reason=letter.data.get("reason", ""), issued_at=local_time(letter.at),
        signed_by=letter.actor)

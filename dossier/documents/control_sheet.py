"""Phiếu kiểm soát quá trình giải quyết hồ sơ: the control sheet of one dossier, as HTML.

The form follows the control sheet of the one-stop-shop rules (Mẫu 02, Thông tư
01/2018/TT-VPCP; kept by Thông tư 03/2025/TT-VPCP): every hand-over with its time and actor.
Each hand-over shows its due instant and whether it was early, on time or late (trước hạn /
đúng hạn / quá hạn), as the engine recorded it in the event. Assignments (phân công) are rows
of their own, and the officer the current step is assigned to heads the sheet.
"""

from __future__ import annotations

from collections.abc import Sequence

from dossier.documents.rendering import html_environment, local_time
from dossier.procedure.model import Procedure
from dossier.records import Dossier, Event
from dossier.sla import TIMELINESS_LABELS

STATE_LABELS = {
    "awaiting_reception": "Chờ tiếp nhận",
    "digitising": "Đang số hóa",
    "certifying": "Đang chứng thực",
    "awaiting_payment": "Chờ thanh toán",
    "processing": "Đang xử lý",
    "awaiting_signature": "Chờ ký duyệt",
    "awaiting_return": "Chờ trả kết quả",
    "awaiting_supplement": "Chờ bổ sung",
    "returned": "Đã trả kết quả",
    "refused": "Từ chối",
    "withdrawn": "Rút hồ sơ",
    "stopped": "Dừng xử lý",
}
TRIGGER_LABELS = {
    "submit": "Nộp hồ sơ",
    "attach": "Đính kèm thành phần hồ sơ",
    "receive": "Tiếp nhận",
    "digitise": "Số hóa",
    "certify": "Chứng thực",
    "pay": "Thanh toán",
    "approve": "Thẩm định, phê duyệt",
    "sign": "Ký số",
    "return_result": "Trả kết quả",
    "request_supplement": "Yêu cầu bổ sung",
    "supplement": "Bổ sung hồ sơ",
    "refuse": "Từ chối",
    "withdraw": "Rút hồ sơ",
    "stop": "Dừng xử lý",
    "extend": "Xin lỗi, hẹn lại ngày trả kết quả",
    "sla_warning": "Cảnh báo sắp đến hạn",
    "overdue": "Quá hạn",
    "assign": "Phân công xử lý",
    "rate": "Đánh giá mức độ hài lòng",
}
CHANNEL_LABELS = {"counter": "Trực tiếp", "online": "Trực tuyến", "post": "Bưu chính"}


def render_control_sheet(dossier: Dossier, procedure: Procedure, events: Sequence[Event],
                         *, agency_name: str = "") -> str:
    """The control sheet as an HTML page (UTF-8, Vietnamese labels, local times)."""
    rows = []
    for event in events:
        note = event.data.get("reason") or event.data.get("note") or \
            event.data.get("filename") or _assignment(event)
        actor = event.actor if not event.on_behalf_of else \
            f"{event.actor} (thay mặt {event.on_behalf_of})"
        rows.append({
            "seq": event.seq,
            "at": local_time(event.at),
            "step": TRIGGER_LABELS.get(event.trigger, event.trigger),
            "source": STATE_LABELS.get(event.source or "", ""),
            "target": STATE_LABELS.get(event.target, event.target),
            "actor": f"{actor} ({event.role})",
            "note": note,
            "due": local_time(event.data.get("step_due_at")),
            "timeliness": TIMELINESS_LABELS.get(event.data.get("timeliness", ""), ""),
        })
    deadlines = dossier.deadlines
    return html_environment().get_template("phieu-kiem-soat.html.j2").render(
        dossier=dossier, procedure=procedure, rows=rows,
        agency=agency_name or dossier.agency, assignee=dossier.assignee or "",
        applicant_name=dossier.applicant.get("name", ""),
        channel=CHANNEL_LABELS.get(dossier.channel, dossier.channel),
        state=STATE_LABELS.get(dossier.state.value, dossier.state.value),
        received=local_time(deadlines.clock_started_at), due=local_time(deadlines.due_at),
        appointment=local_time(deadlines.appointment_at) if deadlines.extended else "",
        timeliness=TIMELINESS_LABELS.get(deadlines.timeliness or "", ""))



def _assignment(event: Event) -> str:
    """What an ``assign`` row says: to whom the step went (or that it went back to no one)."""
    if event.trigger != "assign":
        return ""
    step = event.data.get("step", "")
    assignee = event.data.get("assignee")
    return f"Giao bước {step} cho {assignee}" if assignee else f"Thu hồi phân công bước {step}"

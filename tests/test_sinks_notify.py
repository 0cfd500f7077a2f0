"""NotifySink: which events tell the applicant what, in Vietnamese, to which contact."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sinks_support import AGENCY, CODE, ID_NUMBER, dossier, message

from dossier.errors import InvalidInput
from dossier.sinks import DeliveryFailed, Sink
from dossier.sinks.notify import (
    Notification,
    NotificationKind,
    Notifier,
    NotifySink,
    make_notify_sink,
    notification_kind,
)


class RecordingNotifier:
    """A notifier that keeps what it was given (the channel's own tests use real peers)."""

    def __init__(self, contact: str = "email") -> None:
        self.contact = contact
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


@pytest.mark.parametrize(("trigger", "source", "state", "kind"), [
    ("receive", "awaiting_reception", "digitising", "reception"),
    ("request_supplement", "processing", "awaiting_supplement", "supplement"),
    ("sign", "awaiting_signature", "awaiting_return", "result_ready"),
    ("approve", "processing", "awaiting_return", "result_ready"),
    ("pay", "awaiting_payment", "awaiting_return", "result_ready"),
    ("extend", "processing", "processing", "apology"),
    ("overdue", "processing", "processing", "overdue"),
    ("approve", "processing", "awaiting_signature", None),
    ("pay", "awaiting_payment", "processing", None),
    ("return_result", "awaiting_return", "returned", None),
    ("supplement", "awaiting_supplement", "processing", None),
    ("refuse", "processing", "refused", None),
    ("sla_warning", "processing", "processing", None),
    ("submit", None, "awaiting_reception", None),
])
def test_the_notify_table(trigger: str, source: str | None, state: str,
                          kind: str | None) -> None:
    found = notification_kind(message(trigger, source=source, state=state))
    assert (found.value if found else None) == kind
    notifier = RecordingNotifier()
    sink = NotifySink(notifier)
    if sink.wants(f"dossier.{trigger}"):
        sink.deliver(message(trigger, source=source, state=state), dossier())
    assert [n.kind for n in notifier.sent] == ([kind] if kind else [])


def test_only_events_that_can_notify_get_an_outbox_row() -> None:
    sink = NotifySink(RecordingNotifier())
    assert isinstance(sink, Sink)
    wanted = {"receive", "digitise", "certify", "pay", "approve", "sign",
              "request_supplement", "extend", "overdue"}
    for trigger in wanted:
        assert sink.wants(f"dossier.{trigger}"), trigger
    for trigger in ("submit", "attach", "return_result", "supplement", "refuse", "withdraw",
                    "stop", "sla_warning"):
        assert not sink.wants(f"dossier.{trigger}"), trigger
    narrowed = NotifySink(RecordingNotifier(), types=frozenset({"receive"}))
    assert narrowed.wants("dossier.receive")
    assert not narrowed.wants("dossier.sign")


def test_the_reception_notice_gives_the_code_and_the_appointment_in_vietnam_time() -> None:
    notifier = RecordingNotifier()
    NotifySink(notifier, agency_names={AGENCY: "Sở Tư pháp tỉnh Lạng Sơn"}).deliver(
        message("receive"), dossier())
    (notice,) = notifier.sent
    assert notice.subject == f"Hồ sơ {CODE} đã được tiếp nhận"
    assert notice.to == "nguyen.van.a@example.vn"
    assert notice.id == "evt_0001"
    assert "Sở Tư pháp tỉnh Lạng Sơn đã tiếp nhận hồ sơ của Ông/Bà ngày 05/01/2026" in notice.body
    assert "Ngày hẹn trả kết quả: 19/01/2026 (lúc 17:00)" in notice.body
    assert notice.short == f"Ho so {CODE} da duoc tiep nhan ngay 05/01/2026. " \
                           "Hen tra ket qua: 19/01/2026."


def test_the_supplement_request_says_why_and_what_is_missing() -> None:
    notifier = RecordingNotifier()
    NotifySink(notifier).deliver(message(
        "request_supplement", source="processing", state="awaiting_supplement",
        data={"reason": "Bản sao giấy khai sinh không rõ", "components": ["giay_khai_sinh"]}),
        dossier())
    body = notifier.sent[0].body
    assert "Lý do: Bản sao giấy khai sinh không rõ" in body
    assert "- giay_khai_sinh" in body
    assert notifier.sent[0].subject == f"Hồ sơ {CODE} cần bổ sung, hoàn thiện"


def test_the_apology_gives_the_new_appointment_of_the_letter() -> None:
    notifier = RecordingNotifier()
    NotifySink(notifier).deliver(message(
        "extend", source="processing", state="processing",
        data={"reason": "Cần xác minh thêm", "appointment_at": "2026-01-26T09:00:00+07:00"}),
        dossier())
    notice = notifier.sent[0]
    assert "trả kết quả vào ngày 26/01/2026 (lúc 09:00)" in notice.body
    assert "Lý do: Cần xác minh thêm" in notice.body
    assert notice.subject.startswith("Xin lỗi và hẹn lại ngày trả kết quả")


def test_the_overdue_notice_apologises_for_the_missed_appointment() -> None:
    notifier = RecordingNotifier()
    NotifySink(notifier).deliver(message("overdue", source="processing", state="processing"),
                                 dossier())
    assert "chưa có kết quả giải quyết đúng ngày hẹn 19/01/2026" in notifier.sent[0].body


def test_the_result_ready_notice_invites_the_applicant_to_collect() -> None:
    notifier = RecordingNotifier()
    NotifySink(notifier).deliver(message("sign", source="awaiting_signature",
                                         state="awaiting_return"), dossier())
    assert notifier.sent[0].subject == f"Hồ sơ {CODE} đã có kết quả"
    assert "Mời Ông/Bà nhận kết quả" in notifier.sent[0].body


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_no_notification_carries_the_id_number_or_the_name(kind: NotificationKind) -> None:
    trigger = {"reception": "receive", "supplement": "request_supplement",
               "result_ready": "sign", "apology": "extend", "overdue": "overdue"}[kind]
    state = "awaiting_return" if kind is NotificationKind.RESULT_READY else "processing"
    notifier = RecordingNotifier()
    NotifySink(notifier).deliver(message(trigger, state=state,
                                         data={"reason": "Lý do"}), dossier())
    (notice,) = notifier.sent
    assert notice.kind == kind.value
    for text in (notice.subject, notice.body, notice.short):
        assert ID_NUMBER not in text
        assert "Nguyễn Văn A" not in text
    assert "nguyen.van.a" not in repr(notice)


def test_without_a_contact_for_this_channel_nothing_is_sent_and_nothing_personal_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    notifier = RecordingNotifier(contact="phone")
    caplog.set_level(logging.DEBUG, logger="dossier.sinks.notify")
    NotifySink(notifier).deliver(message("receive"),
                                 dossier({"id_number": ID_NUMBER, "email": "x@example.vn"}))
    assert notifier.sent == []
    assert "has no phone contact" in caplog.text
    assert ID_NUMBER not in caplog.text
    assert "x@example.vn" not in caplog.text


def test_a_blank_contact_counts_as_none() -> None:
    notifier = RecordingNotifier()
    NotifySink(notifier).deliver(message("receive"), dossier({"email": "   "}))
    assert notifier.sent == []


def test_a_templates_folder_overrides_the_shipped_template_of_the_same_name(
        tmp_path: Path) -> None:
    (tmp_path / "reception.txt.j2").write_text(
        "{% block subject %}Đã nhận {{ code }}{% endblock %}"
        "{% block body %}Hẹn {{ appointment }}{% endblock %}"
        "{% block short %}OK{% endblock %}", encoding="utf-8")
    notifier = RecordingNotifier()
    sink = make_notify_sink(notifier=notifier, templates=str(tmp_path))
    sink.deliver(message("receive"), dossier())
    sink.deliver(message("overdue", state="processing"), dossier())
    assert (notifier.sent[0].subject, notifier.sent[0].body) == (f"Đã nhận {CODE}",
                                                                 "Hẹn 19/01/2026")
    assert notifier.sent[1].subject.startswith(f"Hồ sơ {CODE} chưa có kết quả")


def test_a_template_without_a_block_fails_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "apology.txt.j2").write_text("{% block subject %}x{% endblock %}",
                                             encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"apology.txt.j2 has no \{% block body %\}"):
        NotifySink(RecordingNotifier(), templates=tmp_path)
    with pytest.raises(InvalidInput, match="does not exist"):
        NotifySink(RecordingNotifier(), templates=tmp_path / "missing")


def test_a_template_that_fails_to_render_is_retried_later(tmp_path: Path) -> None:
    (tmp_path / "reception.txt.j2").write_text(
        "{% block subject %}{{ applicant_name }}{% endblock %}"
        "{% block body %}x{% endblock %}{% block short %}x{% endblock %}", encoding="utf-8")
    with pytest.raises(DeliveryFailed, match="applicant_name") as failed:
        NotifySink(RecordingNotifier(), templates=tmp_path).deliver(message(), dossier())
    assert not failed.value.permanent


def test_the_factory_takes_an_already_built_notifier() -> None:
    notifier = RecordingNotifier()
    assert isinstance(notifier, Notifier)
    sink = make_notify_sink(notifier=notifier, agency_names={AGENCY: "UBND xã"},
                            types=["receive"], name="citizens")
    assert (sink.name, sink.notifier, sink.agency_names) == ("citizens", notifier,
                                                             {AGENCY: "UBND xã"})
    with pytest.raises(InvalidInput, match="does not implement Notifier"):
        make_notify_sink(notifier="mail")
    with pytest.raises(InvalidInput, match="unknown setting 'template'"):
        make_notify_sink(notifier=notifier, template="x")
    with pytest.raises(InvalidInput, match="agency_names must be a table"):
        make_notify_sink(notifier=notifier, agency_names=["UBND"])


def test_the_sms_text_drops_diacritics_from_the_agency_name() -> None:
    notifier = RecordingNotifier()
    NotifySink(notifier, agency_names={AGENCY: "UBND phường Đống Đa"}).deliver(
        message("sign", source="awaiting_signature", state="awaiting_return"), dossier())
    assert notifier.sent[0].short.endswith("nhan ket qua tai UBND phuong Dong Da.")
    assert notifier.sent[0].short.isascii()

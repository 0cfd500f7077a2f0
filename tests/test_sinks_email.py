"""SmtpNotifier against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sinks_support import CODE, ID_NUMBER, dossier, message

from dossier.errors import InvalidInput
from dossier.sinks import DeliveryFailed
from dossier.sinks.email import SmtpNotifier, make_smtp_notifier, message_id
from dossier.sinks.fakes import FakeSmtpServer
from dossier.sinks.notify import Notification, NotifySink

SENDER = "mot-cua@hoankiem.hanoi.gov.vn"


@pytest.fixture
def mail_server() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer() as server:
        yield server


def notifier_for(server: FakeSmtpServer) -> SmtpNotifier:
    return make_smtp_notifier(host=server.host, port=server.port, sender=SENDER, timeout=5)


def notice(to: str = "nguyen.van.a@example.vn") -> Notification:
    return Notification(id="evt_0001", kind="reception", code=CODE, to=to,
                        subject=f"Hồ sơ {CODE} đã được tiếp nhận",
                        body="Kính gửi Ông/Bà,\nNgày hẹn trả kết quả: 19/01/2026", short="x")


def test_a_notification_arrives_with_its_vietnamese_subject_and_body(
        mail_server: FakeSmtpServer) -> None:
    NotifySink(notifier_for(mail_server)).deliver(message("receive"), dossier())
    (mail,) = mail_server.messages
    assert mail_server.envelopes == [(SENDER, ["nguyen.van.a@example.vn"])]
    assert mail["Subject"] == f"Hồ sơ {CODE} đã được tiếp nhận"
    assert mail["To"] == "nguyen.van.a@example.vn"
    assert mail["From"] == SENDER
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_charset() == "utf-8"
    body = mail.get_content()
    assert "Ngày hẹn trả kết quả: 19/01/2026 (lúc 17:00)" in body
    for text in (body, mail["Subject"], mail_server.raw[0].decode("ascii")):
        assert ID_NUMBER not in text
        assert "Nguyễn Văn A" not in text


def test_a_retried_notification_carries_the_same_message_id(
        mail_server: FakeSmtpServer) -> None:
    notifier = notifier_for(mail_server)
    notifier.send(notice())
    notifier.send(notice())
    first, second = mail_server.messages
    assert first["Message-ID"] == second["Message-ID"] == message_id(notice(),
                                                                     "hoankiem.hanoi.gov.vn")
    other = Notification(id="evt_0002", kind="reception", code=CODE, to="a@example.vn",
                         subject="s", body="b", short="s")
    assert message_id(other, "x.vn") != message_id(notice(), "x.vn")


def test_a_server_that_is_down_is_retried_later() -> None:
    with FakeSmtpServer() as server:
        notifier = notifier_for(server)
    with pytest.raises(DeliveryFailed, match="will retry") as failed:
        notifier.send(notice())
    assert not failed.value.permanent
    assert "nguyen.van.a" not in str(failed.value)


def test_a_refused_mailbox_is_permanent_and_not_named(mail_server: FakeSmtpServer) -> None:
    mail_server.refused.add("no-such-user@example.vn")
    with pytest.raises(DeliveryFailed, match="SMTP 550") as failed:
        notifier_for(mail_server).send(notice("no-such-user@example.vn"))
    assert failed.value.permanent
    assert "no-such-user" not in str(failed.value)
    assert mail_server.messages == []


@pytest.mark.parametrize("address", ["not-an-address", "a@b@example.vn", "a@localhost",
                                     "a@example.vn\r\nBcc: x@evil.example",
                                     "A <a@example.vn>", "a@example.vn, b@example.vn"])
def test_a_malformed_address_is_permanent_and_nothing_is_sent(
        mail_server: FakeSmtpServer, address: str) -> None:
    with pytest.raises(DeliveryFailed, match="not a single e-mail address") as failed:
        notifier_for(mail_server).send(notice(address))
    assert failed.value.permanent
    assert address not in str(failed.value)
    assert mail_server.messages == []


def test_the_notifier_shows_no_password() -> None:
    notifier = SmtpNotifier("smtp.example.vn", 587, sender=SENDER, username="u",
                            password="p4ssw0rd!", starttls=True)
    assert "p4ssw0rd" not in repr(notifier)
    assert notifier.contact == "email"


@pytest.mark.parametrize(("settings", "error"), [
    ({"port": 25, "sender": SENDER}, "missing setting 'host'"),
    ({"host": "h", "port": 25, "sender": SENDER, "tls": True}, "unknown setting 'tls'"),
    ({"host": "h", "port": 0, "sender": SENDER}, "port must be"),
    ({"host": "h", "port": 25, "sender": "nobody"}, "sender is not a single e-mail"),
    ({"host": "h", "port": 25, "sender": SENDER, "password": "secret-pw"},
     "both username and password"),
    ({"host": "h", "port": 465, "sender": SENDER, "ssl": True, "starttls": True},
     "not both"),
    ({"host": "h", "port": 25, "sender": SENDER, "ssl": "yes"}, "ssl must be true or false"),
])
def test_the_factory_refuses_bad_settings_by_name(settings: dict[str, object],
                                                  error: str) -> None:
    with pytest.raises(InvalidInput, match=error) as refused:
        make_smtp_notifier(**settings)
    assert "secret-pw" not in str(refused.value)


@pytest.mark.parametrize("words", [3, 12, 40])
def test_a_long_vietnamese_subject_keeps_every_space(mail_server: FakeSmtpServer,
                                                     words: int) -> None:
    """Folded into several RFC 2047 encoded words, the subject decodes to what was sent
    (the stdlib's modern folding loses the space between two encoded words)."""
    subject = f"Xin lỗi và hẹn lại ngày trả kết quả hồ sơ {CODE} " + " ".join(
        ["giải quyết"] * words)
    notifier_for(mail_server).send(Notification(
        id="evt_0002", kind="apology", code=CODE, to="b@example.vn", subject=subject,
        body="Kính gửi Ông/Bà,", short="x"))
    (mail,) = mail_server.messages
    assert mail["Subject"] == subject
    lines = mail_server.raw[0].split(b"\r\n")
    assert all(len(line) <= 78 for line in lines)
    words = [w for line in lines for w in line.split() if w.startswith(b"=?")]
    assert all(len(word) <= 75 for word in words)  # RFC 2047, section 2

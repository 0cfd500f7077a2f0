"""One contract for every sink and every notifier, each against its real local peer; the
entry points; and a cheap ``import dossier.sinks``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pytest
from sinks_support import CODE, ID_NUMBER, ROOT, dossier, message

from dossier.sinks import (
    NOTIFIERS_GROUP,
    SINKS_GROUP,
    DeliveryFailed,
    Sink,
    generate_secret,
)
from dossier.sinks.fakes import FakePortal, FakeSmtpServer, LoopbackReceiver
from dossier.sinks.notify import Notification, Notifier
from dossier.sinks.sms import FakeTextGateway


@dataclass
class Peer:
    """A sink built through its entry point, and what its peer received (raw bytes)."""

    sink: Sink
    received: Callable[[], list[bytes]]


def _webhook(stack: ExitStack) -> Peer:
    hook = stack.enter_context(LoopbackReceiver())
    return Peer(_load(SINKS_GROUP, "webhook")(url=hook.url, secret=generate_secret()),
                lambda: [r.body for r in hook.requests])


def _portal(stack: ExitStack) -> Peer:
    portal = stack.enter_context(FakePortal())
    return Peer(_load(SINKS_GROUP, "portal")(url=portal.url, token=portal.token),
                lambda: [r.body for r in portal.requests])


def _mail(stack: ExitStack) -> Peer:
    server = stack.enter_context(FakeSmtpServer())
    notifier = _load(NOTIFIERS_GROUP, "smtp")(host=server.host, port=server.port,
                                              sender="mot-cua@example.vn")
    # decoded: the raw bytes hold the UTF-8 text base64- or QP-encoded
    return Peer(_load(SINKS_GROUP, "notify")(notifier=notifier),
                lambda: [f"{m['To']}\n{m['Subject']}\n{m.get_content()}".encode()
                         for m in server.messages])


def _sms(stack: ExitStack) -> Peer:
    notifier = _load(NOTIFIERS_GROUP, "sms-fake")()
    gateway: FakeTextGateway = notifier.gateway
    return Peer(_load(SINKS_GROUP, "notify")(notifier=notifier),
                lambda: [f"{t.to} {t.text}".encode() for t in gateway.sent])


def _load(group: str, name: str) -> Callable[..., Any]:
    (entry,) = entry_points(group=group, name=name)
    factory: Callable[..., Any] = entry.load()
    return factory


@pytest.fixture(params=[_webhook, _portal, _mail, _sms], ids=["webhook", "portal", "smtp",
                                                              "sms"])
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    with ExitStack() as stack:
        yield request.param(stack)


def test_every_sink_implements_the_port_and_wants_reception(peer: Peer) -> None:
    assert isinstance(peer.sink, Sink)
    assert peer.sink.wants("dossier.receive") is True


def test_every_sink_delivers_the_same_message_again(peer: Peer) -> None:
    peer.sink.deliver(message("receive"), dossier())
    peer.sink.deliver(message("receive", attempt=2), dossier())
    assert len(peer.received()) == 2
    assert all(CODE.encode() in body or b"0912345678" in body for body in peer.received())


def test_no_sink_sends_the_id_number(peer: Peer) -> None:
    for trigger, state in [("receive", "processing"), ("sign", "awaiting_return"),
                           ("extend", "processing"), ("request_supplement",
                                                      "awaiting_supplement")]:
        if peer.sink.wants(f"dossier.{trigger}"):
            peer.sink.deliver(message(trigger, state=state), dossier())
    assert peer.received()
    for body in peer.received():
        assert ID_NUMBER.encode() not in body
        assert "Nguyễn Văn A".encode() not in body


@pytest.fixture(params=["smtp", "sms-fake"])
def notifier(request: pytest.FixtureRequest) -> Iterator[Notifier]:
    with FakeSmtpServer() as server:
        settings = {"host": server.host, "port": server.port, "sender": "a@example.vn"} \
            if request.param == "smtp" else {}
        yield _load(NOTIFIERS_GROUP, request.param)(**settings)


def test_every_notifier_names_its_contact_and_refuses_an_unusable_one(
        notifier: Notifier) -> None:
    assert isinstance(notifier, Notifier)
    assert notifier.contact in ("email", "phone")
    unusable = Notification(id="evt_1", kind="reception", code=CODE, to="???", subject="s",
                            body="b", short="s")
    with pytest.raises(DeliveryFailed) as failed:
        notifier.send(unusable)
    assert failed.value.permanent
    assert "???" not in str(failed.value)


def test_the_entry_points_are_declared() -> None:
    assert {e.name for e in entry_points(group=SINKS_GROUP)} >= {"webhook", "portal", "notify"}
    assert {e.name for e in entry_points(group=NOTIFIERS_GROUP)} >= {"smtp", "sms-fake"}


def test_importing_the_sinks_package_loads_no_adapter() -> None:
    code = ("import sys, dossier.sinks\n"
            "heavy = ('jinja2', 'smtplib', 'urllib.request', 'aiosmtpd', 'http.server',\n"
            "         'dossier.sinks.webhook', 'dossier.sinks.notify')\n"
            "print(' '.join(name for name in heavy if name in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == ""

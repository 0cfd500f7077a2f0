"""Sinks: the outside world the outbox delivers events to (webhooks, the national portal,
notifications to applicants). The port is :mod:`dossier.sinks.base`.

::

    base      Sink port: Message, DeliveryFailed, subscribed
    webhook   WebhookSink: Standard Webhooks (whsec_ secrets, v1 HMAC-SHA256, rotation)
    portal    PortalSyncSink + PortalClient port, HttpPortalClient (EXPERIMENTAL fields)
    notify    NotifySink + Notifier port, Notification; Vietnamese templates per event
    email     SmtpNotifier (smtplib)        sms   SmsNotifier + TextGateway port
    fakes     LoopbackReceiver, FakePortal, FakeSmtpServer: real local peers for tests
    settings  keyword configuration checks shared by the factories

Factories for ``dossier.toml`` are entry points: ``dossier.sinks`` (``webhook``,
``portal``, ``notify``) and ``dossier.notifiers`` (``smtp``, ``sms-fake``).

Every adapter name is imported on first use (PEP 562): ``import dossier.sinks`` loads the
port only, not Jinja2, urllib or smtplib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dossier.plugins import lazy_exports
from dossier.sinks.base import DeliveryFailed, Message, Sink, subscribed

if TYPE_CHECKING:
    from dossier.sinks.email import SmtpNotifier, make_smtp_notifier
    from dossier.sinks.fakes import FakePortal, FakeSmtpServer, LoopbackReceiver
    from dossier.sinks.notify import (
        Notification,
        NotificationKind,
        Notifier,
        NotifySink,
        make_notify_sink,
        notification_kind,
    )
    from dossier.sinks.portal import (
        DEFAULT_FIELDS,
        HttpPortalClient,
        PortalClient,
        PortalRecord,
        PortalSyncSink,
        make_portal_sink,
        portal_record,
    )
    from dossier.sinks.sms import (
        FakeTextGateway,
        SmsNotifier,
        TextGateway,
        TextMessage,
        make_fake_sms_notifier,
    )
    from dossier.sinks.webhook import WebhookSink, generate_secret, make_webhook_sink

#: Entry-point groups the configuration reads sinks and notifiers from.
SINKS_GROUP = "dossier.sinks"
NOTIFIERS_GROUP = "dossier.notifiers"

_LAZY = {
    "DEFAULT_FIELDS": "dossier.sinks.portal",
    "FakePortal": "dossier.sinks.fakes",
    "FakeSmtpServer": "dossier.sinks.fakes",
    "FakeTextGateway": "dossier.sinks.sms",
    "HttpPortalClient": "dossier.sinks.portal",
    "LoopbackReceiver": "dossier.sinks.fakes",
    "Notification": "dossier.sinks.notify",
    "NotificationKind": "dossier.sinks.notify",
    "Notifier": "dossier.sinks.notify",
    "NotifySink": "dossier.sinks.notify",
    "PortalClient": "dossier.sinks.portal",
    "PortalRecord": "dossier.sinks.portal",
    "PortalSyncSink": "dossier.sinks.portal",
    "SmsNotifier": "dossier.sinks.sms",
    "SmtpNotifier": "dossier.sinks.email",
    "TextGateway": "dossier.sinks.sms",
    "TextMessage": "dossier.sinks.sms",
    "WebhookSink": "dossier.sinks.webhook",
    "generate_secret": "dossier.sinks.webhook",
    "make_fake_sms_notifier": "dossier.sinks.sms",
    "make_notify_sink": "dossier.sinks.notify",
    "make_portal_sink": "dossier.sinks.portal",
    "make_smtp_notifier": "dossier.sinks.email",
    "make_webhook_sink": "dossier.sinks.webhook",
    "notification_kind": "dossier.sinks.notify",
    "portal_record": "dossier.sinks.portal",
}

__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "DEFAULT_FIELDS",
    "NOTIFIERS_GROUP",
    "SINKS_GROUP",
    "DeliveryFailed",
    "FakePortal",
    "FakeSmtpServer",
    "FakeTextGateway",
    "HttpPortalClient",
    "LoopbackReceiver",
    "Message",
    "Notification",
    "NotificationKind",
    "Notifier",
    "NotifySink",
    "PortalClient",
    "PortalRecord",
    "PortalSyncSink",
    "Sink",
    "SmsNotifier",
    "SmtpNotifier",
    "TextGateway",
    "TextMessage",
    "WebhookSink",
    "generate_secret",
    "make_fake_sms_notifier",
    "make_notify_sink",
    "make_portal_sink",
    "make_smtp_notifier",
    "make_webhook_sink",
    "notification_kind",
    "portal_record",
    "subscribed",
]

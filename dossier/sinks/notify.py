"""Notifications to the applicant: which events tell the citizen something, in what words.

:class:`NotifySink` turns a message into a :class:`Notification` (Vietnamese text rendered
from a Jinja2 template) and hands it to a :class:`Notifier` (e-mail:
:class:`~dossier.sinks.email.SmtpNotifier`; SMS/Zalo: :class:`~dossier.sinks.sms.
SmsNotifier`). The recipient is the applicant's contact under the notifier's ``contact``
key (``email`` or ``phone``); a dossier without one is acknowledged silently.

=====================================  ==============  =====================================
message                                notification    says
=====================================  ==============  =====================================
``receive``                            reception       code, appointment (ngày hẹn trả)
``request_supplement``                 supplement      reason, missing components
any step completed into                result_ready    the result can be collected
``awaiting_return`` (``sign``,
``approve``, ``pay``…)
``extend`` (phiếu xin lỗi)             apology         apology, the new appointment
``overdue``                            overdue         apology: the appointment was missed
anything else                          —               acknowledged, nothing sent
=====================================  ==============  =====================================

Templates are ``templates/notifications/<kind>.txt.j2`` with three blocks: ``subject``,
``body`` (the e-mail) and ``short`` (an SMS/Zalo text). ``templates=`` names a folder whose
files replace the shipped ones of the same name. They see ``code``, ``procedure``,
``agency`` (its display name from ``agency_names``, else its code), ``appointment``
(``dd/mm/yyyy`` in Vietnam's time, or None), ``appointment_time`` (``HH:MM``), ``reason``,
``components`` (a list) and ``date`` (of the event); the ``ascii`` filter drops diacritics
(``Sở Tư pháp`` → ``So Tu phap``) for SMS texts. No personal data: the applicant's name and
ID number are never given to a template.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    select_autoescape,
)

from dossier.clock import LOCAL_TZ
from dossier.errors import InvalidInput
from dossier.records import Dossier
from dossier.resources import template_dir
from dossier.sinks.base import TYPE_PREFIX, DeliveryFailed, Message, subscribed
from dossier.sinks.settings import check_keys, names_setting, text_setting
from dossier.states import STEP_TABLE, State, Step, Trigger

log = logging.getLogger(__name__)


class NotificationKind(StrEnum):
    """What the applicant is told; one template each."""

    RECEPTION = "reception"          # tiếp nhận: code and appointment
    SUPPLEMENT = "supplement"        # yêu cầu bổ sung hồ sơ
    RESULT_READY = "result_ready"    # có kết quả, mời nhận
    APOLOGY = "apology"              # phiếu xin lỗi và hẹn lại ngày trả kết quả
    OVERDUE = "overdue"              # quá hạn: xin lỗi


BLOCKS = ("subject", "body", "short")

_BY_TRIGGER: Mapping[str, NotificationKind] = {
    Trigger.RECEIVE: NotificationKind.RECEPTION,
    Trigger.REQUEST_SUPPLEMENT: NotificationKind.SUPPLEMENT,
    Trigger.EXTEND: NotificationKind.APOLOGY,
    Trigger.OVERDUE: NotificationKind.OVERDUE,
}

#: Triggers that can produce a notification: the table's, plus every step's that can lead
#: into ``awaiting_return`` (the step before "return" differs per procedure).
NOTIFY_TRIGGERS: frozenset[str] = frozenset(
    {str(t) for t in _BY_TRIGGER}
    | {str(trigger) for step, (_, trigger) in STEP_TABLE.items() if step is not Step.RETURN})


def notification_kind(message: Message) -> NotificationKind | None:
    """Which notification ``message`` produces, if any (the table in the module docstring)."""
    kind = _BY_TRIGGER.get(message.trigger)
    if kind is not None:
        return kind
    if message.state == State.AWAITING_RETURN and message.source != State.AWAITING_RETURN:
        return NotificationKind.RESULT_READY
    return None


@dataclass(frozen=True, kw_only=True)
class Notification:
    """One message to one applicant. ``id`` is the outbox message's: the same on a retry,
    so the channel can recognise it (the e-mail's Message-ID is derived from it)."""

    id: str
    kind: str
    code: str                          # the dossier code
    to: str = field(repr=False)        # personal data: the address or phone number
    subject: str
    body: str
    short: str                         # the SMS/Zalo text


@runtime_checkable
class Notifier(Protocol):
    """Sends notifications over one channel.

    ``contact`` names the applicant key it reaches (``"email"``, ``"phone"``). ``send``
    returns once the channel took the notification; it raises
    :class:`~dossier.sinks.base.DeliveryFailed` otherwise (``permanent=True`` when the
    address itself is unusable). It never logs or echoes the recipient.
    """

    contact: str

    def send(self, notification: Notification) -> None: ...


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics, for SMS (``đ`` has no decomposition: mapped by hand)."""
    text = str(text).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch)).encode("ascii", "ignore").decode()


def local_date(instant: datetime | None) -> str | None:
    """``dd/mm/yyyy`` in Vietnam's time."""
    return instant.astimezone(LOCAL_TZ).strftime("%d/%m/%Y") if instant else None


def _instant(value: Any) -> datetime | None:
    # events keep instants as ISO text; an in-process message may carry the datetime
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


class NotifySink:
    """Tells the applicant about their dossier through ``notifier`` (see the table above).

    ``templates``: a folder overriding shipped templates by file name. ``agency_names``:
    agency code → the name to show. ``types`` narrows the message types further.
    """

    def __init__(self, notifier: Notifier, *, templates: str | Path | None = None,
                 agency_names: Mapping[str, str] | None = None,
                 types: frozenset[str] | None = None, name: str = "notify") -> None:
        if not isinstance(notifier, Notifier):
            raise InvalidInput(f"notify sink {name!r}: {notifier!r} does not implement "
                               "Notifier (contact, send(notification))")
        self.notifier = notifier
        self.agency_names = dict(agency_names or {})
        self.types = types
        self.name = name
        self._templates = _load_templates(templates, name)

    def wants(self, message_type: str) -> bool:
        return message_type.removeprefix(TYPE_PREFIX) in NOTIFY_TRIGGERS \
            and subscribed(self.types, message_type)

    def render(self, message: Message, kind: NotificationKind, to: str) -> Notification:
        """The notification of ``kind`` for ``message``, addressed to ``to``."""
        template = self._templates[kind]
        context = template.new_context(self._context(message, kind))
        try:
            parts = {block: "".join(template.blocks[block](context)).strip()
                     for block in BLOCKS}
        except TemplateError as exc:
            # retryable: once the template is fixed the notification still goes out
            raise DeliveryFailed(f"notify sink {self.name!r}: template {template.name} "
                                 f"failed for {message.code}: {exc}") from exc
        return Notification(id=message.id, kind=kind.value, code=message.code, to=to,
                            subject=" ".join(parts["subject"].split()), body=parts["body"],
                            short=" ".join(parts["short"].split()))

    def deliver(self, message: Message, dossier: Dossier) -> None:
        kind = notification_kind(message)
        if kind is None:
            return
        contact = dossier.applicant.get(self.notifier.contact)
        if not isinstance(contact, str) or not contact.strip():
            log.debug("notify sink %r: %s has no %s contact; %s not sent", self.name,
                      message.code, self.notifier.contact, kind.value)
            return
        self.notifier.send(self.render(message, kind, contact.strip()))

    def _context(self, message: Message, kind: NotificationKind) -> dict[str, Any]:
        appointment = message.due_at
        if kind is NotificationKind.APOLOGY:
            appointment = _instant(message.data.get("appointment_at")) or appointment
        components = message.data.get("components") or []
        reason = message.data.get("reason")
        return {
            "kind": kind.value, "code": message.code, "procedure": message.procedure,
            "agency": self.agency_names.get(message.agency, message.agency),
            "appointment": local_date(appointment),
            "appointment_time": appointment.astimezone(LOCAL_TZ).strftime("%H:%M")
            if appointment else None,
            "reason": reason if isinstance(reason, str) and reason.strip() else None,
            "components": [str(c) for c in components] if isinstance(components, list) else [],
            "date": local_date(message.at),
        }


def shipped_templates() -> Path:
    """The folder of the notification templates shipped with the package."""
    return template_dir() / "notifications"


def _load_templates(folder: str | Path | None,
                    sink: str) -> dict[NotificationKind, Template]:
    """Every kind's template, compiled now: a broken or incomplete one fails at start-up."""
    loaders = [FileSystemLoader(str(shipped_templates()))]
    if folder is not None:
        if not Path(folder).is_dir():
            raise InvalidInput(f"notify sink {sink!r}: templates folder {str(folder)!r} "
                               "does not exist")
        loaders.insert(0, FileSystemLoader(str(folder)))
    env = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "htm"]),
                      keep_trailing_newline=True)
    env.filters["ascii"] = ascii_fold
    loaded: dict[NotificationKind, Template] = {}
    for kind in NotificationKind:
        name = f"{kind.value}.txt.j2"
        try:
            template = env.get_template(name)
        except TemplateError as exc:
            raise InvalidInput(f"notify sink {sink!r}: template {name}: {exc}") from exc
        missing = [block for block in BLOCKS if block not in template.blocks]
        if missing:
            raise InvalidInput(f"notify sink {sink!r}: template {name} has no "
                               f"{{% block {missing[0]} %}}")
        loaded[kind] = template
    return loaded


def make_notify_sink(**settings: Any) -> NotifySink:
    """The ``notify`` entry point: a :class:`NotifySink` from keyword configuration.

    Keys: ``notifier`` (required: an already built :class:`Notifier`; ``dossier.toml`` names
    one of its ``[notifiers.<name>]`` tables, e.g. ``notifier = "mail"``, and the config
    loader builds that table through the ``dossier.notifiers`` entry points and passes the
    object here), ``templates`` (a folder overriding shipped templates), ``agency_names``
    (a table of agency code = display name), ``types`` (list), ``name``.
    """
    kind = "notify sink"
    check_keys(kind, settings, required=("notifier",),
               optional=("templates", "agency_names", "types", "name"))
    names = settings.get("agency_names") or {}
    if not isinstance(names, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise InvalidInput(f"{kind}: agency_names must be a table of agency code = name")
    templates = settings.get("templates")
    if templates is not None:
        templates = text_setting(kind, "templates", templates)
    return NotifySink(settings["notifier"], templates=templates, agency_names=names,
                      types=names_setting(kind, "types", settings.get("types")),
                      name=text_setting(kind, "name", settings.get("name", "notify")))

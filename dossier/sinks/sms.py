"""Short text notifications (SMS, Zalo) through a :class:`TextGateway` port.

Vietnamese carriers and Zalo each have their own API, contract and registered templates
(brand-name SMS, Zalo ZNS); a deployment wraps its provider in a small
:class:`TextGateway`. :class:`SmsNotifier` sends the notification's ``short`` text (plain
ASCII in the shipped templates: an unaccented SMS fits in one 160-character segment) to
the applicant's ``phone``. :class:`FakeTextGateway` records what was sent, for tests and
the demo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dossier.errors import InvalidInput
from dossier.sinks.base import DeliveryFailed
from dossier.sinks.notify import Notification
from dossier.sinks.settings import check_keys

_SEPARATORS = re.compile(r"[\s.\-()]")
_VN_MOBILE = re.compile(r"0\d{9}")


def normalise_phone(value: str) -> str:
    """A Vietnamese phone number as ``0xxxxxxxxx`` (``+84``/``84`` prefixes, spaces, dots
    and dashes accepted); :class:`ValueError` (without the number) otherwise."""
    digits = _SEPARATORS.sub("", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _VN_MOBILE.fullmatch(digits):
        raise ValueError("the applicant's phone is not a 10-digit Vietnamese number")
    return digits


@dataclass(frozen=True, kw_only=True)
class TextMessage:
    """One text handed to a gateway; ``reference`` is the same on every retry."""

    to: str = field(repr=False)   # personal data
    text: str
    reference: str


@runtime_checkable
class TextGateway(Protocol):
    """A provider that sends short texts (an SMS brand-name service, Zalo).

    ``send_text`` returns once the provider accepted the text; it raises
    :class:`~dossier.sinks.base.DeliveryFailed` otherwise. It may use ``reference`` to drop
    a duplicate (the same text is handed over again after a lost acknowledgement).
    """

    def send_text(self, message: TextMessage) -> None: ...


class SmsNotifier:
    """Sends each notification's short text to the applicant's phone through ``gateway``.

    ``channel`` (``"sms"``, ``"zalo"``) only names it in errors.
    """

    contact = "phone"

    def __init__(self, gateway: TextGateway, *, channel: str = "sms") -> None:
        if not isinstance(gateway, TextGateway):
            raise InvalidInput(f"{channel} notifier: {gateway!r} does not implement "
                               "TextGateway (send_text(message))")
        self.gateway = gateway
        self.channel = channel

    def send(self, notification: Notification) -> None:
        try:
            to = normalise_phone(notification.to)
        except ValueError as exc:
            raise DeliveryFailed(f"{self.channel} notifier: {notification.code}: {exc}; "
                                 "correct the dossier's contact", permanent=True) from None
        self.gateway.send_text(TextMessage(to=to, text=notification.short,
                                           reference=f"{notification.id}:{notification.kind}"))


class FakeTextGateway:
    """Keeps every text in ``sent``; ``fail_next`` makes the next N sends fail (retryable),
    like a provider that is down."""

    def __init__(self) -> None:
        self.sent: list[TextMessage] = []
        self.fail_next = 0

    def send_text(self, message: TextMessage) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeliveryFailed("fake text gateway: unavailable; will retry")
        self.sent.append(message)


def make_fake_sms_notifier(**settings: Any) -> SmsNotifier:
    """The ``sms-fake`` notifier entry point: an :class:`SmsNotifier` over a
    :class:`FakeTextGateway` (the demo; a deployment's gateway ships its own entry point).

    Keys: ``channel`` (``"sms"`` or ``"zalo"``, default ``"sms"``).
    """
    check_keys("sms-fake notifier", settings, optional=("channel",))
    channel = settings.get("channel", "sms")
    if channel not in ("sms", "zalo"):
        raise InvalidInput("sms-fake notifier: channel must be 'sms' or 'zalo'")
    return SmsNotifier(FakeTextGateway(), channel=channel)

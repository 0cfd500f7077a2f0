"""Webhooks signed per `Standard Webhooks <https://www.standardwebhooks.com>`_ 1.0.

Each message is one ``POST`` of the JSON body of :meth:`~dossier.sinks.base.Message.body`
(compact, keys sorted, UTF-8) with the headers::

    webhook-id: <message id>             the same on every retry: de-duplicate by it
    webhook-timestamp: <unix seconds>    of this attempt: refuse stale ones (replays)
    webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> [v1,<…> …]

One ``v1`` signature per configured secret, so a receiver can move to a new secret while we
sign with both (zero-downtime rotation). Secrets are ``whsec_`` + base64 of 24–64 random
bytes (:func:`generate_secret`); the HMAC key is the decoded bytes. Any Standard Webhooks
library verifies them, e.g. in Python ``standardwebhooks.Webhook(secret).verify(body,
headers)``.

The body carries no personal data: no applicant name, no ID number (the message never has
them). The receiver's answer decides: 2xx delivered; ``410 Gone`` the receiver wants no
more (dead-lettered at once); anything else, a timeout or no connection is retried later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets as _random
from collections.abc import Sequence
from typing import Any

from dossier.clock import Clock, SystemClock
from dossier.errors import InvalidInput
from dossier.records import Dossier
from dossier.sinks.base import DeliveryFailed, Message, subscribed
from dossier.sinks.http import check_url, endpoint, post
from dossier.sinks.settings import check_keys, names_setting, number_setting, text_setting

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
#: Key sizes the specification allows for symmetric signatures (192 to 512 bits).
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64

# "id.timestamp.body" is split on dots, and the id goes into a header: printable ASCII only,
# no dot (the specification forbids it in the id), no space
_SAFE_ID = re.compile(r"[\x21-\x2d\x2f-\x7e]{1,255}")


def generate_secret(size: int = 32) -> str:
    """A new ``whsec_…`` secret of ``size`` random bytes, to give to a receiver."""
    if not MIN_KEY_BYTES <= size <= MAX_KEY_BYTES:
        raise InvalidInput(f"a webhook secret has {MIN_KEY_BYTES}–{MAX_KEY_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(size)).decode("ascii")


def decode_secret(secret: str, *, position: int = 1) -> bytes:
    """The HMAC key of a ``whsec_`` secret; :class:`InvalidInput` (without the value) if it
    is not one. ``position`` numbers the secret in the error message."""
    what = f"webhook secret #{position}"
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidInput(f"{what} must be a string starting with {SECRET_PREFIX!r} "
                           "(make one with dossier.sinks.webhook.generate_secret())")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not {SECRET_PREFIX} followed by base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InvalidInput(f"{what} decodes to {len(key)} bytes; Standard Webhooks wants "
                           f"{MIN_KEY_BYTES}–{MAX_KEY_BYTES} random bytes")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``message_id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode("ascii") + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def encode_body(message: Message) -> bytes:
    """The exact bytes sent and signed: compact JSON, keys sorted, UTF-8."""
    return json.dumps(message.body(), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


class WebhookSink:
    """POSTs each message it wants to ``url``, signed with every secret in ``secret``.

    ``secret``: one ``whsec_`` secret, or several during a rotation (all sign each message).
    ``types``: the message types to send (``"dossier.receive"`` or ``"receive"``); all when
    None. ``clock`` gives the ``webhook-timestamp`` (the system clock by default).
    """

    def __init__(self, url: str, secret: str | Sequence[str], *, timeout: float = 10,
                 types: frozenset[str] | None = None, name: str = "webhook",
                 clock: Clock | None = None) -> None:
        self.name = name
        self.url = check_url(f"webhook {name!r}", url)
        given = [secret] if isinstance(secret, str) else list(secret)
        if not given:
            raise InvalidInput(f"webhook {name!r}: give at least one secret")
        self._keys = tuple(decode_secret(s, position=i) for i, s in enumerate(given, 1))
        self.timeout = number_setting(f"webhook {name!r}", "timeout", timeout)
        self.types = types
        self.clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        return (f"WebhookSink(name={self.name!r}, url={endpoint(self.url)!r}, "
                f"secrets=<{len(self._keys)} hidden>)")

    def wants(self, message_type: str) -> bool:
        return subscribed(self.types, message_type)

    def headers(self, message: Message, body: bytes) -> dict[str, str]:
        """The headers of one attempt (timestamp from the clock, now)."""
        if not _SAFE_ID.fullmatch(message.id):
            # retrying cannot change the id: dead-letter it and say why
            raise DeliveryFailed(
                f"webhook {self.name!r}: message {message.type} of {message.code} has an id "
                "Standard Webhooks cannot sign (it needs printable ASCII without '.' or "
                "spaces)", permanent=True)
        timestamp = int(self.clock.now().timestamp())
        signatures = " ".join(sign(key, message.id, timestamp, body) for key in self._keys)
        return {"Content-Type": "application/json", "webhook-id": message.id,
                "webhook-timestamp": str(timestamp), "webhook-signature": signatures}

    def deliver(self, message: Message, dossier: Dossier) -> None:
        # ``dossier`` is not read: everything sent comes from the message, which holds no
        # personal data
        body = encode_body(message)
        what = f"webhook {self.name!r}"
        reply = post(self.url, body, self.headers(message, body), timeout=self.timeout,
                     what=what)
        if reply.ok:
            log.debug("%s: %s of %s delivered (HTTP %s)", what, message.type, message.code,
                      reply.status)
            return
        if reply.status == 410:
            raise DeliveryFailed(f"{what}: {endpoint(self.url)} answered 410 Gone: the "
                                 "receiver wants no more messages; remove or fix this sink",
                                 permanent=True)
        raise DeliveryFailed(f"{what}: {endpoint(self.url)} answered HTTP {reply.status} to "
                             f"{message.type} of {message.code}; will retry")


def make_webhook_sink(**settings: Any) -> WebhookSink:
    """The ``webhook`` entry point: a :class:`WebhookSink` from keyword configuration.

    Keys: ``url`` (required), ``secret`` (required: a ``whsec_`` string, or a list of them
    while rotating), ``timeout`` (seconds, default 10), ``types`` (list of message types,
    default all), ``name``.
    """
    kind = "webhook sink"
    check_keys(kind, settings, required=("url", "secret"), optional=("timeout", "types", "name"))
    secret = settings["secret"]
    if not isinstance(secret, str) and not (isinstance(secret, list | tuple) and secret):
        raise InvalidInput(f"{kind}: secret must be a whsec_ string or a list of them")
    return WebhookSink(settings["url"], secret, timeout=settings.get("timeout", 10),
                       types=names_setting(kind, "types", settings.get("types")),
                       name=text_setting(kind, "name", settings.get("name", "webhook")))

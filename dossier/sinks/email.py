"""E-mail notifications over SMTP, with the standard library (:mod:`smtplib`).

Each :class:`~dossier.sinks.notify.Notification` becomes one UTF-8 message (subject and
body in Vietnamese) to the applicant's ``email``. Its ``Message-ID`` is derived from the
outbox message id and the notification kind, so a retried delivery carries the same id and
mail clients or a relay can recognise the duplicate.

Failures: a server that cannot be reached, a timeout, a 4xx answer or refused credentials
are retried (the credentials may be fixed; the mail must not be lost meanwhile); a 5xx
refusal of the recipient (no such mailbox) or a malformed address is permanent. No message
contains the address or the password.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl as _ssl
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate
from typing import Any

from dossier.errors import InvalidInput
from dossier.sinks.base import DeliveryFailed
from dossier.sinks.notify import Notification
from dossier.sinks.settings import check_keys, number_setting, text_setting

log = logging.getLogger(__name__)


def parse_address(value: str, what: str) -> Address:
    """``value`` as one plain ``local@domain`` address; :class:`ValueError` (naming ``what``,
    never the value) otherwise."""
    if any(ch in value for ch in "\r\n<>,;\"") or value.count("@") != 1:
        raise ValueError(f"{what} is not a single e-mail address")
    local, domain = value.strip().rsplit("@", 1)
    if not local or "." not in domain or any(ch.isspace() for ch in value.strip()):
        raise ValueError(f"{what} is not a single e-mail address")
    try:
        return Address(addr_spec=f"{local}@{domain}")
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{what} is not a single e-mail address") from exc


def message_id(notification: Notification, domain: str) -> str:
    """A Message-ID that is the same on every attempt of one notification."""
    digest = hashlib.sha256(f"{notification.id}\x00{notification.kind}".encode()).hexdigest()
    return f"<{digest[:40]}@{domain}>"


class SmtpNotifier:
    """Sends notifications as e-mail through an SMTP server.

    ``ssl``: implicit TLS (port 465); ``starttls``: upgrade a plain connection (port 587).
    Certificates are verified. ``username``/``password``: SMTP AUTH, after TLS.
    """

    contact = "email"

    def __init__(self, host: str, port: int, *, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, ssl: bool = False,
                 timeout: float = 10) -> None:
        kind = "smtp notifier"
        self.host = text_setting(kind, "host", host)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInput(f"{kind}: port must be a number from 1 to 65535")
        self.port = port
        try:
            self.sender = parse_address(text_setting(kind, "sender", sender), f"{kind}: sender")
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if (username is None) != (password is None):
            raise InvalidInput(f"{kind}: give both username and password, or neither")
        if starttls and ssl:
            raise InvalidInput(f"{kind}: choose ssl (implicit TLS) or starttls, not both")
        self.username = username
        self._password = password
        self.starttls = bool(starttls)
        self.ssl = bool(ssl)
        self.timeout = number_setting(kind, "timeout", timeout)

    def __repr__(self) -> str:
        return (f"SmtpNotifier(host={self.host!r}, port={self.port}, "
                f"sender={self.sender.addr_spec!r}, password=<hidden>)")

    def compose(self, notification: Notification) -> Message:
        """The e-mail for ``notification`` (:class:`DeliveryFailed`, permanent, if the
        recipient is not a usable address).

        Built with the ``compat32`` API on purpose: the modern policy's header folding drops
        the space between two RFC 2047 encoded words (a long Vietnamese subject arrives as
        "kếtquả"); :class:`email.header.Header` splits on characters and keeps it."""
        try:
            recipient = parse_address(notification.to, "the applicant's e-mail")
        except ValueError as exc:
            raise DeliveryFailed(f"smtp notifier: {notification.code}: {exc}; correct the "
                                 "dossier's contact", permanent=True) from None
        # lines of at most 76 characters: every encoded word then fits RFC 2047's 75
        mail = MIMEText(notification.body, "plain", "utf-8",
                        policy=compat32.clone(max_line_length=76))
        mail["From"] = formataddr((self.sender.display_name, self.sender.addr_spec), "utf-8")
        mail["To"] = recipient.addr_spec
        # (typeshed types the value as str; the compat32 API takes a Header)
        subject = Header(notification.subject, "utf-8", header_name="Subject")
        mail["Subject"] = subject  # type: ignore[assignment]
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(notification, self.sender.domain)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        return mail

    def send(self, notification: Notification) -> None:
        mail = self.compose(notification)
        what = f"smtp notifier: {notification.kind} of {notification.code}"
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=_ssl.create_default_context())
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = bool(codes) and all(code >= 500 for code in codes)
            raise DeliveryFailed(f"{what}: the server refused the recipient (SMTP "
                                 f"{', '.join(map(str, codes))})", permanent=permanent) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"{what}: {self.host}:{self.port} answered SMTP "
                                 f"{exc.smtp_code}; will retry") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{what}: cannot send through {self.host}:{self.port} "
                                 f"({type(exc).__name__}); will retry") from None
        log.debug("%s: sent", what)

    def _connect(self) -> smtplib.SMTP:
        if self.ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=_ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


def make_smtp_notifier(**settings: Any) -> SmtpNotifier:
    """The ``smtp`` notifier entry point: an :class:`SmtpNotifier` from keyword configuration.

    Keys: ``host``, ``port``, ``sender`` (required); ``username``, ``password`` (both or
    neither), ``starttls``, ``ssl`` (booleans), ``timeout`` (seconds, default 10).
    """
    check_keys("smtp notifier", settings, required=("host", "port", "sender"),
               optional=("username", "password", "starttls", "ssl", "timeout"))
    for flag in ("starttls", "ssl"):
        if not isinstance(settings.get(flag, False), bool):
            raise InvalidInput(f"smtp notifier: {flag} must be true or false")
    return SmtpNotifier(settings["host"], settings["port"], sender=settings["sender"],
                        username=settings.get("username"), password=settings.get("password"),
                        starttls=settings.get("starttls", False), ssl=settings.get("ssl", False),
                        timeout=settings.get("timeout", 10))

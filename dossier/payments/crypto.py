"""Shared secrets and the HMAC primitives every adapter signs and verifies with.

During a key rotation two secrets are active: we sign with ``primary`` and accept a
signature made with either. Every comparison goes through :func:`hmac.compare_digest` so
the time taken does not leak how much of a forged signature was right.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from dossier.clock import require_aware
from dossier.errors import InvalidInput

#: The fixed offset VNPay and MoMo speak (Vietnam has had no DST since 1975).
GMT7 = timezone(timedelta(hours=7), "GMT+7")

Digest = Callable[..., Any]


@dataclass(frozen=True, kw_only=True)
class SecretPair:
    """A shared secret, and the one it replaces while a rotation is under way.

    ``repr()`` never shows the values, so a config object can be logged safely.
    """

    primary: str
    previous: str | None = None

    def __post_init__(self) -> None:
        if not self.primary:
            raise InvalidInput("a payment secret must not be empty")
        if self.previous == "":
            raise InvalidInput("previous secret must be None or non-empty")

    def __repr__(self) -> str:
        rotating = ", rotating" if self.previous else ""
        return f"SecretPair(<hidden>{rotating})"

    def candidates(self) -> Iterator[str]:
        """Secrets accepted on verification, primary first."""
        yield self.primary
        if self.previous:
            yield self.previous


def hmac_hex(secret: str, message: str, digest: Digest) -> str:
    """Lower-case hex HMAC of the UTF-8 ``message``."""
    return hmac.new(secret.encode(), message.encode(), digest).hexdigest()


def sha256_hex(message: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 ``message`` (for plain keyed-hash schemes)."""
    return hashlib.sha256(message.encode()).hexdigest()


def same_digest(expected: str, given: str) -> bool:
    """Constant-time, case-insensitive comparison of two hex strings."""
    return hmac.compare_digest(expected.lower().encode("ascii", "replace"),
                               given.strip().lower().encode("ascii", "replace"))


def verify_hmac(secrets: SecretPair, message: str, given: str, digest: Digest) -> bool:
    """Does ``given`` sign ``message`` under any active secret?

    Every candidate is compared (no early exit), so timing does not tell which secret matched.
    """
    results = [same_digest(hmac_hex(secret, message, digest), given)
               for secret in secrets.candidates()]
    return any(results)


def gmt7_stamp(instant: datetime, what: str = "time") -> str:
    """``yyyyMMddHHmmss`` in GMT+7 from an aware datetime in any zone."""
    return require_aware(instant, what).astimezone(GMT7).strftime("%Y%m%d%H%M%S")


def parse_gmt7_stamp(value: str) -> datetime:
    """The UTC instant of a ``yyyyMMddHHmmss`` GMT+7 stamp; :class:`ValueError` if malformed."""
    if len(value) != 14 or not value.isdigit():
        raise ValueError(f"not a yyyyMMddHHmmss stamp: {value!r}")
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=GMT7).astimezone(UTC)


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics (``Lệ phí đăng ký`` → ``Le phi dang ky``).

    Providers and bank memos keep only ASCII; ``đ``/``Đ`` have no decomposition, so they are
    mapped by hand.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).encode(
        "ascii", "ignore").decode()

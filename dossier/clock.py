"""Time comes from a :class:`Clock`; the core never reads the wall clock itself."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from dossier.errors import InvalidInput

#: Calendar rules, dossier-code dates and effective dates run in Vietnam's time zone.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` in UTC, or raise :class:`InvalidInput` if it is naive."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def local_date(instant: datetime) -> date:
    """The date in Vietnam at ``instant``."""
    return instant.astimezone(LOCAL_TZ).date()

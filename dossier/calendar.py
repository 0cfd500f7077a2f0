"""Vietnamese working days and office hours, and the deadline arithmetic on them. Pure.

A :class:`WorkingCalendar` answers two questions: *when is a time limit up* (:meth:`add`)
and *how much working time lies between two instants* (:meth:`working_time_between`).
Rules run in ``Asia/Ho_Chi_Minh``; inputs may be aware datetimes in any zone, outputs are
aware datetimes in Vietnam's zone.

The model: the working days are numbered consecutively; each has the same office sessions
(07:00–11:30 and 13:30–17:00 by default, so one working day is 8 working hours). An instant
is a *working position*: (working days before it) × (day length) + (office time already
spent that day). Deadlines are positions plus an amount, turned back into an instant. A
position that lands exactly on a session boundary is shown as the end of the earlier
session (07:00 + 1 working day = 17:00 that day, not 07:00 the next).

Working days come from the ``holidays`` package's Vietnam calendar: fixed and lunar public
holidays (Tết, Giỗ Tổ Hùng Vương), compensatory days off (nghỉ bù) and make-up working
Saturdays (ngày làm bù, which it publishes through ``weekend_workdays``). An agency layers
its own overrides on top: extra days off, extra working days, other weekly rest days, other
office sessions. The day table of each year is computed once and kept, and working days
carry a global index, so adding 1,000 working days costs what adding 1 does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import cache
from typing import Final, TypeVar

from dossier.clock import LOCAL_TZ
from dossier.errors import CalendarError, InvalidInput

UNITS: Final = ("working_hours", "working_days", "calendar_days", "same_day")
# StrEnum members hash and compare like their values, so TimeUnit finds its entry here too
_UNIT_NAMES: Final = {name: name for name in UNITS}
DEFAULT_SESSIONS: Final = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
DEFAULT_SAME_DAY_CUTOFF: Final = time(15, 0)
SATURDAY_SUNDAY: Final = frozenset({5, 6})
#: Years the calendar answers for: the Vietnam holiday data starts in 1979; the lunar
#: calendar it relies on stops at 2099.
FIRST_YEAR: Final = 1979
LAST_YEAR: Final = 2099

_T = TypeVar("_T")
_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND

#: A year's public holidays and make-up working days, e.g. from the ``holidays`` package.
HolidaySource = Callable[[int], tuple[frozenset[date], frozenset[date]]]


@cache  # every agency's calendar asks for the same years
def vietnam_holidays(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """Vietnam's days off and make-up working days in ``year`` (``holidays`` package)."""
    import holidays  # imported on first use: building the lunar tables takes a moment

    vn = holidays.country_holidays("VN", years=year)
    days_off = frozenset(d for d in vn if d.year == year)
    make_up = frozenset(d for d in getattr(vn, "weekend_workdays", ()) if d.year == year)
    return days_off, make_up


@dataclass(frozen=True, slots=True)
class _Year:
    """One year's day table: ``before[i]`` = working days before day-of-year ``i``."""

    first_ordinal: int
    before: tuple[int, ...]       # len = days in year + 1; the last item is the year's count
    working: tuple[int, ...]      # date ordinals of the working days, in order
    count: int


@dataclass(frozen=True, slots=True)
class _Span:
    """Consecutive years' day tables joined: global indexes count from ``first_ordinal``.

    Immutable: a call takes the current span once and uses it throughout, and a wider span
    replaces it whole, so indexes never shift under a running computation.
    """

    first_year: int
    last_year: int
    first_ordinal: int
    before: tuple[int, ...]   # working days before each day of the span (+1 final item)
    working: tuple[int, ...]  # date ordinals of the span's working days


class _Outside(Exception):
    """A computation left the current span: widen it to these years and try again."""

    def __init__(self, first_year: int, last_year: int) -> None:
        self.first_year, self.last_year = first_year, last_year


class WorkingCalendar:
    """An agency's working days and office sessions. Immutable; safe to share across threads.

    Build it with :meth:`vietnam` (the national calendar) and refine it with
    :meth:`with_overrides`.
    """

    __slots__ = ("_close_us", "_cum", "_day_us", "_days_off", "_extra_working", "_holidays",
                 "_rest", "_sessions", "_sessions_us", "_span", "_span_lock", "_years", "name")

    def __init__(self, *, holidays: HolidaySource | None = None,
                 weekly_rest_days: Iterable[int] = SATURDAY_SUNDAY,
                 sessions: Sequence[tuple[time | str, time | str]] = DEFAULT_SESSIONS,
                 extra_days_off: Iterable[date] = (), extra_working_days: Iterable[date] = (),
                 name: str = "") -> None:
        self.name = name
        self._holidays = holidays
        self._rest = frozenset(_weekday(d) for d in weekly_rest_days)
        if len(self._rest) == 7:
            raise InvalidInput("a calendar needs at least one weekday that is not a rest day")
        self._sessions = _parse_sessions(sessions)
        self._sessions_us = tuple((_time_us(a), _time_us(b)) for a, b in self._sessions)
        cum, total = [], 0
        for start, end in self._sessions_us:
            cum.append(total)
            total += end - start
        self._cum = tuple(cum)            # office time before each session starts
        self._day_us = total
        self._close_us = self._sessions_us[-1][1]
        self._days_off = frozenset(_date(d, "extra_days_off") for d in extra_days_off)
        self._extra_working = frozenset(_date(d, "extra_working_days")
                                        for d in extra_working_days)
        clash = self._days_off & self._extra_working
        if clash:
            raise InvalidInput(f"{min(clash)} is both an extra day off and an extra working day")
        self._years: dict[int, _Year] = {}
        self._span: _Span | None = None
        self._span_lock = threading.Lock()

    @classmethod
    def vietnam(cls, *, extra_days_off: Iterable[date] = (),
                extra_working_days: Iterable[date] = (),
                weekly_rest_days: Iterable[int] = SATURDAY_SUNDAY,
                sessions: Sequence[tuple[time | str, time | str]] = DEFAULT_SESSIONS,
                name: str = "VN") -> WorkingCalendar:
        """Vietnam's national calendar; the defaults are Saturday and Sunday off and office
        hours 07:00–11:30, 13:30–17:00. The arguments are an agency's own overrides."""
        return cls(holidays=vietnam_holidays, weekly_rest_days=weekly_rest_days,
                   sessions=sessions, extra_days_off=extra_days_off,
                   extra_working_days=extra_working_days, name=name)

    def with_overrides(self, *, extra_days_off: Iterable[date] = (),
                       extra_working_days: Iterable[date] = (),
                       weekly_rest_days: Iterable[int] | None = None,
                       sessions: Sequence[tuple[time | str, time | str]] | None = None,
                       name: str | None = None) -> WorkingCalendar:
        """A copy with an agency's own rules layered on top of this calendar's.

        ``weekly_rest_days`` are weekday numbers (Monday 0 … Sunday 6); ``sessions`` are
        ``(start, end)`` pairs as ``datetime.time`` or ``"HH:MM"``.
        """
        return WorkingCalendar(
            holidays=self._holidays,
            weekly_rest_days=self._rest if weekly_rest_days is None else weekly_rest_days,
            sessions=self._sessions if sessions is None else sessions,
            extra_days_off=self._days_off | frozenset(extra_days_off),
            extra_working_days=(self._extra_working - frozenset(extra_days_off))
            | frozenset(extra_working_days),
            name=self.name if name is None else name)

    # --- days -----------------------------------------------------------------------------

    @property
    def working_day_length(self) -> timedelta:
        """Office time in one working day (8 hours by default)."""
        return timedelta(microseconds=self._day_us)

    @property
    def sessions(self) -> tuple[tuple[time, time], ...]:
        return self._sessions

    def is_working_day(self, day: date) -> bool:
        year = self._year(day.year)
        i = day.toordinal() - year.first_ordinal
        return year.before[i + 1] > year.before[i]

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        def run(span: _Span) -> date:
            g, working = _locate(span, day)
            return _kth(span, g + 1 if working else g)
        return self._run(run, day.year)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``[start, end)`` (negative when ``end < start``)."""
        return self._run(lambda span: _locate(span, end)[0] - _locate(span, start)[0],
                         min(start.year, end.year), max(start.year, end.year))

    # --- deadlines ------------------------------------------------------------------------

    def add(self, start: datetime, amount: int, unit: str | Enum,
            cutoff: time | str | None = None) -> datetime:
        """The instant a time limit of ``amount`` ``unit`` started at ``start`` runs out.

        ``unit`` is ``working_hours``, ``working_days``, ``calendar_days`` or ``same_day``
        (``amount`` is ignored for ``same_day``; pass 0). With ``cutoff``, a start after the
        cut-off time counts from the next working day's opening; ``same_day`` uses 15:00 when
        no cut-off is given.
        """
        local = _local(start, "start")
        unit_name = _unit(unit)
        if unit_name != "same_day" and (not isinstance(amount, int) or isinstance(amount, bool)
                                        or amount < 0):
            raise InvalidInput(f"amount must be a non-negative whole number; got {amount!r}")
        cut = _cutoff(cutoff)
        span = self._span
        if span is not None:
            try:
                return self._add(span, local, amount, unit_name, cut)
            except _Outside:
                pass
        return self._run(lambda sp: self._add(sp, local, amount, unit_name, cut), local.year)

    def _add(self, span: _Span, local: datetime, amount: int, unit_name: str,
             cut: int | None) -> datetime:
        day = local.date()
        us = _clock_us(local)
        g, working = _locate(span, day)
        if unit_name == "same_day":
            if cut is None:
                cut = _time_us(DEFAULT_SAME_DAY_CUTOFF)
            if not working or us > cut:
                return self._closing(_kth(span, g + 1 if working else g))
            return self._closing(day)
        late = cut is not None and working and us > cut
        if unit_name == "calendar_days":
            if late or (cut is not None and not working):
                day = _kth(span, g + 1 if working else g)
            target = day + timedelta(days=amount)
            tg, target_works = _locate(span, target)
            return self._closing(target if target_works else _kth(span, tg))
        # working hours and working days: move along working positions
        offset = 0 if (late or not working) else self._offset(us)
        if late:
            g += 1
        step = amount * (_US_PER_HOUR if unit_name == "working_hours" else self._day_us)
        if step == 0:
            if working and not late and self._in_office(us):
                return local
            if offset == self._day_us:
                return self._instant(_kth(span, g + 1), 0, boundary_end=False)
            return self._instant(_kth(span, g), offset, boundary_end=False)
        days, rest = divmod(offset + step, self._day_us)
        if rest == 0:
            days, rest = days - 1, self._day_us
        return self._instant(_kth(span, g + days), rest, boundary_end=True)

    def subtract(self, end: datetime, amount: int, unit: str | Enum) -> datetime:
        """The instant ``amount`` working hours/days of office time before ``end``.

        A result on a day boundary is the earlier day's closing time (a warning one working
        day before Tuesday 17:00 is Monday 17:00).
        """
        unit_name = _unit(unit)
        if unit_name not in ("working_hours", "working_days"):
            raise InvalidInput("subtract() counts back in working_hours or working_days only")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise InvalidInput(f"amount must be a non-negative whole number; got {amount!r}")
        step = amount * (_US_PER_HOUR if unit_name == "working_hours" else self._day_us)
        local = _local(end, "end")
        return self._run(lambda span: self._at_position(span, self._position(span, local) - step),
                         local.year)

    def shift(self, instant: datetime, working_time: timedelta) -> datetime:
        """``instant`` moved by ``working_time`` of office time (a paused clock's due date)."""
        if not isinstance(working_time, timedelta):
            raise InvalidInput("working_time must be a timedelta")
        local = _local(instant, "instant")
        moved = working_time // timedelta(microseconds=1)
        return self._run(lambda span: self._at_position(span, self._position(span, local) + moved),
                         local.year)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Office time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        local_a, local_b = _local(a, "a"), _local(b, "b")
        return timedelta(microseconds=self._run(
            lambda span: self._position(span, local_b) - self._position(span, local_a),
            min(local_a.year, local_b.year), max(local_a.year, local_b.year)))

    def remaining_text(self, now: datetime, due: datetime) -> str:
        """"Còn 2 ngày 3 giờ" before ``due``, "Quá 1 ngày 2 giờ" after it (working time)."""
        return describe_working_time(self.working_time_between(now, due), self.working_day_length)

    def prepare(self, first_year: int, last_year: int) -> None:
        """Build the day tables of ``first_year``–``last_year`` (and a few years around) now,
        so that the first deadline computed later does not pay for them: the first year of
        the national calendar imports the ``holidays`` package and its lunar tables (≈0.2 s).
        Years outside the calendar's range are left out."""
        first, last = max(first_year, FIRST_YEAR), min(last_year, LAST_YEAR)
        if first <= last:
            self._widen(first, last)

    # --- internals ------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise CalendarError(f"the working-day calendar covers {FIRST_YEAR}–{LAST_YEAR};"
                                    f" {year} is outside it")
            table = self._years.setdefault(year, self._build_year(year))
        return table

    def _build_year(self, year: int) -> _Year:
        days_off, make_up = self._holidays(year) if self._holidays else (frozenset(), frozenset())
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        before, working = [0], []
        for ordinal in range(first, last + 1):
            day = date.fromordinal(ordinal)
            if day in self._days_off:
                is_working = False
            elif day in self._extra_working or day in make_up:
                is_working = True
            else:
                is_working = day not in days_off and day.weekday() not in self._rest
            if is_working:
                working.append(ordinal)
            before.append(len(working))
        return _Year(first_ordinal=first, before=tuple(before), working=tuple(working),
                     count=len(working))

    # Working days carry a global index within the current span of years. Computations run
    # on one immutable span; one that steps outside it widens the span and runs again.

    def _run(self, compute: Callable[[_Span], _T], first_year: int,
             last_year: int | None = None) -> _T:
        span = self._widen(first_year, first_year if last_year is None else last_year)
        while True:
            try:
                return compute(span)
            except _Outside as outside:
                span = self._widen(outside.first_year, outside.last_year)

    def _widen(self, first_year: int, last_year: int) -> _Span:
        with self._span_lock:
            span = self._span
            if span is not None and span.first_year <= first_year \
                    and last_year <= span.last_year:
                return span
            # widen generously: a few years ahead covers long limits without rebuilding
            first = min(first_year - 1, span.first_year if span else first_year - 1)
            last = max(last_year + 4, span.last_year if span else last_year + 4)
            first, last = max(first, FIRST_YEAR), min(last, LAST_YEAR)
            if not first <= first_year <= last_year <= last:
                raise CalendarError(f"the working-day calendar covers {FIRST_YEAR}–{LAST_YEAR};"
                                    f" {first_year if first_year < FIRST_YEAR else last_year}"
                                    " is outside it")
            before: list[int] = []
            working: list[int] = []
            for year in range(first, last + 1):
                table = self._year(year)
                base = len(working)
                before.extend(base + k for k in table.before[:-1])
                working.extend(table.working)
            before.append(len(working))
            span = _Span(first_year=first, last_year=last,
                         first_ordinal=date(first, 1, 1).toordinal(),
                         before=tuple(before), working=tuple(working))
            self._span = span
            return span

    def _position(self, span: _Span, local: datetime) -> int:
        """Working position of ``local`` in microseconds of office time (global)."""
        g, working = _locate(span, local.date())
        return g * self._day_us + (self._offset(_clock_us(local)) if working else 0)

    def _at_position(self, span: _Span, position: int) -> datetime:
        g, offset = divmod(position, self._day_us)
        if offset == 0:  # a day boundary reads as the closing time of the day before
            g, offset = g - 1, self._day_us
        return self._instant(_kth(span, g), offset, boundary_end=True)

    def _offset(self, us: int) -> int:
        """Office time already spent at ``us`` microseconds after midnight."""
        for (start, end), before in zip(self._sessions_us, self._cum, strict=True):
            if us <= start:
                return before
            if us < end:
                return before + us - start
        return self._day_us

    def _in_office(self, us: int) -> bool:
        return any(start <= us <= end for start, end in self._sessions_us)

    def _instant(self, day: date, offset: int, *, boundary_end: bool) -> datetime:
        """The instant ``offset`` of office time into ``day``.

        On a boundary between sessions, ``boundary_end`` picks the end of the earlier one
        (a deadline) rather than the start of the next (a snapped start).
        """
        for (start, end), before in zip(self._sessions_us, self._cum, strict=True):
            length = end - start
            if offset < before + length or (boundary_end and offset == before + length):
                return _at(day, start + offset - before)
        return _at(day, self._close_us)

    def _closing(self, day: date) -> datetime:
        return _at(day, self._close_us)

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.name or 'custom'})"


def _locate(span: _Span, day: date) -> tuple[int, bool]:
    """(global index of ``day`` or of the next working day, whether ``day`` works)."""
    i = day.toordinal() - span.first_ordinal
    before = span.before
    if not 0 <= i < len(before) - 1:
        raise _Outside(day.year, day.year)
    k = before[i]
    return k, before[i + 1] > k


def _kth(span: _Span, g: int) -> date:
    """The working day with global index ``g``."""
    if 0 <= g < len(span.working):
        return date.fromordinal(span.working[g])
    # ~250 working days a year: ask for enough years to reach it, and one more
    if g < 0:
        raise _Outside(span.first_year - (-g // 200 + 1), span.last_year)
    raise _Outside(span.first_year, span.last_year + (g - len(span.working)) // 200 + 1)


def describe_working_time(delta: timedelta, day_length: timedelta = timedelta(hours=8)) -> str:
    """Remaining or overdue working time as users read it: "Còn 2 ngày 3 giờ", "Quá 45 phút".

    A day is ``day_length`` of office time; minutes are shown only under one day; the rest is
    rounded down.
    """
    total_minutes = int(abs(delta) // timedelta(minutes=1))
    if total_minutes == 0:
        return "Đến hạn"
    day_minutes = int(day_length // timedelta(minutes=1))
    days, minutes = divmod(total_minutes, day_minutes)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} ngày"] if days else []
    if hours:
        parts.append(f"{hours} giờ")
    if minutes and not days:
        parts.append(f"{minutes} phút")
    if not parts:  # only minutes beyond whole days
        parts.append(f"{days} ngày")
    return ("Còn " if delta > timedelta(0) else "Quá ") + " ".join(parts)


# --- small parsers ----------------------------------------------------------------------------

def _local(value: datetime, what: str) -> datetime:
    if value.__class__ is datetime and value.tzinfo is LOCAL_TZ:
        return value  # the common case: already Vietnam time
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(LOCAL_TZ)


def _unit(unit: str | Enum) -> str:
    found = _UNIT_NAMES.get(unit) if isinstance(unit, str) else None
    if found is not None:
        return found
    name = unit.value if isinstance(unit, Enum) else unit
    if name not in _UNIT_NAMES:
        raise InvalidInput(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")
    return str(name)


def _cutoff(value: time | str | None) -> int | None:
    if value is None:
        return None
    return _time_us(_parse_time(value, "cutoff"))


def _parse_time(value: time | str, what: str) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise InvalidInput(f"{what} is a local office time; give it without a time zone")
        return value
    if isinstance(value, str):
        try:
            hours, minutes = value.split(":")
            return time(int(hours), int(minutes))
        except ValueError:
            pass
    raise InvalidInput(f"{what} must be a time or 'HH:MM'; got {value!r}")


def _parse_sessions(sessions: Sequence[tuple[time | str, time | str]],
                    ) -> tuple[tuple[time, time], ...]:
    try:
        parsed = tuple((_parse_time(a, "session start"), _parse_time(b, "session end"))
                       for a, b in sessions)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput("sessions must be (start, end) pairs") from None
    if not parsed:
        raise InvalidInput("a calendar needs at least one office session")
    previous_end = time(0, 0)
    for index, (start, end) in enumerate(parsed):
        if not start < end:
            raise InvalidInput(f"session {index + 1} ends before it starts ({start}–{end})")
        if index and start < previous_end:
            raise InvalidInput(f"session {index + 1} overlaps or precedes the one before it")
        previous_end = end
    return parsed


def _weekday(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 6:
        raise InvalidInput(f"weekly rest days are weekday numbers 0 (Monday)–6 (Sunday); "
                           f"got {value!r}")
    return value


def _date(value: date, what: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(f"{what} takes dates; got {value!r}")
    return value


def _time_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * _US_PER_SECOND \
        + value.microsecond


def _clock_us(local: datetime) -> int:
    return ((local.hour * 60 + local.minute) * 60 + local.second) * _US_PER_SECOND \
        + local.microsecond


def _at(day: date, us: int) -> datetime:
    seconds, micro = divmod(us, _US_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=LOCAL_TZ)



"""The working-day calendar: the deadlines users are ranked on, worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.calendar import WorkingCalendar, describe_working_time
from dossier.clock import LOCAL_TZ
from dossier.errors import CalendarError, DossierError, InvalidInput
from dossier.procedure.model import TimeUnit

VN = WorkingCalendar.vietnam()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


# --- the national calendar --------------------------------------------------------------------

@pytest.mark.parametrize(("day", "working"), [
    (date(2025, 1, 27), False),   # 29 Tết (Tết break 25/1–2/2/2025)
    (date(2025, 1, 31), False),   # mùng 3 Tết
    (date(2025, 2, 3), True),     # first working day after Tết
    (date(2025, 4, 7), False),    # Giỗ Tổ Hùng Vương (10/3 âm lịch)
    (date(2025, 4, 26), True),    # Saturday made a working day (làm bù for 2/5)
    (date(2025, 5, 2), False),    # the day off it buys
    (date(2025, 9, 1), False),    # Quốc khánh
    (date(2025, 9, 2), False),
    (date(2025, 9, 6), False),    # an ordinary Saturday
    (date(2025, 9, 8), True),     # an ordinary Monday
    (date(2026, 4, 27), False),   # Giỗ Tổ 2026 falls on Sunday: nghỉ bù on Monday
])
def test_vietnam_working_days(day: date, working: bool) -> None:
    assert VN.is_working_day(day) is working


def test_working_days_in_2025() -> None:
    # 261 weekdays − 12 weekday holidays + 1 make-up Saturday
    assert VN.working_days_between(date(2025, 1, 1), date(2026, 1, 1)) == 250
    assert VN.working_days_between(date(2026, 1, 1), date(2025, 1, 1)) == -250


# --- add: the examples of the rules ----------------------------------------------------------

@pytest.mark.parametrize(("start", "amount", "unit", "cutoff", "due"), [
    # a result exactly on a session boundary is the end of the earlier session
    (at(2025, 9, 8, 7, 0), 1, "working_days", None, at(2025, 9, 8, 17, 0)),
    (at(2025, 9, 8, 13, 30), 1, "working_days", None, at(2025, 9, 9, 11, 30)),
    (at(2025, 9, 8, 7, 0), 4, "working_hours", None, at(2025, 9, 8, 11, 0)),
    (at(2025, 9, 8, 7, 0), 5, "working_hours", None, at(2025, 9, 8, 14, 0)),
    (at(2025, 9, 8, 9, 0), 2, "working_hours", None, at(2025, 9, 8, 11, 0)),
    (at(2025, 9, 8, 10, 30), 1, "working_hours", None, at(2025, 9, 8, 11, 30)),
    (at(2025, 9, 8, 11, 0), 1, "working_hours", None, at(2025, 9, 8, 14, 0)),
    # outside office time a start snaps forward to the next session start
    (at(2025, 9, 8, 12, 0), 1, "working_hours", None, at(2025, 9, 8, 14, 30)),
    (at(2025, 9, 8, 18, 0), 1, "working_hours", None, at(2025, 9, 9, 8, 0)),
    (at(2025, 9, 8, 5, 0), 1, "working_hours", None, at(2025, 9, 8, 8, 0)),
    (at(2025, 9, 6, 9, 0), 8, "working_hours", None, at(2025, 9, 8, 17, 0)),   # Saturday
    # working days keep the office time: Friday 10:00 before Tết → first day after at 10:00
    (at(2025, 1, 24, 10, 0), 1, "working_days", None, at(2025, 2, 3, 10, 0)),
    (at(2025, 8, 29, 10, 0), 1, "working_days", None, at(2025, 9, 3, 10, 0)),  # Quốc khánh
    (at(2025, 4, 25, 10, 0), 1, "working_days", None, at(2025, 4, 26, 10, 0)),  # làm bù Sat
    (at(2025, 4, 25, 10, 0), 2, "working_days", None, at(2025, 4, 28, 10, 0)),
    (at(2025, 4, 29, 10, 0), 1, "working_days", None, at(2025, 5, 5, 10, 0)),   # 30/4–4/5 off
    (at(2025, 9, 8, 9, 0), 10, "working_days", None, at(2025, 9, 22, 9, 0)),
    (at(2025, 12, 31, 9, 0), 1, "working_days", None, at(2026, 1, 2, 9, 0)),
    # a cut-off moves a later start to the next working day's opening
    (at(2025, 9, 8, 16, 0), 1, "working_days", "15:00", at(2025, 9, 9, 17, 0)),
    (at(2025, 9, 8, 15, 0), 1, "working_days", "15:00", at(2025, 9, 9, 15, 0)),
    (at(2025, 9, 8, 16, 0), 2, "working_hours", time(15, 0), at(2025, 9, 9, 9, 0)),
    # calendar days: the N-th day after, closing time, rolled to a working day
    (at(2025, 9, 8, 9, 0), 3, "calendar_days", None, at(2025, 9, 11, 17, 0)),
    (at(2025, 9, 4, 9, 0), 2, "calendar_days", None, at(2025, 9, 8, 17, 0)),   # Sat → Mon
    (at(2025, 8, 29, 10, 0), 3, "calendar_days", None, at(2025, 9, 3, 17, 0)),  # 1/9 holiday
    (at(2025, 9, 8, 16, 0), 1, "calendar_days", "15:00", at(2025, 9, 10, 17, 0)),
    # same day with a cut-off (15:00 by default)
    (at(2025, 9, 8, 15, 0), 0, "same_day", None, at(2025, 9, 8, 17, 0)),
    (at(2025, 9, 8, 15, 1), 0, "same_day", None, at(2025, 9, 9, 17, 0)),
    (at(2025, 9, 8, 6, 30), 0, "same_day", None, at(2025, 9, 8, 17, 0)),
    (at(2025, 9, 8, 11, 0), 0, "same_day", "10:00", at(2025, 9, 9, 17, 0)),
    (at(2025, 9, 6, 9, 0), 0, "same_day", None, at(2025, 9, 8, 17, 0)),        # Saturday
    (at(2025, 8, 29, 16, 0), 0, "same_day", None, at(2025, 9, 3, 17, 0)),
])
def test_add(start: datetime, amount: int, unit: str, cutoff: str | time | None,
             due: datetime) -> None:
    assert VN.add(start, amount, unit, cutoff=cutoff) == due


def test_add_accepts_the_procedure_unit_enum_and_any_time_zone() -> None:
    start_utc = at(2025, 9, 8, 9, 0).astimezone(UTC)
    due = VN.add(start_utc, 10, TimeUnit.WORKING_DAYS)
    assert due == at(2025, 9, 22, 9, 0)
    assert due.tzinfo == LOCAL_TZ
    paris = at(2025, 9, 8, 9, 0).astimezone(ZoneInfo("Europe/Paris"))
    assert VN.add(paris, 1, "working_days") == at(2025, 9, 9, 9, 0)


def test_one_thousand_working_days() -> None:
    start = at(2025, 9, 8, 9, 0)
    due = VN.add(start, 1000, "working_days")
    assert VN.working_days_between(start.date(), due.date()) == 1000
    assert due.time() == time(9, 0)


# --- agency overrides ----------------------------------------------------------------------

def test_overrides_days_off_working_days_rest_days_sessions() -> None:
    agency = VN.with_overrides(extra_days_off=[date(2025, 9, 9)],
                               extra_working_days=[date(2025, 9, 13)], name="UBND xã X")
    assert not agency.is_working_day(date(2025, 9, 9))
    assert agency.is_working_day(date(2025, 9, 13))
    assert agency.add(at(2025, 9, 8, 9, 0), 1, "working_days") == at(2025, 9, 10, 9, 0)
    assert VN.is_working_day(date(2025, 9, 9))  # the national calendar is untouched

    saturday_mornings = VN.with_overrides(weekly_rest_days=[6])
    assert saturday_mornings.is_working_day(date(2025, 9, 6))
    assert saturday_mornings.add(at(2025, 9, 5, 9, 0), 1, "working_days") == at(2025, 9, 6, 9, 0)

    long_day = VN.with_overrides(sessions=[("07:30", "12:00"), ("13:00", "16:30")])
    assert long_day.working_day_length == timedelta(hours=8)
    assert long_day.add(at(2025, 9, 8, 7, 30), 1, "working_days") == at(2025, 9, 8, 16, 30)
    assert long_day.add(at(2025, 9, 8, 9, 0), 0, "same_day") == at(2025, 9, 8, 16, 30)

    short = VN.with_overrides(sessions=[("08:00", "12:00")])
    assert short.working_day_length == timedelta(hours=4)
    assert short.add(at(2025, 9, 8, 8, 0), 1, "working_days") == at(2025, 9, 8, 12, 0)
    assert short.add(at(2025, 9, 8, 10, 0), 3, "working_hours") == at(2025, 9, 9, 9, 0)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: VN.add(datetime(2025, 9, 8, 9, 0), 1, "working_days"), "timezone-aware"),  # noqa: DTZ001
    (lambda: VN.add(at(2025, 9, 8, 9, 0), 1, "fortnights"), "unit must be one of"),
    (lambda: VN.add(at(2025, 9, 8, 9, 0), -1, "working_days"), "non-negative"),
    (lambda: VN.add(at(2025, 9, 8, 9, 0), 1.5, "working_days"), "whole number"),
    (lambda: VN.add(at(2025, 9, 8, 9, 0), 1, "working_days", cutoff="3pm"), "HH:MM"),
    (lambda: VN.with_overrides(sessions=[("11:00", "08:00")]), "ends before it starts"),
    (lambda: VN.with_overrides(sessions=[("07:00", "12:00"), ("11:00", "17:00")]), "overlaps"),
    (lambda: VN.with_overrides(sessions=[]), "at least one office session"),
    (lambda: VN.with_overrides(weekly_rest_days=range(7)), "at least one weekday"),
    (lambda: VN.with_overrides(weekly_rest_days=[7]), "weekday numbers"),
    (lambda: VN.with_overrides(extra_days_off=[date(2025, 9, 9)],
                               extra_working_days=[date(2025, 9, 9)]), "both"),
])
def test_bad_input_is_a_clear_error(call: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        call()  # type: ignore[operator]


def test_years_outside_the_data_are_refused() -> None:
    with pytest.raises(CalendarError, match="1979–2099") as caught:
        VN.add(at(2100, 1, 4, 9, 0), 1, "working_days")
    assert isinstance(caught.value, DossierError)


# --- working time between and its display ----------------------------------------------------

def test_working_time_between() -> None:
    assert VN.working_time_between(at(2025, 9, 8, 9, 0), at(2025, 9, 8, 14, 0)) == \
        timedelta(hours=3)
    # across the Quốc khánh break: Fri 16:00 → Wed 8:00 is 1 + 1 hours of office time
    assert VN.working_time_between(at(2025, 8, 29, 16, 0), at(2025, 9, 3, 8, 0)) == \
        timedelta(hours=2)
    assert VN.working_time_between(at(2025, 9, 3, 8, 0), at(2025, 8, 29, 16, 0)) == \
        timedelta(hours=-2)
    assert VN.working_time_between(at(2025, 9, 6, 9, 0), at(2025, 9, 7, 9, 0)) == timedelta(0)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(hours=19), "Còn 2 ngày 3 giờ"),
    (timedelta(hours=-10), "Quá 1 ngày 2 giờ"),
    (timedelta(hours=3, minutes=20), "Còn 3 giờ 20 phút"),
    (timedelta(minutes=-45), "Quá 45 phút"),
    (timedelta(hours=16, minutes=30), "Còn 2 ngày"),
    (timedelta(seconds=20), "Đến hạn"),
])
def test_describe_working_time(delta: timedelta, text: str) -> None:
    assert describe_working_time(delta) == text


def test_remaining_text() -> None:
    assert VN.remaining_text(at(2025, 9, 8, 9, 0), at(2025, 9, 10, 12, 0)) == "Còn 2 ngày 2 giờ"
    assert VN.remaining_text(at(2025, 9, 10, 16, 0), at(2025, 9, 9, 15, 0)) == "Quá 1 ngày 1 giờ"


# --- properties ----------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),  # noqa: DTZ001
                        timezones=st.just(LOCAL_TZ))
units = st.sampled_from(["working_hours", "working_days", "calendar_days", "same_day"])
cutoffs = st.one_of(st.none(), st.times(min_value=time(7, 0), max_value=time(17, 0)))


def _in_office(instant: datetime, calendar: WorkingCalendar = VN) -> bool:
    local = instant.astimezone(LOCAL_TZ)
    return calendar.is_working_day(local.date()) and any(
        start <= local.time() <= end for start, end in calendar.sessions)


@settings(max_examples=300, deadline=None)
@given(start=instants, amount=st.integers(0, 400), unit=units, cutoff=cutoffs)
def test_due_is_inside_office_time_on_a_working_day(start: datetime, amount: int, unit: str,
                                                    cutoff: time | None) -> None:
    due = VN.add(start, amount, unit, cutoff)
    assert _in_office(due)
    if amount or unit == "same_day":
        assert due > start


@settings(max_examples=300, deadline=None)
@given(a=instants, b=instants, amount=st.integers(0, 300), unit=units, cutoff=cutoffs)
def test_monotonic_in_start(a: datetime, b: datetime, amount: int, unit: str,
                            cutoff: time | None) -> None:
    early, late = sorted((a, b))
    assert VN.add(early, amount, unit, cutoff) <= VN.add(late, amount, unit, cutoff)


@settings(max_examples=300, deadline=None)
@given(start=instants, m=st.integers(0, 300), n=st.integers(0, 300), unit=units,
       cutoff=cutoffs)
def test_monotonic_in_amount(start: datetime, m: int, n: int, unit: str,
                             cutoff: time | None) -> None:
    low, high = sorted((m, n))
    assert VN.add(start, low, unit, cutoff) <= VN.add(start, high, unit, cutoff)


@settings(max_examples=300, deadline=None)
@given(start=instants, hours=st.integers(0, 2000))
def test_working_hours_round_trip(start: datetime, hours: int) -> None:
    due = VN.add(start, hours, "working_hours")
    assert VN.working_time_between(start, due) == timedelta(hours=hours)


@settings(max_examples=200, deadline=None)
@given(start=instants, days=st.integers(0, 500))
def test_working_days_are_eight_working_hours(start: datetime, days: int) -> None:
    assert VN.add(start, days, "working_days") == VN.add(start, 8 * days, "working_hours")


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_working_time_adds_up(a: datetime, b: datetime, c: datetime) -> None:
    assert VN.working_time_between(a, b) + VN.working_time_between(b, c) == \
        VN.working_time_between(a, c)
    assert VN.working_time_between(a, b) == -VN.working_time_between(b, a)


def test_prepare_builds_the_years_ahead_so_later_deadlines_ask_for_no_holidays() -> None:
    asked: list[int] = []

    def holidays(year: int) -> tuple[frozenset[date], frozenset[date]]:
        asked.append(year)
        return frozenset(), frozenset()

    calendar = WorkingCalendar(holidays=holidays)
    calendar.prepare(2025, 2026)
    assert {2025, 2026} <= set(asked)
    asked.clear()
    assert calendar.add(at(2025, 12, 30, 9, 0), 10, "working_days") == at(2026, 1, 13, 9, 0)
    assert asked == []
    calendar.prepare(1900, 1901)  # outside the calendar's years: nothing to do, no error

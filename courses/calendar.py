"""Training calendars: which days of a run are scheduled training days, and Korean working days.

Every money rule counts training days: a unit period's attendance rate (attended over scheduled days), its
share of the government share, the self-pay refund after a dropout, the free-withdrawal window. So the days
are decided once and stored with the run (`Run.schedule`), never recomputed on the fly: a later holiday-table
update or a feed correction cannot silently change what an enrolment already earned or owes.

`Run.schedule` holds one character per calendar day from the start date to the end date: "1" a scheduled
training day, "0" not. A provider's own calendar (`schedule_source = "provider"`) is kept as submitted. Any
other run's calendar is derived from what the feed says (`schedule_source = "feed"`):

1. The candidate days are those the feed's 주중/주말 kind allows (`wkendSe`: weekday → Monday–Friday;
   weekend → Saturday and Sunday; mixed → every day; unknown → Monday–Friday, the usual case), minus Korean
   public holidays (the `holidays` package, substitute holidays included).
2. When the feed gives the number of training days (총 훈련일수, `trDcnt`) and the candidates are more, that
   many days are spread evenly over them, first and last candidate included (the run does train on its
   start and end dates); when the candidates are fewer, the next most likely days are added first
   (Saturdays, then Sundays, then holidays) before spreading. A count above the run's calendar days cannot
   be met: every day is then a training day.
3. A run always has at least one training day: when no candidate is left (a one-day run on a holiday), its
   every calendar day is scheduled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays

TRAINING, REST = "1", "0"
WEEKDAYS = frozenset(range(5))  # Monday..Friday
SATURDAY, SUNDAY = 5, 6
SOURCES = ("feed", "provider")


class CalendarError(ValueError):
    """A submitted calendar that cannot be a run's (a day outside the run, or no day at all)."""


# -- Korean working days ----------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.KR(years=year))


def is_public_holiday(day: date) -> bool:
    return day in _holidays_of(day.year)


def holiday_name(day: date) -> str | None:
    """The Korean name of a public holiday (e.g. 추석), or None on other days."""
    return holidays.KR(years=day.year, language="ko").get(day)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() in WEEKDAYS and not is_public_holiday(day)


def next_working_day(day: date) -> date:
    """The day itself when it is a working day, else the first working day after it (민법 제161조: a period
    whose last day is a Saturday or a public holiday ends on the next day)."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


# -- deriving a run's calendar from the feed ----------------------------------------------------------------


@lru_cache(maxsize=32768)  # pure; many runs share their dates and pattern (a feed import derives one per run)
def derive_schedule(start: date, end: date, weekend: str, training_days: int | None) -> str:
    """The calendar string of a feed run (see the module docstring for the rule)."""
    if end < start:
        raise CalendarError("종료일이 시작일보다 앞설 수 없습니다.")
    span = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    wanted = training_days if training_days and training_days > 0 else None
    chosen: list[date] = []
    for widening in _widenings(weekend):
        chosen = [day for day in span if widening(day)]
        if wanted is None or len(chosen) >= wanted:
            break
    if not chosen:
        chosen = span
    if wanted is not None and len(chosen) > wanted:
        chosen = _spread(chosen, wanted)
    return encode(start, end, chosen)


def _widenings(weekend: str):
    """The candidate-day tests to try in turn, each admitting more days than the one before."""

    def holiday(day: date) -> bool:
        return is_public_holiday(day)

    def weekdays(day: date) -> bool:
        return day.weekday() in WEEKDAYS and not holiday(day)

    def weekends(day: date) -> bool:
        return day.weekday() in (SATURDAY, SUNDAY) and not holiday(day)

    def with_saturdays(day: date) -> bool:
        return day.weekday() != SUNDAY and not holiday(day)

    def every_day_but_holidays(day: date) -> bool:
        return not holiday(day)

    def every_day(_day: date) -> bool:
        return True

    if weekend == "weekend":
        return (weekends, every_day_but_holidays, every_day)
    if weekend == "mixed":
        return (every_day_but_holidays, every_day)
    return (weekdays, with_saturdays, every_day_but_holidays, every_day)  # weekday, unknown


def _spread(days: list[date], count: int) -> list[date]:
    """`count` of `days`, evenly spaced, the first and the last always included."""
    if count == 1:
        return [days[0]]
    last = len(days) - 1
    return [days[round(i * last / (count - 1))] for i in range(count)]


# -- the stored form -----------------------------------------------------------------------------------------


def encode(start: date, end: date, days: Iterable[date]) -> str:
    """The calendar string for these training days, which must all lie in [start, end]."""
    marks = [REST] * ((end - start).days + 1)
    for day in days:
        if not start <= day <= end:
            raise CalendarError(f"훈련일 {day}은(는) 훈련 기간({start} ~ {end}) 밖입니다.")
        marks[(day - start).days] = TRAINING
    if TRAINING not in marks:
        raise CalendarError("훈련일이 하루도 없습니다.")
    return "".join(marks)


def decode(start: date, schedule: str) -> list[date]:
    return [start + timedelta(days=offset) for offset, mark in enumerate(schedule) if mark == TRAINING]


def valid(start: date, end: date, schedule: str | None) -> bool:
    """The string covers exactly [start, end], holds only 0 and 1, and has a training day."""
    return (
        schedule is not None
        and len(schedule) == (end - start).days + 1
        and set(schedule) <= {TRAINING, REST}
        and TRAINING in schedule
    )


# -- a run's calendar ------------------------------------------------------------------------------------------


def feed_schedule(run) -> str:
    """The calendar a feed run would have from its own start, end, 주중/주말 kind and training-day count."""
    return derive_schedule(run.start_date, run.end_date, run.weekend, run.days)


def refresh(run) -> None:
    """Keep a feed run's calendar in step with its dates; a provider's calendar is kept while it still fits
    the run's dates, else (dates changed without a new calendar) the run falls back to the feed's rule."""
    if run.schedule_source == "provider" and valid(run.start_date, run.end_date, run.schedule):
        return
    run.schedule, run.schedule_source = feed_schedule(run), "feed"


def set_provider_schedule(run, days: Iterable[date]) -> None:
    """A provider's own calendar of scheduled days (raises CalendarError when it cannot be the run's)."""
    run.schedule = encode(run.start_date, run.end_date, days)
    run.schedule_source = "provider"


def training_days(run) -> list[date]:
    """The run's scheduled training days, in order."""
    return decode(run.start_date, run.schedule)


def training_day_count(run) -> int:
    return run.schedule.count(TRAINING)


def is_training_day(run, day: date) -> bool:
    offset = (day - run.start_date).days
    return 0 <= offset < len(run.schedule) and run.schedule[offset] == TRAINING


def days_between(run, first: date, last: date) -> list[date]:
    """Scheduled training days from first to last, both included."""
    return [day for day in training_days(run) if first <= day <= last]

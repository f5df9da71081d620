"""Training calendars: derived from the feed with Korean public holidays, or the provider's own, stored with the run."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courses import calendar
from courses.models import Run
from hrdnet.extensions import db


def days_of(schedule: str, start: date) -> list[date]:
    return calendar.decode(start, schedule)


def test_a_weekday_run_trains_monday_to_friday_and_skips_public_holidays():
    # 2026-09-21 (Mon) .. 2026-10-09 (Fri): 추석 24–26 Sep, 개천절 대체공휴일 5 Oct, 한글날 9 Oct.
    days = days_of(calendar.derive_schedule(date(2026, 9, 21), date(2026, 10, 9), "weekday", None), date(2026, 9, 21))
    assert date(2026, 9, 24) not in days and date(2026, 9, 25) not in days
    assert date(2026, 10, 5) not in days and date(2026, 10, 9) not in days
    assert all(day.weekday() < 5 for day in days)
    assert days == [
        date(2026, 9, 21),
        date(2026, 9, 22),
        date(2026, 9, 23),
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 1),
        date(2026, 10, 2),
        date(2026, 10, 6),
        date(2026, 10, 7),
        date(2026, 10, 8),
    ]


def test_a_weekend_run_trains_on_saturdays_and_sundays():
    start = date(2026, 11, 7)  # a Saturday
    days = days_of(calendar.derive_schedule(start, start + timedelta(days=22), "weekend", None), start)
    assert [day.weekday() for day in days] == [5, 6, 5, 6, 5, 6, 5, 6]


def test_the_feeds_training_day_count_is_spread_evenly_and_keeps_the_first_and_last_day():
    start, end = date(2026, 11, 2), date(2026, 12, 31)  # 43 weekdays, 크리스마스 excluded → 42 candidates
    schedule = calendar.derive_schedule(start, end, "weekday", 40)
    days = days_of(schedule, start)
    assert len(days) == 40
    assert days[0] == start and days[-1] == end
    assert date(2026, 12, 25) not in days
    assert len(set(days)) == 40


def test_a_count_above_the_weekdays_adds_saturdays_first():
    start, end = date(2026, 11, 2), date(2026, 11, 15)  # 10 weekdays, 2 Saturdays, 2 Sundays
    days = days_of(calendar.derive_schedule(start, end, "unknown", 12), start)
    assert len(days) == 12
    assert [day for day in days if day.weekday() == 6] == []


def test_a_count_above_the_calendar_days_schedules_every_day():
    start = date(2026, 11, 2)
    assert calendar.derive_schedule(start, start + timedelta(days=4), "weekday", 80) == "11111"


def test_a_one_day_run_on_a_holiday_still_has_its_day():
    assert calendar.derive_schedule(date(2026, 12, 25), date(2026, 12, 25), "weekday", None) == "1"


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2021, 1, 1), max_value=date(2027, 12, 31)),
    length=st.integers(min_value=0, max_value=400),
    weekend=st.sampled_from(["weekday", "weekend", "mixed", "unknown"]),
    count=st.one_of(st.none(), st.integers(min_value=0, max_value=500)),
)
def test_every_derived_calendar_fits_its_run(start, length, weekend, count):
    end = start + timedelta(days=length)
    schedule = calendar.derive_schedule(start, end, weekend, count)
    assert calendar.valid(start, end, schedule)
    if count:
        assert schedule.count("1") == min(count, length + 1)


def test_working_days_roll_past_weekends_and_holidays():
    assert calendar.next_working_day(date(2026, 11, 6)) == date(2026, 11, 6)  # a Friday
    assert calendar.next_working_day(date(2026, 11, 7)) == date(2026, 11, 9)  # Saturday → Monday
    assert calendar.next_working_day(date(2026, 9, 24)) == date(2026, 9, 28)  # 추석 연휴 → Monday
    assert calendar.holiday_name(date(2026, 9, 25)) == "추석"


def test_a_provider_calendar_must_lie_within_the_run():
    run = Run(start_date=date(2026, 11, 2), end_date=date(2026, 11, 6), weekend="weekday", days=5)
    calendar.set_provider_schedule(run, [date(2026, 11, 2), date(2026, 11, 4)])
    assert run.schedule == "10100" and run.schedule_source == "provider"
    with pytest.raises(calendar.CalendarError, match="밖입니다"):
        calendar.set_provider_schedule(run, [date(2026, 11, 9)])
    with pytest.raises(calendar.CalendarError, match="하루도"):
        calendar.set_provider_schedule(run, [])


def test_a_run_gets_its_calendar_when_written_and_follows_new_dates(app, catalog):
    run = catalog.run(start=date(2026, 11, 2), days=11, weekend="weekday")
    run.days = None  # the catalog factory's default count does not fit 12 calendar days
    db.session.commit()
    assert calendar.training_days(run) == [
        date(2026, 11, 2) + timedelta(days=offset) for offset in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)
    ]
    run.end_date = date(2026, 11, 6)
    db.session.commit()
    assert run.schedule == "11111"


def test_a_provider_calendar_survives_a_feed_update_that_keeps_the_dates(app, catalog):
    run = catalog.run(start=date(2026, 11, 2), days=4, weekend="weekday")
    calendar.set_provider_schedule(run, [date(2026, 11, 3), date(2026, 11, 5)])
    db.session.commit()
    run.fee += 10_000
    db.session.commit()
    assert run.schedule == "01010" and run.schedule_source == "provider"
    run.end_date, run.days = date(2026, 11, 9), None  # new dates without a new calendar: the feed's rule
    db.session.commit()
    assert run.schedule_source == "feed" and calendar.training_day_count(run) == 6

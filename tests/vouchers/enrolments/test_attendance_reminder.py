"""The day before a unit period ends, the provider is reminded once of the days still unmarked (they count as
absences when the period is over)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from courses import calendar
from courses.portal.models import ProviderNotice
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.vouchers import ACTOR
from vouchers.cards.rules import add_months
from vouchers.enrolments import attendance, roster
from vouchers.enrolments import operations as enrolments


def _start_ending_tomorrow(today):
    """A start date whose first unit period (a month) ends tomorrow."""
    return next(
        today - timedelta(days=d)
        for d in range(20, 40)
        if add_months(today - timedelta(days=d), 1) - timedelta(days=1) == today + timedelta(days=1)
    )


def test_unmarked_days_are_reminded_once_the_day_before_the_period_ends(world, make_user, mailbox, today):
    run = world.run(start=_start_ending_tomorrow(today), days=59)
    other = world.run(start=today - timedelta(days=3), days=59)  # its period does not end tomorrow
    diligent, forgotten = world.learner(), world.learner()
    first = world.enrol(diligent, run, today=run.start_date - timedelta(days=1))
    world.enrol(forgotten, run, today=run.start_date - timedelta(days=1))
    world.enrol(world.learner(), other, today=other.start_date - timedelta(days=1))
    with unit_of_work(write_lock=True):
        enrolments.start_due(today)
        for day in calendar.days_between(run, run.start_date, today):
            attendance.record(first.id, day, "present", actor=ACTOR, today=today)
    staff = make_user("provider")
    staff.provider_id = run.course.provider_id
    db.session.commit()
    staff_email = staff.email
    unmarked = len(calendar.days_between(run, run.start_date, today))

    with unit_of_work(write_lock=True):
        assert roster.remind_unmarked(today) == 1
    with unit_of_work(write_lock=True):
        assert roster.remind_unmarked(today) == 0  # once per run and period
    [notice] = db.session.scalars(select(ProviderNotice)).all()
    assert notice.provider_id == run.course.provider_id and f"{unmarked}건" in notice.message
    assert any("결석으로 처리" in m.get_content() for m in mailbox() if m["To"] == staff_email)

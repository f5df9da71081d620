"""The enrolment lifecycle end to end through the services: price, hold, pay, cancel, attend, settle, complete."""

from __future__ import annotations

from datetime import timedelta

import pytest

from courses import calendar
from hrdnet import audit
from hrdnet.db import unit_of_work
from hrdnet.timeutil import utcnow
from tests.support.vouchers import ACTOR
from vouchers import checkout, errors
from vouchers.enrolments import attendance, endings
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import EnrolmentStatus
from vouchers.ledger import operations as ledger

pytestmark = pytest.mark.both_dbs


def test_enrol_and_pay_draws_the_government_share_from_the_card(world):
    learner = world.learner()
    run = world.run(fee=1_000_000)  # employment 75 % → 15 % self-pay
    enrolment = world.enrol(learner, run)
    assert enrolment.status == EnrolmentStatus.CONFIRMED
    assert (enrolment.self_pay, enrolment.card_draw) == (150_000, 850_000)
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (3_000_000 - 850_000, 0, 850_000)
    assert figures.balanced
    assert ledger.verify().ok and audit.verify().ok


def test_cancel_before_start_returns_everything(world, today):
    learner = world.learner()
    run = world.run()
    enrolment = world.enrol(learner, run)
    with unit_of_work(write_lock=True):
        preview = checkout.cancel(enrolment.id, on=today, actor=ACTOR)
    assert preview.free and preview.self_pay_refund == 150_000 and preview.card_return == 850_000
    figures = world.figures(learner)
    assert figures.available == 3_000_000 and figures.spent == 0 and figures.balanced
    assert enrolments.get(enrolment.id).status == EnrolmentStatus.WITHDRAWN
    assert ledger.verify().ok


def test_attend_settle_and_complete(world, today):
    learner = world.learner()
    start = today - timedelta(days=70)
    run = world.run(start=start, days=59, fee=1_000_000)
    enrolment = world.enrol(learner, run, today=start - timedelta(days=1))
    with unit_of_work(write_lock=True):
        enrolments.start_due(today)
        for day in calendar.training_days(run):
            attendance.record(enrolment.id, day, "present", actor=ACTOR, today=today)
    with unit_of_work(write_lock=True):
        endings.decide_completion(enrolment.id, on=today, actor=ACTOR)
    enrolment = enrolments.get(enrolment.id)
    assert enrolment.status == EnrolmentStatus.COMPLETED
    figures = world.figures(learner)
    assert figures.balanced
    assert ledger.verify().ok and audit.verify().ok


def test_second_enrolment_on_full_run_is_refused(world, today):
    run = world.run(capacity=1)
    first, second = world.learner(), world.learner()
    world.enrol(first, run)
    with pytest.raises(errors.RunFull), unit_of_work(write_lock=True):
        enrolments.enrol(second.id, run.id, request_key="x", now=utcnow(), today=today, actor=ACTOR)


@pytest.mark.parametrize(
    ("programme", "hours", "expected"),
    [("C0061", 640, 116_000), ("C0104", 640, 200_000), ("C0061", 139, None), ("C0104", None, None)],
)
def test_the_quote_shows_the_training_allowance_without_ledgering_it(world, programme, hours, expected, today):
    from vouchers.cards.quote import quote

    learner = world.learner()
    run = world.run(programme=programme, hours=hours)
    assert quote(run, learner.person_id, today).allowance_monthly_max == expected
    enrolment = world.enrol(learner, run)
    assert world.figures(learner).spent == enrolment.card_draw  # nothing but the draw moved

"""The learner's price for a run (vouchers/cards/quote.py): the self-pay row of their status, their exemption
groups, and the training allowance when it can be paid to them. Values from the rule files: the general
bands (15 % at an employment rate of 75 %), the 재직자 row (30 % there), the 차상위 row of the 2017 table (5 %
there), the allowance (5,800원 a day of at least 5 hours, 116,000 a unit period; KDT and 산대특 from 2026:
10,000 and 200,000).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.vouchers import ACTOR
from vouchers.cards import operations as cards
from vouchers.cards.quote import quote


def price(world, today, *, run=None, **learner):
    person = world.learner(**learner)
    return quote(run or world.run(fee=1_000_000), person.person_id, today)


# -- the status table ----------------------------------------------------------------------------------------------


def test_an_unemployed_and_an_employed_learner_pay_by_their_own_rows(world, today):
    run = world.run(fee=1_000_000)  # general course, employment rate 75 %
    unemployed = quote(run, world.learner(status="unemployed").person_id, today)
    employed = quote(run, world.learner(status="employed").person_id, today)
    assert (unemployed.self_pay, unemployed.card_draw, unemployed.priced_as) == (150_000, 850_000, "일반훈련생")
    assert (employed.self_pay, employed.card_draw, employed.priced_as) == (300_000, 700_000, "재직자")
    assert "재직자 기준" in employed.explanation and employed.learner_status == "employed"


@pytest.mark.parametrize(
    ("status", "self_pay"),
    [
        ("self_employed", 300_000),
        ("special_employment", 300_000),
        ("student", 150_000),
        ("short_hours_worker", 150_000),
    ],
)
def test_self_employed_and_special_employment_pay_the_employed_row(world, today, status, self_pay):
    assert price(world, today, status=status).self_pay == self_pay


@pytest.mark.parametrize("status", ["unemployed", "employed"])
@pytest.mark.parametrize("group", ["kua_type1", "basic_livelihood"])
def test_exemption_groups_still_pay_nothing_whatever_the_status(world, today, status, group):
    assert price(world, today, status=status, groups=(group,)).self_pay == 0


def test_near_poor_learners_pay_the_reduced_row(world, today):
    run = world.run(fee=1_000_000)
    near_poor = quote(run, world.learner(groups=("near_poor",)).person_id, today)
    assert (near_poor.self_pay, near_poor.card_draw) == (50_000, 950_000)  # 5 % (2017 table, Ⅱ유형 row)
    assert "차상위계층 감면" in near_poor.explanation
    employed = quote(run, world.learner(status="employed", groups=("near_poor",)).person_id, today)
    assert employed.self_pay == 50_000  # the lower of the 재직자 row and the reduction


def test_near_poor_reduction_follows_its_own_bands(world, today):
    low = world.run(fee=1_000_000, employment_rate_3m=50.0)  # 2017 columns: 45–55 % → 20 %
    assert quote(low, world.learner(groups=("near_poor",)).person_id, today).self_pay == 200_000
    assert quote(low, world.learner().person_id, today).self_pay == 350_000  # 일반훈련생: 35 %


def test_the_status_on_the_day_prices(world, today):
    learner = world.learner(status="unemployed")
    with unit_of_work(write_lock=True):
        cards.record_status(
            learner.person_id,
            employment_status="employed",
            groups=set(),
            effective_from=today + timedelta(days=10),
            actor=ACTOR,
        )
    run = world.run(fee=1_000_000)
    assert quote(run, learner.person_id, today).self_pay == 150_000
    assert quote(run, learner.person_id, today + timedelta(days=10)).self_pay == 300_000


def test_kdt_has_no_status_row(world, today):
    run = world.run(programme="C0104", fee=2_000_000)
    employed = quote(run, world.learner(status="employed").person_id, today)
    unemployed = quote(run, world.learner().person_id, today)
    assert employed.self_pay == unemployed.self_pay and employed.priced_as == ""


# -- the training allowance -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "eligible"),
    [("unemployed", True), ("short_hours_worker", True), ("employed", False), ("self_employed", False)],
)
def test_the_allowance_is_shown_only_to_learners_it_can_be_paid_to(world, today, status, eligible):
    shown = price(world, today, status=status)  # 640 hours over 80 training days: 8-hour days
    assert shown.allowance_eligible is eligible
    expected = (5_800, 116_000) if eligible else (None, None)
    assert (shown.allowance_per_day, shown.allowance_monthly_max) == expected
    as_dict = shown.as_dict()
    assert (as_dict["allowance_per_day"], as_dict["allowance_monthly_max"], as_dict["allowance_eligible"]) == (
        *expected,
        eligible,
    )


@pytest.mark.parametrize(
    ("programme", "hours", "days", "expected"),
    [
        ("C0061", 160, 40, (2_500, 50_000)),  # 4-hour days
        ("C0104", 640, 80, (10_000, 200_000)),  # KDT from 2026
        ("C0102", 640, 80, (10_000, 200_000)),  # 산대특 from 2026
        ("C0061", 139, 20, (None, None)),  # under 140 hours
        ("C0061", 640, None, (None, None)),  # training days unknown
    ],
)
def test_the_allowance_per_day_follows_the_day_length_and_programme(world, today, programme, hours, days, expected):
    run = world.run(programme=programme, hours=hours)  # starts in two weeks (after 2026-01-01)
    run.days = days  # training days (world.run's `days` is the calendar length)
    db.session.commit()
    shown = quote(run, world.learner().person_id, today)
    assert (shown.allowance_per_day, shown.allowance_monthly_max) == expected

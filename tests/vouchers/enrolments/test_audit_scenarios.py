"""The card rules an audit checks, one scenario per finding of the rule review (issue 13), to the won.

Most scenarios use one 60-day general course: fee 1,200,000 at 25 % self-pay (300,000), a government share of
900,000 drawn from the card, and a provider calendar of 30 training days in each of its two unit periods
(1–30 April, 2–31 May 2027). One training day is worth 15,000 of government share. Every money test ends with
`books_balance()`: each card's figures balance, the ledger verifies and the audit log verifies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.rules import copy_card_rules
from tests.support.vouchers import ACTOR, books_balance
from vouchers import checkout, errors
from vouchers.cards import operations as cards
from vouchers.cards import sanctions
from vouchers.cards.models import CardKind, Sanction
from vouchers.cards.quote import quote
from vouchers.enrolments import attendance, endings
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus, Settlement
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Transfer, TransferKind
from vouchers.payments.models import PaymentFlag

pytestmark = pytest.mark.both_dbs

S = EnrolmentStatus
D = date(2027, 3, 15)  # the day learners enrol
NOW = datetime(2027, 3, 15, 1, 0, tzinfo=UTC)
START, END = date(2027, 4, 1), date(2027, 5, 31)
APRIL = [date(2027, 4, day) for day in range(1, 31)]  # unit period 1: 30 training days
MAY = [date(2027, 5, day) for day in range(2, 32)]  # unit period 2: 30 training days
AFTER_END = date(2027, 6, 1)


# -- helpers ----------------------------------------------------------------------------------------------------


def sixty_day_run(world, programme: str = "C0061", fee: int = 1_200_000, **values):
    run = world.run(
        programme=programme, fee=fee, start=START, days=(END - START).days, employment_rate_3m=65.0, **values
    )
    return world.schedule(run, APRIL + MAY)


def enrol(world, user, run, **kwargs):
    return world.enrol(user, run, today=kwargs.pop("today", D), now=kwargs.pop("now", NOW), **kwargs)


def start(on: date = START) -> None:
    with unit_of_work(write_lock=True):
        enrolments.start_due(on)


def settle(today: date) -> None:
    with unit_of_work(write_lock=True):
        attendance.settle_due(today)


def cancel(enrolment, on: date, reason: str | None = None):
    with unit_of_work(write_lock=True):
        return checkout.cancel(enrolment.id, on=on, actor=ACTOR, exempt_reason=reason)


def decide(enrolment, on: date = AFTER_END) -> Enrolment:
    with unit_of_work(write_lock=True):
        endings.decide_completion(enrolment.id, on=on, actor=ACTOR)
    return fresh(enrolment)


def fresh(enrolment) -> Enrolment:
    return db.session.get(Enrolment, enrolment.id, populate_existing=True)


def settled_periods(enrolment) -> dict[int, int]:
    rows = db.session.scalars(select(Settlement).where(Settlement.enrolment_id == enrolment.id, Settlement.period >= 1))
    return {row.period: row.amount for row in rows}


def transfer(key: str) -> Transfer | None:
    return db.session.scalar(select(Transfer).where(Transfer.key == key))


# -- 1. unmarked days are absences --------------------------------------------------------------------------------


def test_unmarked_scheduled_days_are_absences_so_one_day_a_period_earns_one_day(world):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, [APRIL[0], MAY[0]])  # one day present in each unit period, nothing else recorded

    settle(AFTER_END)
    assert settled_periods(enrolment) == {1: 15_000, 2: 15_000}  # 450,000 × 1/30 each, not 450,000
    enrolment = decide(enrolment)

    assert enrolment.status == S.INCOMPLETE  # 2 of 60 days: 미수료, not 수료
    assert world.provider_money(run) == (0, 30_000 + 300_000)  # two days' share and the self-pay kept
    figures = world.figures(user)
    assert (figures.captured - figures.refunded, figures.penalties) == (30_000, 200_000)  # 미수료 counts
    books_balance(world.card(user).id)


def test_a_period_is_settled_only_after_it_ended_and_then_its_marks_are_locked(world):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL[:25])
    settle(APRIL[-1])  # the period's last day: not over yet
    assert settled_periods(enrolment) == {}
    settle(MAY[0])
    assert settled_periods(enrolment) == {1: 450_000}  # 25/30 ≥ 80 %: the period's whole share
    with pytest.raises(errors.AttendanceInvalid, match="정산된"), unit_of_work(write_lock=True):
        attendance.record(enrolment.id, APRIL[26], "present", actor=ACTOR, today=MAY[0])


def test_attendance_is_only_for_scheduled_days_that_have_come(world):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    with pytest.raises(errors.AttendanceInvalid, match="훈련일이 아닙니다"), unit_of_work(write_lock=True):
        attendance.record(enrolment.id, date(2027, 5, 1), "present", actor=ACTOR, today=MAY[5])  # not scheduled
    with pytest.raises(errors.AttendanceInvalid, match="아직 오지 않은"), unit_of_work(write_lock=True):
        attendance.record(enrolment.id, APRIL[10], "present", actor=ACTOR, today=APRIL[9])


# -- 2. a dropout keeps what attendance earned, period by period -----------------------------------------------------


def test_a_dropout_pays_what_attendance_earned_not_the_calendar(world):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL[:21])
    world.mark(enrolment, APRIL[21:], "absent")
    settle(MAY[0])
    assert settled_periods(enrolment) == {1: 315_000}  # 21/30 = 70 %: pro rata
    world.mark(enrolment, MAY[:5])

    preview = cancel(enrolment, MAY[5])  # leaves on training day 36

    assert preview.outcome == S.DROPPED
    assert settled_periods(enrolment) == {1: 315_000, 2: 75_000}  # 5 of period 2's 30 days
    figures = world.figures(user)
    assert figures.captured - figures.refunded == 390_000  # not 525,000 (35/60 of the calendar)
    assert preview.self_pay_refund == 125_000  # 300,000 × 25 training days not reached / 60
    assert world.provider_money(run) == (0, 390_000 + 175_000)
    assert figures.penalties == 200_000
    books_balance(world.card(user).id)


def test_a_dropout_who_attended_nothing_earns_the_provider_no_government_share(world):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL[:20], "absent")

    preview = cancel(enrolment, APRIL[20])

    assert preview.card_return == 900_000 and preview.attended_days == 0
    assert preview.self_pay_refund == 200_000  # 40 of 60 training days not reached
    assert world.provider_money(run) == (0, 100_000)  # the self-pay of the 20 training days that passed
    figures = world.figures(user)
    assert figures.captured - figures.refunded == 0
    books_balance(world.card(user).id)


def test_leaving_after_attending_80_percent_of_all_days_is_80_percent_completion(world):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL + MAY[:19])  # 49 of 60 days
    preview = cancel(enrolment, MAY[19])

    enrolment = fresh(enrolment)
    assert (enrolment.status, enrolment.completion_kind) == (S.COMPLETED, "over_80")
    assert preview.penalty == 0 and preview.self_pay_refund == 0
    assert sanctions.of_enrolment(enrolment.id) is None
    assert settled_periods(enrolment) == {1: 450_000, 2: 285_000}  # 19 of period 2's 30 days
    books_balance(world.card(user).id)


# -- 3. a completer cannot be turned into a dropout -----------------------------------------------------------------


def test_after_the_run_ended_only_attendance_decides_and_a_completer_completes(world):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL + MAY)

    with pytest.raises(errors.CourseEnded):
        cancel(enrolment, AFTER_END)
    assert fresh(enrolment).status == S.IN_TRAINING

    with unit_of_work(write_lock=True):  # the worker, after the last period
        assert endings.complete_due(AFTER_END) == 1
    enrolment = fresh(enrolment)
    assert (enrolment.status, enrolment.completion_kind, enrolment.penalty) == (S.COMPLETED, "normal", 0)
    assert world.provider_money(run) == (0, 1_200_000)
    assert world.figures(user).penalties == 0
    books_balance(world.card(user).id)


def test_the_completion_command_records_incomplete_below_the_rate(world, runner):
    user, run = world.learner(on=D), sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL)
    db.session.commit()
    result = runner.invoke(args=["enrolments", "complete", str(enrolment.id), "--today", "2027-06-01"])
    assert result.exit_code == 0, result.output
    assert "incomplete" in result.output
    assert fresh(enrolment).status == S.INCOMPLETE


# -- 4. a penalty never escapes through a pending hold ----------------------------------------------------------------


def test_a_penalty_the_card_cannot_pay_is_owed_and_collected_when_a_hold_is_released(world):
    user = world.learner(on=D)
    budget_run = sixty_day_run(world, programme="C0054", fee=2_000_000)  # 국기: the budget pays, the card is not drawn
    held_run = world.run(programme="C0061", fee=3_500_000, start=date(2027, 5, 17), days=40)  # 15 %: draws 2,975,000
    enrolment = enrol(world, user, budget_run)
    start()
    other = enrol(world, user, held_run, today=APRIL[19], now=datetime(2027, 4, 20, 1, 0, tzinfo=UTC), pay=False)
    assert world.figures(user).available == 25_000

    cancel(enrolment, APRIL[19])  # a dropout: 200,000 penalty

    assert world.figures(user).available == 0
    assert sanctions.owed(user.person_id, "card") == 175_000
    with unit_of_work(write_lock=True):
        enrolments.expire_due(datetime(2027, 4, 20, 2, 0, tzinfo=UTC))  # the hold's 30 minutes are over
    assert fresh(other).status == S.EXPIRED
    assert sanctions.owed(user.person_id, "card") == 0
    figures = world.figures(user)
    assert (figures.available, figures.penalties) == (3_000_000 - 200_000, 200_000)
    books_balance(world.card(user).id)


def test_a_debt_is_collected_when_the_ledgers_own_expiry_job_releases_the_hold(world):
    user = world.learner(on=D)
    budget_run = sixty_day_run(world, programme="C0054", fee=2_000_000)
    held_run = world.run(programme="C0061", fee=3_500_000, start=date(2027, 5, 17), days=40)
    enrolment = enrol(world, user, budget_run)
    start()
    enrol(world, user, held_run, today=APRIL[19], now=datetime(2027, 4, 20, 1, 0, tzinfo=UTC), pay=False)
    cancel(enrolment, APRIL[19])
    with unit_of_work(write_lock=True):
        ledger.expire_holds(datetime(2027, 4, 20, 2, 0, tzinfo=UTC))
    with unit_of_work(write_lock=True):
        cards.collect_everything_owed(on=APRIL[19])
    assert sanctions.owed(user.person_id, "card") == 0
    assert world.figures(user).available == 2_800_000
    books_balance(world.card(user).id)


def in_top_up_group_from(user, day: date) -> None:
    """The learner joins a top-up group on `day` (so it does not lower the self-pay of earlier enrolments)."""
    with unit_of_work(write_lock=True):
        cards.record_status(
            user.person_id, employment_status="unemployed", groups={"basic_livelihood"}, effective_from=day, actor=ACTOR
        )


def test_a_debt_is_collected_from_the_next_top_up(world):
    user = world.learner(on=D)
    in_top_up_group_from(user, APRIL[20])
    budget_run = sixty_day_run(world, programme="C0054", fee=2_000_000)
    spend_run = world.run(programme="C0061", fee=3_500_000, start=date(2027, 3, 20), days=9)
    enrol(world, user, spend_run)  # 2,975,000 spent on training: the base is used
    enrolment = enrol(world, user, budget_run)
    start()
    cancel(enrolment, APRIL[19])
    assert sanctions.owed(user.person_id, "card") == 175_000
    with unit_of_work(write_lock=True):
        cards.top_up(world.card(user).id, group="basic_livelihood", today=APRIL[20], actor=ACTOR)
    assert sanctions.owed(user.person_id, "card") == 0
    assert world.figures(user).available == 25_000 - 25_000 + 2_000_000 - 175_000
    books_balance(world.card(user).id)


# -- 5. a top-up needs the base used, not held or given back ------------------------------------------------------------


def test_a_top_up_is_refused_on_money_that_is_only_held_and_granted_once_it_is_spent(world):
    user = world.learner(on=D)
    run = world.run(programme="C0061", fee=3_450_000, start=date(2027, 4, 1), days=40)  # draws 2,932,500
    enrolment = enrol(world, user, run, pay=False)
    in_top_up_group_from(user, D)
    assert world.figures(user).available == 67_500
    with pytest.raises(errors.TopUpNotAllowed), unit_of_work(write_lock=True):
        cards.top_up(world.card(user).id, group="basic_livelihood", today=D, actor=ACTOR)

    with unit_of_work(write_lock=True):
        enrolments.confirm(enrolment.id, actor=ACTOR, on=D)
        amount = cards.top_up(world.card(user).id, group="basic_livelihood", today=D, actor=ACTOR)
    assert amount == 2_000_000
    books_balance(world.card(user).id)


# -- 6 and 13. the free-withdrawal window: six-month courses, and deadlines on working days -----------------------------


def test_a_course_of_120_days_over_seven_months_has_the_14_day_window():
    from vouchers.cards.rules import card_rules

    rules = card_rules()
    start_day = date(2027, 3, 2)  # a Tuesday
    assert rules.free_withdrawal_deadline(start_day, date(2027, 9, 30), 120, remote=False) == date(2027, 3, 16)
    assert rules.free_withdrawal_deadline(start_day, date(2027, 7, 30), 120, remote=False) == date(2027, 3, 9)


def test_a_deadline_on_a_weekend_or_holiday_moves_to_the_next_working_day():
    from vouchers.cards.rules import card_rules

    rules = card_rules()
    friday = date(2027, 3, 5)
    assert rules.free_withdrawal_deadline(friday, date(2027, 4, 1), 20, remote=False) == date(
        2027, 3, 8
    )  # not Saturday
    assert rules.free_withdrawal_deadline(date(2027, 9, 13), date(2027, 10, 30), 20, remote=False) == date(
        2027, 9, 17
    )  # 14 September + 1 is 추석 연휴 (14–16 September 2027)
    assert rules.free_withdrawal_deadline(date(2027, 3, 6), date(2027, 3, 7), 2, remote=False) == date(2027, 3, 6)


# -- 7. a card that expires during a course ------------------------------------------------------------------------


def test_money_back_to_an_expired_card_lapses_and_the_sanction_lands_on_the_next_card(world, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "CARD_RULES_FILE",
        str(
            copy_card_rules(
                tmp_path,
                {
                    "[[dropout.card.penalties]]\namount = 200_000\nsuspend_days = 0": (
                        "[[dropout.card.penalties]]\namount = 200_000\nsuspend_days = 60"
                    )
                },
            )
        ),
    )
    user = world.learner(on=D, card=False)
    with unit_of_work(write_lock=True):
        old_card = cards.issue_card(
            user.person_id, kind=CardKind.CARD, today=date(2026, 4, 15), actor=ACTOR, valid_years=1
        )
        old_id = old_card.id
    run = sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL[:10])
    drop_day = APRIL[19]  # the card expired on 14 April

    cancel(enrolment, drop_day)

    old = cards.figures(old_id)
    assert old.refunded == 900_000 - 150_000 and old.expired == 750_000  # the return lapsed at once
    assert old.penalties == 0
    assert sanctions.owed(user.person_id, "card") == 200_000
    with unit_of_work(write_lock=True):
        cards.expire_cards(drop_day)
        new_card = cards.issue_card(user.person_id, kind=CardKind.CARD, today=drop_day, actor=ACTOR)
        new_id = new_card.id
    new = cards.figures(new_id)
    assert (new.available, new.penalties) == (2_800_000, 200_000)
    assert cards.get_card(new_id).suspended_until == drop_day + timedelta(days=60)
    books_balance(old_id, new_id)


# -- 8. K-Digital Credit has its own schedule on its own account ---------------------------------------------------------


def test_a_k_digital_credit_dropout_is_sanctioned_on_its_account_and_counted_apart(world):
    user = world.learner(on=D, kdigital=True)
    kdc = sixty_day_run(world, programme="C0105", fee=400_000)  # 10 %: 360,000 from the K-Digital account
    enrolment = enrol(world, user, kdc)
    start()
    world.mark(enrolment, APRIL[:5])
    preview = cancel(enrolment, APRIL[19])

    assert preview.penalty == 40_000
    assert world.figures(user, CardKind.KDIGITAL).penalties == 40_000
    assert world.figures(user).penalties == 0  # the card is untouched
    assert sanctions.counted(user.person_id, "card") == 0

    general = sixty_day_run(world)
    second = enrol(world, user, general)
    start()
    assert cancel(second, APRIL[19]).penalty == 200_000  # still the first card dropout
    books_balance(world.card(user).id, world.card(user, CardKind.KDIGITAL).id)


def test_a_k_digital_credit_course_below_the_rate_is_sanctioned_as_incomplete(world):
    user = world.learner(on=D, kdigital=True)
    kdc = sixty_day_run(world, programme="C0105", fee=400_000)
    enrolment = enrol(world, user, kdc)
    start()
    world.mark(enrolment, APRIL)  # half the days
    assert decide(enrolment).status == S.INCOMPLETE
    assert world.figures(user, CardKind.KDIGITAL).penalties == 40_000
    books_balance(world.card(user, CardKind.KDIGITAL).id)


# -- 9. the dropout deduction is a per-programme setting with its own transfer kind ------------------------------------


@pytest.mark.parametrize(("programme", "deducted"), [("C0104", 150_000), ("C0054", 0), ("C0102", 0)])
def test_only_kdt_deducts_the_trained_days_from_the_card(world, programme, deducted):
    user = world.learner(on=D)
    run = sixty_day_run(world, programme=programme, fee=1_000_000)  # 2027 tiers: self-pay 100,000, 900,000 budget
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL[:10])
    settle(MAY[0])  # period 1: 10/30 → 150,000
    cancel(enrolment, MAY[5])

    enrolment = fresh(enrolment)
    assert (enrolment.penalty, enrolment.deducted) == (200_000, deducted)
    figures = world.figures(user)
    assert (figures.penalties, figures.deducted) == (200_000, deducted)
    row = transfer(f"enrolment:{enrolment.id}:deduction")
    assert (row.kind if row else None) == (TransferKind.DEDUCTION if deducted else None)
    books_balance(world.card(user).id)


def test_an_exempt_reason_takes_neither_penalty_nor_deduction_until_it_is_refused(world):
    user = world.learner(on=D)
    run = sixty_day_run(world, programme="C0104", fee=1_000_000)
    enrolment = enrol(world, user, run)
    start()
    world.mark(enrolment, APRIL[:10])
    preview = cancel(enrolment, APRIL[19], reason="illness")

    assert preview.sanction == "claimed"
    assert world.figures(user).available == 3_000_000  # nothing drawn while the evidence is checked
    with unit_of_work(write_lock=True):
        endings.decide_reason(enrolment.id, accept=False, on=APRIL[25], actor=ACTOR, note="진단서 없음")
    enrolment = fresh(enrolment)
    assert (enrolment.penalty, enrolment.deducted) == (200_000, 150_000)
    books_balance(world.card(user).id)


# -- 10. a card suspended after the hold cannot pay --------------------------------------------------------------------


def test_a_card_suspended_after_the_hold_never_confirms_and_the_payment_is_refunded(world):
    user = world.learner(on=D)
    run = sixty_day_run(world)
    enrolment = enrol(world, user, run, pay=False)
    with unit_of_work(write_lock=True):
        cards.suspend(world.card(user).id, until=D + timedelta(days=60), reason="다른 과정 중도탈락", actor=ACTOR)

    with pytest.raises(errors.CardSuspended), unit_of_work(write_lock=True):
        enrolments.confirm(enrolment.id, actor=ACTOR, on=D)
    payment = checkout.prepare(enrolment.id, actor=ACTOR)  # the local processor collects at once

    enrolment = fresh(enrolment)
    assert enrolment.status == S.REJECTED
    assert world.figures(user).available == 3_000_000  # the hold was released
    assert db.session.scalar(select(PaymentFlag.kind).where(PaymentFlag.payment_id == payment.id)) == (
        "card_unusable_refunded"
    )
    books_balance(world.card(user).id)


# -- 12. exempt reasons: given when leaving, confirmed by the provider or an admin --------------------------------------


def test_a_confirmed_early_employment_waives_the_sanction_and_counts_as_completed(world):
    user = world.learner(on=D)
    run = sixty_day_run(world)
    enrolment = enrol(world, user, run)
    start()
    cancel(enrolment, APRIL[19], reason="early_employment")
    assert sanctions.of_enrolment(enrolment.id).status == "claimed"
    with unit_of_work(write_lock=True):
        endings.decide_reason(enrolment.id, accept=True, on=APRIL[22], actor=ACTOR, note="재직증명서 확인")
    enrolment = fresh(enrolment)
    assert (enrolment.status, enrolment.completion_kind, enrolment.penalty) == (S.COMPLETED, "early_employment", 0)
    assert sanctions.counted(user.person_id, "card") == 0
    with pytest.raises(errors.ReasonNotPending), unit_of_work(write_lock=True):
        endings.decide_reason(enrolment.id, accept=False, on=APRIL[23], actor=ACTOR)
    books_balance(world.card(user).id)


def test_an_unknown_exempt_reason_is_refused(world):
    user = world.learner(on=D)
    enrolment = enrol(world, user, sixty_day_run(world))
    start()
    with pytest.raises(errors.UnknownExemptReason):
        cancel(enrolment, APRIL[19], reason="boredom")
    assert fresh(enrolment).status == S.IN_TRAINING


# -- KDT after a dropout ------------------------------------------------------------------------------------------


def test_after_a_kdt_dropout_no_new_kdt_course_until_a_new_card(world):
    user = world.learner(on=D)
    first = sixty_day_run(world, programme="C0104", fee=1_000_000)
    enrolment = enrol(world, user, first)
    start()
    cancel(enrolment, APRIL[19])
    later = world.run(programme="C0104", fee=1_000_000, start=date(2027, 6, 14), days=60)
    refusal = quote(later, user.person_id, APRIL[20]).refusal
    assert isinstance(refusal, errors.KdtAfterDropout)
    general = world.run(programme="C0061", fee=1_000_000, start=date(2027, 6, 14), days=60)
    assert quote(general, user.person_id, APRIL[20]).refusal is None


def test_a_kdt_learner_leaving_by_day_3_of_the_first_week_is_not_sanctioned(world):
    user = world.learner(on=D)
    short = world.run(programme="C0104", fee=1_000_000, start=START, days=27)  # fewer than 30 days: window start + 1
    enrolment = enrol(world, user, short)
    start()
    preview = cancel(enrolment, START + timedelta(days=2))  # day 3
    assert (preview.outcome, preview.sanction, preview.penalty) == (S.DROPPED, "waived", 0)
    assert sanctions.of_enrolment(enrolment.id).reason == endings.KDT_FIRST_WEEK
    assert db.session.scalar(select(Sanction.status).where(Sanction.enrolment_id == enrolment.id)) == "waived"
    books_balance(world.card(user).id)

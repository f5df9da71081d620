"""The learner's dashboard at /me: upcoming starts, the free-cancel deadline, an unpaid hold's deadline,
attendance per unit period, the allowance earned and the card, through HTTP on a real database."""

from __future__ import annotations

from datetime import timedelta

from courses import calendar
from hrdnet.timeutil import format_day
from tests.support.pages import text_of
from tests.support.vouchers import VoucherWorld
from vouchers.cards import operations as cards
from vouchers.enrolments import refunds
from vouchers.web import dashboard, views


def test_a_paid_enrolment_is_on_the_dashboard_with_its_start_and_free_cancel_countdown(
    client, login, world: VoucherWorld, today
):
    learner = world.learner()
    run = world.run(fee=1_000_000, start=today + timedelta(days=14))
    enrolment = world.enrol(learner, run)
    login(learner)

    body = text_of(client.get("/me"))

    assert "아직 신청한 훈련과정이 없습니다" not in body
    assert f"{run.course.title} {run.run_number}회차" in body
    assert "개강 D-14" in body
    deadline = refunds.free_withdrawal_deadline(run)
    assert f"무료 취소 기한 {format_day(deadline)} 까지 ({(deadline - today).days}일 남음)" in body
    assert f"카드 사용 {enrolment.card_draw:,}원 · 자비부담 {enrolment.self_pay:,}원" in body
    available = cards.figures(world.card(learner).id).available
    assert f"사용 가능 잔액 {available:,}원" in body
    assert f"/me/enrolments/{enrolment.id}/cancel" in client.get("/me").get_data(as_text=True)


def test_an_unpaid_hold_shows_its_payment_deadline(client, login, world: VoucherWorld):
    learner = world.learner()
    enrolment = world.enrol(learner, world.run(), pay=False)
    login(learner)

    body = text_of(client.get("/me"))

    assert "자비부담금 결제 기한" in body and "결제 대기" in body
    assert enrolment.expires_at is not None


def test_a_learner_without_enrolments_sees_the_empty_state(client, login, world: VoucherWorld):
    login(world.learner())
    assert "아직 신청한 훈련과정이 없습니다" in text_of(client.get("/me"))


def test_attendance_per_unit_period_and_the_allowance_earned(client, login, world: VoucherWorld, monkeypatch, today):
    """Four of five days attended is 80 %: the period earns the allowance per attended day; a second absence
    drops it below the completion rate, which the page flags and which earns no allowance."""
    learner = world.learner(status="unemployed")
    run = world.run(fee=1_000_000, start=today + timedelta(days=14), days=60, hours=600)  # long days
    enrolment = world.enrol(learner, run)
    days = _training_days(run)[:5]
    world.mark(enrolment, days[:4])
    world.mark(enrolment, days[4:5], "absent")
    later = days[4] + timedelta(days=1)

    row = dashboard.dashboard(learner.id, later).active[0]

    first = row.periods[0]
    assert (first.attended, first.scheduled, first.percent, first.low, first.allowance) == (4, 5, 80, False, 4 * 5_800)
    world.mark(enrolment, days[3:4], "absent")
    first = dashboard.dashboard(learner.id, later).active[0].periods[0]
    assert (first.attended, first.low, first.allowance) == (3, True, 0)

    monkeypatch.setattr(views, "kst_today", lambda: later)
    login(learner)
    body = text_of(client.get("/me"))
    assert "단위기간별 출석률" in body and "3/5일 60% 80% 미만" in body


def _training_days(run):
    return calendar.days_between(run, run.start_date, run.end_date)

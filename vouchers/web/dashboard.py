"""The learner's dashboard at /me ("내 학습"): what is coming, what is running, what the card has left.

One read model for one page. Every number comes from the rooms' own functions (the withdrawal deadline from
vouchers.enrolments.refunds, attendance per unit period from vouchers.enrolments.attendance, the card's
figures from vouchers.cards.operations), so the dashboard can never disagree with the enrolment, cancel and
card pages. It only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction

from sqlalchemy import select

from courses.models import Run
from hrdnet.extensions import db
from vouchers.cards.rules import card_rules
from vouchers.enrolments import attendance, refunds, states
from vouchers.enrolments.models import ACTIVE_STATUSES, Enrolment, EnrolmentStatus
from vouchers.web.read_models import CardView, card_views, learner_quote, main_card

_TRAINING = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.IN_TRAINING)
RECENT_ENDED = 5  # ended enrolments shown under the active ones (the full list is /me/enrolments)


@dataclass(frozen=True)
class PeriodRate:
    number: int
    first: date
    last: date
    scheduled: int  # scheduled training days up to today (or the period's end)
    attended: int
    rate: Fraction
    low: bool  # below the completion rate: the period pays the provider pro rata and no allowance
    allowance: int  # 훈련장려금 this period earns so far (0 when the learner cannot be paid one)

    @property
    def percent(self) -> int:
        return int(self.rate * 100)


@dataclass(frozen=True)
class DashboardEnrolment:
    enrolment: Enrolment
    run: Run
    today: date
    free_deadline: date  # the last day a withdrawal is free
    hold_expires_at: datetime | None  # an unpaid hold's deadline
    periods: list[PeriodRate]  # unit periods begun so far (empty before the start)

    @property
    def status_label(self) -> str:
        return states.STATUS_LABELS[states.S(self.enrolment.status)]

    @property
    def starts_in_days(self) -> int:
        return (self.run.start_date - self.today).days

    @property
    def free_days_left(self) -> int | None:
        """Days left to cancel for free (0 = today is the last day); None once the free window has passed."""
        days = (self.free_deadline - self.today).days
        return days if days >= 0 else None

    @property
    def allowance_earned(self) -> int:
        return sum(period.allowance for period in self.periods)

    @property
    def held(self) -> bool:
        return self.enrolment.status == EnrolmentStatus.HELD


@dataclass(frozen=True)
class Dashboard:
    active: list[DashboardEnrolment]  # held, confirmed and in training, the soonest start first
    ended: list[tuple[Enrolment, Run, str]]  # (enrolment, run, status label): the latest few that ended
    card: CardView | None
    today: date

    @property
    def card_expires_in_days(self) -> int | None:
        return (self.card.card.expires_on - self.today).days if self.card else None

    @property
    def allowance_earned(self) -> int:
        return sum(row.allowance_earned for row in self.active)


def dashboard(user_id: int, today: date) -> Dashboard:
    rows = list(db.session.scalars(select(Enrolment).where(Enrolment.user_id == user_id).order_by(Enrolment.id.desc())))
    runs = {run.id: run for run in db.session.scalars(select(Run).where(Run.id.in_({e.run_id for e in rows})))}
    active = [_active(e, runs[e.run_id], user_id, today) for e in rows if e.status in ACTIVE_STATUSES]
    active.sort(key=lambda row: (row.run.start_date, row.enrolment.id))
    ended = [
        (e, runs[e.run_id], states.STATUS_LABELS[states.S(e.status)]) for e in rows if e.status not in ACTIVE_STATUSES
    ][:RECENT_ENDED]
    return Dashboard(active, ended, main_card(card_views(user_id, today)), today)


def _active(enrolment: Enrolment, run: Run, user_id: int, today: date) -> DashboardEnrolment:
    return DashboardEnrolment(
        enrolment,
        run,
        today,
        refunds.free_withdrawal_deadline(run),
        enrolment.expires_at if enrolment.status == EnrolmentStatus.HELD else None,
        _period_rates(enrolment, run, user_id, today) if enrolment.status in _TRAINING else [],
    )


def _period_rates(enrolment: Enrolment, run: Run, user_id: int, today: date) -> list[PeriodRate]:
    """Attendance of each unit period begun before today, through yesterday: a period still running is not
    short of the days it has not reached, and today's mark may not be taken yet."""
    rules = card_rules()
    price = learner_quote(run, user_id, today)
    per_day = price.allowance_per_day if price and price.allowance_eligible and price.allowance_per_day else 0
    monthly_max = (price.allowance_monthly_max or 0) if per_day else 0
    through = today - timedelta(days=1)
    result = []
    for period in attendance.periods(run, rules):
        if period.first > through:
            break
        seen = attendance.attendance_between(enrolment, run, period.first, min(period.last, through), rules=rules)
        reaches = seen.reaches(rules)
        earned = min(per_day * seen.attended, monthly_max) if reaches else 0
        result.append(
            PeriodRate(
                period.number, period.first, period.last, seen.scheduled, seen.attended, seen.rate, not reaches, earned
            )
        )
    return result

"""Attendance over scheduled training days, provider settlement per unit period, and completion.

Days: a run's scheduled training days are its stored calendar (courses.calendar). A provider records one mark
per scheduled day (present, late, early leave, outing, absent), never for a day that has not come yet, and can correct
it until the day's unit period is settled.

Rate: a unit period's attendance rate is attended days over the *scheduled* days in it. Once the period has
ended, a scheduled day with no mark is an absence; after a learner left (`left_on`), every remaining day is an
absence whatever was marked; three lates, early leaves or outings (외출), together, make one absence
(configurable).

Money: each unit period (a month from the start, configurable) is worth its share of the government share,
in proportion to its scheduled days. It is paid to the provider in full when the period's rate reaches the
completion rate (80 %), else in proportion to the days attended, truncated to 10 원, never more than is still
unpaid. A period is settled once (a `settlements` row, then its marks are locked), by the worker after it ended,
when the learner leaves, or when completion is decided.

How an enrolment ends (completion, 미수료, leaving) is vouchers.enrolments.endings. All amounts are exact
integer arithmetic; rates are fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from sqlalchemy import select

from courses import calendar
from courses.models import Run
from hrdnet import audit
from hrdnet.extensions import db
from vouchers import errors
from vouchers.cards.rules import CardRules, add_months, card_rules
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Attendance, AttendanceMark, Enrolment, Settlement
from vouchers.enrolments.operations import (
    correction_changes,
    provider_payable,
    record_settlement,
    settled_amount,
    truncate,
)
from vouchers.enrolments.states import S
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, TransferKind

_RECORDABLE = (S.CONFIRMED.value, S.IN_TRAINING.value)


@dataclass(frozen=True)
class Period:
    number: int  # 1-based
    first: date
    last: date


@dataclass(frozen=True)
class AttendanceSummary:
    """Marks over some scheduled training days. `absences` counts unmarked days and days after leaving."""

    scheduled: int
    present: int = 0
    late: int = 0
    early_leave: int = 0
    absent: int = 0
    unmarked: int = 0  # scheduled days with no mark (absences once the period is over)
    after_leaving: int = 0  # scheduled days on or after the day the learner left
    lates_per_absence: int = 3
    outing: int = 0

    @property
    def absences(self) -> int:
        return (
            self.absent
            + self.unmarked
            + self.after_leaving
            + (self.late + self.early_leave + self.outing) // self.lates_per_absence
        )

    @property
    def attended(self) -> int:
        return self.scheduled - self.absences

    @property
    def rate(self) -> Fraction:
        """Attended over scheduled days (1 for a stretch with no scheduled day: nothing was missed)."""
        return Fraction(self.attended, self.scheduled) if self.scheduled else Fraction(1)

    def reaches(self, rules: CardRules) -> bool:
        return self.rate >= completion_rate(rules)

    def __add__(self, other: AttendanceSummary) -> AttendanceSummary:
        return AttendanceSummary(
            self.scheduled + other.scheduled,
            self.present + other.present,
            self.late + other.late,
            self.early_leave + other.early_leave,
            self.absent + other.absent,
            self.unmarked + other.unmarked,
            self.after_leaving + other.after_leaving,
            self.lates_per_absence,
            self.outing + other.outing,
        )


@dataclass(frozen=True)
class PeriodOutcome:
    """What one unit period is worth to the provider, from its attendance (settled, or as it would be)."""

    period: Period
    attendance: AttendanceSummary
    share: int  # the period's part of the government share
    amount: int  # paid for it (in full at the completion rate, else pro rata)
    settled: bool  # already settled (then `amount` is what was paid)


def completion_rate(rules: CardRules) -> Fraction:
    return Fraction(str(rules.completion_rate))


# -- recording ------------------------------------------------------------------------------------------------


def record(enrolment_id: int, day: date, mark: str, *, actor: str, today: date) -> Attendance:
    """Record (or correct) one scheduled day's mark for a paid enrolment; never a day still to come."""
    enrolment, run = check_markable(enrolment_id, day, mark, today=today)
    if _settled(enrolment.id, period_of(run, day).number):
        raise errors.AttendanceInvalid(
            "이미 정산된 단위기간의 출석은 정정 요청으로만 바꿀 수 있습니다(감사 담당자 승인)."
        )
    row = db.session.scalar(select(Attendance).where(Attendance.enrolment_id == enrolment_id, Attendance.day == day))
    if row is None:
        row = Attendance(enrolment_id=enrolment_id, day=day, mark=mark, recorded_by=actor)
        db.session.add(row)
    else:
        row.mark, row.recorded_by = mark, actor
    db.session.flush()
    return row


def check_markable(enrolment_id: int, day: date, mark: str, *, today: date) -> tuple[Enrolment, Run]:
    """The checks every mark passes, recorded or corrected: a known mark, a paid enrolment, a past training day."""
    if mark not in set(AttendanceMark):
        raise errors.AttendanceInvalid(f"출석 구분은 {', '.join(AttendanceMark)} 중 하나여야 합니다.")
    enrolment = enrolments.get(enrolment_id)
    run = db.session.get(Run, enrolment.run_id)
    if enrolment.status not in _RECORDABLE:
        raise errors.AttendanceInvalid("수강이 확정된 훈련생의 출석만 기록할 수 있습니다.")
    if not calendar.is_training_day(run, day):
        raise errors.AttendanceInvalid(f"{day}은(는) 이 회차의 훈련일이 아닙니다.")
    if day > today:
        raise errors.AttendanceInvalid("아직 오지 않은 날의 출석은 기록할 수 없습니다.")
    return enrolment, run


# -- reading attendance ---------------------------------------------------------------------------------------


def attendance_between(
    enrolment: Enrolment,
    run: Run,
    first: date,
    last: date,
    *,
    left_on: date | None = None,
    rules: CardRules | None = None,
) -> AttendanceSummary:
    """The marks of scheduled days first..last: unmarked days and days after the learner left (`left_on`, by
    default the enrolment's) count apart."""
    rules = rules or card_rules()
    left_on = left_on or enrolment.left_on
    marks = dict(
        db.session.execute(
            select(Attendance.day, Attendance.mark).where(
                Attendance.enrolment_id == enrolment.id, Attendance.day >= first, Attendance.day <= last
            )
        ).all()
    )
    counts = dict.fromkeys(("present", "late", "early_leave", "absent", "outing", "unmarked", "after_leaving"), 0)
    for day in calendar.days_between(run, first, last):
        if left_on is not None and day >= left_on:
            counts["after_leaving"] += 1
        else:
            counts[marks.get(day, "unmarked")] += 1
    return AttendanceSummary(
        len(calendar.days_between(run, first, last)), **counts, lates_per_absence=rules.lates_per_absence
    )


def attendance_so_far(enrolment: Enrolment, run: Run, today: date, rules: CardRules | None = None) -> AttendanceSummary:
    """Scheduled days up to today (what a roster shows while the run goes on)."""
    return attendance_between(enrolment, run, run.start_date, min(today, run.end_date), rules=rules)


def periods(run: Run, rules: CardRules | None = None) -> list[Period]:
    """The run's unit periods, each a month (configurable) from the start date, the last ending on the end date."""
    rules = rules or card_rules()
    result, number, first = [], 1, run.start_date
    while first <= run.end_date:
        last = min(
            add_months(run.start_date, number * rules.settlement_period_months) - timedelta(days=1), run.end_date
        )
        result.append(Period(number, first, last))
        number, first = number + 1, last + timedelta(days=1)
    return result


def period_of(run: Run, day: date, rules: CardRules | None = None) -> Period:
    return next(period for period in periods(run, rules) if period.first <= day <= period.last)


def outcomes(
    enrolment: Enrolment, run: Run, *, left_on: date | None = None, rules: CardRules | None = None
) -> list[PeriodOutcome]:
    """Every unit period's worth: settled ones as paid, the others as their attendance now makes them (unmarked
    days counted as absences, as once the period is over; `left_on` as in attendance_between). The one
    computation settlement and the cancellation preview share."""
    rules = rules or card_rules()
    total = calendar.training_day_count(run)
    settled = {
        row.period: row
        for row in db.session.scalars(
            select(Settlement).where(Settlement.enrolment_id == enrolment.id, Settlement.period >= 1)
        )
    }
    corrected = correction_changes(enrolment.id)
    result = []
    for period in periods(run, rules):
        seen = attendance_between(enrolment, run, period.first, period.last, left_on=left_on, rules=rules)
        share = truncate(enrolment.government_share * seen.scheduled // total, rules.settlement_rounding)
        if period.number in settled:
            paid = settled[period.number].amount + corrected.get(period.number, 0)
            result.append(PeriodOutcome(period, seen, share, paid, True))
        else:
            result.append(PeriodOutcome(period, seen, share, earned(seen, share, rules), False))
    return result


def earned(seen: AttendanceSummary, share: int, rules: CardRules) -> int:
    """A unit period's worth to the provider: its whole share at the completion rate, else pro rata by days."""
    amount = share if seen.reaches(rules) else share * seen.attended // max(seen.scheduled, 1)
    return truncate(amount, rules.settlement_rounding)


# -- settling -------------------------------------------------------------------------------------------------


def settle_period(enrolment_id: int, period: int, *, actor: str, rules: CardRules | None = None) -> Settlement:
    """Pay the provider one unit period from its attendance. Idempotent per period: settling again returns the
    row and moves nothing. Callers settle ended periods, or any period once the learner left or the run ended."""
    rules = rules or card_rules()
    audit.lock_chain()
    enrolment = enrolments.get(enrolment_id)
    existing = db.session.scalar(
        select(Settlement).where(Settlement.enrolment_id == enrolment_id, Settlement.period == period)
    )
    if existing is not None:
        return existing
    if enrolment.status != S.IN_TRAINING:
        raise errors.IllegalTransition("훈련 중인 수강생만 정산할 수 있습니다.")
    run = db.session.get(Run, enrolment.run_id)
    outcome = next((o for o in outcomes(enrolment, run, rules=rules) if o.period.number == period), None)
    if outcome is None:
        raise errors.AttendanceInvalid("없는 단위기간입니다.")
    unpaid = enrolment.government_share - enrolment.card_returned - settled_amount(enrolment_id)
    amount = min(outcome.amount, max(unpaid, 0))
    seen = outcome.attendance
    posted = None
    if amount > 0:
        settled = ledger.open_account(AccountKind.PROVIDER_SETTLED, "provider", run.course.provider_id)
        posted = ledger.transfer(
            f"enrolment:{enrolment.id}:settle:{period}",
            TransferKind.SETTLE,
            [(provider_payable(run).id, settled.id, amount)],
            memo=f"{period}회차 단위기간 훈련비 지급",
            actor=actor,
        )
    full = seen.reaches(rules)
    return record_settlement(
        enrolment,
        run,
        period,
        amount,
        posted.id if posted else None,
        start=outcome.period.first,
        end=outcome.period.last,
        days=seen.scheduled,
        absences=seen.absences,
        note=f"출석 {seen.attended}/{seen.scheduled}일, " + ("전액" if full else "출석 비율만큼"),
    )


def settle_unsettled(enrolment: Enrolment, run: Run, *, through: date, actor: str, rules: CardRules) -> None:
    """Settle every unit period that began on or before `through` and is not settled yet."""
    for period in periods(run, rules):
        if period.first <= through and not _settled(enrolment.id, period.number):
            settle_period(enrolment.id, period.number, actor=actor, rules=rules)


def settle_due(today: date, *, actor: str = audit.SYSTEM_ACTOR, rules: CardRules | None = None) -> int:
    """Settle every unit period that ended before today of every enrolment in training (unmarked days absent)."""
    rules = rules or card_rules()
    count = 0
    for enrolment in db.session.scalars(
        select(Enrolment).where(Enrolment.status == S.IN_TRAINING.value).order_by(Enrolment.id)
    ).all():
        run = db.session.get(Run, enrolment.run_id)
        for period in periods(run, rules):
            if period.last < today and not _settled(enrolment.id, period.number):
                settle_period(enrolment.id, period.number, actor=actor, rules=rules)
                count += 1
    return count


def whole_run(
    enrolment: Enrolment, run: Run, *, left_on: date | None = None, rules: CardRules | None = None
) -> AttendanceSummary:
    """Attendance over every scheduled day of the run (unmarked days and days after leaving absent)."""
    return attendance_between(enrolment, run, run.start_date, run.end_date, left_on=left_on, rules=rules)


def _settled(enrolment_id: int, period: int) -> bool:
    return (
        db.session.scalar(
            select(Settlement.id).where(Settlement.enrolment_id == enrolment_id, Settlement.period == period)
        )
        is not None
    )

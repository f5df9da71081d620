"""Attendance and provider settlement per unit period, and completion.

A provider records each training day's mark (present, late, early leave, absent). For each unit period
(a month from the start date, configurable), the provider is paid that period's share of the government
share: in full when attendance reaches the completion rate (80 %), else pro rata, truncated to 10 원.
Lates and early leaves count as absences three to one. Completion needs the whole run's attendance at or
above the completion rate; what was not paid to the provider then goes back to the card (or budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from courses.models import Run
from hrdnet import audit
from hrdnet.extensions import db
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards.rules import CardRules, card_rules
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Attendance, AttendanceMark, Enrolment, Settlement
from vouchers.enrolments.operations import provider_payable, record_settlement, settled_amount, truncate
from vouchers.enrolments.states import S, apply_event
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, TransferKind

_RECORDABLE = (S.CONFIRMED.value, S.IN_TRAINING.value)


@dataclass(frozen=True)
class AttendanceSummary:
    days: int  # days with a mark
    present: int
    late: int
    early_leave: int
    absent: int
    absences: int  # absent + (late + early_leave) // lates_per_absence

    @property
    def rate(self) -> float:
        return 1.0 if self.days == 0 else (self.days - self.absences) / self.days


def record(enrolment_id: int, day: date, mark: str, *, actor: str) -> Attendance:
    """Record (or correct) one day's mark; only for a paid enrolment and a day within its run."""
    if mark not in set(AttendanceMark):
        raise errors.AttendanceInvalid(f"출석 구분은 {', '.join(AttendanceMark)} 중 하나여야 합니다.")
    enrolment = enrolments.get(enrolment_id)
    run = db.session.get(Run, enrolment.run_id)
    if enrolment.status not in _RECORDABLE:
        raise errors.AttendanceInvalid("수강이 확정된 훈련생의 출석만 기록할 수 있습니다.")
    if not run.start_date <= day <= run.end_date:
        raise errors.AttendanceInvalid(f"출석일은 훈련 기간({run.start_date} ~ {run.end_date}) 안이어야 합니다.")
    if _period_settled(enrolment, run, day):
        raise errors.AttendanceInvalid("이미 정산된 기간의 출석은 바꿀 수 없습니다.")
    row = db.session.scalar(select(Attendance).where(Attendance.enrolment_id == enrolment_id, Attendance.day == day))
    if row is None:
        row = Attendance(enrolment_id=enrolment_id, day=day, mark=mark, recorded_by=actor)
        db.session.add(row)
    else:
        row.mark, row.recorded_by = mark, actor
    db.session.flush()
    return row


def summary(
    enrolment_id: int, start: date | None = None, end: date | None = None, rules: CardRules | None = None
) -> AttendanceSummary:
    rules = rules or card_rules()
    query = select(Attendance.mark).where(Attendance.enrolment_id == enrolment_id)
    if start is not None:
        query = query.where(Attendance.day >= start, Attendance.day <= end)
    marks = list(db.session.scalars(query))
    count = {mark: marks.count(mark.value) for mark in AttendanceMark}
    absences = (
        count[AttendanceMark.ABSENT]
        + (count[AttendanceMark.LATE] + count[AttendanceMark.EARLY_LEAVE]) // rules.lates_per_absence
    )
    return AttendanceSummary(
        len(marks),
        count[AttendanceMark.PRESENT],
        count[AttendanceMark.LATE],
        count[AttendanceMark.EARLY_LEAVE],
        count[AttendanceMark.ABSENT],
        absences,
    )


def periods(run: Run, rules: CardRules | None = None) -> list[tuple[int, date, date]]:
    """The run's unit periods: (number, first day, last day), each a month (configurable) from the start."""
    rules = rules or card_rules()
    result, number, first = [], 1, run.start_date
    while first <= run.end_date:
        last = min(
            _add_months(run.start_date, number * rules.settlement_period_months) - timedelta(days=1), run.end_date
        )
        result.append((number, first, last))
        number, first = number + 1, last + timedelta(days=1)
    return result


def settle_period(enrolment_id: int, period: int, *, actor: str, rules: CardRules | None = None) -> Settlement:
    """Pay the provider one unit period's share from the attendance recorded in it. Idempotent per period."""
    rules = rules or card_rules()
    audit.lock_chain()
    enrolment = enrolments.get(enrolment_id)
    existing = db.session.scalar(
        select(Settlement).where(Settlement.enrolment_id == enrolment_id, Settlement.period == period)
    )
    if existing is not None:
        return existing
    if enrolment.status not in (S.IN_TRAINING.value, S.COMPLETED.value):
        raise errors.IllegalTransition("훈련 중인 수강생만 정산할 수 있습니다.")
    run = db.session.get(Run, enrolment.run_id)
    number, first, last = _period(run, period, rules)
    seen = summary(enrolment_id, first, last, rules)
    if seen.days == 0:
        raise errors.AttendanceInvalid(f"{number}회차 단위기간({first} ~ {last})의 출석 기록이 없습니다.")
    span = (run.end_date - run.start_date).days + 1
    full = seen.rate >= rules.completion_rate
    factor = 1.0 if full else seen.rate
    # Exact integer arithmetic (share of the calendar × attended share), truncated once at the end.
    numerator = enrolment.government_share * ((last - first).days + 1) * (1 if full else seen.days - seen.absences)
    exact = numerator // (span * (1 if full else seen.days))
    unpaid = enrolment.government_share - enrolment.card_returned - settled_amount(enrolment_id)
    amount = max(0, min(truncate(exact, rules.settlement_rounding), unpaid))
    transfer_id = None
    if amount:
        settled = ledger.open_account(AccountKind.PROVIDER_SETTLED, "provider", run.course.provider_id)
        posted = ledger.transfer(
            f"enrolment:{enrolment.id}:settle:{number}",
            TransferKind.SETTLE,
            [(provider_payable(run).id, settled.id, amount)],
            memo=f"{number}회차 단위기간 훈련비 지급(출석률 {seen.rate:.0%})",
            actor=actor,
        )
        transfer_id = posted.id
    return record_settlement(
        enrolment,
        run,
        number,
        amount,
        transfer_id,
        start=first,
        end=last,
        days=seen.days,
        absences=seen.absences,
        note=f"출석 {seen.days - seen.absences}/{seen.days}일, " + ("전액" if factor == 1.0 else "출석 비율만큼"),
    )


def settle_due(today: date, *, actor: str = audit.SYSTEM_ACTOR, rules: CardRules | None = None) -> int:
    """Settle every ended unit period of enrolments in training that has attendance and no settlement yet."""
    rules = rules or card_rules()
    count = 0
    for enrolment in db.session.scalars(
        select(Enrolment).where(Enrolment.status == S.IN_TRAINING.value).order_by(Enrolment.id)
    ).all():
        run = db.session.get(Run, enrolment.run_id)
        for number, first, last in periods(run, rules):
            if last >= today or _settled(enrolment.id, number):
                continue
            if summary(enrolment.id, first, last, rules).days:
                settle_period(enrolment.id, number, actor=actor, rules=rules)
                count += 1
    return count


def complete(enrolment_id: int, *, on: date, actor: str, rules: CardRules | None = None) -> Enrolment:
    """Completion: after the run ended, at or above the completion rate. Settles what is left."""
    rules = rules or card_rules()
    audit.lock_chain()
    enrolment = enrolments.get(enrolment_id)
    run = db.session.get(Run, enrolment.run_id)
    if on <= run.end_date:
        raise errors.IllegalTransition("훈련이 끝난 뒤에 수료 처리할 수 있습니다.")
    seen = summary(enrolment_id, rules=rules)
    if seen.days == 0 or seen.rate < rules.completion_rate:
        raise errors.CompletionNotReached(
            f"출석률 {seen.rate:.0%}로 수료 기준({rules.completion_rate:.0%})에 미달합니다."
        )
    if enrolment.status == S.IN_TRAINING:
        for number, first, last in periods(run, rules):
            if not _settled(enrolment_id, number) and summary(enrolment_id, first, last, rules).days:
                settle_period(enrolment_id, number, actor=actor, rules=rules)
        _close_out(enrolment, run, actor=actor)
    apply_event(enrolment, "complete", reason=f"출석률 {seen.rate:.0%}로 수료", actor=actor)
    return enrolment


def _close_out(enrolment: Enrolment, run: Run, *, actor: str) -> None:
    """Return the government share not paid out (absent periods) and pay the provider the self-pay kept."""
    payable = provider_payable(run)
    key = f"enrolment:{enrolment.id}"
    rest = enrolment.government_share - enrolment.card_returned - settled_amount(enrolment.id)
    if rest > 0:
        if enrolment.card_draw:
            target = cards.open_accounts(enrolment.card_id).available
        else:
            target = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", run.programme_id)
        ledger.transfer(
            f"{key}:return",
            TransferKind.REFUND,
            [(payable.id, target.id, rest)],
            memo=f"출석하지 않은 기간의 훈련비 {rest:,}원 반환",
            actor=actor,
        )
        enrolment.card_returned += rest
    kept = enrolment.self_pay - enrolment.self_pay_refunded
    if kept > 0:
        settled = ledger.open_account(AccountKind.PROVIDER_SETTLED, "provider", run.course.provider_id)
        posted = ledger.transfer(
            f"{key}:settle-final",
            TransferKind.SETTLE,
            [(payable.id, settled.id, kept)],
            memo=f"자비부담금 {kept:,}원 훈련기관 지급",
            actor=actor,
        )
        record_settlement(enrolment, run, 0, kept, posted.id, note=f"자비부담금 {kept:,}원 지급")


def _period(run: Run, period: int, rules: CardRules) -> tuple[int, date, date]:
    for row in periods(run, rules):
        if row[0] == period:
            return row
    raise errors.AttendanceInvalid("없는 단위기간입니다.")


def _settled(enrolment_id: int, period: int) -> bool:
    return (
        db.session.scalar(
            select(Settlement.id).where(Settlement.enrolment_id == enrolment_id, Settlement.period == period)
        )
        is not None
    )


def _period_settled(enrolment: Enrolment, run: Run, day: date) -> bool:
    for number, first, last in periods(run):
        if first <= day <= last:
            return _settled(enrolment.id, number)
    return False


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")

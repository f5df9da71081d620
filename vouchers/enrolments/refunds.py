"""Cancelling an enrolment: what it would do (preview_cancel) and doing it (cancel), by the card rules.

Before payment, cancelling releases the hold. After it, within the free-withdrawal window, everything comes
back. After the window (training has started) the learner leaves: every remaining scheduled day counts as an
absence, each unit period is settled by the attendance it had, the provider keeps what attendance earned and
the share not earned comes back; the self-pay comes back pro rata by the training days not reached. Having
attended the completion rate of all the run's days it is 80%이상수료, otherwise a dropout, sanctioned on the
person (vouchers.enrolments.endings). A run that has ended cannot be cancelled: completion is decided from
attendance. The ledger side only: vouchers.checkout.cancel also queues the self-pay refund at the payment
processor. Services flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from courses import calendar
from courses.models import Run
from hrdnet import audit
from hrdnet.extensions import db
from vouchers import errors
from vouchers.cards import sanctions
from vouchers.cards.rules import CardRules, card_rules, programme_listed
from vouchers.enrolments import attendance, endings
from vouchers.enrolments.models import CompletionKind, Enrolment, EnrolmentStatus
from vouchers.enrolments.operations import get, release_hold, return_seat, settled_amount, truncate
from vouchers.enrolments.states import S, apply_event, check
from vouchers.ledger import operations as ledger


@dataclass(frozen=True)
class CancelPreview:
    """What cancelling on `on` would do; the same numbers `cancel` applies."""

    outcome: EnrolmentStatus  # withdrawn; after the free window dropped, or completed (80%이상수료)
    free: bool  # within the free-withdrawal window
    deadline: date
    trained_days: int  # scheduled training days before `on` (the day itself is not trained)
    attended_days: int  # of those, attended (lates and early leaves three to one absence)
    training_days: int  # the run's scheduled training days
    self_pay_refund: int
    card_return: int  # government share back to the card (or the programme budget)
    provider_keeps: int  # what the provider is paid: the periods attendance earned + the self-pay kept
    penalty: int  # the sanction that applies (or will, if a claimed reason is refused)
    suspend_days: int
    deduction: int  # KDT: the training cost attendance earned, drawn from the card on a dropout
    sanction: str | None  # applied | claimed (waits for the reason's evidence) | waived | None
    completion_kind: str | None = None

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome.value,
            "free": self.free,
            "deadline": self.deadline.isoformat(),
            "trained_days": self.trained_days,
            "attended_days": self.attended_days,
            "training_days": self.training_days,
            "self_pay_refund": self.self_pay_refund,
            "card_return": self.card_return,
            "provider_keeps": self.provider_keeps,
            "penalty": self.penalty,
            "suspend_days": self.suspend_days,
            "deduction": self.deduction,
            "sanction": self.sanction,
            "completion_kind": self.completion_kind,
        }


def free_withdrawal_deadline(run: Run, rules: CardRules | None = None) -> date:
    rules = rules or card_rules()
    return rules.free_withdrawal_deadline(
        run.start_date, run.end_date, calendar.training_day_count(run), remote=run.mode == "remote"
    )


def preview_cancel(
    enrolment: Enrolment, on: date, *, exempt_reason: str | None = None, rules: CardRules | None = None
) -> CancelPreview:
    rules = rules or card_rules()
    run = db.session.get(Run, enrolment.run_id)
    total = calendar.training_day_count(run)
    deadline = free_withdrawal_deadline(run, rules)
    if enrolment.status in (S.APPLIED, S.HELD):  # nothing was paid: the hold is released
        return CancelPreview(S.WITHDRAWN, True, deadline, 0, 0, total, 0, 0, 0, 0, 0, 0, None)
    if enrolment.status not in (S.CONFIRMED, S.IN_TRAINING):
        check(enrolment, "withdraw")  # raises IllegalTransition naming the status
    if on > run.end_date:
        raise errors.CourseEnded()
    settled = settled_amount(enrolment.id)
    unpaid_share = enrolment.government_share - enrolment.card_returned
    if on <= deadline:  # free: everything not yet paid for a period comes back
        self_refund = enrolment.self_pay - enrolment.self_pay_refunded
        return CancelPreview(
            S.WITHDRAWN,
            True,
            deadline,
            0,
            0,
            total,
            self_refund,
            max(unpaid_share - settled, 0),
            settled,
            0,
            0,
            0,
            None,
        )
    earned = min(sum(o.amount for o in attendance.outcomes(enrolment, run, left_on=on, rules=rules)), unpaid_share)
    seen = attendance.whole_run(enrolment, run, left_on=on, rules=rules)
    trained = len(calendar.days_between(run, run.start_date, on - timedelta(days=1)))
    if seen.reaches(rules):  # 80%이상수료: left after attending the completion rate of all days
        outcome, kind, self_refund = S.COMPLETED, CompletionKind.OVER_80.value, 0
    else:
        outcome, kind = S.DROPPED, None
        owed_refund = _self_pay_refund(enrolment.self_pay, trained, total, rules)
        self_refund = max(0, owed_refund - enrolment.self_pay_refunded)
    keeps = earned + enrolment.self_pay - enrolment.self_pay_refunded - self_refund
    penalty = suspend_days = deduction = 0
    sanction = None
    if outcome == S.DROPPED:
        track = sanctions.track_of(enrolment.account)
        if S.DROPPED.value in rules.sanctions[track].outcomes:
            if endings.kdt_first_week(run, on, rules):
                sanction = "waived"
            else:
                rule = rules.sanctions[track].penalty_for(sanctions.counted(enrolment.person_id, track) + 1)
                penalty, suspend_days = rule.amount, rule.suspend_days
                sanction = "claimed" if exempt_reason else "applied"
                if (
                    programme_listed(run.programme.code, rules.deduct_trained_programmes)
                    and enrolment.account == "none"
                ):
                    deduction = earned
    return CancelPreview(
        outcome,
        False,
        deadline,
        trained,
        seen.attended,
        total,
        self_refund,
        unpaid_share - earned,
        keeps,
        penalty,
        suspend_days,
        deduction,
        sanction,
        kind,
    )


def hold_released(enrolment: Enrolment) -> int:
    """An unpaid enrolment's card share, which cancelling releases (the preview counts it as 0 returned)."""
    held = enrolment.status in (EnrolmentStatus.APPLIED, EnrolmentStatus.HELD) and enrolment.hold_id is not None
    return enrolment.card_draw if held and ledger.hold_state(enrolment.hold_id) == ledger.PENDING else 0


def cancel(
    enrolment_id: int, *, on: date, actor: str, exempt_reason: str | None = None, rules: CardRules | None = None
) -> CancelPreview:
    """Withdraw, or after the free window leave (a dropout, or 80%이상수료), and move the money by the rules.

    `exempt_reason` (조기취업, 질병·부상, …) is the learner's claim: a dropout's sanction then waits until the
    run's provider or an admin confirms or refuses the evidence (endings.decide_reason).
    """
    rules = rules or card_rules()
    if exempt_reason is not None and exempt_reason not in rules.exempt_reasons:
        raise errors.UnknownExemptReason()
    audit.lock_chain()
    enrolment = get(enrolment_id)
    run = db.session.get(Run, enrolment.run_id)
    if enrolment.status == S.CONFIRMED and run.start_date <= on <= run.end_date:
        apply_event(enrolment, "start", reason="훈련 시작일", actor=actor)  # the start job has not run yet
    preview = preview_cancel(enrolment, on, exempt_reason=exempt_reason, rules=rules)
    event = {S.DROPPED: "drop", S.COMPLETED: "complete"}.get(preview.outcome, "withdraw")
    check(enrolment, event)
    unpaid = enrolment.status == S.HELD
    if unpaid:
        release_hold(enrolment, "withdrawn", actor=actor, on=on)
    else:
        if not preview.free:
            enrolment.left_on = on
            attendance.settle_unsettled(enrolment, run, through=on - timedelta(days=1), actor=actor, rules=rules)
        endings.close_out(
            enrolment, run, on=on, actor=actor, self_pay_refund=preview.self_pay_refund, withdrawn=preview.free
        )
    if preview.outcome == S.DROPPED:
        enrolment.exempt_reason = exempt_reason
    enrolment.completion_kind = preview.completion_kind
    apply_event(enrolment, event, reason=_reason(enrolment, preview, unpaid, exempt_reason, rules), actor=actor)
    if preview.outcome == S.DROPPED:
        endings.sanction(
            enrolment, run, outcome=S.DROPPED, on=on, actor=actor, rules=rules, claimed_reason=exempt_reason
        )
    if unpaid or on < run.start_date:
        return_seat(run.id)
    return preview


def _reason(enrolment, preview: CancelPreview, unpaid: bool, exempt_reason: str | None, rules: CardRules) -> str:
    if unpaid:
        return f"결제 전 취소: 보류 {enrolment.card_draw:,}원 해제"
    text = f"자비부담 환불 {preview.self_pay_refund:,}원, 정부지원금 반환 {preview.card_return:,}원"
    if preview.outcome == S.COMPLETED:
        return f"전체 훈련일의 {rules.completion_rate:.0%} 이상 출석 후 중도 퇴소(80%이상수료), " + text
    if preview.sanction == "claimed":
        text += f", 제재 보류(면제 사유 확인 중: {rules.exempt_reasons[exempt_reason]})"
    elif preview.sanction == "applied" and (preview.penalty or preview.deduction):
        text += f", 제재 {preview.penalty:,}원" + (
            f", 훈련비 차감 {preview.deduction:,}원" if preview.deduction else ""
        )
    return text


def _self_pay_refund(self_pay: int, trained: int, total: int, rules: CardRules) -> int:
    """Self-pay back after the free window: pro rata by the training days not reached, or the step schedule."""
    if rules.refund_steps:
        done = 100 * trained / total
        for step in rules.refund_steps:
            if done <= step.up_to_trained:
                return truncate(self_pay * step.refund_percent // 100, rules.settlement_rounding)
        return 0
    return truncate(self_pay * (total - trained) // total, rules.settlement_rounding)

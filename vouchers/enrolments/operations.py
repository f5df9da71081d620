"""The enrolment lifecycle: one transition table, and the services that move money along with it.

    applied → held (card share reserved, co-payment pending) → confirmed (paid) → in_training
            → completed | dropped | withdrawn;   held → expired (unpaid in time);  applied | held → rejected

Money, all through vouchers.ledger (every transfer keyed by the enrolment, so a retry never applies twice):
- enrol: a seat (guarded UPDATE), then a hold of the card draw (card_available → card_held).
- confirm (co-payment collected): capture the hold to the provider's payable account; record the co-payment
  (learner_copay → provider_payable); a programme that does not draw the card funds the provider from its
  budget (programme_budget → provider_payable).
- cancel: before payment, release the hold. After it, within the free-withdrawal window, everything comes
  back; after the window, the share of days already trained is paid to the provider and the rest comes back
  (self-pay by the refund schedule); a cancellation after the window counts as a dropout, with a penalty.
Services flush and never commit; callers use unit_of_work(write_lock=True).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from courses.models import Run
from hrdnet import audit
from hrdnet.extensions import db
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards.models import CardKind
from vouchers.cards.quote import quote
from vouchers.cards.rules import CardRules, card_rules
from vouchers.enrolments.models import Enrolment, EnrolmentEvent, EnrolmentStatus, Settlement
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, TransferKind

S = EnrolmentStatus

# The one transition table: (status, event) → new status. Anything not here is refused.
TRANSITIONS: dict[tuple[EnrolmentStatus, str], EnrolmentStatus] = {
    (S.APPLIED, "hold"): S.HELD,
    (S.APPLIED, "reject"): S.REJECTED,
    (S.HELD, "pay"): S.CONFIRMED,
    (S.HELD, "expire"): S.EXPIRED,
    (S.HELD, "withdraw"): S.WITHDRAWN,
    (S.HELD, "reject"): S.REJECTED,
    (S.CONFIRMED, "start"): S.IN_TRAINING,
    (S.CONFIRMED, "withdraw"): S.WITHDRAWN,
    (S.IN_TRAINING, "withdraw"): S.WITHDRAWN,
    (S.IN_TRAINING, "drop"): S.DROPPED,
    (S.IN_TRAINING, "complete"): S.COMPLETED,
}
EVENTS = sorted({event for _status, event in TRANSITIONS})
EVENT_LABELS = {"hold": "수강 신청(카드 금액 보류)", "reject": "신청 반려", "pay": "자비부담금 결제 완료",
                "expire": "결제 기한 만료", "withdraw": "수강 취소", "start": "훈련 시작", "drop": "중도탈락",
                "complete": "수료"}
STATUS_LABELS = {S.APPLIED: "신청", S.HELD: "결제 대기", S.CONFIRMED: "수강 확정", S.IN_TRAINING: "훈련 중",
                 S.COMPLETED: "수료", S.DROPPED: "중도탈락", S.WITHDRAWN: "취소", S.EXPIRED: "기한 만료",
                 S.REJECTED: "반려"}
_SEAT_RETURNED = {S.EXPIRED, S.REJECTED}  # and a withdrawal before the start date


def apply_event(enrolment: Enrolment, event: str, *, reason: str, actor: str) -> EnrolmentStatus:
    """Move the enrolment by the table, record the step in its history and the audit log."""
    current = EnrolmentStatus(enrolment.status)
    try:
        new = TRANSITIONS[(current, event)]
    except KeyError:
        raise errors.IllegalTransition(
            f"'{STATUS_LABELS[current]}' 상태에서는 '{EVENT_LABELS.get(event, event)}'을(를) 할 수 없습니다.") from None
    enrolment.status = new.value
    db.session.add(EnrolmentEvent(enrolment_id=enrolment.id, from_status=current.value, to_status=new.value,
                                  event=event, reason=reason, actor=actor))
    db.session.flush()
    audit.append(f"enrolment.{event}", actor=actor, subject_type="enrolment", subject_id=enrolment.id,
                 data={"from": current.value, "to": new.value})
    return new


# -- enrolling ------------------------------------------------------------------------------------------------

def enrol(user_id: int, run_id: int, *, request_key: str, now: datetime, today: date, actor: str,
          rules: CardRules | None = None) -> Enrolment:
    """Take a seat and reserve the card draw for the learner; returns the held enrolment.

    The same request_key from the same user returns the enrolment it made the first time (a double click,
    a retried request). Raises the quote's refusal (insufficient_balance, card_suspended, …), RunFull,
    AlreadyEnrolled.
    """
    rules = rules or card_rules()
    if not request_key or len(request_key) > 100:
        raise errors.InvalidTransfer("요청 번호가 올바르지 않습니다.")
    audit.lock_chain()  # PostgreSQL: the chain lock first, then runs and accounts (one lock order everywhere)
    earlier = db.session.scalar(select(Enrolment).where(Enrolment.user_id == user_id,
                                                        Enrolment.request_key == request_key))
    if earlier is not None:
        if earlier.run_id != run_id:
            raise errors.DuplicateKeyConflict()
        return earlier
    person = cards.require_person(user_id)
    run = db.session.get(Run, run_id)
    if run is None:
        raise errors.RunNotFound()
    price = quote(run, person.id, today)
    if price is None:
        raise errors.PriceUnknown()
    if price.refusal is not None and not isinstance(price.refusal, errors.RunFull):
        raise price.refusal
    if _live_enrolment(person.id, run_id) is not None:
        raise errors.AlreadyEnrolled()
    _take_seat(run_id)
    enrolment = Enrolment(run_id=run_id, user_id=user_id, person_id=person.id, card_id=price.card_id,
                          request_key=request_key, status=S.APPLIED.value, fee=price.fee, self_pay=price.self_pay,
                          government_share=price.government_share, card_draw=price.card_draw,
                          account=price.account, explanation=price.explanation[:300],
                          training_days=training_days(run))
    savepoint = db.session.begin_nested()
    try:
        db.session.add(enrolment)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()  # a concurrent request of the same person for the same run won
        raise errors.AlreadyEnrolled() from None
    savepoint.commit()
    enrolment.expires_at = now + timedelta(minutes=rules.hold_minutes)
    if price.card_draw:
        accounts = ledger.open_card_accounts(price.card_id)
        held = ledger.hold(f"enrolment:{enrolment.id}:hold", accounts.available.id, accounts.held.id,
                           price.card_draw, expires_at=enrolment.expires_at,
                           memo=f"수강 신청 보류: {run.course.title[:150]}", actor=actor)
        enrolment.hold_id = held.id
    apply_event(enrolment, "hold", reason=f"자비부담 {price.self_pay:,}원, 카드 사용 {price.card_draw:,}원",
                actor=actor)
    return enrolment


def _live_enrolment(person_id: int, run_id: int) -> Enrolment | None:
    from vouchers.enrolments.models import ACTIVE_STATUSES

    return db.session.scalar(select(Enrolment).where(Enrolment.person_id == person_id, Enrolment.run_id == run_id,
                                                     Enrolment.status.in_([s.value for s in ACTIVE_STATUSES])))


def _take_seat(run_id: int) -> None:
    """One seat, or RunFull: a guarded UPDATE, so however many requests race, no run is oversold."""
    taken = db.session.execute(
        update(Run).where(Run.id == run_id, Run.capacity - Run.source_enrolled - Run.local_enrolled > 0)
        .values(local_enrolled=Run.local_enrolled + 1).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise errors.RunFull()
    db.session.expire_all()


def _return_seat(run_id: int) -> None:
    db.session.execute(update(Run).where(Run.id == run_id, Run.local_enrolled > 0)
                       .values(local_enrolled=Run.local_enrolled - 1).execution_options(synchronize_session=False))


# -- paying -------------------------------------------------------------------------------------------------

def confirm(enrolment_id: int, *, actor: str, reason: str = "자비부담금 결제 완료") -> Enrolment:
    """The co-payment was collected (or there was none): spend the hold, fund the provider. Idempotent."""
    audit.lock_chain()
    enrolment = get(enrolment_id)
    if enrolment.status != S.HELD:
        if enrolment.status in (S.CONFIRMED, S.IN_TRAINING, S.COMPLETED):
            return enrolment  # confirmed already (a retry, or the webhook and the return page both came)
        apply_event(enrolment, "pay", reason=reason, actor=actor)  # raises IllegalTransition
    run = db.session.get(Run, enrolment.run_id)
    payable = _provider_payable(run)
    key = f"enrolment:{enrolment.id}"
    if enrolment.hold_id is not None:
        ledger.capture(f"{key}:capture", enrolment.hold_id, payable.id, actor=actor,
                       memo=f"훈련비 카드 결제: {run.course.title[:150]}")
    elif enrolment.account == "none" and enrolment.government_share:
        budget = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", run.programme_id)
        ledger.transfer(f"{key}:fund", TransferKind.FUND, [(budget.id, payable.id, enrolment.government_share)],
                        memo=f"사업 예산 훈련비 지원: {run.course.title[:150]}", actor=actor)
    if enrolment.self_pay:
        copay = ledger.open_account(AccountKind.LEARNER_COPAY, "programme", run.programme_id)
        ledger.transfer(f"{key}:copay", TransferKind.COPAY, [(copay.id, payable.id, enrolment.self_pay)],
                        memo=f"자비부담금 {enrolment.self_pay:,}원 납부", actor=actor)
    enrolment.expires_at = None
    apply_event(enrolment, "pay", reason=reason, actor=actor)
    return enrolment


# -- the worker's jobs ------------------------------------------------------------------------------------------

def expire_due(now: datetime, *, limit: int = 200, actor: str = audit.SYSTEM_ACTOR) -> int:
    """Expire held enrolments whose payment deadline passed: release the hold, return the seat."""
    audit.lock_chain()
    due = db.session.scalars(select(Enrolment).where(Enrolment.status == S.HELD.value, Enrolment.expires_at <= now)
                             .order_by(Enrolment.expires_at, Enrolment.id).limit(limit)).all()
    for enrolment in due:
        _release_hold(enrolment, "expired", actor=actor)
        apply_event(enrolment, "expire", reason="결제 기한이 지나 신청이 취소되었습니다", actor=actor)
        _return_seat(enrolment.run_id)
    return len(due)


def start_due(today: date, *, limit: int = 500, actor: str = audit.SYSTEM_ACTOR) -> int:
    """Confirmed enrolments whose run has started are in training."""
    due = db.session.scalars(select(Enrolment).join(Run, Run.id == Enrolment.run_id)
                             .where(Enrolment.status == S.CONFIRMED.value, Run.start_date <= today)
                             .order_by(Enrolment.id).limit(limit)).all()
    for enrolment in due:
        apply_event(enrolment, "start", reason="훈련 시작일", actor=actor)
    return len(due)


def _release_hold(enrolment: Enrolment, why: str, *, actor: str) -> None:
    if enrolment.hold_id is None or ledger.hold_state(enrolment.hold_id) != ledger.PENDING:
        return  # nothing held, or the ledger's own expiry job released it already
    memo = "결제 기한이 지나 보류 해제" if why == "expired" else "수강 취소로 보류 해제"
    ledger.release(f"enrolment:{enrolment.id}:release", enrolment.hold_id, memo=memo, actor=actor)


# -- cancelling -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CancelPreview:
    """What cancelling on `on` would do; the same numbers `cancel` applies."""

    outcome: EnrolmentStatus  # withdrawn, or dropped after the free window once training started
    free: bool  # within the free-withdrawal window
    deadline: date
    trained_days: int
    training_days: int
    self_pay_refund: int
    card_return: int  # government share back to the card (or the programme budget)
    provider_keeps: int  # paid to the provider for the days trained (government share + self-pay kept)
    penalty: int
    suspend_days: int
    kdt_card_draw: int  # programmes that do not draw the card: the days trained, drawn on dropout

    def as_dict(self) -> dict:
        return {"outcome": self.outcome.value, "free": self.free, "deadline": self.deadline.isoformat(),
                "trained_days": self.trained_days, "training_days": self.training_days,
                "self_pay_refund": self.self_pay_refund, "card_return": self.card_return,
                "provider_keeps": self.provider_keeps, "penalty": self.penalty, "suspend_days": self.suspend_days,
                "kdt_card_draw": self.kdt_card_draw}


def preview_cancel(enrolment: Enrolment, on: date, *, exempt_reason: str | None = None,
                   rules: CardRules | None = None) -> CancelPreview:
    rules = rules or card_rules()
    run = db.session.get(Run, enrolment.run_id)
    total = enrolment.training_days
    deadline = rules.free_withdrawal_deadline(run.start_date, total, remote=run.mode == "remote")
    paid = enrolment.status in (S.CONFIRMED, S.IN_TRAINING)
    free = on <= deadline or not paid
    trained = 0 if free else trained_days(run, on, total)
    dropout = paid and not free and run.start_date <= on  # leaving after the free window, once training began
    if not paid:  # held: nothing was paid, the hold is released
        return CancelPreview(S.WITHDRAWN, True, deadline, 0, total, 0, 0, 0, 0, 0, 0)
    settled = settled_amount(enrolment.id)
    unit = rules.settlement_rounding
    gov_trained = 0 if free else max(settled, _truncate(enrolment.government_share * trained / total, unit))
    self_refund = enrolment.self_pay - enrolment.self_pay_refunded if free else \
        max(0, _self_pay_refund(enrolment.self_pay, trained, total, rules) - enrolment.self_pay_refunded)
    penalty, suspend_days, kdt_draw = 0, 0, 0
    if dropout and exempt_reason is None:
        penalty_rule = rules.penalty_for(dropout_count(enrolment.person_id) + 1)
        penalty, suspend_days = penalty_rule.amount, penalty_rule.suspend_days
    if dropout and enrolment.account == "none" and run.programme.voucher_kind != "none":  # not free academies
        kdt_draw = gov_trained
    card_return = enrolment.government_share - gov_trained - enrolment.card_returned
    keeps = gov_trained + enrolment.self_pay - enrolment.self_pay_refunded - self_refund
    return CancelPreview(S.DROPPED if dropout else S.WITHDRAWN, free, deadline, trained, total, self_refund,
                         max(card_return, 0), keeps, penalty, suspend_days, kdt_draw)


def cancel(enrolment_id: int, *, on: date, actor: str, exempt_reason: str | None = None,
           rules: CardRules | None = None) -> CancelPreview:
    """Withdraw (or, after the free window once training started, drop out) and move the money by the rules."""
    rules = rules or card_rules()
    if exempt_reason is not None and exempt_reason not in rules.exempt_reasons:
        raise errors.IllegalTransition("알 수 없는 제재 면제 사유입니다.")
    audit.lock_chain()
    enrolment = get(enrolment_id)
    run = db.session.get(Run, enrolment.run_id)
    if enrolment.status == S.CONFIRMED and run.start_date <= on:
        apply_event(enrolment, "start", reason="훈련 시작일", actor=actor)  # the start job has not run yet
    preview = preview_cancel(enrolment, on, exempt_reason=exempt_reason, rules=rules)
    event = "drop" if preview.outcome == S.DROPPED else "withdraw"
    if (EnrolmentStatus(enrolment.status), event) not in TRANSITIONS:
        apply_event(enrolment, event, reason="", actor=actor)  # raises IllegalTransition with a clear message
    unpaid = enrolment.status == S.HELD
    if unpaid:
        _release_hold(enrolment, "withdrawn", actor=actor)
    else:
        _return_money(enrolment, preview, actor=actor)
    if preview.penalty or preview.kdt_card_draw or preview.suspend_days:
        _penalise(enrolment, preview, on, actor=actor, rules=rules)
    enrolment.exempt_reason = exempt_reason
    reason = ((f"결제 전 취소: 보류 {enrolment.card_draw:,}원 해제" if unpaid else
               f"자비부담 환불 {preview.self_pay_refund:,}원, 카드 반환 {preview.card_return:,}원")
              + (f", 제재 {preview.penalty:,}원" if preview.penalty else "")
              + (f" (제재 면제: {rules.exempt_reasons[exempt_reason]})" if exempt_reason else ""))
    apply_event(enrolment, event, reason=reason, actor=actor)
    if unpaid or on < run.start_date:
        _return_seat(run.id)
    return preview


def _return_money(enrolment: Enrolment, preview: CancelPreview, *, actor: str) -> None:
    from vouchers.payments import operations as payments

    run = db.session.get(Run, enrolment.run_id)
    payable = _provider_payable(run)
    key = f"enrolment:{enrolment.id}"
    if preview.card_return:
        if enrolment.card_draw:
            target = ledger.open_card_accounts(enrolment.card_id).available
            memo = f"수강 취소로 카드 금액 {preview.card_return:,}원 반환"
        else:
            target = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", run.programme_id)
            memo = f"수강 취소로 사업 예산 {preview.card_return:,}원 반환"
        ledger.transfer(f"{key}:return", TransferKind.REFUND, [(payable.id, target.id, preview.card_return)],
                        memo=memo, actor=actor)
        enrolment.card_returned += preview.card_return
    if preview.self_pay_refund:
        copay = ledger.open_account(AccountKind.LEARNER_COPAY, "programme", run.programme_id)
        ledger.transfer(f"{key}:copay-refund", TransferKind.REFUND, [(payable.id, copay.id, preview.self_pay_refund)],
                        memo=f"자비부담금 {preview.self_pay_refund:,}원 환불", actor=actor)
        payments.refund_self_pay(enrolment, preview.self_pay_refund)
        enrolment.self_pay_refunded += preview.self_pay_refund
    owed = preview.provider_keeps - settled_amount(enrolment.id)
    if owed > 0:
        settled = ledger.open_account(AccountKind.PROVIDER_SETTLED, "provider", run.course.provider_id)
        posted = ledger.transfer(f"{key}:settle-final", TransferKind.SETTLE, [(payable.id, settled.id, owed)],
                                 memo=f"훈련기관 정산(훈련한 {preview.trained_days}일분 및 자비부담금)", actor=actor)
        _record_settlement(enrolment, run, 0, owed, posted.id, note="취소·중도탈락 시 정산")


def _penalise(enrolment: Enrolment, preview: CancelPreview, on: date, *, actor: str, rules: CardRules) -> None:
    card = cards.open_card(enrolment.person_id, CardKind.CARD)
    if card is None:
        return
    accounts = ledger.open_card_accounts(card.id)
    penalty_account = ledger.open_account(AccountKind.PENALTY, "programme",
                                          cards._programme(cards.CARD_PROGRAMME).id)
    key = f"enrolment:{enrolment.id}"
    for suffix, amount, memo in ((":kdt-draw", preview.kdt_card_draw, "중도탈락: 훈련받은 기간의 훈련비 카드 차감"),
                                 (":penalty", preview.penalty, "중도탈락 제재 차감")):
        available = ledger.balance(accounts.available.id)
        charged = min(amount, available)  # a card never goes below zero: the rest is forgiven, and recorded
        if charged:
            ledger.transfer(f"{key}{suffix}", TransferKind.PENALTY, [(accounts.available.id, penalty_account.id,
                                                                     charged)],
                            memo=f"{memo} {charged:,}원", actor=actor)
            enrolment.penalty += charged
    if preview.suspend_days:
        cards.suspend(card.id, until=on + timedelta(days=preview.suspend_days),
                      reason=f"{dropout_count(enrolment.person_id) + 1}번째 중도탈락", actor=actor)


# -- reading and helpers --------------------------------------------------------------------------------------

def get(enrolment_id: int) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id, populate_existing=True)
    if enrolment is None:
        raise errors.EnrolmentNotFound()
    return enrolment


def dropout_count(person_id: int) -> int:
    """Dropouts that count toward penalties (an exempt reason does not count)."""
    return db.session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.person_id == person_id, Enrolment.status == S.DROPPED.value, Enrolment.exempt_reason.is_(None)))


def settled_amount(enrolment_id: int) -> int:
    """The government share paid to the provider by unit period so far (period 0, the final payment, apart)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Settlement.amount), 0))
                                 .where(Settlement.enrolment_id == enrolment_id, Settlement.period >= 1)))


def training_days(run: Run) -> int:
    """The run's training days: the feed's count, else the calendar days from start to end."""
    return run.days if run.days and run.days > 0 else (run.end_date - run.start_date).days + 1


def trained_days(run: Run, on: date, total: int) -> int:
    """Training days done by the day before `on`, in proportion to the calendar (the day itself is not trained)."""
    if on <= run.start_date:
        return 0
    span = (run.end_date - run.start_date).days + 1
    elapsed = min((on - run.start_date).days, span)
    return min(total, math.floor(total * elapsed / span))


def _self_pay_refund(self_pay: int, trained: int, total: int, rules: CardRules) -> int:
    if rules.refund_steps:
        done = 100 * trained / total
        for step in rules.refund_steps:
            if done <= step.up_to_trained:
                return _truncate(self_pay * step.refund_percent / 100, rules.settlement_rounding)
        return 0
    return _truncate(self_pay * (total - trained) / total, rules.settlement_rounding)


def _truncate(amount: float, unit: int) -> int:
    return int(amount // unit) * unit


def _provider_payable(run: Run):
    return ledger.open_account(AccountKind.PROVIDER_PAYABLE, "provider", run.course.provider_id)


def _record_settlement(enrolment: Enrolment, run: Run, period: int, amount: int, transfer_id: int, *,
                       note: str, start: date | None = None, end: date | None = None, days: int = 0,
                       absences: int = 0) -> Settlement:
    row = Settlement(enrolment_id=enrolment.id, period=period, period_start=start or run.start_date,
                     period_end=end or run.end_date, training_days=days, absences=absences, amount=amount,
                     transfer_id=transfer_id, note=note)
    db.session.add(row)
    db.session.flush()
    return row

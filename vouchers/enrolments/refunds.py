"""Cancelling an enrolment: what it would do (preview_cancel) and doing it (cancel), by the card rules.

Before payment, cancelling releases the hold. After it, within the free-withdrawal window, everything comes
back; after the window, the share of days already trained is paid to the provider and the rest comes back
(self-pay by the refund schedule); a cancellation after the window, once training started, is a dropout,
with a penalty. The ledger side only: vouchers.checkout.cancel also queues the self-pay refund at the
payment processor. Services flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from courses.models import Run
from hrdnet import audit
from hrdnet.extensions import db
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards.models import CardKind
from vouchers.cards.rules import CardRules, card_rules
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.enrolments.operations import (
    dropout_count,
    get,
    provider_payable,
    record_settlement,
    release_hold,
    return_seat,
    settled_amount,
    trained_days,
    truncate,
)
from vouchers.enrolments.states import TRANSITIONS, S, apply_event
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, TransferKind


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
        return {
            "outcome": self.outcome.value,
            "free": self.free,
            "deadline": self.deadline.isoformat(),
            "trained_days": self.trained_days,
            "training_days": self.training_days,
            "self_pay_refund": self.self_pay_refund,
            "card_return": self.card_return,
            "provider_keeps": self.provider_keeps,
            "penalty": self.penalty,
            "suspend_days": self.suspend_days,
            "kdt_card_draw": self.kdt_card_draw,
        }


def preview_cancel(
    enrolment: Enrolment, on: date, *, exempt_reason: str | None = None, rules: CardRules | None = None
) -> CancelPreview:
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
    gov_trained = 0 if free else max(settled, truncate(enrolment.government_share * trained / total, unit))
    self_refund = (
        enrolment.self_pay - enrolment.self_pay_refunded
        if free
        else max(0, _self_pay_refund(enrolment.self_pay, trained, total, rules) - enrolment.self_pay_refunded)
    )
    penalty, suspend_days, kdt_draw = 0, 0, 0
    if dropout and exempt_reason is None:
        penalty_rule = rules.penalty_for(dropout_count(enrolment.person_id) + 1)
        penalty, suspend_days = penalty_rule.amount, penalty_rule.suspend_days
    if dropout and enrolment.account == "none" and run.programme.voucher_kind != "none":  # not free academies
        kdt_draw = gov_trained
    card_return = enrolment.government_share - gov_trained - enrolment.card_returned
    keeps = gov_trained + enrolment.self_pay - enrolment.self_pay_refunded - self_refund
    return CancelPreview(
        S.DROPPED if dropout else S.WITHDRAWN,
        free,
        deadline,
        trained,
        total,
        self_refund,
        max(card_return, 0),
        keeps,
        penalty,
        suspend_days,
        kdt_draw,
    )


def hold_released(enrolment: Enrolment) -> int:
    """An unpaid enrolment's card share, which cancelling releases (the preview counts it as 0 returned)."""
    held = enrolment.status in (EnrolmentStatus.APPLIED, EnrolmentStatus.HELD) and enrolment.hold_id is not None
    return enrolment.card_draw if held and ledger.hold_state(enrolment.hold_id) == ledger.PENDING else 0


def cancel(
    enrolment_id: int, *, on: date, actor: str, exempt_reason: str | None = None, rules: CardRules | None = None
) -> CancelPreview:
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
        release_hold(enrolment, "withdrawn", actor=actor)
    else:
        _return_money(enrolment, preview, actor=actor)
    if preview.penalty or preview.kdt_card_draw or preview.suspend_days:
        _penalise(enrolment, preview, on, actor=actor, rules=rules)
    enrolment.exempt_reason = exempt_reason
    reason = (
        (
            f"결제 전 취소: 보류 {enrolment.card_draw:,}원 해제"
            if unpaid
            else f"자비부담 환불 {preview.self_pay_refund:,}원, 카드 반환 {preview.card_return:,}원"
        )
        + (f", 제재 {preview.penalty:,}원" if preview.penalty else "")
        + (f" (제재 면제: {rules.exempt_reasons[exempt_reason]})" if exempt_reason else "")
    )
    apply_event(enrolment, event, reason=reason, actor=actor)
    if unpaid or on < run.start_date:
        return_seat(run.id)
    return preview


def _return_money(enrolment: Enrolment, preview: CancelPreview, *, actor: str) -> None:
    run = db.session.get(Run, enrolment.run_id)
    payable = provider_payable(run)
    key = f"enrolment:{enrolment.id}"
    if preview.card_return:
        if enrolment.card_draw:
            target = cards.open_accounts(enrolment.card_id).available
            memo = f"수강 취소로 카드 금액 {preview.card_return:,}원 반환"
        else:
            target = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", run.programme_id)
            memo = f"수강 취소로 사업 예산 {preview.card_return:,}원 반환"
        ledger.transfer(
            f"{key}:return", TransferKind.REFUND, [(payable.id, target.id, preview.card_return)], memo=memo, actor=actor
        )
        enrolment.card_returned += preview.card_return
    if preview.self_pay_refund:
        copay = ledger.open_account(AccountKind.LEARNER_COPAY, "programme", run.programme_id)
        ledger.transfer(
            f"{key}:copay-refund",
            TransferKind.REFUND,
            [(payable.id, copay.id, preview.self_pay_refund)],
            memo=f"자비부담금 {preview.self_pay_refund:,}원 환불",
            actor=actor,
        )
        enrolment.self_pay_refunded += preview.self_pay_refund
    owed = preview.provider_keeps - settled_amount(enrolment.id)
    if owed > 0:
        settled = ledger.open_account(AccountKind.PROVIDER_SETTLED, "provider", run.course.provider_id)
        posted = ledger.transfer(
            f"{key}:settle-final",
            TransferKind.SETTLE,
            [(payable.id, settled.id, owed)],
            memo=f"훈련기관 정산(훈련한 {preview.trained_days}일분 및 자비부담금)",
            actor=actor,
        )
        record_settlement(enrolment, run, 0, owed, posted.id, note="취소·중도탈락 시 정산")


def _penalise(enrolment: Enrolment, preview: CancelPreview, on: date, *, actor: str, rules: CardRules) -> None:
    card = cards.open_card(enrolment.person_id, CardKind.CARD)
    if card is None:
        return
    accounts = cards.open_accounts(card.id)
    penalty_account = ledger.open_account(AccountKind.PENALTY, "programme", cards.programme_of(cards.CARD_PROGRAMME).id)
    key = f"enrolment:{enrolment.id}"
    for suffix, amount, memo in (
        (":kdt-draw", preview.kdt_card_draw, "중도탈락: 훈련받은 기간의 훈련비 카드 차감"),
        (":penalty", preview.penalty, "중도탈락 제재 차감"),
    ):
        available = ledger.balance(accounts.available.id)
        charged = min(amount, available)  # a card never goes below zero: the rest is forgiven, and recorded
        if charged:
            ledger.transfer(
                f"{key}{suffix}",
                TransferKind.PENALTY,
                [(accounts.available.id, penalty_account.id, charged)],
                memo=f"{memo} {charged:,}원",
                actor=actor,
            )
            enrolment.penalty += charged
    if preview.suspend_days:
        cards.suspend(
            card.id,
            until=on + timedelta(days=preview.suspend_days),
            reason=f"{dropout_count(enrolment.person_id) + 1}번째 중도탈락",
            actor=actor,
        )


def _self_pay_refund(self_pay: int, trained: int, total: int, rules: CardRules) -> int:
    if rules.refund_steps:
        done = 100 * trained / total
        for step in rules.refund_steps:
            if done <= step.up_to_trained:
                return truncate(self_pay * step.refund_percent / 100, rules.settlement_rounding)
        return 0
    return truncate(self_pay * (total - trained) / total, rules.settlement_rounding)

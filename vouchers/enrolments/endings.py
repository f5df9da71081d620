"""How a paid enrolment ends, and the money and sanctions that follow.

- **Completion or 미수료** is decided from attendance after the run's last day (`decide_completion`: the
  worker's `complete_due`, or `hrdnet enrolments complete`), never by whoever acts first: at or above the
  completion rate over every scheduled day it is completed (정상수료), below it `incomplete` (미수료).
- **Leaving during the run** is vouchers.enrolments.refunds.cancel; it ends here too: 80%이상수료 when the
  learner had already attended the completion rate of all the run's days, else a dropout.
- **Close-out** (`close_out`), the same for every ending: the government share the provider did not earn
  (attendance, period by period) goes back where it came from — the card, where money returned to a card that
  expired lapses at once, or the programme budget; the self-pay refund goes back to the learner; the provider
  is paid the self-pay it keeps.
- **Sanction** (`sanction`): a dropout (and a 미수료 where the schedule counts it) is sanctioned on the
  person (vouchers.cards.sanctions) unless an exempt reason waits for its evidence (`claimed`, decided with
  `decide_reason`) or a rule spares it (a KDT learner who leaves by day 3 of the first week).

Services flush and never commit; the caller holds a unit of work with the write lock.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from courses.models import Run
from hrdnet import audit
from hrdnet.extensions import db
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards import sanctions
from vouchers.cards.models import CardKind, Sanction, SanctionStatus
from vouchers.cards.rules import CardRules, card_rules, programme_listed
from vouchers.enrolments import attendance
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import CompletionKind, Enrolment, EnrolmentStatus
from vouchers.enrolments.operations import provider_payable, record_settlement, settled_amount
from vouchers.enrolments.states import S, apply_event
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, TransferKind

KDT_FIRST_WEEK = "kdt_first_week"  # the rule that spares a KDT learner who leaves by the notice day


# -- completion --------------------------------------------------------------------------------------------------


def decide_completion(enrolment_id: int, *, on: date, actor: str, rules: CardRules | None = None) -> Enrolment:
    """After the run's last day: settle what is left, then completed (정상수료) at or above the completion rate
    over all scheduled days, else 미수료 (sanctioned where the schedule counts it)."""
    rules = rules or card_rules()
    audit.lock_chain()
    enrolment = enrolments.get(enrolment_id)
    run = db.session.get(Run, enrolment.run_id)
    if on <= run.end_date:
        raise errors.IllegalTransition("훈련이 끝난 다음 날부터 수료 여부를 정할 수 있습니다.")
    if enrolment.status == S.CONFIRMED:
        apply_event(enrolment, "start", reason="훈련 시작일", actor=actor)  # the start job has not run yet
    if enrolment.status != S.IN_TRAINING:
        raise errors.IllegalTransition("훈련 중인 수강생만 수료 여부를 정할 수 있습니다.")
    attendance.settle_unsettled(enrolment, run, through=run.end_date, actor=actor, rules=rules)
    seen = attendance.whole_run(enrolment, run, rules=rules)
    close_out(enrolment, run, on=on, actor=actor)
    rate = f"{float(seen.rate):.0%}"
    if seen.reaches(rules):
        enrolment.completion_kind = CompletionKind.NORMAL.value
        apply_event(
            enrolment, "complete", reason=f"출석 {seen.attended}/{seen.scheduled}일({rate})로 수료", actor=actor
        )
    else:
        apply_event(enrolment, "fail", reason=f"출석 {seen.attended}/{seen.scheduled}일({rate})로 미수료", actor=actor)
        sanction(enrolment, run, outcome=S.INCOMPLETE, on=on, actor=actor, rules=rules)
    return enrolment


def complete_due(today: date, *, actor: str = audit.SYSTEM_ACTOR, limit: int = 200) -> int:
    """Decide completion of every paid enrolment whose run ended before today (the worker)."""
    due = db.session.scalars(
        select(Enrolment.id)
        .join(Run, Run.id == Enrolment.run_id)
        .where(Enrolment.status.in_([S.CONFIRMED.value, S.IN_TRAINING.value]), Run.end_date < today)
        .order_by(Enrolment.id)
        .limit(limit)
    ).all()
    for enrolment_id in due:
        decide_completion(enrolment_id, on=today, actor=actor)
    return len(due)


# -- the money of an ending ------------------------------------------------------------------------------------


def close_out(
    enrolment: Enrolment, run: Run, *, on: date, actor: str, self_pay_refund: int = 0, withdrawn: bool = False
) -> None:
    """Return the government share the provider did not earn, refund `self_pay_refund`, and pay the provider
    the self-pay it keeps. Settle the periods the provider earned first."""
    key = f"enrolment:{enrolment.id}"
    payable = provider_payable(run)
    rest = enrolment.government_share - enrolment.card_returned - settled_amount(enrolment.id)
    if rest > 0:
        why = "수강 취소로" if withdrawn else "출석하지 않은 훈련일의"
        return_government_share(enrolment, run, rest, why=why, on=on, actor=actor)
    if self_pay_refund:
        copay = ledger.open_account(AccountKind.LEARNER_COPAY, "programme", run.programme_id)
        ledger.transfer(
            f"{key}:copay-refund",
            TransferKind.REFUND,
            [(payable.id, copay.id, self_pay_refund)],
            memo=f"자비부담금 {self_pay_refund:,}원 환불",
            actor=actor,
        )
        enrolment.self_pay_refunded += self_pay_refund
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


def return_government_share(enrolment: Enrolment, run: Run, amount: int, *, why: str, on: date, actor: str) -> None:
    """Give `amount` of the government share back to where it came from: the card it was drawn from (and, when
    that card can no longer be used, let it lapse at once; else collect what its person owes), or the budget."""
    key = f"enrolment:{enrolment.id}:return"
    payable = provider_payable(run)
    if not enrolment.card_draw:
        budget = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", run.programme_id)
        ledger.transfer(
            key,
            TransferKind.REFUND,
            [(payable.id, budget.id, amount)],
            memo=f"사업 예산 {amount:,}원 반환",
            actor=actor,
        )
        enrolment.card_returned += amount
        return
    card = cards.get_card(enrolment.card_id)
    available = cards.open_accounts(card.id).available
    ledger.transfer(
        key,
        TransferKind.REFUND,
        [(payable.id, available.id, amount)],
        memo=f"{why} 카드 금액 {amount:,}원 반환",
        actor=actor,
    )
    enrolment.card_returned += amount
    if card.status_on(on) in ("expired", "closed"):
        programme = cards.KDIGITAL_PROGRAMME if card.kind == CardKind.KDIGITAL else cards.CARD_PROGRAMME
        expired = ledger.open_account(AccountKind.EXPIRED, "programme", cards.programme_of(programme).id)
        ledger.transfer(
            f"{key}:lapse",
            TransferKind.EXPIRE,
            [(available.id, expired.id, amount)],
            memo=f"유효기간이 지난 카드로 돌아온 {amount:,}원 소멸",
            actor=actor,
        )
    else:
        cards.collect_owed(card.id, on=on, actor=actor)


# -- sanctions -------------------------------------------------------------------------------------------------


def sanction(
    enrolment: Enrolment,
    run: Run,
    *,
    outcome: EnrolmentStatus,
    on: date,
    actor: str,
    rules: CardRules,
    claimed_reason: str | None = None,
) -> Sanction | None:
    """Record the ending's sanction if its schedule counts this outcome, and apply it unless a claimed reason
    waits for its evidence or a rule spares it."""
    track = sanctions.track_of(enrolment.account)
    if outcome.value not in rules.sanctions[track].outcomes:
        return None
    spared = KDT_FIRST_WEEK if outcome == S.DROPPED and kdt_first_week(run, on, rules) else None
    row = sanctions.record(
        enrolment.person_id,
        enrolment.id,
        programme_code=run.programme.code,
        track=track,
        outcome=outcome.value,
        on=on,
        claimed_reason=None if spared else claimed_reason,
        waived_by_rule=spared,
    )
    if row.status == SanctionStatus.APPLIED:
        _apply(row, enrolment, run, on=on, actor=actor, rules=rules)
    return row


def decide_reason(enrolment_id: int, *, accept: bool, on: date, actor: str, note: str = "") -> Sanction:
    """The provider of the run or an admin checked the evidence of the exempt reason a learner gave: waive the
    sanction (a confirmed 조기취업 also counts the enrolment as completed), or apply it now."""
    audit.lock_chain()
    enrolment = enrolments.get(enrolment_id)
    row = sanctions.of_enrolment(enrolment_id)
    if row is None or row.status != SanctionStatus.CLAIMED:
        raise errors.ReasonNotPending()
    rules = card_rules()
    run = db.session.get(Run, enrolment.run_id)
    sanctions.note_decision(row, accepted=accept, on=on, actor=actor, note=note)
    if not accept:
        _apply(row, enrolment, run, on=on, actor=actor, rules=rules)
    elif row.reason in rules.completion_reasons and enrolment.status == S.DROPPED:
        enrolment.completion_kind = CompletionKind.EARLY_EMPLOYMENT.value
        apply_event(enrolment, "employ", reason=f"{rules.exempt_reasons[row.reason]} 증빙 확인", actor=actor)
    return row


def _apply(row: Sanction, enrolment: Enrolment, run: Run, *, on: date, actor: str, rules: CardRules) -> None:
    deduction = deduction_for(enrolment, run, rules) if row.outcome == S.DROPPED else 0
    budget = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", run.programme_id) if deduction else None
    sanctions.apply(row, on=on, actor=actor, deduction=deduction, deduction_account=budget, rules=rules)
    enrolment.penalty, enrolment.deducted = row.penalty, row.deduction


def deduction_for(enrolment: Enrolment, run: Run, rules: CardRules) -> int:
    """A dropout from a programme that paid from its budget and deducts trained days (KDT): the government share
    the provider earned, drawn from the card. Nothing for programmes that drew the card already."""
    if enrolment.account != "none" or not programme_listed(run.programme.code, rules.deduct_trained_programmes):
        return 0
    return settled_amount(enrolment.id)


def kdt_first_week(run: Run, on: date, rules: CardRules) -> bool:
    """A KDT learner leaving by the notice day of the first week (day 1 = the start date) is not sanctioned."""
    day_number = (on - run.start_date).days + 1
    return programme_listed(run.programme.code, rules.kdt_programmes) and day_number <= rules.kdt_first_week_notice_day

"""Sanctions land on the person, not on a card: penalties, suspensions and training-cost deductions.

An enrolment that ends without completing (a dropout, or 미수료 where the schedule counts it) gets one
`Sanction` row. It is applied at once, waits while an exempt reason the learner gave is checked (`claimed`),
or is waived (a reason confirmed, or a rule that spares it). Applying it:

- takes the penalty, and for KDT the training cost the attendance earned (`deduction`), from the person's
  current account of that schedule (the card, or the K-Digital Credit account). What the account cannot pay
  at once is posted to the person's `owed_*` account in the same transfer (its balance goes negative) and is
  collected later from money that comes back: a released or expired hold, a refund, a top-up, the next card.
  Never silently less;
- suspends: the person's current card through `on + suspend_days` (the first day is not counted), and a card
  issued later inherits a suspension still running.

The n-th counted ending of a schedule (applied sanctions only) picks the n-th penalty row of that schedule,
so K-Digital Credit endings are counted apart from the card's. Services flush and never commit; every caller
already holds the audit chain's lock (SQLite: the write lock), so balances read here do not move.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from hrdnet import audit
from hrdnet.extensions import db
from vouchers.cards import operations as cards
from vouchers.cards.models import CardKind, Sanction, SanctionStatus
from vouchers.cards.rules import CardRules, card_rules, programme_listed
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Account, AccountKind, TransferKind

SCHEME_PROGRAMME = {"card": cards.CARD_PROGRAMME, "kdigital": cards.KDIGITAL_PROGRAMME}


def track_of(account: str) -> str:
    """Whose schedule an enrolment's ending follows: K-Digital Credit courses their own, everything else the card's."""
    return "kdigital" if account == "kdigital" else "card"


# -- reading -------------------------------------------------------------------------------------------------


def dropped_from(person_id: int, programmes: frozenset[str], *, since: date) -> Sanction | None:
    """An applied dropout sanction of the person on or after `since` from one of these programmes."""
    rows = db.session.scalars(
        select(Sanction).where(
            Sanction.person_id == person_id,
            Sanction.status == SanctionStatus.APPLIED,
            Sanction.outcome == "dropped",
            Sanction.occurred_on >= since,
        )
    )
    return next((row for row in rows if programme_listed(row.programme_code, programmes)), None)


def counted(person_id: int, track: str, *, besides: int | None = None) -> int:
    """Applied sanctions of this schedule (besides one being applied now): the next one is number counted + 1."""
    query = (
        select(func.count())
        .select_from(Sanction)
        .where(Sanction.person_id == person_id, Sanction.track == track, Sanction.status == SanctionStatus.APPLIED)
    )
    if besides is not None:
        query = query.where(Sanction.id != besides)
    return db.session.scalar(query)


def owed(person_id: int, track: str) -> int:
    """What the person still owes on this schedule (0 when nothing)."""
    account = ledger.find_account(cards.OWED_KIND[track], "person", person_id)
    return max(-ledger.balance(account.id), 0) if account is not None else 0


def of_enrolment(enrolment_id: int) -> Sanction | None:
    return db.session.scalar(select(Sanction).where(Sanction.enrolment_id == enrolment_id))


# -- recording, applying, deciding -------------------------------------------------------------------------


def record(
    person_id: int,
    enrolment_id: int,
    *,
    programme_code: str,
    track: str,
    outcome: str,
    on: date,
    claimed_reason: str | None = None,
    waived_by_rule: str | None = None,
) -> Sanction:
    """The sanction row of an ending: claimed (a reason to check), waived (a rule spares it) or, until
    `apply` runs in the same unit of work, applied."""
    if claimed_reason:
        status, reason = SanctionStatus.CLAIMED, claimed_reason
    elif waived_by_rule:
        status, reason = SanctionStatus.WAIVED, waived_by_rule
    else:
        status, reason = SanctionStatus.APPLIED, None
    sanction = Sanction(
        person_id=person_id,
        enrolment_id=enrolment_id,
        programme_code=programme_code,
        track=track,
        outcome=outcome,
        status=status.value,
        reason=reason,
        occurred_on=on,
        penalty=0,
        deduction=0,
        suspend_days=0,
    )
    db.session.add(sanction)
    db.session.flush()
    return sanction


def apply(
    sanction: Sanction,
    *,
    on: date,
    actor: str,
    deduction: int = 0,
    deduction_account: Account | None = None,
    rules: CardRules | None = None,
) -> Sanction:
    """Apply the schedule's n-th penalty (and suspension), and the deduction when one is owed."""
    rules = rules or card_rules()
    number = counted(sanction.person_id, sanction.track, besides=sanction.id) + 1
    penalty = rules.sanctions[sanction.track].penalty_for(number)
    sanction.status, sanction.number = SanctionStatus.APPLIED.value, number
    sanction.penalty, sanction.suspend_days = penalty.amount, penalty.suspend_days
    sanction.deduction = deduction
    penalty_account = ledger.open_account(
        AccountKind.PENALTY, "programme", cards.programme_of(SCHEME_PROGRAMME[sanction.track]).id
    )
    for what, kind, to, amount, memo in (
        ("penalty", TransferKind.PENALTY, penalty_account, penalty.amount, f"{number}번째 중도탈락·미수료 제재"),
        (
            "deduction",
            TransferKind.DEDUCTION,
            deduction_account,
            deduction,
            "중도탈락: 훈련받은 기간의 훈련비 카드 차감",
        ),
    ):
        if amount:
            charge(
                sanction.person_id,
                sanction.track,
                key=f"enrolment:{sanction.enrolment_id}:{what}",
                kind=kind,
                to=to,
                amount=amount,
                memo=memo,
                on=on,
                actor=actor,
            )
    if penalty.suspend_days:
        sanction.suspended_until = on + timedelta(days=penalty.suspend_days)
        card = cards.open_card(sanction.person_id, CardKind.CARD)
        if card is not None:
            cards.suspend(card.id, until=sanction.suspended_until, reason=f"{number}번째 중도탈락", actor=actor)
    db.session.flush()
    audit.append(
        "sanction.applied",
        actor=actor,
        subject_type="enrolment",
        subject_id=sanction.enrolment_id,
        data={
            "track": sanction.track,
            "number": number,
            "penalty": penalty.amount,
            "deduction": deduction,
            "suspended_until": sanction.suspended_until.isoformat() if sanction.suspended_until else None,
        },
    )
    return sanction


def note_decision(sanction: Sanction, *, accepted: bool, on: date, actor: str, note: str) -> None:
    """Record the provider's or an admin's decision on a claimed exempt reason (an accepted one waives the
    sanction; a refused one is then applied by the caller)."""
    if sanction.status != SanctionStatus.CLAIMED:
        raise ValueError("only a claimed sanction is decided")
    sanction.decided_on, sanction.decided_by, sanction.note = on, actor, note[:300] or None
    if accepted:
        sanction.status = SanctionStatus.WAIVED.value
    db.session.flush()
    audit.append(
        "sanction.reason_decided",
        actor=actor,
        subject_type="enrolment",
        subject_id=sanction.enrolment_id,
        data={"reason": sanction.reason, "accepted": accepted},
    )


# -- money the card cannot pay at once ------------------------------------------------------------------------


def charge(
    person_id: int, track: str, *, key: str, kind: str, to: Account, amount: int, memo: str, on: date, actor: str
) -> int:
    """Take `amount` for `to` from the person's current account of the schedule; what it cannot pay now is
    owed (the same transfer debits the person's owed account). Returns what was taken now."""
    card = cards.current_card(person_id, track, on)
    available = cards.open_accounts(card.id).available if card is not None else None
    now = min(amount, ledger.balance(available.id)) if available is not None else 0
    rest = amount - now
    legs = []
    if now:
        legs.append((available.id, to.id, now))
    if rest:
        legs.append((ledger.open_account(cards.OWED_KIND[track], "person", person_id).id, to.id, rest))
    suffix = f" {now:,}원" + (f" (미회수 {rest:,}원은 이후 카드로 돌아오는 금액에서 차감)" if rest else "")
    ledger.transfer(key, kind, legs, memo=f"{memo}{suffix}", actor=actor)
    return now

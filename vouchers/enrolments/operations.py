"""Enrolling and confirming, seats, and the reading helpers the enrolment rooms share.

Money, all through vouchers.ledger (every transfer keyed by the enrolment, so a retry never applies twice):
- enrol: a seat (guarded UPDATE), then a hold of the card draw (card_available → card_held).
- confirm (co-payment collected): capture the hold to the provider's payable account; record the co-payment
  (learner_copay → provider_payable); a programme that does not draw the card funds the provider from its
  budget (programme_budget → provider_payable).
Cancelling is in refunds.py, attendance and settlement in attendance.py, the state machine in states.py.
Every seat taken or returned is announced as a run change (courses.changes), so the search index and its
facets show the true seats left after the worker's next pass.
Services flush and never commit; callers use unit_of_work(write_lock=True). Nothing here knows payments:
vouchers.checkout sequences enrolling with paying.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from courses import calendar, changes
from courses.models import Run
from hrdnet import audit, readahead
from hrdnet.errors import DomainError
from hrdnet.extensions import db
from hrdnet.timeutil import KST
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards.quote import quote
from vouchers.cards.rules import CardRules, card_rules
from vouchers.enrolments.models import ACTIVE_STATUSES, AttendanceCorrection, Enrolment, Settlement
from vouchers.enrolments.states import S, apply_event
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, TransferKind

# -- enrolling ------------------------------------------------------------------------------------------------


def enrol(
    user_id: int,
    run_id: int,
    *,
    request_key: str,
    now: datetime,
    today: date,
    actor: str,
    rules: CardRules | None = None,
) -> Enrolment:
    """Take a seat and reserve the card draw for the learner; returns the held enrolment.

    The same request_key from the same user returns the enrolment it made the first time (a double click,
    a retried request). Raises the quote's refusal (insufficient_balance, card_suspended, …), RunFull,
    AlreadyEnrolled.
    """
    rules = rules or card_rules()
    check_request_key(request_key)
    audit.lock_chain()  # PostgreSQL: the money lock first (shared when checkout.enrol took it), then card, run
    priced = price_request(user_id, run_id, request_key=request_key, today=today)
    if isinstance(priced, Enrolment):
        return priced
    person, run, price = priced
    if price.card_draw:  # the card's accounts before any other row (the hold re-checks the balance under it)
        accounts = cards.open_accounts(price.card_id)
        ledger.lock_accounts([accounts.available.id, accounts.held.id])
    take_seat(run_id)
    enrolment = Enrolment(
        run_id=run_id,
        user_id=user_id,
        person_id=person.id,
        card_id=price.card_id,
        request_key=request_key,
        status=S.APPLIED.value,
        fee=price.fee,
        self_pay=price.self_pay,
        government_share=price.government_share,
        card_draw=price.card_draw,
        account=price.account,
        explanation=price.explanation[:300],
        training_days=calendar.training_day_count(run),
    )
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
        held = ledger.hold(
            f"enrolment:{enrolment.id}:hold",
            accounts.available.id,
            accounts.held.id,
            price.card_draw,
            expires_at=enrolment.expires_at,
            memo=f"수강 신청 보류: {run.course.title[:150]}",
            actor=actor,
        )
        enrolment.hold_id = held.id
    apply_event(
        enrolment, "hold", reason=f"자비부담 {price.self_pay:,}원, 카드 사용 {price.card_draw:,}원", actor=actor
    )
    return enrolment


def check_request_key(request_key: str) -> None:
    if not request_key or len(request_key) > 100:
        raise errors.InvalidTransfer("요청 번호가 올바르지 않습니다.")


def price_request(user_id: int, run_id: int, *, request_key: str, today: date) -> Enrolment | tuple:
    """What every way of enrolling checks before it writes: the enrolment the same request already made (returned
    as it is), else (person, run, price). Raises DuplicateKeyConflict, RunNotFound, PriceUnknown, AlreadyEnrolled
    and the quote's refusal, except RunFull, which only the seat's guarded UPDATE decides."""
    earlier = by_request(user_id, request_key)
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
    live = live_enrolment(person.id, run_id)
    if live is not None:  # before the quote's refusal: "you already applied" says more than "full"
        raise errors.AlreadyEnrolled(details={"enrolment_id": live.id})
    if price.refusal is not None and not isinstance(price.refusal, errors.RunFull):
        raise price.refusal
    return person, run, price


def by_request(user_id: int, request_key: str) -> Enrolment | None:
    """The enrolment a request (user, request key) made, if any."""
    if (ahead := readahead.known("enrolments.by_request", (user_id, request_key))) is not readahead.MISSING:
        return ahead
    return db.session.scalar(
        select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.request_key == request_key)
    )


def live_enrolment(person_id: int, run_id: int) -> Enrolment | None:
    if (ahead := readahead.known("enrolments.live", (person_id, run_id))) is not readahead.MISSING:
        return ahead
    return db.session.scalar(
        select(Enrolment).where(
            Enrolment.person_id == person_id,
            Enrolment.run_id == run_id,
            Enrolment.status.in_([s.value for s in ACTIVE_STATUSES]),
        )
    )


def take_seat(run_id: int) -> None:
    """One seat, or RunFull: a guarded UPDATE, so however many requests race, no run is oversold."""
    taken = db.session.execute(
        update(Run)
        .where(Run.id == run_id, Run.capacity - Run.source_enrolled - Run.local_enrolled > 0)
        .values(local_enrolled=Run.local_enrolled + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise errors.RunFull()
    loaded = db.session.identity_map.get(identity_key(Run, run_id))
    if loaded is not None:  # the UPDATE went past the session: only this row's seat count is stale
        db.session.expire(loaded, ["local_enrolled"])
    changes.runs_changed([run_id])  # seats_left changed: the search index must hear of it


def return_seat(run_id: int) -> None:
    """Give a seat back (expired, rejected, or withdrawn before the start) and announce the run change."""
    returned = db.session.execute(
        update(Run)
        .where(Run.id == run_id, Run.local_enrolled > 0)
        .values(local_enrolled=Run.local_enrolled - 1)
        .execution_options(synchronize_session=False)
    )
    if returned.rowcount:
        changes.runs_changed([run_id])


# -- paying -------------------------------------------------------------------------------------------------


def confirm(enrolment_id: int, *, actor: str, on: date, reason: str = "자비부담금 결제 완료") -> Enrolment:
    """The co-payment was collected (or there was none): spend the hold, fund the provider. Idempotent.

    The card that pays must still be usable on `on`: a card suspended (or expired) since the hold was taken
    raises CardSuspended (CardExpired), and nothing moves."""
    audit.lock_chain()
    enrolment = get(enrolment_id)
    if enrolment.status != S.HELD:
        if enrolment.status in (S.CONFIRMED, S.IN_TRAINING, S.COMPLETED):
            return enrolment  # confirmed already (a retry, or the webhook and the return page both came)
        apply_event(enrolment, "pay", reason=reason, actor=actor)  # raises IllegalTransition
    refusal = paying_card_refusal(enrolment, on)
    if refusal is not None:
        raise refusal
    run = db.session.get(Run, enrolment.run_id)
    payable = provider_payable(run)
    key = f"enrolment:{enrolment.id}"
    if enrolment.hold_id is not None:
        ledger.capture(
            f"{key}:capture",
            enrolment.hold_id,
            payable.id,
            actor=actor,
            memo=f"훈련비 카드 결제: {run.course.title[:150]}",
        )
    elif enrolment.account == "none" and enrolment.government_share:
        budget = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", run.programme_id)
        ledger.transfer(
            f"{key}:fund",
            TransferKind.FUND,
            [(budget.id, payable.id, enrolment.government_share)],
            memo=f"사업 예산 훈련비 지원: {run.course.title[:150]}",
            actor=actor,
        )
    if enrolment.self_pay:
        copay = ledger.open_account(AccountKind.LEARNER_COPAY, "programme", run.programme_id)
        ledger.transfer(
            f"{key}:copay",
            TransferKind.COPAY,
            [(copay.id, payable.id, enrolment.self_pay)],
            memo=f"자비부담금 {enrolment.self_pay:,}원 납부",
            actor=actor,
        )
    enrolment.expires_at = None
    apply_event(enrolment, "pay", reason=reason, actor=actor)
    return enrolment


def paying_card_refusal(enrolment: Enrolment, on: date) -> DomainError | None:
    """Why the card this enrolment draws cannot pay on `on` (suspended or expired since the hold), or None."""
    if enrolment.card_id is None or not enrolment.card_draw:
        return None
    card = cards.get_card(enrolment.card_id)
    status = card.status_on(on)
    if status == "suspended":
        return errors.CardSuspended(f"카드 사용이 {card.suspended_until:%Y-%m-%d}까지 정지되어 결제할 수 없습니다.")
    if status != "active":
        return errors.CardExpired()
    return None


def reject(enrolment: Enrolment, *, reason: str, actor: str, on: date) -> None:
    """End an unpaid enrolment that can no longer be paid (its card was suspended): release the hold, give the
    seat back."""
    release_hold(enrolment, "withdrawn", actor=actor, on=on)
    apply_event(enrolment, "reject", reason=reason, actor=actor)
    return_seat(enrolment.run_id)


# -- the worker's jobs ------------------------------------------------------------------------------------------


def expire_due(now: datetime, *, limit: int = 200, actor: str = audit.SYSTEM_ACTOR) -> int:
    """Expire held enrolments whose payment deadline passed: release the hold, return the seat."""
    audit.lock_chain()
    due = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.status == S.HELD.value, Enrolment.expires_at <= now)
        .order_by(Enrolment.expires_at, Enrolment.id)
        .limit(limit)
    ).all()
    for enrolment in due:
        expire(enrolment, reason="결제 기한이 지나 신청이 취소되었습니다", actor=actor, on=now.astimezone(KST).date())
    return len(due)


def start_due(today: date, *, limit: int = 500, actor: str = audit.SYSTEM_ACTOR) -> int:
    """Confirmed enrolments whose run has started are in training."""
    due = db.session.scalars(
        select(Enrolment)
        .join(Run, Run.id == Enrolment.run_id)
        .where(Enrolment.status == S.CONFIRMED.value, Run.start_date <= today)
        .order_by(Enrolment.id)
        .limit(limit)
    ).all()
    for enrolment in due:
        apply_event(enrolment, "start", reason="훈련 시작일", actor=actor)
    return len(due)


def expire(enrolment: Enrolment, *, reason: str, actor: str, on: date) -> None:
    """End a held enrolment that was not paid (deadline passed, or too many declined cards): release its hold
    and give its seat back."""
    release_hold(enrolment, "expired", actor=actor, on=on)
    apply_event(enrolment, "expire", reason=reason, actor=actor)
    return_seat(enrolment.run_id)


def release_hold(enrolment: Enrolment, why: str, *, actor: str, on: date) -> None:
    """Release the enrolment's card hold if it is still pending (why: "expired" or "withdrawn"); the money back
    first pays what the learner owes on that card's schedule."""
    if enrolment.hold_id is None or ledger.hold_state(enrolment.hold_id) != ledger.PENDING:
        return  # nothing held, or the ledger's own expiry job released it already
    memo = "결제 기한이 지나 보류 해제" if why == "expired" else "수강 취소로 보류 해제"
    ledger.release(f"enrolment:{enrolment.id}:release", enrolment.hold_id, memo=memo, actor=actor)
    cards.collect_owed(enrolment.card_id, on=on, actor=actor)


# -- reading and helpers --------------------------------------------------------------------------------------


def get(enrolment_id: int) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id, populate_existing=True)
    if enrolment is None:
        raise errors.EnrolmentNotFound()
    return enrolment


def own(enrolment_id: int, user_id: int) -> Enrolment:
    """The learner's own enrolment; someone else's is 'not found' (its existence is not revealed)."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.user_id != user_id:
        raise errors.EnrolmentNotFound()
    return enrolment


def settled_amount(enrolment_id: int) -> int:
    """The government share paid to the provider by unit period so far (period 0, the final payment, apart),
    approved attendance corrections included."""
    settled = db.session.scalar(
        select(func.coalesce(func.sum(Settlement.amount), 0)).where(
            Settlement.enrolment_id == enrolment_id, Settlement.period >= 1
        )
    )
    return int(settled) + sum(correction_changes(enrolment_id).values())


def correction_changes(enrolment_id: int) -> dict[int, int]:
    """Per unit period, what approved attendance corrections paid on top of its settlement (negative: took
    back). Settlements are append-only, so a period's paid amount is its settlement plus these."""
    rows = db.session.execute(
        select(AttendanceCorrection.period, func.sum(AttendanceCorrection.amount_change))
        .where(AttendanceCorrection.enrolment_id == enrolment_id, AttendanceCorrection.status == "approved")
        .group_by(AttendanceCorrection.period)
    )
    return {period: int(change) for period, change in rows}


def truncate(amount: int, unit: int) -> int:
    """Round down to the rule file's unit (10 원): the rules never pay out a fraction of one."""
    if not isinstance(amount, int):
        raise TypeError("money is computed in integer won before truncating")
    return amount // unit * unit


def provider_payable(run: Run):
    """The run's provider account the government share and the co-payment are paid into."""
    return ledger.open_account(AccountKind.PROVIDER_PAYABLE, "provider", run.course.provider_id)


def record_settlement(
    enrolment: Enrolment,
    run: Run,
    period: int,
    amount: int,
    transfer_id: int | None,
    *,
    note: str,
    start: date | None = None,
    end: date | None = None,
    days: int = 0,
    absences: int = 0,
) -> Settlement:
    row = Settlement(
        enrolment_id=enrolment.id,
        period=period,
        period_start=start or run.start_date,
        period_end=end or run.end_date,
        training_days=days,
        absences=absences,
        amount=amount,
        transfer_id=transfer_id,
        note=note,
    )
    db.session.add(row)
    db.session.flush()
    return row

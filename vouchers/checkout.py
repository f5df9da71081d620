"""Checkout: the one place that sequences enrolling with paying, and cancelling with refunding.

It is the only module that imports both vouchers.enrolments and vouchers.payments, and the only service
that opens units of work itself, because a processor call must sit between two transactions, never inside
one. Every call to the processor is an explicit phase:

1. **intent** (`unit_of_work`): `enrolments.enrol` takes the seat and the hold; `begin` opens the payment
   attempt with its own idempotency key (or confirms at once when there is nothing to pay); commit.
2. **processor** (no transaction open): `process` asks the processor to open the payment with that key;
   `pay_with_card` confirms the card the browser tokenised; `sync` re-reads the processor's payment. A retry
   after a crash or timeout reuses the committed row and key, so the processor answers with the payment it
   already made: a double charge is impossible.
3. **outcome** (its own `unit_of_work`): `apply_state` records what the processor said. This is the one
   fulfilment path: the pay page's POSTs, the return page's POST and the processor's webhook
   (`handle_event`, which records each event id once in the same transaction) all end here, in any order,
   any number of times. On success `fulfil` confirms the enrolment once; a success for an enrolment that is
   no longer held (its hold expired, it was cancelled, another payment paid it) is refunded in full
   automatically and flagged.

A decline closes that attempt and leaves the hold in place: the learner may try another card (a new attempt,
a new key) until the hold expires, or until MAX_DECLINES declines reported by the processor release it. An
expired or cancelled enrolment's pending payment is cancelled at the processor (`cancel_abandoned`, then the
`payments.cancel` outbox item). `cancel` and `cancel_own` run inside the caller's unit of work (flush only):
the ledger side of a cancellation and the refund's outbox item are one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from hrdnet import audit
from hrdnet.db import after_commit, unit_of_work
from hrdnet.errors import DomainError
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today, utcnow
from vouchers import errors
from vouchers.cards.rules import CardRules
from vouchers.enrolments import hot_path, refunds
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.enrolments.refunds import CancelPreview
from vouchers.ledger import operations as ledger
from vouchers.payments import operations as payments
from vouchers.payments import webhooks
from vouchers.payments.gateway import (
    CANCELED,
    REQUIRES_PAYMENT,
    SUCCEEDED,
    CardDeclined,
    ProcessorEvent,
    ProcessorPayment,
    confirm_key,
    gateway,
)
from vouchers.payments.models import Payment, PaymentEvent, PaymentFlagKind, PaymentStatus

log = logging.getLogger(__name__)

SYSTEM = audit.SYSTEM_ACTOR
MAX_DECLINES = 3  # declines reported by the processor before the hold is released
S = EnrolmentStatus
PAID_STATUSES = (S.CONFIRMED, S.IN_TRAINING, S.COMPLETED, S.DROPPED, S.WITHDRAWN)


class PaymentClosed(errors.Conflict):
    code, message = "payment_closed", "이 신청은 더 이상 결제할 수 없습니다(결제 기한 만료 또는 취소)."


def _end_read() -> None:
    """End the read-only transaction before the processor is called: none stays open while it answers."""
    db.session.rollback()


# -- enrolling and paying ---------------------------------------------------------------------------------------


def begin(enrolment: Enrolment, *, actor: str, today: date | None = None) -> Payment | None:
    """Inside the intent's unit of work: open the held enrolment's payment attempt, or confirm it at once when
    there is nothing to pay."""
    payment = payments.open_payment(enrolment.id, enrolment.self_pay)
    if payment is None and enrolment.status == S.HELD:
        enrolments.confirm(enrolment.id, actor=actor, on=today or kst_today(), reason="자비부담금 없음")
    return payment


def enrol(
    user_id: int,
    run_id: int,
    *,
    request_key: str,
    now: datetime,
    today: date,
    actor: str,
    respond: Callable[[Enrolment], None] | None = None,
) -> Enrolment | None:
    """Enrol and start paying: the one enrol-then-pay sequence (pages, API, tests and benchmarks call it).

    The same request_key returns the first enrolment and its payment: never a second hold or attempt. When
    the processor does not answer, the payment stays pending (the pay page or the worker retries it with the
    same key) and the held enrolment is returned.

    The hot path (vouchers.enrolments.hot_path, docs/ledger.md): the price and every id are read once before
    the transaction; the intent locks the card's accounts, re-checks the price under that lock and writes in
    a dozen statements; the processor is asked with the values in hand; its answer is recorded by
    apply_state with the confirmation planned here. A retried request goes through the services (_resume).
    `respond(enrolment)` is called inside the last unit of work of a first request (the API stores its answer
    with it: hrdnet.idempotency); not when the processor did not answer or for a retried request. When it was
    called, enrol returns None: the caller has its answer, and nothing is read again after the commit.
    """
    responded: list[bool] = []  # set once respond() ran in a unit of work that committed
    for _attempt in range(REPRICE_ATTEMPTS):
        planned = hot_path.plan(user_id, run_id, request_key=request_key, today=today)
        if isinstance(planned, Enrolment):
            return _resume(planned.id, actor=actor, today=today)
        try:
            with unit_of_work(write_lock=True):  # phase 1: the intent
                audit.lock_chain(shared=True)  # the hot path's lock order: side by side, the card locked first
                card = hot_path.lock_card(planned.card_id if planned.card_draw else None, today)
                if not hot_path.still_priced(planned, card):
                    raise _Repriced()
                held = hot_path.enrol_locked(planned, card, now=now, actor=actor)
                confirmation = hot_path.confirm_plan_from(planned, held)
                payment = None
                if planned.self_pay:
                    payment = payments.open_first_payment(held.enrolment_id, planned.self_pay)
                else:
                    hot_path.confirm_locked(confirmation, actor=actor, reason="자비부담금 없음")
                    if respond is not None:
                        respond(enrolments.get(held.enrolment_id))
                        after_commit(lambda: responded.append(True))
        except _Repriced:
            continue  # the balance or the card changed since the quote: price it again
        except hot_path.Conflict:  # the same request (a double click) or another live enrolment got there first
            earlier = enrolments.by_request(user_id, request_key)
            if earlier is None or earlier.run_id != run_id:
                raise errors.AlreadyEnrolled() from None
            return _resume(earlier.id, actor=actor, today=today)
        if payment is not None:
            answered = _noting(respond, responded)
            db.session.info[_JUST_OPENED] = (payment, confirmation, answered)  # process() reads neither again
            try:  # phases 2 and 3
                process(payment.id, actor=actor, today=today)
            except DomainError as exc:  # the processor did not answer: the payment stays pending, retried later
                log.warning("payment %s not processed yet: %s", payment.id, exc.code)
                db.session.rollback()
            finally:
                db.session.info.pop(_JUST_OPENED, None)
        return None if responded else enrolments.get(held.enrolment_id)
    # The price kept moving under us (a hot card): the services price it under the lock, refusing as they must.
    return _resume(None, actor=actor, today=today, enrol_args=(user_id, run_id, request_key, now))


REPRICE_ATTEMPTS = 3


# -- the batching writer (issue 14 point 4; vouchers.enrol_writer queues the requests) ---------------------------


@dataclass(frozen=True)
class EnrolRequest:
    user_id: int
    run_id: int
    request_key: str
    actor: str | None = None  # who asks (the API: the learner's pseudonym); None: enrol_batch's actor
    # The caller's answer, stored in the enrolment's last transaction (the API's Idempotency-Key record): a
    # request written alone calls it as enrol(respond=…) does; a batch stores its requests' answers set-based
    # through enrol_batch's respond_many.
    respond: Callable[[Enrolment], None] | None = field(default=None, compare=False)


RespondMany = Callable[[list[tuple[EnrolRequest, int]]], None]


def enrol_batch(
    requests: Sequence[EnrolRequest],
    *,
    now: datetime,
    today: date,
    actor: str,
    respond_many: RespondMany | None = None,
) -> list[int | DomainError]:
    """enrol() for a batch of requests, in the same phases but set-based: every plan read before the
    transaction; one intent (the cards' accounts locked in one statement, each price re-checked under that
    lock, then the runs' seats, the enrolments, holds, history lines and payments in a few multi-row
    statements, the audit chain appended once at COMMIT); the processor asked for each payment with no
    transaction open; one outcome (the cards locked again, every confirmation in a few statements, the chain
    appended once). Returns, for each request in order, its enrolment's id or the refusal enrol() would raise.

    Each request stands alone: one that the batch cannot write as planned (a price that moved, the same
    request twice, a conflict with another writer, no self-pay to collect, a payment the processor did not
    simply take) goes through enrol() / apply_state() after the batch, which answer it exactly as they would
    have alone; if a batch statement fails (a trigger's refusal), its transaction rolls back and every request
    of it goes that way. Locks, in order (docs/ledger.md): the money lock shared, the cards' accounts ascending,
    the runs ascending, the chain lock at COMMIT.

    Answers (the API's Idempotency-Key records): `respond_many([(request, enrolment id), …])` is called inside
    the outcome's unit of work for the requests with a `respond` that the batch confirmed, so each answer
    commits (or rolls back) with its enrolment's confirmation; a request that goes alone calls its own
    `respond` inside its last unit of work, as enrol() does."""
    results: list[int | DomainError | None] = [None] * len(requests)
    actors = [request.actor or actor for request in requests]
    plans, alone = _plan_batch(requests, today, results)
    held, new_payments = _hold_batch(plans, alone, results, now=now, today=today, actors=actors)
    states: dict[int, ProcessorPayment] = {}
    for index, hold in held.items():
        payment = new_payments[hold.enrolment_id]
        results[index] = hold.enrolment_id  # held; confirmed below when the processor took the payment
        try:
            states[index] = _ask_processor(
                payment.backend, payment.amount, payment.idempotency_key, hold.enrolment_id, payment.id
            )
        except DomainError as exc:  # the processor did not answer: the payment stays pending, retried later
            log.warning("payment %s not processed yet: %s", payment.id, exc.code)
    confirmations = {index: hot_path.confirm_plan_from(plans[index], held[index]) for index in states}
    answers = _batch_answers(requests, respond_many)
    for index in _confirm_batch(confirmations, states, new_payments, today=today, actors=actors, answers=answers):
        payment_id = new_payments[held[index].enrolment_id].id
        apply_state(
            payment_id,
            states[index],
            actor=actors[index],
            today=today,
            plan=confirmations[index],
            respond=requests[index].respond,
        )
    for index in sorted(alone):
        results[index] = _enrol_alone(requests[index], now=now, today=today, actor=actors[index])
    return results


def _batch_answers(requests: Sequence[EnrolRequest], respond_many: RespondMany | None):
    """answers(indexes, enrolment ids): inside the outcome's unit of work, store the answers of the confirmed
    requests that want one (respond_many), set-based."""

    def answers(confirmed: list[tuple[int, int]]) -> None:
        wanted = [(requests[index], enrolment_id) for index, enrolment_id in confirmed if requests[index].respond]
        if wanted and respond_many is not None:
            respond_many(wanted)

    return answers


def _enrol_alone(request: EnrolRequest, *, now: datetime, today: date, actor: str) -> int | DomainError:
    """A request the batch could not write as planned, through enrol(): its enrolment's id (its answer stored
    by its own `respond` in its last unit of work, when it has one) or its refusal."""
    responded: list[int] = []

    def respond(enrolment: Enrolment) -> None:
        request.respond(enrolment)
        responded.append(enrolment.id)

    try:
        enrolment = enrol(
            request.user_id,
            request.run_id,
            request_key=request.request_key,
            now=now,
            today=today,
            actor=actor,
            respond=respond if request.respond is not None else None,
        )
    except DomainError as exc:
        db.session.rollback()
        return exc
    return enrolment.id if enrolment is not None else responded[-1]


def _plan_batch(
    requests: Sequence[EnrolRequest], today: date, results: list
) -> tuple[dict[int, hot_path.Plan], set[int]]:
    """Every request's plan, read before the transaction ({index: plan}), and the indexes left to enrol()
    (an earlier request's enrolment, nothing to pay, or a second request for the same key or person and run);
    a refusal is stored in results."""
    plans: dict[int, hot_path.Plan] = {}
    alone: set[int] = set()
    seen: set[tuple] = set()
    batch = [(request.user_id, request.run_id, request.request_key) for request in requests]
    for index, (request, planned) in enumerate(zip(requests, hot_path.plan_many(batch, today=today), strict=True)):
        if isinstance(planned, DomainError):
            results[index] = planned
            continue
        if isinstance(planned, Enrolment):  # the same request's enrolment, written earlier
            alone.add(index)
            continue
        keys = {("request", request.user_id, request.request_key), ("live", planned.person_id, request.run_id)}
        if keys & seen or not planned.self_pay:
            alone.add(index)
            continue
        seen |= keys
        plans[index] = planned
    _end_read()
    return plans, alone


def _hold_batch(
    plans: dict[int, hot_path.Plan], alone: set[int], results: list, *, now: datetime, today: date, actors: list[str]
) -> tuple[dict[int, hot_path.Held], dict]:
    """The batch's intent: {index: Held} and {enrolment id: its payment attempt}; refusals (RunFull) go to
    results, and requests the batch cannot write as planned to `alone`."""
    if not plans:
        return {}, {}
    held: dict[int, hot_path.Held] = {}
    try:
        with unit_of_work(write_lock=True):
            audit.lock_chain(shared=True)
            locked = hot_path.lock_cards({p.card_id for p in plans.values() if p.card_draw}, today)
            accepted, left = [], {}
            for index, planned in plans.items():
                card = locked.get(planned.card_id) if planned.card_draw else None
                if card is not None:  # what the batch's earlier plans on the same card left
                    card = replace(card, available=left.get(planned.card_id, card.available))
                if not hot_path.still_priced(planned, card):
                    alone.add(index)  # the balance moved since the quote: enrol() prices it again
                    continue
                accepted.append(index)
                if card is not None:
                    left[planned.card_id] = card.available - planned.card_draw
            outcomes = hot_path.enrol_many_locked(
                [plans[i] for i in accepted], locked, now=now, actor=[actors[i] for i in accepted]
            )
            for index, outcome in zip(accepted, outcomes, strict=True):
                if outcome is None:
                    alone.add(index)
                elif isinstance(outcome, errors.RunFull):
                    results[index] = outcome
                else:
                    held[index] = outcome
            new_payments = payments.open_first_payments(
                {hold.enrolment_id: plans[index].self_pay for index, hold in held.items()}
            )
    except (DomainError, SQLAlchemyError) as exc:  # nothing of the batch was written: each request alone
        log.warning("enrolment batch of %s rolled back (%s): each request goes alone", len(plans), exc)
        for index in plans:
            results[index] = None
        alone.update(plans)
        return {}, {}
    return held, new_payments


def _confirm_batch(
    confirmations: dict, states: dict, new_payments: dict, *, today: date, actors: list[str], answers
) -> list[int]:
    """The batch's outcome: confirm, in one unit of work, every enrolment whose payment the processor took and
    that is still held with a pending hold and a usable card, and store their answers (`answers`) in it;
    returns the indexes left to apply_state()."""
    if not confirmations:
        return []
    payment_of = {index: new_payments[plan.enrolment_id].id for index, plan in confirmations.items()}
    try:
        with unit_of_work(write_lock=True):
            audit.lock_chain(shared=True)
            locked = hot_path.lock_cards({p.card_id for p in confirmations.values() if p.card_id is not None}, today)
            succeeded = [index for index in confirmations if states[index].status == SUCCEEDED]
            usable = hot_path.confirmable_many([confirmations[index] for index in succeeded], locked)
            candidates = [index for index, yes in zip(succeeded, usable, strict=True) if yes]
            paid = payments.succeed_pending_many({payment_of[index]: states[index] for index in candidates})
            confirming = [index for index in candidates if payment_of[index] in paid]
            if confirming:
                hot_path.confirm_many_locked(
                    [confirmations[index] for index in confirming],
                    actor=[actors[index] for index in confirming],
                    reason="자비부담금 결제 완료",
                )
                answers([(index, confirmations[index].enrolment_id) for index in confirming])
    except (DomainError, SQLAlchemyError) as exc:
        log.warning("confirmation batch of %s rolled back (%s): each goes alone", len(confirmations), exc)
        return list(confirmations)
    confirmed = set(confirming)
    return [index for index in confirmations if index not in confirmed]


def _noting(respond: Callable[[Enrolment], None] | None, responded: list[bool]):
    """respond(), remembering (once its unit of work committed) that it was called."""
    if respond is None:
        return None

    def answered(enrolment: Enrolment) -> None:
        respond(enrolment)
        after_commit(lambda: responded.append(True))

    return answered


class _Repriced(Exception):
    """The quote made before the transaction no longer holds under the card's lock."""


def _resume(enrolment_id: int | None, *, actor: str, today: date, enrol_args: tuple | None = None) -> Enrolment:
    """The services' path: an earlier request's enrolment and its payment (a retry), or, with enrol_args, a
    whole enrolment priced under the lock."""
    with unit_of_work(write_lock=True):  # phase 1: the intent
        audit.lock_chain(shared=True)
        if enrol_args is not None:
            user_id, run_id, request_key, now = enrol_args
            enrolment = enrolments.enrol(user_id, run_id, request_key=request_key, now=now, today=today, actor=actor)
        else:
            enrolment = enrolments.get(enrolment_id)
        payment = (
            begin(enrolment, actor=actor, today=today)
            if enrolment.status == S.HELD
            else payments.current_payment(enrolment.id)
        )
        enrolment_id, payment_id = enrolment.id, payment.id if payment is not None else None
    if payment_id is not None:
        try:
            process(payment_id, actor=actor, today=today)  # phases 2 and 3
        except DomainError as exc:  # the processor did not answer: the payment stays pending, retried later
            log.warning("payment %s not processed yet: %s", payment_id, exc.code)
            db.session.rollback()
    return enrolments.get(enrolment_id)


def prepare(enrolment_id: int, *, actor: str) -> Payment | None:
    """The payment a held enrolment's pay page works on, opened at the processor: the current attempt, or a
    new one when the last was declined or cancelled (the hold stays until it expires). Raises
    ProcessorUnavailable (the attempt row is committed; calling again retries with its key)."""
    payment = payments.current_payment(enrolment_id)
    if payments.needs_new_attempt(payment):
        with unit_of_work(write_lock=True):
            enrolment = enrolments.get(enrolment_id)
            if enrolment.status != S.HELD:
                return payment
            payment = begin(enrolment, actor=actor)
            if payment is None:
                return None
    return process(payment.id, actor=actor)


def process(payment_id: int, *, actor: str, today: date | None = None) -> Payment | None:
    """Open a committed payment at the processor (outside any transaction), then record the answer; returns the
    payment as recorded (None for the attempt enrol() has just opened: enrol reads what it returns itself).

    Idempotent: once the processor's id is stored nothing is sent again; before that, a retry sends the same
    idempotency key, so the processor returns the payment it made the first time. Raises
    ProcessorUnavailable (nothing recorded, the payment stays pending: call again later).
    """
    opened, plan, respond = db.session.info.pop(_JUST_OPENED, (None, None, None))
    if opened is not None and opened.id == payment_id:  # enrol() has just committed it: pending, no processor id
        amount, key, enrolment_id, backend = opened.amount, opened.idempotency_key, plan.enrolment_id, opened.backend
    else:
        plan, respond, payment = None, None, payments.get(payment_id)
        if payment.status != PaymentStatus.PENDING or payment.processor_ref:
            _end_read()
            return db.session.get(Payment, payment_id)
        amount, key, enrolment_id = payment.amount, payment.idempotency_key, payment.enrolment_id
        backend = payment.backend
        _end_read()
    result = _ask_processor(backend, amount, key, enrolment_id, payment_id)
    apply_state(payment_id, result, actor=actor, today=today, plan=plan, respond=respond)
    return None if plan is not None else db.session.get(Payment, payment_id)


_JUST_OPENED = (
    "checkout_just_opened"  # session.info: what enrol() hands to process(): (NewPayment, ConfirmPlan, respond)
)


def _ask_processor(backend: str, amount: int, key: str, enrolment_id: int, payment_id: int) -> ProcessorPayment:
    """Open the payment at the processor (no transaction open): the same key on every retry."""
    return gateway(backend).create_payment(
        amount=amount,
        idempotency_key=key,
        description=f"hrdnet 수강 신청 {enrolment_id}",
        metadata={"enrolment_id": str(enrolment_id), "payment_id": str(payment_id)},
    )


def pay_with_card(payment_id: int, card_token: str, *, actor: str) -> ProcessorPayment:
    """Pay an opened payment with the card the browser tokenised (confirmation on the server, with a key
    derived from the payment's key and the card, so a resubmission repeats the same request).

    Returns the processor's state after recording it (succeeded, requires_action, …). Raises CardDeclined
    (recorded on the payment; the hold stays), ProcessorUnavailable (nothing changes; retry), PaymentClosed.
    """
    payment = payments.get(payment_id)
    enrolment = enrolments.get(payment.enrolment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        _end_read()
        return gateway(payment.backend).get_payment(payment.processor_ref)
    if (
        payment.status != PaymentStatus.PENDING
        or enrolment.status != S.HELD
        or (enrolment.expires_at is not None and enrolment.expires_at <= utcnow())
    ):
        _end_read()
        raise PaymentClosed()
    unusable = enrolments.paying_card_refusal(enrolment, kst_today())
    if unusable is not None:  # suspended since the hold: end the enrolment before anyone is charged
        _end_read()
        with unit_of_work(write_lock=True):
            enrolments.reject(enrolments.get(enrolment.id), reason=unusable.message, actor=actor, on=kst_today())
        raise unusable
    if not payment.processor_ref:
        _end_read()
        payment = process(payment_id, actor=actor)
    ref, key, backend = payment.processor_ref, payment.idempotency_key, payment.backend
    _end_read()
    try:
        result = gateway(backend).pay_with_card(
            ref=ref, card_token=card_token, idempotency_key=confirm_key(key, card_token)
        )
    except CardDeclined as declined:
        with unit_of_work(write_lock=True):
            payments.close_declined(payments.get(payment_id), declined.message)
        raise
    apply_state(payment_id, result, actor=actor)
    return result


def sync(payment_id: int, *, actor: str) -> Payment:
    """Re-read the payment from the processor and record what it says (the return page's POST; the webhook
    does the same through handle_event). Raises ProcessorUnavailable."""
    payment = payments.get(payment_id)
    ref, backend = payment.processor_ref, payment.backend
    _end_read()
    if not ref:
        return process(payment_id, actor=actor)
    apply_state(payment_id, gateway(backend).get_payment(ref), actor=actor)
    return db.session.get(Payment, payment_id)


# -- the one fulfilment path --------------------------------------------------------------------------------------


def apply_state(
    payment_id: int,
    state: ProcessorPayment,
    *,
    actor: str,
    today: date | None = None,
    event: PaymentEvent | None = None,
    declined_event: bool = False,
    plan: hot_path.ConfirmPlan | None = None,
    respond: Callable[[Enrolment], None] | None = None,
) -> str:
    """Record the processor's state of a payment in one unit of work; returns what was done (for the log).

    `event` (a webhook's record) is inserted in the same transaction: if another request recorded the same
    event first, nothing is done ("duplicate"). `plan` is the confirmation checkout.enrol planned; otherwise
    it is read here, before the transaction. The usual case (a success for a held enrolment whose hold is
    pending and whose card can pay) is written by the hot path; every other case by fulfil() and the services.
    `respond(enrolment)` (checkout.enrol's) is called at the end of the unit of work, whatever the outcome.
    """
    today = today or kst_today()
    if plan is None:
        plan = hot_path.confirm_plan(db.session.scalar(select(Payment.enrolment_id).where(Payment.id == payment_id)))
        _end_read()
    with unit_of_work(write_lock=True):
        # The hot path's lock order (docs/ledger.md): the money lock shared, then the card's accounts, then the
        # rest; on SQLite BEGIN IMMEDIATE already made this the only writer.
        audit.lock_chain(shared=True)
        card = hot_path.lock_card(plan.card_id, today)
        if event is not None and not webhooks.record_event(event, payment_id):
            return "duplicate"
        if (
            state.status == SUCCEEDED
            and hot_path.confirmable(plan, card)
            and payments.succeed_pending(payment_id, state)
        ):
            hot_path.confirm_locked(plan, actor=actor, reason="자비부담금 결제 완료")
            if event is not None:
                webhooks.note_outcome(event, "confirmed")
            if respond is not None:
                respond(enrolments.get(plan.enrolment_id))
            return "confirmed"
        payment = payments.get(payment_id)
        payments.record_processor_ids(payment, state)
        if state.status == SUCCEEDED:
            outcome = fulfil(payment_id, actor=actor, received=state.amount_received or state.amount, today=today)
        elif state.status == CANCELED:
            outcome = "canceled"
            payments.mark_canceled(payment)
        elif state.status == REQUIRES_PAYMENT and state.failure_message:
            payments.close_declined(payment, state.failure_message)
            outcome = "declined"
            if declined_event and payments.declines(payment.enrolment_id) >= MAX_DECLINES:
                outcome = _give_up(payment.enrolment_id, actor=actor)
        else:
            outcome = state.status
        if event is not None:
            webhooks.note_outcome(event, outcome)
        if respond is not None:
            respond(enrolments.get(plan.enrolment_id))
        return outcome


def fulfil(payment_id: int, *, actor: str, today: date, received: int | None = None) -> str:
    """Inside a unit of work: the processor says the payment succeeded. Confirm the enrolment, once; refund
    (and flag) a success that can no longer be used. Idempotent."""
    audit.lock_chain()
    payment = payments.get(payment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        return "already fulfilled"
    received = payment.amount if received is None else received
    if received != payment.amount:
        payments.flag(payment, PaymentFlagKind.AMOUNT_MISMATCH, f"요청 {payment.amount:,}원, 결제 {received:,}원")
        log.error("payment %s: processor collected %s, expected %s", payment.id, received, payment.amount)
        return "amount mismatch"
    enrolment = enrolments.get(payment.enrolment_id)
    payments.mark_succeeded(payment)
    live_hold = enrolment.hold_id is None or ledger.hold_state(enrolment.hold_id) == ledger.PENDING
    unusable = enrolments.paying_card_refusal(enrolment, today) if enrolment.status == S.HELD and live_hold else None
    if enrolment.status == S.HELD and live_hold and unusable is None:
        enrolments.confirm(enrolment.id, actor=actor, on=today)
        return "confirmed"
    if unusable is not None:  # the card was suspended (or expired) since the hold: never confirmed on it
        enrolments.reject(enrolment, reason=unusable.message, actor=actor, on=today)
        kind, why = PaymentFlagKind.CARD_UNUSABLE_REFUNDED, unusable.message
    elif enrolment.status in PAID_STATUSES and payments.other_successes(payment):
        kind, why = PaymentFlagKind.DUPLICATE_REFUNDED, "이미 결제된 신청의 중복 결제"
    else:
        kind, why = PaymentFlagKind.LATE_SUCCESS_REFUNDED, f"신청 상태 '{enrolment.status}'에서 결제됨"
    payments.queue_refund(payment, payment.amount - payment.refunded, suffix="auto")
    payments.flag(payment, kind, f"{why}: {payment.amount:,}원 전액 자동 환불")
    log.warning(
        "payment %s succeeded for enrolment %s in status %s: refunded in full and flagged",
        payment.id,
        enrolment.id,
        enrolment.status,
    )
    return "refunded (late or duplicate)"


def _give_up(enrolment_id: int, *, actor: str) -> str:
    """Too many declines: release the hold and end the enrolment (its open attempts are then cancelled by
    cancel_abandoned)."""
    enrolment = enrolments.get(enrolment_id)
    if enrolment.status != S.HELD:
        return "declined"
    enrolments.expire(
        enrolment, actor=actor, on=kst_today(), reason=f"카드 결제가 {MAX_DECLINES}번 거절되어 신청이 취소되었습니다"
    )
    return "declined: hold released"


# -- the processor's notifications ----------------------------------------------------------------------------------


def handle_event(event: ProcessorEvent, *, backend: str, actor: str = SYSTEM) -> str:
    """A verified notification: record its id once and apply the payment's current state (re-read from
    the processor: an event may be late, repeated or out of order). Raises ProcessorUnavailable (the caller
    answers 5xx so the processor delivers it again later; nothing was recorded)."""
    if webhooks.seen(backend, event.id):
        _end_read()
        return "duplicate"
    record = webhooks.new_record(event, backend=backend)
    if not webhooks.is_handled(event):
        _end_read()
        return _record_only(record, "ignored")
    _end_read()  # no transaction stays open while the processor answers
    state = gateway(backend).get_payment(event.payment_ref)
    payment_id = webhooks.payment_id_of(event.payment_ref, state)
    _end_read()
    if payment_id is None:
        log.warning("%s event %s for a payment that is not ours (%s)", backend, event.id, event.payment_ref)
        return _record_only(record, "not ours")
    return apply_state(payment_id, state, actor=actor, event=record, declined_event=event.kind == "payment.failed")


def _record_only(record: PaymentEvent, outcome: str) -> str:
    webhooks.note_outcome(record, outcome)
    with unit_of_work(write_lock=True):
        recorded = webhooks.record_event(record, None)
    return outcome if recorded else "duplicate"


# -- abandoned payments (a worker job and an outbox handler, registered by vouchers.init_app) -------------------


def cancel_abandoned(limit: int = 200) -> int:
    """Pending payments of enrolments that expired or were cancelled before paying: cancel them here and at
    the processor (an outbox item: sent after commit, retried until it goes through)."""
    with unit_of_work(write_lock=True):
        rows = db.session.scalars(
            select(Payment)
            .join(Enrolment, Enrolment.id == Payment.enrolment_id)
            .where(
                Payment.status == PaymentStatus.PENDING.value,
                Enrolment.status.in_([S.EXPIRED.value, S.WITHDRAWN.value, S.REJECTED.value]),
            )
            .order_by(Payment.id)
            .limit(limit)
        ).all()
        for payment in rows:
            payments.mark_canceled(payment)
            if payment.processor_ref:
                payments.queue_cancel(payment)
        return len(rows)


def send_cancel(payload: dict) -> None:
    """The `payments.cancel` outbox item: cancel at the processor; a payment that succeeded at the last
    moment is recorded through the fulfilment path (which refunds and flags it)."""
    backend = payload.get("backend") or gateway().name
    state = gateway(backend).cancel(ref=payload["ref"], idempotency_key=payload["idempotency_key"])
    if state.status == SUCCEEDED:
        apply_state(payload["payment_id"], state, actor=SYSTEM)


# -- cancelling and refunding (inside the caller's unit of work) ---------------------------------------------------


def cancel(
    enrolment_id: int, *, on: date, actor: str, exempt_reason: str | None = None, rules: CardRules | None = None
) -> CancelPreview:
    """Withdraw or drop out by the rules (vouchers.enrolments.refunds) and queue the self-pay refund at the
    processor, in the caller's unit of work."""
    preview = refunds.cancel(enrolment_id, on=on, actor=actor, exempt_reason=exempt_reason, rules=rules)
    if preview.self_pay_refund:
        payments.refund_self_pay(enrolment_id, preview.self_pay_refund)
    return preview


@dataclass(frozen=True)
class Cancelled:
    preview: CancelPreview
    hold_released: int  # card share of an unpaid enrolment, released back to the card
    to_card: bool = True  # the government share goes back to a card (else to the programme budget)

    @property
    def card_back(self) -> int:
        return self.preview.card_return + self.hold_released

    def as_dict(self) -> dict:
        return {**self.preview.as_dict(), "deadline": self.preview.deadline, "hold_released": self.hold_released}


def cancel_own(
    enrolment_id: int, user_id: int, *, today: date, actor: str, exempt_reason: str | None = None
) -> Cancelled:
    """The learner cancels their own enrolment (someone else's is 'not found'), optionally giving an exempt
    reason for leaving (조기취업, 질병·부상, …) that the provider or an admin then checks."""
    enrolment = enrolments.own(enrolment_id, user_id)
    released, to_card = refunds.hold_released(enrolment), bool(enrolment.card_draw)
    return Cancelled(cancel(enrolment_id, on=today, actor=actor, exempt_reason=exempt_reason), released, to_card)


# -- 폐강: the provider cancels a run that has learners -------------------------------------------------------

LIVE = (EnrolmentStatus.APPLIED, EnrolmentStatus.HELD, EnrolmentStatus.CONFIRMED, EnrolmentStatus.IN_TRAINING)


def cancel_run(run_id: int, provider_id: int, *, today: date, actor: str, reason: str) -> int:
    """폐강: every live enrolment is cancelled by the withdrawal rules (holds released, co-payments refunded in
    full: a cancelled run is never the learner's doing, so it is allowed only up to the free-withdrawal
    deadline, when the rules give everything back), each learner is e-mailed, the run leaves the catalog, and
    the cancellation is logged. In the caller's unit of work. Returns how many enrolments were cancelled."""
    from courses import changes
    from hrdnet import mail
    from hrdnet.auth.models import User
    from vouchers.enrolments import roster

    run = roster.run_of_provider(run_id, provider_id)
    if run.status == "cancelled":
        return 0
    if today > refunds.free_withdrawal_deadline(run):
        raise errors.RunCancelTooLate()
    live = db.session.scalars(
        select(Enrolment).where(Enrolment.run_id == run.id, Enrolment.status.in_([s.value for s in LIVE]))
    ).all()
    for enrolment in live:
        cancel(enrolment.id, on=today, actor=actor)
        email = db.session.scalar(select(User.email).where(User.id == enrolment.user_id))
        mail.queue(
            email,
            "[hrdnet] 수강 신청하신 회차가 폐강되었습니다",
            "run_cancelled",
            title=run.course.title,
            run_number=run.run_number,
            reason=reason,
        )
    run.status = "cancelled"
    changes.runs_changed([run.id])
    audit.append(
        "run.cancelled",
        actor=actor,
        subject_type="run",
        subject_id=run.id,
        data={"enrolments": len(live), "reason": reason[:200]},
    )
    return len(live)

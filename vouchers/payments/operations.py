"""Collecting and refunding the self-pay share through the configured gateway (vouchers.gateway).

The order that makes a double charge impossible:
1. `open_payment` (inside the enrolment's unit of work) commits a `payments` row with its own idempotency key;
2. `process` (after that commit, outside any transaction) asks the processor to open the payment with that
   key; a retry after a crash or timeout reuses the same row and key, so the processor answers with the
   payment it already made. `pay_with_card` does the same for the card the browser tokenised.
3. `sync` re-reads the processor's payment (outside any transaction) and `apply_state` records it (its own
   unit of work). This is the one fulfilment path: the browser's return page and the processor's webhook
   (`handle_event`, which records each event id once in the same transaction) both end here, in any order,
   any number of times. On success `fulfil` confirms the enrolment once; a success for an enrolment that is no
   longer held (its hold expired, it was cancelled, another payment paid it) is refunded in full
   automatically and flagged (`payment_flags`).
A decline closes that attempt (its processor payment is cancelled) and leaves the hold in place: the learner
may try another card (a new attempt, a new key) until the hold expires, or until MAX_DECLINES declines
reported by the processor (`payment_failed`), which release it. An expired or cancelled enrolment's
pending payment is cancelled at the processor (`cancel_abandoned`, then the `payments.cancel` outbox item).
Refunds are outbox items: recorded with the cancellation, sent to the processor after commit, never more
than was paid (checked here and against the processor's own record, whatever the processor enforces).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hrdnet import audit, outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from hrdnet.worker import scheduled
from vouchers import errors
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ledger import operations as ledger
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
from vouchers.payments.models import Payment, PaymentEvent, PaymentFlag, PaymentFlagKind, PaymentStatus

log = logging.getLogger(__name__)

REFUND_TOPIC = "payments.refund"
CANCEL_TOPIC = "payments.cancel"
SYSTEM = audit.SYSTEM_ACTOR
MAX_DECLINES = 3  # declines reported by the processor before the hold is released
S = EnrolmentStatus
PAID_STATUSES = (S.CONFIRMED, S.IN_TRAINING, S.COMPLETED, S.DROPPED, S.WITHDRAWN)


class PaymentClosed(errors.Conflict):
    code, message = "payment_closed", "이 신청은 더 이상 결제할 수 없습니다(결제 기한 만료 또는 취소)."


# -- opening ------------------------------------------------------------------------------------------------

def open_payment(enrolment: Enrolment) -> Payment | None:
    """The pending payment of a held enrolment (created once); None when there is nothing to pay."""
    if enrolment.self_pay == 0:
        return None
    existing = current_payment(enrolment.id)
    if existing is not None and existing.status in (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED):
        return existing
    attempt = db.session.scalar(select(func.count()).select_from(Payment)
                                .where(Payment.enrolment_id == enrolment.id)) + 1
    payment = Payment(enrolment_id=enrolment.id, backend=gateway().name, amount=enrolment.self_pay,
                      # Random part: keys are unique per processor account, which outlives any one database
                      # (a restored backup, a second environment); the stored key is what retries reuse.
                      idempotency_key=f"enrolment-{enrolment.id}-payment-{attempt}-{secrets.token_hex(8)}")
    db.session.add(payment)
    db.session.flush()
    return payment


def current_payment(enrolment_id: int) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.enrolment_id == enrolment_id)
                             .order_by(Payment.id.desc()).limit(1))


def pay_or_confirm(enrolment: Enrolment, *, actor: str) -> Payment | None:
    """Inside the enrolment's unit of work: open the payment, or confirm at once when there is nothing to pay."""
    payment = open_payment(enrolment)
    if payment is None and enrolment.status == EnrolmentStatus.HELD:
        enrolments.confirm(enrolment.id, actor=actor, reason="자비부담금 없음")
    return payment


def prepare(enrolment_id: int, *, actor: str) -> Payment | None:
    """The payment a held enrolment's pay page works on, opened at the processor: the current attempt, or a
    new one when the last was declined or cancelled (the hold stays until it expires). Raises
    ProcessorUnavailable (the attempt row is committed; calling again retries with its key)."""
    payment = current_payment(enrolment_id)
    if payment is None or payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        with unit_of_work(write_lock=True):
            enrolment = enrolments.get(enrolment_id)
            if enrolment.status != S.HELD:
                return payment
            payment = pay_or_confirm(enrolment, actor=actor)
            if payment is None:
                return None
    return process(payment.id, actor=actor)


def process(payment_id: int, *, actor: str) -> Payment:
    """Open a committed payment at the processor (outside any transaction), then record the answer.

    Idempotent: once the processor's id is stored nothing is sent again; before that, a retry sends the same
    idempotency key, so the processor returns the payment it made the first time. Raises
    ProcessorUnavailable (nothing recorded, the payment stays pending: call again later).
    """
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    if payment.status != PaymentStatus.PENDING or payment.processor_ref:
        db.session.rollback()
        return db.session.get(Payment, payment_id)
    amount, key, enrolment_id, backend = payment.amount, payment.idempotency_key, payment.enrolment_id, payment.backend
    db.session.rollback()  # no transaction stays open while the processor answers
    result = gateway(backend).create_payment(
        amount=amount, idempotency_key=key, description=f"hrdnet 수강 신청 {enrolment_id}",
        metadata={"enrolment_id": str(enrolment_id), "payment_id": str(payment_id)})
    apply_state(payment_id, result, actor=actor)
    return db.session.get(Payment, payment_id)


def pay_with_card(payment_id: int, card_token: str, *, actor: str) -> ProcessorPayment:
    """Pay an opened payment with the card the browser tokenised (confirmation on the server, with a key
    derived from the payment's key and the card, so a resubmission repeats the same request).

    Returns the processor's state after recording it (succeeded, requires_action, …). Raises CardDeclined
    (recorded on the payment; the hold stays), ProcessorUnavailable (nothing changes; retry), PaymentClosed.
    """
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    enrolment = enrolments.get(payment.enrolment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        db.session.rollback()
        return gateway(payment.backend).get_payment(payment.processor_ref)
    if payment.status != PaymentStatus.PENDING or enrolment.status != S.HELD or \
            (enrolment.expires_at is not None and enrolment.expires_at <= utcnow()):
        db.session.rollback()
        raise PaymentClosed()
    if not payment.processor_ref:
        db.session.rollback()
        payment = process(payment_id, actor=actor)
    ref, key, backend = payment.processor_ref, payment.idempotency_key, payment.backend
    db.session.rollback()
    try:
        result = gateway(backend).pay_with_card(ref=ref, card_token=card_token,
                                                idempotency_key=confirm_key(key, card_token))
    except CardDeclined as declined:
        with unit_of_work(write_lock=True):
            _close_declined(db.session.get(Payment, payment_id, populate_existing=True), declined.message)
        raise
    apply_state(payment_id, result, actor=actor)
    return result


# -- the one fulfilment path ----------------------------------------------------------------------------------

def sync(payment_id: int, *, actor: str) -> Payment:
    """Re-read the payment from the processor and record what it says (the return page calls this; the
    webhook does the same through handle_event). Raises ProcessorUnavailable."""
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    ref, backend = payment.processor_ref, payment.backend
    db.session.rollback()
    if not ref:
        return process(payment_id, actor=actor)
    apply_state(payment_id, gateway(backend).get_payment(ref), actor=actor)
    return db.session.get(Payment, payment_id)


def apply_state(payment_id: int, state: ProcessorPayment, *, actor: str, event: PaymentEvent | None = None,
                declined_event: bool = False) -> str:
    """Record the processor's state of a payment in one unit of work; returns what was done (for the log).

    `event` (a webhook's record) is inserted in the same transaction: if another request recorded the same
    event first, nothing is done ("duplicate").
    """
    with unit_of_work(write_lock=True):
        audit.lock_chain()  # PostgreSQL: every money writer takes this first; SQLite: BEGIN IMMEDIATE
        if event is not None:
            event.payment_id = payment_id
            savepoint = db.session.begin_nested()
            try:
                db.session.add(event)
                db.session.flush()
            except IntegrityError:
                savepoint.rollback()
                return "duplicate"
            savepoint.commit()
        payment = db.session.get(Payment, payment_id, populate_existing=True)
        if payment.processor_ref is None:
            payment.processor_ref = state.ref
            payment.client_secret = state.client_secret
        if state.status == SUCCEEDED:
            outcome = fulfil(payment_id, actor=actor, received=state.amount_received or state.amount)
        elif state.status == CANCELED:
            outcome = "canceled"
            if payment.status == PaymentStatus.PENDING:
                payment.status = PaymentStatus.CANCELED.value
        elif state.status == REQUIRES_PAYMENT and state.failure_message:
            _close_declined(payment, state.failure_message)
            outcome = "declined"
            if declined_event and _declines(payment.enrolment_id) >= MAX_DECLINES:
                outcome = _give_up(payment.enrolment_id, actor=actor)
        else:
            outcome = state.status
        if event is not None:
            event.outcome = f"{event.outcome} → {outcome}"[:200]
        return outcome


def fulfil(payment_id: int, *, actor: str, received: int | None = None) -> str:
    """Inside a unit of work: the processor says the payment succeeded. Confirm the enrolment, once; refund
    (and flag) a success that can no longer be used. Idempotent."""
    audit.lock_chain()
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    if payment.status == PaymentStatus.SUCCEEDED:
        return "already fulfilled"
    received = payment.amount if received is None else received
    if received != payment.amount:
        _flag(payment, PaymentFlagKind.AMOUNT_MISMATCH, f"요청 {payment.amount:,}원, 결제 {received:,}원")
        log.error("payment %s: processor collected %s, expected %s", payment.id, received, payment.amount)
        return "amount mismatch"
    enrolment = enrolments.get(payment.enrolment_id)
    payment.status = PaymentStatus.SUCCEEDED.value
    payment.failure_message = None
    db.session.flush()
    if enrolment.status == S.HELD and (enrolment.hold_id is None or
                                       ledger.hold_state(enrolment.hold_id) == ledger.PENDING):
        enrolments.confirm(enrolment.id, actor=actor)
        return "confirmed"
    other = db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.enrolment_id == enrolment.id, Payment.id != payment.id,
        Payment.status == PaymentStatus.SUCCEEDED.value))
    if enrolment.status in PAID_STATUSES and other:
        kind, why = PaymentFlagKind.DUPLICATE_REFUNDED, "이미 결제된 신청의 중복 결제"
    else:
        kind, why = PaymentFlagKind.LATE_SUCCESS_REFUNDED, f"신청 상태 '{enrolment.status}'에서 결제됨"
    _queue_refund(payment, payment.amount - payment.refunded, suffix="auto")
    _flag(payment, kind, f"{why}: {payment.amount:,}원 전액 자동 환불")
    log.warning("payment %s succeeded for enrolment %s in status %s: refunded in full and flagged",
                payment.id, enrolment.id, enrolment.status)
    return "refunded (late or duplicate)"


def _close_declined(payment: Payment, message: str) -> None:
    """A declined attempt is closed (its processor payment cancelled after commit); the next card is a new
    attempt with its own key. The enrolment's hold stays until it expires."""
    payment.failure_message = message[:300]
    if payment.status == PaymentStatus.PENDING:
        payment.status = PaymentStatus.FAILED.value
        if payment.processor_ref:
            _queue_cancel(payment)
    db.session.flush()


def _declines(enrolment_id: int) -> int:
    """Declines the processor reported (payment_failed events, each counted once) for an enrolment."""
    return db.session.scalar(select(func.count()).select_from(PaymentEvent)
                             .join(Payment, Payment.id == PaymentEvent.payment_id)
                             .where(Payment.enrolment_id == enrolment_id, PaymentEvent.kind == "payment.failed"))


def _give_up(enrolment_id: int, *, actor: str) -> str:
    """Too many declines: release the hold and end the enrolment (its open attempts are then cancelled by
    cancel_abandoned)."""
    enrolment = enrolments.get(enrolment_id)
    if enrolment.status != S.HELD:
        return "declined"
    enrolments._release_hold(enrolment, "expired", actor=actor)
    enrolments.apply_event(enrolment, "expire", actor=actor,
                           reason=f"카드 결제가 {MAX_DECLINES}번 거절되어 신청이 취소되었습니다")
    enrolments._return_seat(enrolment.run_id)
    return "declined: hold released"


def _flag(payment: Payment, kind: str, detail: str) -> None:
    exists = db.session.scalar(select(PaymentFlag.id).where(PaymentFlag.payment_id == payment.id,
                                                             PaymentFlag.kind == kind))
    if exists is None:
        db.session.add(PaymentFlag(payment_id=payment.id, kind=kind, detail=detail[:300]))
        audit.append("payment.flag", actor=SYSTEM, subject_type="payment", subject_id=payment.id,
                     data={"kind": kind})
        db.session.flush()


# -- webhooks ---------------------------------------------------------------------------------------------

HANDLED_EVENTS = ("payment.succeeded", "payment.failed", "payment.canceled")


def handle_event(event: ProcessorEvent, *, backend: str, actor: str = SYSTEM) -> str:
    """A verified notification: record its id once and apply the payment's current state (re-read from
    the processor: an event may be late, repeated or out of order). Raises ProcessorUnavailable (the caller
    answers 5xx so the processor delivers it again later; nothing was recorded)."""
    seen = db.session.scalar(select(PaymentEvent.id).where(PaymentEvent.backend == backend,
                                                            PaymentEvent.event_id == event.id))
    if seen is not None:
        db.session.rollback()
        return "duplicate"
    record = PaymentEvent(backend=backend, event_id=event.id[:100], kind=event.kind[:64],
                          payment_ref=(event.payment_ref or "")[:100] or None, outcome=event.type[:100])
    if event.kind not in HANDLED_EVENTS or not event.payment_ref:
        db.session.rollback()
        return _record_only(record, "ignored")
    payment_id = db.session.scalar(select(Payment.id).where(Payment.processor_ref == event.payment_ref))
    db.session.rollback()  # no transaction stays open while the processor answers
    state = gateway(backend).get_payment(event.payment_ref)
    if payment_id is None and state.payment_id is not None:
        # Ours, but its id was never stored (a crash between the processor's answer and our commit).
        payment = db.session.get(Payment, state.payment_id)
        if payment is not None and payment.processor_ref in (None, state.ref):
            payment_id = payment.id
        db.session.rollback()
    if payment_id is None:
        log.warning("%s event %s for a payment that is not ours (%s)", backend, event.id, event.payment_ref)
        return _record_only(record, "not ours")
    return apply_state(payment_id, state, actor=actor, event=record, declined_event=event.kind == "payment.failed")


def _record_only(record: PaymentEvent, outcome: str) -> str:
    record.outcome = f"{record.outcome} → {outcome}"[:200]
    try:
        with unit_of_work(write_lock=True):
            db.session.add(record)
    except IntegrityError:
        return "duplicate"
    return outcome


# -- abandoned payments ---------------------------------------------------------------------------------------

@scheduled("payments.cancel_abandoned", every=timedelta(minutes=1))
def cancel_abandoned(limit: int = 200) -> int:
    """Pending payments of enrolments that expired or were cancelled before paying: cancel them here and at
    the processor (an outbox item: sent after commit, retried until it goes through)."""
    with unit_of_work(write_lock=True):
        rows = db.session.scalars(
            select(Payment).join(Enrolment, Enrolment.id == Payment.enrolment_id)
            .where(Payment.status == PaymentStatus.PENDING.value,
                   Enrolment.status.in_([S.EXPIRED.value, S.WITHDRAWN.value, S.REJECTED.value]))
            .order_by(Payment.id).limit(limit)).all()
        for payment in rows:
            payment.status = PaymentStatus.CANCELED.value
            if payment.processor_ref:
                _queue_cancel(payment)
        return len(rows)


def _queue_cancel(payment: Payment) -> None:
    outbox.enqueue(CANCEL_TOPIC, {"payment_id": payment.id, "ref": payment.processor_ref, "backend": payment.backend,
                                  "idempotency_key": f"{payment.idempotency_key}:cancel"})


@outbox.handler(CANCEL_TOPIC)
def _send_cancel(payload: dict) -> None:
    backend = payload.get("backend") or gateway().name
    state = gateway(backend).cancel(ref=payload["ref"], idempotency_key=payload["idempotency_key"])
    if state.status == SUCCEEDED:  # paid at the last moment: fulfil refunds it and flags it
        apply_state(payload["payment_id"], state, actor=SYSTEM)


# -- refunds ------------------------------------------------------------------------------------------------

def refund_self_pay(enrolment: Enrolment, amount: int) -> None:
    """Record a refund of `amount` of the collected self-pay (never more than was paid) and queue it."""
    payment = db.session.scalar(select(Payment).where(Payment.enrolment_id == enrolment.id,
                                                      Payment.status == PaymentStatus.SUCCEEDED.value)
                                .order_by(Payment.id.desc()).limit(1))
    if payment is None:
        return  # nothing was collected through a processor (self-pay of 0)
    if payment.refunded + amount > payment.amount:
        raise ValueError(f"refund {amount} exceeds what remains of payment {payment.id}")
    _queue_refund(payment, amount)


def _queue_refund(payment: Payment, amount: int, *, suffix: str = "") -> None:
    if amount <= 0:
        return
    if payment.refunded + amount > payment.amount:
        raise ValueError(f"refund {amount} exceeds what remains of payment {payment.id}")
    payment.refunded += amount
    db.session.flush()
    # Unique per processor account (the payment's own key is): refund N of a payment is "…:refund-<total so far>".
    key = f"{payment.idempotency_key}:refund-{payment.refunded}" + (f"-{suffix}" if suffix else "")
    outbox.enqueue(REFUND_TOPIC, {"payment_id": payment.id, "ref": payment.processor_ref, "amount": amount,
                                  "idempotency_key": key, "backend": payment.backend})


class RefundRefused(RuntimeError):
    """A refund would return more than the processor says was paid; left for a person (the outbox parks it)."""


@outbox.handler(REFUND_TOPIC)
def _send_refund(payload: dict) -> None:
    processor = gateway(payload.get("backend") or None)
    ref, amount, key = payload["ref"], payload["amount"], payload["idempotency_key"]
    done = getattr(processor, "refund_with_key", None)
    if done is not None and done(ref, key) is not None:
        return  # sent before (the outbox delivers at least once)
    paid = processor.get_payment(ref)
    already = sum(r.amount for r in processor.refunds_of(ref) if r.status in ("succeeded", "pending"))
    if processor.name != "local" and already + amount > paid.amount_received:
        raise RefundRefused(f"refund of {amount} on {ref} would exceed the {paid.amount_received} paid "
                            f"({already} refunded already)")
    processor.refund(ref=ref, amount=amount, idempotency_key=key)

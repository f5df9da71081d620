"""Collecting and refunding the self-pay share through the configured gateway (vouchers.gateway).

The order that makes a double charge impossible:
1. `open_payment` (inside the enrolment's unit of work) commits a `payments` row with its own idempotency key;
2. `process` (after that commit, outside any transaction) calls the processor with that key; a retry after a
   crash or timeout reuses the same row and key, so the processor sees the same request again;
3. `fulfil` (its own unit of work) records the outcome and, on success, confirms the enrolment. It is
   idempotent: the return page and a processor's notification may both call it, in any order.
Refunds are outbox items: recorded with the cancellation, sent to the processor after commit.
"""

from __future__ import annotations

from sqlalchemy import func, select

from hrdnet import outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from vouchers import enrolments
from vouchers.gateway import gateway
from vouchers.models import Enrolment, EnrolmentStatus, Payment, PaymentStatus

REFUND_TOPIC = "payments.refund"


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
                      idempotency_key=f"enrolment-{enrolment.id}-payment-{attempt}")
    db.session.add(payment)
    db.session.flush()
    return payment


def current_payment(enrolment_id: int) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.enrolment_id == enrolment_id)
                             .order_by(Payment.id.desc()).limit(1))


def process(payment_id: int, *, actor: str) -> Payment:
    """Ask the processor to collect a committed payment (outside any transaction), then record the answer."""
    payment = db.session.get(Payment, payment_id)
    if payment.status != PaymentStatus.PENDING:
        return payment
    amount, key, enrolment_id = payment.amount, payment.idempotency_key, payment.enrolment_id
    db.session.rollback()  # no transaction stays open while the processor answers
    result = gateway().create_payment(amount=amount, idempotency_key=key, description=f"hrdnet 수강 신청 {enrolment_id}",
                                      metadata={"enrolment_id": str(enrolment_id), "payment_id": str(payment_id)})
    with unit_of_work(write_lock=True):
        payment = db.session.get(Payment, payment_id)
        payment.processor_ref = payment.processor_ref or result.ref
        payment.client_secret = result.client_secret
        payment.failure_message = result.failure_message
        if result.status == "succeeded":
            fulfil(payment_id, actor=actor)
        elif result.status == "failed":
            payment.status = PaymentStatus.FAILED.value
    return db.session.get(Payment, payment_id)


def fulfil(payment_id: int, *, actor: str) -> Enrolment:
    """The processor says the payment succeeded: record it and confirm the enrolment, once."""
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    payment.status = PaymentStatus.SUCCEEDED.value
    db.session.flush()
    enrolment = enrolments.get(payment.enrolment_id)
    if enrolment.status == EnrolmentStatus.HELD:
        return enrolments.confirm(enrolment.id, actor=actor)
    return enrolment


def pay_or_confirm(enrolment: Enrolment, *, actor: str) -> Payment | None:
    """Inside the enrolment's unit of work: open the payment, or confirm at once when there is nothing to pay."""
    payment = open_payment(enrolment)
    if payment is None and enrolment.status == EnrolmentStatus.HELD:
        enrolments.confirm(enrolment.id, actor=actor, reason="자비부담금 없음")
    return payment


def refund_self_pay(enrolment: Enrolment, amount: int) -> None:
    """Record a refund of `amount` of the collected self-pay (never more than was paid) and queue it."""
    payment = db.session.scalar(select(Payment).where(Payment.enrolment_id == enrolment.id,
                                                      Payment.status == PaymentStatus.SUCCEEDED.value)
                                .order_by(Payment.id.desc()).limit(1))
    if payment is None:
        return  # nothing was collected through a processor (self-pay of 0)
    if payment.refunded + amount > payment.amount:
        raise ValueError(f"refund {amount} exceeds what remains of payment {payment.id}")
    payment.refunded += amount
    db.session.flush()
    outbox.enqueue(REFUND_TOPIC, {"payment_id": payment.id, "ref": payment.processor_ref, "amount": amount,
                                  "idempotency_key": f"refund-{payment.id}-{payment.refunded}"})


@outbox.handler(REFUND_TOPIC)
def _send_refund(payload: dict) -> None:
    gateway().refund(ref=payload["ref"], amount=payload["amount"], idempotency_key=payload["idempotency_key"])

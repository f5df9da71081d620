"""Payment attempts of the self-pay share: the rows, what the processor said about them, refunds to send.

Plain values in, flush never commit, and no processor call and no enrolment rule here: vouchers.checkout
sequences enrolling, calling the processor (outside any transaction) and recording what it answered, and it
decides what an answer means for the enrolment. What this module keeps true:
- each attempt has its own idempotency key, committed before the processor is first called with it, so a
  retry after a crash or timeout can only find the payment made the first time;
- a declined attempt is closed (its processor payment cancelled after commit, an outbox item); the next card
  is a new attempt with a new key;
- refunds are outbox items recorded with the cancellation, never more than was paid (checked here and, when
  sending, against the processor's own record: vouchers.payments.jobs).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import BigInteger, Text, case, func, insert, select, update

from hrdnet import audit, outbox
from hrdnet.db import insert_rows, json_recordset
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers.payments.gateway import ProcessorPayment, gateway
from vouchers.payments.models import Payment, PaymentEvent, PaymentFlag, PaymentStatus

REFUND_TOPIC = "payments.refund"
CANCEL_TOPIC = "payments.cancel"
SYSTEM = audit.SYSTEM_ACTOR
OPEN_STATUSES = (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED)  # an attempt still in use


# -- attempts -------------------------------------------------------------------------------------------------


def open_payment(enrolment_id: int, amount: int) -> Payment | None:
    """The enrolment's pending (or paid) attempt, or a new one; None when there is nothing to pay."""
    if amount == 0:
        return None
    existing = current_payment(enrolment_id)
    if existing is not None and existing.status in OPEN_STATUSES:
        return existing
    attempt = (
        db.session.scalar(select(func.count()).select_from(Payment).where(Payment.enrolment_id == enrolment_id)) + 1
    )
    payment = Payment(
        enrolment_id=enrolment_id,
        backend=gateway().name,
        amount=amount,
        idempotency_key=_new_key(enrolment_id, attempt),
    )
    db.session.add(payment)
    db.session.flush()
    return payment


@dataclass(frozen=True)
class NewPayment:
    id: int
    amount: int
    idempotency_key: str
    backend: str


def open_first_payment(enrolment_id: int, amount: int) -> NewPayment:
    """The first attempt of an enrolment the hot path has just written (so there is no earlier one to find):
    the same row as open_payment(), in one INSERT … RETURNING."""
    key, backend, now = _new_key(enrolment_id, 1), gateway().name, utcnow()
    payment_id = db.session.scalar(
        insert(Payment.__table__)
        .values(
            enrolment_id=enrolment_id,
            backend=backend,
            amount=amount,
            idempotency_key=key,
            status=PaymentStatus.PENDING.value,
            refunded=0,
            created_at=now,
            updated_at=now,
        )
        .returning(Payment.id)
    )
    return NewPayment(payment_id, amount, key, backend)


def succeed_pending(payment_id: int, state: ProcessorPayment) -> bool:
    """The hot path's record of a success: a pending attempt whose amount the processor collected in full is
    marked succeeded (with the processor's ids, kept the first time), in one UPDATE. False when it is not
    pending or the amounts differ: the ORM path (checkout.fulfil) then decides."""
    received = state.amount_received or state.amount
    updated = db.session.execute(
        update(Payment.__table__)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.PENDING.value, Payment.amount == received)
        .values(
            status=PaymentStatus.SUCCEEDED.value,
            failure_message=None,
            processor_ref=func.coalesce(Payment.processor_ref, state.ref),
            client_secret=case((Payment.processor_ref.is_(None), state.client_secret), else_=Payment.client_secret),
            updated_at=utcnow(),
        )
    )
    return updated.rowcount == 1


def open_first_payments(amounts: dict[int, int]) -> dict[int, NewPayment]:
    """open_first_payment for a batch ({enrolment id: amount}): one multi-row INSERT … RETURNING; returns
    {enrolment id: the new attempt}."""
    if not amounts:
        return {}
    backend, now = gateway().name, utcnow()
    keys = {enrolment_id: _new_key(enrolment_id, 1) for enrolment_id in amounts}
    rows = insert_rows(
        Payment.__table__,
        [
            {
                "enrolment_id": enrolment_id,
                "backend": backend,
                "amount": amount,
                "idempotency_key": keys[enrolment_id],
                "status": PaymentStatus.PENDING.value,
                "refunded": 0,
                "created_at": now,
                "updated_at": now,
            }
            for enrolment_id, amount in amounts.items()
        ],
        returning=("enrolment_id", "id"),
    )
    return {
        enrolment_id: NewPayment(payment_id, amounts[enrolment_id], keys[enrolment_id], backend)
        for enrolment_id, payment_id in rows
    }


def succeed_pending_many(states: dict[int, ProcessorPayment]) -> set[int]:
    """succeed_pending for a batch ({payment id: the processor's state}) in one UPDATE … RETURNING: the ids of
    the payments marked succeeded (pending, and collected in full); the others are left as they are."""
    if not states:
        return set()
    if db.session.get_bind().dialect.name == "postgresql":
        return _succeed_pending_many_pg(states)

    def by_id(values: dict):
        return case(values, value=Payment.id)

    updated = db.session.execute(
        update(Payment.__table__)
        .where(
            Payment.id.in_(list(states)),
            Payment.status == PaymentStatus.PENDING.value,
            Payment.amount == by_id({pid: s.amount_received or s.amount for pid, s in states.items()}),
        )
        .values(
            status=PaymentStatus.SUCCEEDED.value,
            failure_message=None,
            processor_ref=func.coalesce(Payment.processor_ref, by_id({pid: s.ref for pid, s in states.items()})),
            client_secret=case(
                (Payment.processor_ref.is_(None), by_id({pid: s.client_secret for pid, s in states.items()})),
                else_=Payment.client_secret,
            ),
            updated_at=utcnow(),
        )
        .returning(Payment.id)
    )
    return set(updated.scalars())


def _succeed_pending_many_pg(states: dict[int, ProcessorPayment]) -> set[int]:
    """succeed_pending_many's UPDATE on PostgreSQL: each payment's values joined from one JSON parameter
    (hrdnet.db.json_recordset), a statement built and cached once, instead of three CASEs of one value per
    payment (same rows changed, same values written)."""
    processor = json_recordset(
        "processor",
        [
            {"id": pid, "amount": s.amount_received or s.amount, "ref": s.ref, "client_secret": s.client_secret}
            for pid, s in states.items()
        ],
        {"id": BigInteger(), "amount": BigInteger(), "ref": Text(), "client_secret": Text()},
    )
    updated = db.session.execute(
        update(Payment.__table__)
        .where(
            Payment.id == processor.c.id,
            Payment.status == PaymentStatus.PENDING.value,
            Payment.amount == processor.c.amount,
        )
        .values(
            status=PaymentStatus.SUCCEEDED.value,
            failure_message=None,
            processor_ref=func.coalesce(Payment.processor_ref, processor.c.ref),
            client_secret=case(
                (Payment.processor_ref.is_(None), processor.c.client_secret), else_=Payment.client_secret
            ),
            updated_at=utcnow(),
        )
        .returning(Payment.id)
    )
    return set(updated.scalars())


def _new_key(enrolment_id: int, attempt: int) -> str:
    # Random part: keys are unique per processor account, which outlives any one database
    # (a restored backup, a second environment); the stored key is what retries reuse.
    return f"enrolment-{enrolment_id}-payment-{attempt}-{secrets.token_hex(8)}"


def current_payment(enrolment_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(Payment.enrolment_id == enrolment_id).order_by(Payment.id.desc()).limit(1)
    )


def get(payment_id: int) -> Payment:
    """The payment as the database has it now (not as this session last saw it)."""
    return db.session.get(Payment, payment_id, populate_existing=True)


def needs_new_attempt(payment: Payment | None) -> bool:
    """No attempt yet, or the last one was declined or cancelled: paying again needs a new attempt."""
    return payment is None or payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED)


def record_processor_ids(payment: Payment, state: ProcessorPayment) -> None:
    """Keep the processor's id for the payment (and the browser's secret) the first time it answers."""
    if payment.processor_ref is None:
        payment.processor_ref = state.ref
        payment.client_secret = state.client_secret


def mark_succeeded(payment: Payment) -> None:
    payment.status = PaymentStatus.SUCCEEDED.value
    payment.failure_message = None
    db.session.flush()


def mark_canceled(payment: Payment) -> None:
    if payment.status == PaymentStatus.PENDING:
        payment.status = PaymentStatus.CANCELED.value
        db.session.flush()


def close_declined(payment: Payment, message: str) -> None:
    """A declined attempt is closed (its processor payment cancelled after commit); the next card is a new
    attempt with its own key."""
    payment.failure_message = message[:300]
    if payment.status == PaymentStatus.PENDING:
        payment.status = PaymentStatus.FAILED.value
        if payment.processor_ref:
            queue_cancel(payment)
    db.session.flush()


def declines(enrolment_id: int) -> int:
    """Declines the processor reported (payment_failed events, each counted once) for an enrolment."""
    return db.session.scalar(
        select(func.count())
        .select_from(PaymentEvent)
        .join(Payment, Payment.id == PaymentEvent.payment_id)
        .where(Payment.enrolment_id == enrolment_id, PaymentEvent.kind == "payment.failed")
    )


def other_successes(payment: Payment) -> int:
    """Other attempts of the same enrolment that the processor also collected."""
    return db.session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(
            Payment.enrolment_id == payment.enrolment_id,
            Payment.id != payment.id,
            Payment.status == PaymentStatus.SUCCEEDED.value,
        )
    )


def flag(payment: Payment, kind: str, detail: str) -> None:
    """Ask a person to look at a payment (once per payment and kind), audit-logged."""
    exists = db.session.scalar(
        select(PaymentFlag.id).where(PaymentFlag.payment_id == payment.id, PaymentFlag.kind == kind)
    )
    if exists is None:
        db.session.add(PaymentFlag(payment_id=payment.id, kind=kind, detail=detail[:300]))
        audit.append("payment.flag", actor=SYSTEM, subject_type="payment", subject_id=payment.id, data={"kind": kind})
        db.session.flush()


def flags_of(payment_id: int) -> list[PaymentFlag]:
    return list(db.session.scalars(select(PaymentFlag).where(PaymentFlag.payment_id == payment_id)))


# -- cancelling and refunding at the processor (outbox items, sent after commit) -----------------------------


def queue_cancel(payment: Payment) -> None:
    outbox.enqueue(
        CANCEL_TOPIC,
        {
            "payment_id": payment.id,
            "ref": payment.processor_ref,
            "backend": payment.backend,
            "idempotency_key": f"{payment.idempotency_key}:cancel",
        },
    )


def refund_self_pay(enrolment_id: int, amount: int) -> None:
    """Record a refund of `amount` of the collected self-pay (never more than was paid) and queue it."""
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.enrolment_id == enrolment_id, Payment.status == PaymentStatus.SUCCEEDED.value)
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if payment is None:
        return  # nothing was collected through a processor (self-pay of 0)
    queue_refund(payment, amount)


def queue_refund(payment: Payment, amount: int, *, suffix: str = "") -> None:
    if amount <= 0:
        return
    if payment.refunded + amount > payment.amount:
        raise ValueError(f"refund {amount} exceeds what remains of payment {payment.id}")
    payment.refunded += amount
    db.session.flush()
    # Unique per processor account (the payment's own key is): refund N of a payment is "…:refund-<total so far>".
    key = f"{payment.idempotency_key}:refund-{payment.refunded}" + (f"-{suffix}" if suffix else "")
    outbox.enqueue(
        REFUND_TOPIC,
        {
            "payment_id": payment.id,
            "ref": payment.processor_ref,
            "amount": amount,
            "idempotency_key": key,
            "backend": payment.backend,
        },
    )

"""The processor's notifications (webhooks): each event recorded once, and found back to our payment.

An event is never trusted for what it says happened: vouchers.checkout.handle_event re-reads the payment
from the processor and records that state in the same transaction as the event's row (record_event), so a
redelivered event, a late one or one out of order changes nothing twice. Plain values in, flush never commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hrdnet.extensions import db
from vouchers.payments.gateway import ProcessorEvent, ProcessorPayment
from vouchers.payments.models import Payment, PaymentEvent

HANDLED_EVENTS = ("payment.succeeded", "payment.failed", "payment.canceled")


def seen(backend: str, event_id: str) -> bool:
    return (
        db.session.scalar(
            select(PaymentEvent.id).where(PaymentEvent.backend == backend, PaymentEvent.event_id == event_id)
        )
        is not None
    )


def new_record(event: ProcessorEvent, *, backend: str) -> PaymentEvent:
    """The event's row, not yet added (the unit of work that acts on the event adds it)."""
    return PaymentEvent(
        backend=backend,
        event_id=event.id[:100],
        kind=event.kind[:64],
        payment_ref=(event.payment_ref or "")[:100] or None,
        outcome=event.type[:100],
    )


def is_handled(event: ProcessorEvent) -> bool:
    """Events about a payment's outcome; every other kind is only recorded."""
    return event.kind in HANDLED_EVENTS and bool(event.payment_ref)


def payment_id_of(ref: str, state: ProcessorPayment | None = None) -> int | None:
    """Our payment for the processor's id; else the one its metadata names, if its id was never stored (a
    crash between the processor's answer and our commit)."""
    payment_id = db.session.scalar(select(Payment.id).where(Payment.processor_ref == ref))
    if payment_id is None and state is not None and state.payment_id is not None:
        payment = db.session.get(Payment, state.payment_id)
        if payment is not None and payment.processor_ref in (None, state.ref):
            payment_id = payment.id
    return payment_id


def record_event(record: PaymentEvent, payment_id: int | None) -> bool:
    """Add the event's row (in a savepoint); False when another request recorded the same event first."""
    record.payment_id = payment_id
    savepoint = db.session.begin_nested()
    try:
        db.session.add(record)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def note_outcome(record: PaymentEvent, outcome: str) -> None:
    record.outcome = f"{record.outcome} → {outcome}"[:200]

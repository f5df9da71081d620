"""The naive reference for bench/enrolments.py: enrolment as the ORM path did it before issue 14.

That path (vouchers.checkout.enrol through the ORM services) took the audit chain's global advisory lock as
the first statement of every money-moving transaction, so the whole unit of work (quote, seat, hold, payment,
confirm, audit) ran one at a time across the site, whatever cards and runs it touched. This module replays
exactly that: the ORM services' sequence (enrolments.enrol, checkout.begin, the processor, then
checkout.fulfil), with that lock taken when each transaction begins. Only the benchmark uses it, to measure
the old path in the same run, on the same database, as the new one (vouchers.enrolments.hot_path).

On SQLite nothing changes: BEGIN IMMEDIATE already makes writers take turns (that was, and is, the lock).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date

from sqlalchemy import event
from sqlalchemy.orm import Session

CHAIN_LOCK = 7412001  # the advisory lock id hrdnet.audit took before issue 14
_local = threading.local()


def _lock_first(_session, _transaction, connection) -> None:
    if getattr(_local, "naive", False) and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})")


if not event.contains(Session, "after_begin", _lock_first):
    event.listen(Session, "after_begin", _lock_first)


@contextmanager
def old_lock_order():
    """Within this block (this thread only), every transaction takes the global chain lock first."""
    _local.naive = True
    try:
        yield
    finally:
        _local.naive = False


def enrol_and_pay(user_id: int, run_id: int, key: str, today: date):
    """The ORM services' enrol-then-pay sequence (hold, then local payment and confirm) with the old, global
    lock order: what checkout.enrol did before the hot path."""
    from hrdnet import audit
    from hrdnet.db import unit_of_work
    from hrdnet.extensions import db
    from hrdnet.timeutil import utcnow
    from vouchers import checkout
    from vouchers.enrolments import operations as enrolments
    from vouchers.ledger import operations as ledger
    from vouchers.payments import operations as payments
    from vouchers.payments.gateway import gateway

    with old_lock_order():
        with unit_of_work(write_lock=True):
            audit.lock_chain(shared=True)
            enrolment = enrolments.enrol(user_id, run_id, request_key=key, now=utcnow(), today=today, actor="bench")
            payment = checkout.begin(enrolment, actor="bench", today=today)
            enrolment_id, payment_id = enrolment.id, payment.id if payment is not None else None
        if payment_id is not None:
            payment = payments.get(payment_id)
            amount, idempotency_key, backend = payment.amount, payment.idempotency_key, payment.backend
            db.session.rollback()
            state = gateway(backend).create_payment(
                amount=amount,
                idempotency_key=idempotency_key,
                description=f"hrdnet 수강 신청 {enrolment_id}",
                metadata={"enrolment_id": str(enrolment_id), "payment_id": str(payment_id)},
            )
            with unit_of_work(write_lock=True):
                audit.lock_chain(shared=True)
                card_id = enrolments.get(enrolment_id).card_id
                if card_id is not None:
                    accounts = enrolments.cards.open_accounts(card_id)
                    ledger.lock_accounts([accounts.available.id, accounts.held.id])
                payment = payments.get(payment_id)
                payments.record_processor_ids(payment, state)
                checkout.fulfil(payment_id, actor="bench", received=state.amount_received, today=today)
        return enrolments.get(enrolment_id)

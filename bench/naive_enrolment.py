"""The naive reference for bench/enrolments.py: enrolment as the ORM path did it before issue 14.

That path (vouchers.checkout.enrol through the ORM services) took the audit chain's global advisory lock as
the first statement of every money-moving transaction, so the whole unit of work (quote, seat, hold, payment,
confirm, audit) ran one at a time across the site, whatever cards and runs it touched. This module replays
exactly that: the same services, with that lock taken when each transaction begins. Only the benchmark uses
it, to measure the old path in the same run, on the same database, as the new one.

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
    """checkout.enrol (hold, then local payment and confirm) with the old, global lock order."""
    from hrdnet.timeutil import utcnow
    from vouchers import checkout

    with old_lock_order():
        return checkout.enrol(user_id, run_id, request_key=key, now=utcnow(), today=today, actor="bench")

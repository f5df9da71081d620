"""The worker's voucher jobs: each runs in its own unit of work, in small batches."""

from __future__ import annotations

from datetime import timedelta

from hrdnet.db import unit_of_work
from hrdnet.timeutil import kst_today, utcnow
from hrdnet.worker import scheduled
from vouchers.cards import operations as cards
from vouchers.enrolments import attendance
from vouchers.enrolments import operations as enrolments


@scheduled("enrolments.expire_unpaid", every=timedelta(minutes=1))
def expire_unpaid() -> int:
    """Held enrolments past their payment deadline: release the hold and the seat."""
    total = 0
    while True:
        with unit_of_work(write_lock=True):
            count = enrolments.expire_due(utcnow())
        total += count
        if count < 200:
            return total


@scheduled("enrolments.start_training", every=timedelta(hours=1))
def start_training() -> int:
    with unit_of_work(write_lock=True):
        return enrolments.start_due(kst_today())


@scheduled("settlements.settle_due", every=timedelta(hours=6))
def settle_periods() -> int:
    with unit_of_work(write_lock=True):
        return attendance.settle_due(kst_today())


@scheduled("cards.expire", every=timedelta(hours=6))
def expire_cards() -> int:
    with unit_of_work(write_lock=True):
        return cards.expire_cards(kst_today())

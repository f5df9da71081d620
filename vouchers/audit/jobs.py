"""The worker's audit jobs (registered by vouchers.init_app), each in its own unit of work."""

from __future__ import annotations

from hrdnet.db import unit_of_work
from vouchers.audit import rules, spend
from vouchers.enrolments import jobs as enrolment_jobs

REFRESH_LIMIT = 50_000  # transfers folded per unit of work, so one pass never holds the write lock for long


def refresh_spend() -> int:
    total = 0
    while True:
        with unit_of_work(write_lock=True):
            count = spend.refresh(limit=REFRESH_LIMIT)
        total += count
        if count < REFRESH_LIMIT:
            return total


def settle_then_flag() -> int:
    """The settlement job, then the risk rules and the spend aggregate over what it paid."""
    count = enrolment_jobs.settle_periods()
    after_settlement()
    return count


def after_settlement() -> None:
    with unit_of_work(write_lock=True):
        rules.run()
    refresh_spend()

"""The worker's enrolment jobs (registered by vouchers.init_app): each runs in its own unit of work, in small
batches."""

from __future__ import annotations

from hrdnet.db import unit_of_work
from hrdnet.timeutil import kst_today, utcnow
from vouchers.cards import operations as cards
from vouchers.enrolments import attendance, endings, roster
from vouchers.enrolments import operations as enrolments
from vouchers.ledger import operations as ledger

BATCH = 200
MAX_BATCHES = 1000  # a bound, so a hold that cannot be expired never spins the worker


def expire_holds() -> int:
    """The one hold-expiry job. First the held enrolments past their payment deadline (their hold released,
    their seat returned and announced), then any other ledger hold whose time ran out. Returns how many
    enrolments and holds it expired."""
    total = 0
    for _ in range(MAX_BATCHES):
        with unit_of_work(write_lock=True):
            count = enrolments.expire_due(utcnow(), limit=BATCH)
        total += count
        if count < BATCH:
            break
    for _ in range(MAX_BATCHES):
        with unit_of_work(write_lock=True):
            count = ledger.expire_holds(utcnow())
        total += count
        if count < ledger.HOLD_EXPIRY_BATCH:
            break
    if total:
        with unit_of_work(write_lock=True):  # released money first pays what its person owes
            cards.collect_everything_owed(on=kst_today())
    return total


def start_training() -> int:
    with unit_of_work(write_lock=True):
        return enrolments.start_due(kst_today())


def settle_periods() -> int:
    with unit_of_work(write_lock=True):
        return attendance.settle_due(kst_today())


def decide_completions() -> int:
    """Completion (or 미수료) of every paid enrolment whose run ended, in batches (after the last periods)."""
    total = 0
    for _ in range(MAX_BATCHES):
        with unit_of_work(write_lock=True):
            count = endings.complete_due(kst_today(), limit=BATCH)
        total += count
        if count < BATCH:
            break
    return total


def remind_unmarked_attendance() -> int:
    """The day before a unit period ends, remind providers of days still unmarked (sent once per period)."""
    with unit_of_work(write_lock=True):
        return roster.remind_unmarked(kst_today())

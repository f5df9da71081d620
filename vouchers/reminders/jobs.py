"""The worker's reminder job (registered by vouchers.init_app)."""

from __future__ import annotations

from hrdnet.db import unit_of_work
from hrdnet.timeutil import kst_today, utcnow
from vouchers.reminders import operations as reminders


def send_due() -> int:
    with unit_of_work(write_lock=True):
        return reminders.send_due(kst_today(), utcnow())


def saved_search_matched(payload: dict) -> None:
    """The outbox handler of a saved search's new run (search.saved): the reminder and its e-mail."""
    with unit_of_work(write_lock=True):
        reminders.saved_search_matched(payload)

"""The worker's reminder job (registered by vouchers.init_app)."""

from __future__ import annotations

from hrdnet.db import unit_of_work
from hrdnet.timeutil import kst_today, utcnow
from vouchers.reminders import operations as reminders


def send_due() -> int:
    with unit_of_work(write_lock=True):
        return reminders.send_due(kst_today(), utcnow())

"""The worker's card job (registered by vouchers.init_app)."""

from __future__ import annotations

from hrdnet.db import unit_of_work
from hrdnet.timeutil import kst_today
from vouchers.cards import operations as cards


def expire_cards() -> int:
    with unit_of_work(write_lock=True):
        return cards.expire_cards(kst_today())

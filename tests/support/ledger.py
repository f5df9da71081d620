"""Ledger rows for tests: a programme budget, provider payables and card accounts, through vouchers.ledger.

A "card" here is only its two ledger accounts, opened for a plain owner number with no card row behind it
(learners with real cards come from tests/support/vouchers.py).
"""

from __future__ import annotations

import itertools

from hrdnet.db import unit_of_work
from vouchers.cards import operations as cards
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Account, AccountKind, TransferKind
from vouchers.ledger.operations import Leg

LIMIT = 3_000_000
PROGRAMME = 1
PROVIDER = 1
_owner_ids = itertools.count(1)


def next_owner_id() -> int:
    """A card (owner) id no other test account of this process has used."""
    return next(_owner_ids)


def posted(fn, *args, **kwargs):
    """Call a ledger function in its own unit of work, as a view or the worker would."""
    with unit_of_work(write_lock=True):
        return fn(*args, **kwargs)


def budget() -> Account:
    return posted(ledger.open_account, AccountKind.PROGRAMME_BUDGET, "programme", PROGRAMME)


def payable(provider_id: int = PROVIDER) -> Account:
    return posted(ledger.open_account, AccountKind.PROVIDER_PAYABLE, "provider", provider_id)


def new_card(amount: int = LIMIT) -> ledger.CardAccounts:
    """A card's two accounts, issued `amount` from the programme budget."""
    card_id = next_owner_id()
    source = budget()
    with unit_of_work(write_lock=True):
        card = cards.open_accounts(card_id)
        ledger.transfer(
            f"issue:{card_id}",
            TransferKind.ISSUE,
            [Leg(source.id, card.available.id, amount)],
            memo="국민내일배움카드 발급",
            actor="system",
        )
    return card

"""Deferred shared accounts (programme budget, learner co-pay, provider payable): no synchronous balance.

Every enrolment of a programme or provider posts to them, so the entries trigger no longer moves their cached
balance (that UPDATE held the site's hottest row lock until COMMIT): their balance is the frozen cache plus the
entries after it, and `ledger verify` proves it. Card accounts keep their synchronous, floored cache.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from hrdnet.extensions import db
from tests.support.ledger import budget, new_card, payable, posted
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import DEFERRED_KINDS, Account, TransferKind
from vouchers.ledger.operations import Leg

pytestmark = pytest.mark.both_dbs


def cached(account_id: int) -> int:
    return db.session.scalar(select(Account.balance).where(Account.id == account_id))


def test_a_deferred_account_moves_no_cache_and_its_balance_is_its_entries(app):
    card, source, provider = new_card(), budget(), payable()
    assert {source.kind, provider.kind} <= DEFERRED_KINDS
    posted(ledger.transfer, "fund:1", TransferKind.FUND, [Leg(source.id, provider.id, 40_000)], memo="지원", actor="t")
    posted(ledger.transfer, "fund:2", TransferKind.FUND, [Leg(source.id, provider.id, 2_000)], memo="지원", actor="t")

    assert (cached(provider.id), cached(source.id)) == (0, 0)  # the trigger left both rows alone
    assert ledger.balance(provider.id) == 42_000
    assert ledger.balance(source.id) == -(3_000_000 + 42_000)  # the card's issue and both fundings
    assert ledger.balance(card.available.id) == cached(card.available.id) == 3_000_000  # cards stay synchronous
    lines = ledger.history(provider.id)
    assert [(line.change, line.balance_after) for line in lines] == [(2_000, 42_000), (40_000, 40_000)]
    assert ledger.verify().ok


def test_verify_catches_a_deferred_accounts_cache_edited_behind_the_triggers(app, db_backend):
    source, provider = budget(), payable()
    posted(ledger.transfer, "fund:1", TransferKind.FUND, [Leg(source.id, provider.id, 40_000)], memo="지원", actor="t")
    provider_id = provider.id
    db.session.rollback()  # no read snapshot of the test's own stays open across the edit (SQLite WAL)
    with db.engine.begin() as conn:
        if db_backend == "postgresql":
            conn.execute(text("ALTER TABLE accounts DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER accounts_guard"))
        edited = conn.execute(text(f"UPDATE accounts SET balance = balance + 7 WHERE id = {provider_id}"))
        assert edited.rowcount == 1
        if db_backend == "postgresql":
            conn.execute(text("ALTER TABLE accounts ENABLE TRIGGER USER"))
    report = ledger.verify()
    assert any(
        f"account {provider_id} " in p and "cached balance 7 (+ 40000 after it) but its entries sum to 40000" in p
        for p in report.problems
    ), report.problems
    assert any("sum to 7, not 0" in p for p in report.problems), report.problems


def test_no_index_depends_on_a_balance_so_balance_updates_stay_hot(app, db_backend):
    """PostgreSQL can update a row in place (HOT) only when no indexed column or index predicate changes."""
    if db_backend == "postgresql":
        definitions = db.session.scalars(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'accounts'")).all()
    else:
        definitions = db.session.scalars(
            text("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'accounts' AND sql IS NOT NULL")
        ).all()
    assert not [d for d in definitions if "balance" in d], definitions
    assert (
        "ix_holds_expires_at"
        in db.session.scalars(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'holds'"
                if db_backend == "postgresql"
                else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'holds'"
            )
        ).all()
    )

"""Races on one card, on SQLite and PostgreSQL: many writers released at once, each on its own connection.

The harness (race + judge) is first shown to catch a naive read-then-write ledger; only then does its
verdict on the real ledger mean something. Each thread pushes its own app context, so it has its own
session and its own database connection, as separate requests under a real server would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hrdnet.audit import AuditEntry
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.support.ledger import new_card, payable
from tests.support.races import RaceResult, race
from tests.vouchers.ledger.naive_ledger import NaiveLedger, NaiveOnRealSchema
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Transfer

pytestmark = [pytest.mark.both_dbs, pytest.mark.many_connections]

THREADS = 60
BALANCE = 3_000_000
AMOUNT = 70_000  # 60 × 70,000 = 4,200,000 > 3,000,000: exactly 42 can be paid
AFFORDABLE = BALANCE // AMOUNT


@pytest.fixture
def app_config(app_config):
    """A connection per thread, so that every racer really is a separate database session at once."""
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 0, "pool_timeout": 60},
    }


def judge(result: RaceResult, *, balance: int, held: int, initial: int = BALANCE, amount: int = AMOUNT) -> list[str]:
    """Everything wrong with the outcome of n holds of `amount` on a card of `initial` (empty: all is well)."""
    problems = []
    affordable = min(len(result.outcomes), initial // amount)
    if result.succeeded > affordable:
        problems.append(f"overspent: {result.succeeded} holds succeeded, the card could pay {affordable}")
    if result.succeeded < affordable:
        problems.append(f"refused money it could pay: {result.succeeded} holds succeeded of {affordable} affordable")
    if balance < 0:
        problems.append(f"balance below zero: {balance}")
    if balance != initial - result.succeeded * amount:
        problems.append(
            f"balance not exact: {balance}, expected {initial - result.succeeded * amount} "
            f"after {result.succeeded} holds"
        )
    if held != result.succeeded * amount:
        problems.append(f"held {held}, expected {result.succeeded * amount}")
    return problems


# -- the harness catches a naive ledger -------------------------------------------------------------------


def test_the_harness_catches_a_naive_read_then_write_ledger(app):
    naive = NaiveLedger(db.engine)
    naive.install()
    naive.open_card(1, BALANCE)
    result = race(app, lambda i: naive.hold(1, AMOUNT))
    problems = judge(result, balance=naive.balance(1), held=naive.held(1))
    print(f"\nnaive ledger ({db.engine.dialect.name}): {result.summary()}; {problems}")
    assert problems, f"the harness failed to catch the naive ledger: {result.summary()}"
    assert any(p.startswith("overspent") for p in problems)


def test_naive_code_on_the_real_schema_cannot_overspend_because_the_database_refuses(app):
    """The same read-then-write mistake, but writing into the real tables: the CHECK refuses the overdraft."""
    card = new_card(BALANCE)
    available_id, held_id = card.available.id, card.held.id
    naive = NaiveOnRealSchema(db.engine)
    result = race(app, lambda i: naive.hold(f"naive:{i}", available_id, held_id, AMOUNT))
    db.session.rollback()
    problems = judge(result, balance=ledger.balance(available_id), held=ledger.balance(held_id))
    print(f"\nnaive code, real schema ({db.engine.dialect.name}): {result.summary()}; {problems}")
    assert problems == [], result.outcomes
    refused_by_database = [o for o in result.outcomes if o.startswith("error:")]
    assert all("floor" in o for o in refused_by_database), refused_by_database
    assert refused_by_database, "no stale read reached the database: the race did not happen"
    assert ledger.verify().ok


# -- the real ledger --------------------------------------------------------------------------------------


def test_concurrent_holds_on_one_card_succeed_exactly_as_far_as_the_money_goes(app):
    card = new_card(BALANCE)
    available_id, held_id = card.available.id, card.held.id
    expires_at = utcnow() + timedelta(minutes=30)

    def attempt(i: int):
        with unit_of_work(write_lock=True):
            return ledger.hold(
                f"race:{i}",
                available_id,
                held_id,
                AMOUNT,
                expires_at=expires_at,
                memo="수강 신청 금액 보류",
                actor="learner",
            )

    result = race(app, attempt)
    db.session.rollback()
    problems = judge(result, balance=ledger.balance(available_id), held=ledger.balance(held_id))
    print(f"\nreal ledger ({db.engine.dialect.name}): {result.summary()}; {problems}")
    assert problems == []
    assert result.succeeded == AFFORDABLE
    assert result.count("refused:insufficient_balance") == THREADS - AFFORDABLE
    assert ledger.balance(available_id) == BALANCE - AFFORDABLE * AMOUNT == ledger.derived_balance(available_id)
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.pending_holds == AFFORDABLE


def test_the_same_key_from_ten_threads_posts_one_transfer(app):
    card = new_card(BALANCE)
    available_id, held_id = card.available.id, card.held.id
    expires_at = utcnow() + timedelta(minutes=30)
    holds = []

    def attempt(i: int):
        with unit_of_work(write_lock=True):
            placed = ledger.hold(
                "enrolment:42:hold",
                available_id,
                held_id,
                AMOUNT,
                expires_at=expires_at,
                memo="수강 신청 금액 보류",
                actor="learner",
            )
            holds.append(placed.id)
        return True

    result = race(app, attempt, n=10)
    db.session.rollback()
    assert result.succeeded == 10, result.outcomes
    assert len(set(holds)) == 1
    assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.key == "enrolment:42:hold")) == 1
    transfer_id = db.session.scalar(select(Transfer.id).where(Transfer.key == "enrolment:42:hold"))
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.subject_type == "transfer", AuditEntry.subject_id == str(transfer_id))
        )
        == 1
    )
    assert ledger.balance(available_id) == BALANCE - AMOUNT
    assert ledger.verify().ok


def test_the_same_key_with_different_content_from_ten_threads_applies_one(app):
    card = new_card(BALANCE)
    available_id, held_id = card.available.id, card.held.id
    expires_at = utcnow() + timedelta(minutes=30)

    def attempt(i: int):
        with unit_of_work(write_lock=True):
            return ledger.hold(
                "enrolment:43:hold",
                available_id,
                held_id,
                AMOUNT + i,
                expires_at=expires_at,
                memo="수강 신청 금액 보류",
                actor="learner",
            )

    result = race(app, attempt, n=10)
    db.session.rollback()
    assert result.succeeded == 1 and result.count("refused:duplicate_key_conflict") == 9, result.outcomes
    assert BALANCE - ledger.balance(available_id) == ledger.balance(held_id) in range(AMOUNT, AMOUNT + 10)
    assert ledger.verify().ok


def test_capture_release_and_expiry_racing_for_one_hold_settle_it_once(app):
    card = new_card(BALANCE)
    to = payable()
    placed = [
        ledger.hold(
            f"h:{i}", card.available.id, card.held.id, 100_000, expires_at=utcnow(), memo="보류", actor="learner"
        )
        for i in range(3)
    ]
    db.session.commit()
    hold_ids, to_id = [h.id for h in placed], to.id
    later = utcnow() + timedelta(hours=1)

    def attempt(i: int):
        hold_id = hold_ids[i % 3]
        with unit_of_work(write_lock=True):
            if i // 3 % 3 == 0:
                return ledger.capture(f"c:{i}", hold_id, to_id, actor="system")
            if i // 3 % 3 == 1:
                return ledger.release(f"r:{i}", hold_id, actor="learner")
            return ledger.expire_holds(later) > 0

    result = race(app, attempt, n=36)
    db.session.rollback()
    assert not [o for o in result.outcomes if o.startswith("error")], result.outcomes
    assert all(o in ("ok", "refused", "refused:hold_not_pending") for o in result.outcomes), result.outcomes
    settled = db.session.execute(
        select(Transfer.hold_id, func.count()).where(Transfer.hold_id.in_(hold_ids)).group_by(Transfer.hold_id)
    ).all()
    assert sorted(settled) == [(hold_id, 1) for hold_id in sorted(hold_ids)]
    assert ledger.balance(card.held.id) == 0
    assert ledger.verify().ok

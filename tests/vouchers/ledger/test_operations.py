"""The voucher ledger: its API, and what the database refuses on its own, whoever writes.

Every test runs on SQLite and PostgreSQL. The "raw SQL" tests bypass vouchers.ledger entirely and talk to
the database the way a buggy service, a hand-written fix or a careless migration would.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from hrdnet import audit
from hrdnet.audit import AuditEntry
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.support.ledger import LIMIT, PROGRAMME, budget, new_card, next_owner_id, payable, posted
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import (
    Account,
    AccountKind,
    AccountKindDefinition,
    Entry,
    Hold,
    Transfer,
    TransferKind,
    TransferKindDefinition,
)
from vouchers.ledger.operations import Leg

pytestmark = pytest.mark.both_dbs


def programme_account(kind: AccountKind) -> Account:
    return posted(ledger.open_account, kind, "programme", PROGRAMME)


def place_hold(card: ledger.CardAccounts, amount: int, key: str | None = None, minutes: int = 30) -> Hold:
    return posted(
        ledger.hold,
        key or f"hold:{next_owner_id()}",
        card.available.id,
        card.held.id,
        amount,
        expires_at=utcnow() + timedelta(minutes=minutes),
        memo="수강 신청 금액 보류",
        actor="learner-x",
    )


def as_writer(*statements: tuple[str, dict] | str) -> None:
    """Run raw SQL in one transaction of its own, committed at the end (the database must refuse it)."""
    db.session.rollback()
    with db.engine.begin() as conn:
        for statement in statements:
            sql, params = (statement, {}) if isinstance(statement, str) else statement
            conn.execute(text(sql), params)


def as_attacker(db_backend: str, *statements: str) -> None:
    """Edit the ledger with its guard triggers out of the way (what someone with DDL rights could do)."""
    db.session.rollback()
    with db.engine.begin() as conn:
        if db_backend == "postgresql":
            for table in ("accounts", "transfers", "entries", "holds"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for name in ledger.GUARD_TRIGGERS["sqlite"]:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for statement in statements:
            conn.execute(text(statement))
        if db_backend == "postgresql":
            conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # no deferred checks pending while re-enabling
            for table in ("accounts", "transfers", "entries", "holds"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def raw_transfer(key: str, kind: str, total: int, entry_count: int, hold_id: int | None = None) -> tuple[str, dict]:
    return (
        "INSERT INTO transfers (key, kind, hold_id, entry_count, total, memo, created_at) "
        "VALUES (:key, :kind, :hold_id, :n, :total, '직접 입력', CURRENT_TIMESTAMP)",
        {"key": key, "kind": kind, "hold_id": hold_id, "n": entry_count, "total": total},
    )


def raw_entry(key: str, seq: int, account_id: int, side: str, amount: int) -> tuple[str, dict]:
    return (
        "INSERT INTO entries (transfer_id, seq, account_id, side, amount) "
        "VALUES ((SELECT id FROM transfers WHERE key = :key), :seq, :account, :side, :amount)",
        {"key": key, "seq": seq, "account": account_id, "side": side, "amount": amount},
    )


def raw_move(key: str, kind: str, debit: int, credit: int, amount: int) -> list[tuple[str, dict]]:
    """A complete, balanced transfer written by hand."""
    return [
        raw_transfer(key, kind, amount, 2),
        raw_entry(key, 1, debit, "debit", amount),
        raw_entry(key, 2, credit, "credit", amount),
    ]


def audit_entries(action: str = "ledger.transfer") -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# -- accounts ----------------------------------------------------------------------------------------------


def test_kinds_in_the_database_are_the_kinds_in_the_code(app):
    assert set(db.session.scalars(select(AccountKindDefinition.code))) == {k.value for k in AccountKind}
    assert set(db.session.scalars(select(TransferKindDefinition.code))) == {k.value for k in TransferKind}
    floored = set(
        db.session.scalars(select(AccountKindDefinition.code).where(AccountKindDefinition.may_go_negative.is_(False)))
    )
    assert {AccountKind.CARD_AVAILABLE, AccountKind.CARD_HELD} <= floored
    assert AccountKind.PROGRAMME_BUDGET not in floored


def test_an_account_is_opened_once_with_its_kinds_flags(app):
    first = budget()
    again = budget()
    assert first.id == again.id
    assert (first.currency, first.normal_side, first.may_go_negative, first.balance) == ("KRW", "credit", True, 0)
    card = posted(cards.open_accounts, 999)
    assert card.available.may_go_negative is False and card.held.may_go_negative is False
    with pytest.raises(errors.InvalidTransfer):
        posted(ledger.open_account, "wallet", "card", 1)
    with pytest.raises(errors.InvalidTransfer):
        posted(ledger.open_account, AccountKind.CARD_AVAILABLE, "programme", 1)


# -- transfers ---------------------------------------------------------------------------------------------


def test_issuing_a_card_moves_money_from_the_programme_budget(app):
    card = new_card()
    source = budget()
    assert ledger.balance(card.available.id) == LIMIT == ledger.derived_balance(card.available.id)
    assert ledger.balance(source.id) == -LIMIT == ledger.derived_balance(source.id)
    assert ledger.balance(card.held.id) == 0
    assert ledger.verify().ok


def test_a_transfer_with_several_legs_posts_each_as_a_debit_and_a_credit(app):
    card = new_card()
    with unit_of_work(write_lock=True):
        t = ledger.transfer(
            "split",
            TransferKind.PENALTY,
            [
                Leg(card.available.id, programme_account(AccountKind.PENALTY).id, 200_000),
                Leg(card.available.id, programme_account(AccountKind.EXPIRED).id, 100_000),
            ],
            memo="중도탈락 제재 차감",
            actor="system",
        )
    assert [(e.seq, e.side, e.amount) for e in t.entries] == [
        (1, "debit", 200_000),
        (2, "credit", 200_000),
        (3, "debit", 100_000),
        (4, "credit", 100_000),
    ]
    assert (t.entry_count, t.total) == (4, 300_000)
    assert ledger.balance(card.available.id) == LIMIT - 300_000


def test_overdrawing_a_card_is_refused_with_the_balance_and_nothing_is_written(app):
    card = new_card(100_000)
    before = db.session.scalar(select(func.count()).select_from(Transfer))
    with pytest.raises(errors.InsufficientBalance) as refused:
        posted(
            ledger.transfer,
            "too-much",
            TransferKind.PENALTY,
            [(card.available.id, programme_account(AccountKind.PENALTY).id, 100_001)],
            memo="제재",
            actor="system",
        )
    assert refused.value.code == "insufficient_balance" and refused.value.status == 409
    assert refused.value.details == {
        "account_id": card.available.id,
        "kind": "card_available",
        "balance": 100_000,
        "needed": 100_001,
    }
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == before
    assert ledger.balance(card.available.id) == 100_000
    with pytest.raises(errors.InsufficientBalance):
        place_hold(card, 100_001)


@pytest.mark.parametrize(
    "legs, message",
    [
        ([], "이동"),
        ([(1, 2, 0)], "금액"),
        ([(1, 2, -5)], "금액"),
        ([(1, 2, 10.0)], "금액"),
        ([(1, 2, True)], "금액"),
        ([(1, 1, 10)], "같은 계정"),
        ([(1, 2)], "이동"),
    ],
)
def test_malformed_transfers_are_refused_before_the_database(app, legs, message):
    with pytest.raises(errors.InvalidTransfer, match=message):
        posted(ledger.transfer, "bad", TransferKind.ISSUE, legs, memo="x", actor="system")


def test_unknown_kinds_accounts_and_hold_kinds_are_refused(app):
    card = new_card()
    source = budget()
    with pytest.raises(errors.InvalidTransfer):
        posted(ledger.transfer, "k1", "gift", [(source.id, card.available.id, 1)], memo="x", actor="system")
    with pytest.raises(errors.InvalidTransfer):  # holds only through hold()
        posted(ledger.transfer, "k2", TransferKind.HOLD, [(card.available.id, card.held.id, 1)], memo="x", actor="s")
    with pytest.raises(errors.AccountNotFound):
        posted(ledger.transfer, "k3", TransferKind.ISSUE, [(source.id, 987_654, 1)], memo="x", actor="system")
    with pytest.raises(errors.InvalidTransfer):
        posted(ledger.transfer, "", TransferKind.ISSUE, [(source.id, card.available.id, 1)], memo="x", actor="s")
    with pytest.raises(errors.InvalidTransfer):
        posted(ledger.transfer, "k4", TransferKind.ISSUE, [(source.id, card.available.id, 1)], memo=" ", actor="s")
    with pytest.raises(errors.InvalidTransfer):  # the ledger's own keys (hold expiry)
        posted(
            ledger.transfer,
            "ledger:hold-expiry:1",
            TransferKind.ISSUE,
            [(source.id, card.available.id, 1)],
            memo="x",
            actor="s",
        )


def test_a_retry_with_the_same_key_returns_the_first_transfer_and_moves_nothing(app):
    card = new_card()
    source = budget()
    legs = [Leg(source.id, card.available.id, 2_000_000)]
    first = posted(ledger.transfer, "top-up:1", TransferKind.TOP_UP, legs, memo="추가 지원", actor="admin-1")
    audited = len(audit_entries())
    again = posted(ledger.transfer, "top-up:1", TransferKind.TOP_UP, legs, memo="추가 지원", actor="admin-2")
    assert again.id == first.id
    assert ledger.balance(card.available.id) == LIMIT + 2_000_000
    assert len(audit_entries()) == audited


@pytest.mark.parametrize("change", ["amount", "kind", "memo", "account"])
def test_the_same_key_with_different_content_is_a_distinct_error(app, change):
    card, other = new_card(), new_card()
    source = budget()
    posted(
        ledger.transfer,
        "top-up:2",
        TransferKind.TOP_UP,
        [(source.id, card.available.id, 1_000)],
        memo="추가 지원",
        actor="admin",
    )
    legs, kind, memo = [(source.id, card.available.id, 1_000)], TransferKind.TOP_UP, "추가 지원"
    if change == "amount":
        legs = [(source.id, card.available.id, 1_001)]
    elif change == "kind":
        kind = TransferKind.ISSUE
    elif change == "memo":
        memo = "다른 설명"
    else:
        legs = [(source.id, other.available.id, 1_000)]
    with pytest.raises(errors.DuplicateKeyConflict) as conflict:
        posted(ledger.transfer, "top-up:2", kind, legs, memo=memo, actor="admin")
    assert conflict.value.code == "duplicate_key_conflict" and conflict.value.status == 409
    assert ledger.balance(card.available.id) == LIMIT + 1_000
    assert ledger.balance(other.available.id) == LIMIT


def test_every_transfer_is_in_the_audit_log_with_its_amounts_by_account(app):
    card = new_card()
    source = budget()
    (entry,) = audit_entries()
    assert (entry.actor, entry.subject_type) == ("system", "transfer")
    data = json.loads(entry.data)
    assert data == {
        "key": f"issue:{card.available.owner_id}",
        "kind": "issue",
        "total": LIMIT,
        "amounts": {str(source.id): -LIMIT, str(card.available.id): LIMIT},
    }
    held = place_hold(card, 50_000)
    posted(ledger.capture, "cap", held.id, payable().id, actor="provider-7")
    hold_entry, capture_entry = audit_entries()[1:]
    assert json.loads(hold_entry.data)["hold"] == held.id
    assert json.loads(capture_entry.data)["hold"] == held.id and capture_entry.actor == "provider-7"
    assert audit.verify().ok


# -- holds -------------------------------------------------------------------------------------------------


def test_a_hold_reserves_money_and_a_full_capture_pays_the_provider(app):
    card = new_card()
    held = place_hold(card, 1_000_000)
    assert ledger.hold_state(held.id) == "pending"
    assert (ledger.balance(card.available.id), ledger.balance(card.held.id)) == (2_000_000, 1_000_000)
    to = payable()
    capture = posted(ledger.capture, "cap:1", held.id, to.id, actor="system")
    assert capture.hold_id == held.id and capture.kind == "capture"
    assert ledger.hold_state(held.id) == "captured"
    assert (ledger.balance(card.available.id), ledger.balance(card.held.id), ledger.balance(to.id)) == (
        2_000_000,
        0,
        1_000_000,
    )
    assert ledger.verify().ok


def test_a_partial_capture_releases_the_rest_in_the_same_transfer(app):
    card = new_card()
    held = place_hold(card, 1_000_000)
    capture = posted(ledger.capture, "cap:2", held.id, payable().id, amount=600_000, actor="system")
    assert [(e.account_id, e.side, e.amount) for e in capture.entries] == [
        (card.held.id, "debit", 600_000),
        (payable().id, "credit", 600_000),
        (card.held.id, "debit", 400_000),
        (card.available.id, "credit", 400_000),
    ]
    assert (ledger.balance(card.available.id), ledger.balance(card.held.id)) == (2_400_000, 0)
    assert "600,000원" in capture.memo


def test_a_released_hold_returns_everything_and_cannot_be_captured(app):
    card = new_card()
    held = place_hold(card, 700_000)
    posted(ledger.release, "rel:1", held.id, actor="learner-x")
    assert ledger.hold_state(held.id) == "released"
    assert (ledger.balance(card.available.id), ledger.balance(card.held.id)) == (LIMIT, 0)
    with pytest.raises(errors.HoldNotPending) as refused:
        posted(ledger.capture, "cap:3", held.id, payable().id, actor="system")
    assert refused.value.details == {"hold_id": held.id, "state": "released"}
    with pytest.raises(errors.HoldNotPending):
        posted(ledger.release, "rel:2", held.id, actor="learner-x")
    assert posted(ledger.release, "rel:1", held.id, actor="learner-x").hold_id == held.id  # a retry is fine


def test_hold_requests_that_can_never_work_are_refused(app):
    card, other = new_card(), new_card()
    with pytest.raises(errors.InvalidTransfer):  # another card's held account
        posted(ledger.hold, "h1", card.available.id, other.held.id, 10, expires_at=utcnow(), memo="x", actor="s")
    with pytest.raises(errors.InvalidTransfer):  # naive datetime
        posted(
            ledger.hold,
            "h2",
            card.available.id,
            card.held.id,
            10,
            expires_at=utcnow().replace(tzinfo=None),
            memo="x",
            actor="s",
        )
    held = place_hold(card, 100)
    with pytest.raises(errors.InvalidTransfer):
        posted(ledger.capture, "c1", held.id, payable().id, amount=101, actor="s")
    with pytest.raises(errors.InvalidTransfer):
        posted(ledger.capture, "c2", held.id, other.available.id, actor="s")
    with pytest.raises(errors.HoldNotFound):
        posted(ledger.release, "r1", 987_654, actor="s")


def test_a_hold_retry_returns_the_same_hold(app):
    card = new_card()
    first = place_hold(card, 300_000, key="enrolment:5:hold")
    again = place_hold(card, 300_000, key="enrolment:5:hold", minutes=45)
    assert again.id == first.id and again.expires_at == first.expires_at
    assert ledger.balance(card.available.id) == LIMIT - 300_000
    with pytest.raises(errors.DuplicateKeyConflict):
        place_hold(card, 300_001, key="enrolment:5:hold")


def test_the_worker_expires_due_holds_once(app):
    from hrdnet import worker

    card = new_card()
    due = place_hold(card, 100_000, minutes=-1)
    later = place_hold(card, 200_000, minutes=30)
    captured = place_hold(card, 300_000, minutes=-1)
    posted(ledger.capture, "cap:due", captured.id, payable().id, actor="system")
    assert "holds.expire" in worker.run_due_jobs()
    assert [ledger.hold_state(h.id) for h in (due, later, captured)] == ["expired", "pending", "captured"]
    assert (ledger.balance(card.available.id), ledger.balance(card.held.id)) == (LIMIT - 500_000, 200_000)
    assert posted(ledger.expire_holds, utcnow()) == 0
    assert posted(ledger.expire_holds, utcnow() + timedelta(hours=1)) == 1
    expiry = db.session.scalar(select(Transfer).where(Transfer.hold_id == due.id))
    assert (expiry.key, expiry.kind) == (f"ledger:hold-expiry:{due.id}", "hold_expiry")
    assert ledger.verify().ok


def test_history_describes_each_line_in_korean_with_the_balance_after_it(app):
    card = new_card()
    held = place_hold(card, 1_000_000)
    posted(ledger.capture, "cap:h", held.id, payable().id, amount=250_000, actor="system")
    lines = ledger.history(card.available.id)
    assert [(line.label, line.change, line.balance_after) for line in lines] == [
        ("훈련비 결제", 750_000, 2_750_000),
        ("수강 신청 금액 보류", -1_000_000, 2_000_000),
        ("카드 발급", LIMIT, LIMIT),
    ]
    assert lines[2].memo == "국민내일배움카드 발급"
    older = ledger.history(card.available.id, limit=1, before_entry_id=lines[0].entry_id)
    assert [(line.label, line.balance_after) for line in older] == [("수강 신청 금액 보류", 2_000_000)]


# -- verify ------------------------------------------------------------------------------------------------


def test_verify_and_its_command_pass_on_an_intact_ledger(app, runner):
    card = new_card()
    place_hold(card, 10_000)
    report = ledger.verify()
    assert report.ok and (report.accounts, report.transfers, report.holds, report.pending_holds) == (3, 2, 1, 1)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "ledger intact" in result.output and "2 transfers" in result.output


def test_verify_catches_a_balance_edited_behind_the_triggers(app, runner, db_backend):
    card = new_card()
    issue = db.session.scalar(select(Transfer).where(Transfer.kind == "issue"))
    as_attacker(
        db_backend,
        f"UPDATE accounts SET balance = balance + 1000000 WHERE id = {card.available.id}",
        "INSERT INTO entries (transfer_id, seq, account_id, side, amount) "
        f"VALUES ({issue.id}, 3, {card.held.id}, 'debit', 5)",
    )
    report = ledger.verify()
    assert any(f"account {card.available.id} " in p and "cached balance 4000000" in p for p in report.problems)
    assert any("sum to 1000000, not 0" in p for p in report.problems)
    assert any(f"account {card.held.id} " in p and "may not go negative" in p for p in report.problems)
    assert any(f"transfer {issue.id} " in p and "3 of 2 entries" in p for p in report.problems)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "ledger BROKEN" in result.output


def test_verify_catches_a_deleted_entry_and_a_missing_trigger(app, db_backend):
    card = new_card()
    held = place_hold(card, 10_000)
    # (Entry 1: deleting the closing entry 2 would also trip the deferred foreign key from its transfer.)
    as_attacker(db_backend, f"DELETE FROM entries WHERE transfer_id = {held.transfer_id} AND seq = 1")
    problems = ledger.verify().problems
    assert any(f"transfer {held.transfer_id} " in p and "1 of 2 entries" in p for p in problems)
    assert any(f"account {card.available.id} " in p and "cached balance 2990000" in p for p in problems)
    if db_backend == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE accounts DISABLE TRIGGER accounts_guard"))
    assert any("guard trigger accounts_guard" in p for p in ledger.verify().problems)


# -- what the database refuses on its own (raw SQL, no vouchers.ledger) ------------------------------------


@pytest.mark.parametrize("amount", [0, -100])
def test_the_database_refuses_an_entry_that_is_not_positive(app, amount):
    card = new_card()
    source = budget()
    with pytest.raises(DatabaseError, match="amount_positive"):
        as_writer(raw_transfer("zero", "top_up", 100, 2), raw_entry("zero", 1, source.id, "debit", amount))
    assert ledger.verify().ok and ledger.balance(card.available.id) == LIMIT


def test_the_database_refuses_a_transfer_that_does_not_balance(app):
    card = new_card()
    source = budget()
    with pytest.raises(DatabaseError, match="does not balance"):
        as_writer(
            raw_transfer("lop", "top_up", 100, 2),
            raw_entry("lop", 1, source.id, "debit", 100),
            raw_entry("lop", 2, card.available.id, "credit", 90),
        )
    with pytest.raises(DatabaseError, match="does not balance"):  # balanced, but not what it declared
        as_writer(
            raw_transfer("lop2", "top_up", 100, 2),
            raw_entry("lop2", 1, source.id, "debit", 90),
            raw_entry("lop2", 2, card.available.id, "credit", 90),
        )
    with pytest.raises(DatabaseError, match="does not balance"):  # one-sided: two debits
        as_writer(
            raw_transfer("lop3", "top_up", 100, 2),
            raw_entry("lop3", 1, source.id, "debit", 50),
            raw_entry("lop3", 2, card.available.id, "debit", 50),
        )
    assert ledger.balance(card.available.id) == LIMIT and ledger.verify().ok


@pytest.mark.parametrize("written", [0, 1])
def test_the_database_refuses_to_commit_a_transfer_whose_entries_were_not_all_written(app, written):
    new_card()
    source = budget()
    statements = [raw_transfer("half", "top_up", 100, 2), raw_entry("half", 1, source.id, "debit", 100)][: 1 + written]
    with pytest.raises(DatabaseError):  # SQLite: the deferred FOREIGN KEY; PostgreSQL: that and the COMMIT trigger
        as_writer(*statements)
    assert db.session.scalar(select(Transfer).where(Transfer.key == "half")) is None
    assert ledger.balance(source.id) == -LIMIT and ledger.verify().ok


def test_the_database_refuses_entries_out_of_order_or_after_the_transfer_closed(app):
    card = new_card()
    source = budget()
    with pytest.raises(DatabaseError, match="closing entry came before"):
        as_writer(raw_transfer("early", "top_up", 100, 2), raw_entry("early", 2, card.available.id, "credit", 100))
    issue = db.session.scalar(select(Transfer).where(Transfer.kind == "issue"))
    with pytest.raises(DatabaseError, match="transfer is closed"):
        as_writer(raw_entry(issue.key, 3, source.id, "debit", 5))
    with pytest.raises(DatabaseError):  # its entry numbers are taken
        as_writer(raw_entry(issue.key, 2, source.id, "debit", 5))
    assert ledger.verify().ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE entries SET amount = amount + 1",
        "DELETE FROM entries",
        "UPDATE transfers SET memo = '고침'",
        "DELETE FROM transfers",
        "UPDATE holds SET amount = 1",
        "DELETE FROM holds",
        "DELETE FROM accounts",
    ],
)
def test_the_database_refuses_to_change_or_delete_posted_rows(app, statement):
    card = new_card()
    place_hold(card, 10_000)
    with pytest.raises(DatabaseError, match="append-only"):
        as_writer(statement)
    assert ledger.verify().ok


def test_postgresql_refuses_truncate_of_the_ledger(app, db_backend):
    if db_backend != "postgresql":
        return  # SQLite has no TRUNCATE; its DELETE triggers cover "DELETE FROM"
    new_card()
    for table in ("entries", "transfers", "holds", "accounts"):
        with pytest.raises(DatabaseError, match="append-only"):
            as_writer(f"TRUNCATE {table} CASCADE")


@pytest.mark.parametrize(
    "statement, message",
    [
        ("UPDATE accounts SET balance = balance + 1000000 WHERE kind = 'card_available'", "only through entries"),
        ("UPDATE accounts SET balance = 0 WHERE kind = 'card_available'", "only through entries"),
        (
            "UPDATE accounts SET last_entry_id = last_entry_id + 1000 WHERE kind = 'card_available'",
            "only through entries",
        ),
        ("UPDATE accounts SET may_go_negative = true WHERE kind = 'card_available'", "identity never changes"),
        # A shift, not a constant: a constant equal to the card's own id would change nothing.
        ("UPDATE accounts SET owner_id = owner_id + 1000000 WHERE kind = 'card_available'", "identity never changes"),
    ],
)
def test_the_database_refuses_to_edit_an_account_other_than_through_entries(app, statement, message):
    new_card()
    with pytest.raises(DatabaseError, match=message):
        as_writer(statement)
    assert ledger.verify().ok


def test_the_database_refuses_an_account_that_does_not_open_clean(app):
    with pytest.raises(DatabaseError, match="zero balance"):
        as_writer(
            "INSERT INTO accounts (kind, owner_type, owner_id, currency, normal_side, may_go_negative, balance, "
            "created_at) VALUES ('card_available', 'card', 1, 'KRW', 'credit', false, 5000000, CURRENT_TIMESTAMP)"
        )
    with pytest.raises(DatabaseError):  # a card account that claims it may go negative: not its kind's flags
        as_writer(
            "INSERT INTO accounts (kind, owner_type, owner_id, currency, normal_side, may_go_negative, balance, "
            "created_at) VALUES ('card_available', 'card', 1, 'KRW', 'credit', true, 0, CURRENT_TIMESTAMP)"
        )
    with pytest.raises(DatabaseError, match="currency"):
        as_writer(
            "INSERT INTO accounts (kind, owner_type, owner_id, currency, normal_side, may_go_negative, balance, "
            "created_at) VALUES ('programme_budget', 'programme', 7, 'USD', 'credit', true, 0, CURRENT_TIMESTAMP)"
        )


def test_the_database_refuses_to_overdraw_a_card(app):
    card = new_card(100_000)
    penalty = programme_account(AccountKind.PENALTY)
    with pytest.raises(DatabaseError, match="floor"):
        as_writer(*raw_move("over", "penalty", card.available.id, penalty.id, 100_001))
    as_writer(*raw_move("exact", "penalty", card.available.id, penalty.id, 100_000))  # to zero is fine
    assert ledger.balance(card.available.id) == 0 and ledger.verify().ok


def test_the_database_refuses_the_second_of_two_concurrent_raw_spenders(app):
    """Two raw-SQL writers on separate connections each spend 70,000 of a 100,000 card: one must lose.

    The second writer's entry makes the trigger update the card's account row, so it waits for the first
    writer's row lock (PostgreSQL) or write lock (SQLite), then sees the first one's balance and fails the CHECK.
    """
    import threading

    card_id, penalty_id = new_card(100_000).available.id, programme_account(AccountKind.PENALTY).id
    db.session.rollback()  # no read snapshot of ours may outlive the race (SQLite WAL keeps it)
    engine = db.engine
    first = engine.connect()
    first_tx = first.begin()
    for sql, params in raw_move("first", "penalty", card_id, penalty_id, 70_000):
        first.execute(text(sql), params)
    outcome = {}

    def second():
        try:
            with engine.begin() as conn:
                for sql, params in raw_move("second", "penalty", card_id, penalty_id, 70_000):
                    conn.execute(text(sql), params)
            outcome["second"] = "committed"
        except DatabaseError as exc:
            outcome["second"] = str(exc.orig)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the second writer must wait for the first"
    first_tx.commit()
    first.close()
    thread.join(30)
    assert "floor" in outcome["second"]
    assert ledger.balance(card_id) == 30_000 and ledger.verify().ok


def test_the_database_keeps_held_money_for_its_holds(app):
    card = new_card()
    held = place_hold(card, 100_000)
    to = payable()
    with pytest.raises(DatabaseError, match="held account only by settling"):  # no hold named
        as_writer(*raw_move("drain", "capture", card.held.id, to.id, 100_000))
    with pytest.raises(DatabaseError, match="only a hold transfer"):  # money into a held account outside a hold
        as_writer(*raw_move("stuff", "top_up", card.available.id, card.held.id, 5))
    with pytest.raises(DatabaseError, match="exactly the held amount"):
        as_writer(
            raw_transfer("short", "capture", 50_000, 2, held.id),
            raw_entry("short", 1, card.held.id, "debit", 50_000),
            raw_entry("short", 2, to.id, "credit", 50_000),
        )
    with pytest.raises(DatabaseError, match="only a capture, release or hold expiry"):
        as_writer(
            raw_transfer("odd", "penalty", 100_000, 2, held.id),
            raw_entry("odd", 1, card.held.id, "debit", 100_000),
            raw_entry("odd", 2, to.id, "credit", 100_000),
        )
    other = new_card()
    place_hold(other, 100_000)
    with pytest.raises(DatabaseError, match="held account only by settling"):  # another card's held money
        as_writer(
            raw_transfer("cross", "capture", 100_000, 2, held.id),
            raw_entry("cross", 1, other.held.id, "debit", 100_000),
            raw_entry("cross", 2, to.id, "credit", 100_000),
        )
    as_writer(
        raw_transfer("ok", "capture", 100_000, 2, held.id),
        raw_entry("ok", 1, card.held.id, "debit", 100_000),
        raw_entry("ok", 2, to.id, "credit", 100_000),
    )
    with pytest.raises(DatabaseError):  # settled twice (UNIQUE hold_id)
        as_writer(
            raw_transfer("again", "release", 100_000, 2, held.id),
            raw_entry("again", 1, card.held.id, "debit", 100_000),
            raw_entry("again", 2, card.available.id, "credit", 100_000),
        )
    assert ledger.hold_state(held.id) == "captured" and ledger.verify().ok


def test_the_database_refuses_a_hold_its_transfer_does_not_match(app):
    card, other = new_card(), new_card()
    hold_row = (
        "INSERT INTO holds (transfer_id, available_account_id, held_account_id, amount, expires_at, created_at) "
        "VALUES ((SELECT id FROM transfers WHERE key = :key), :available, :held, :amount, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)"
    )
    with pytest.raises(DatabaseError, match="placed by its own hold transfer"):
        as_writer(
            *raw_move("h", "hold", card.available.id, card.held.id, 500),
            (hold_row, {"key": "h", "available": card.available.id, "held": card.held.id, "amount": 400}),
        )
    with pytest.raises(DatabaseError, match="available account to its held account"):
        as_writer(
            *raw_move("h2", "hold", card.available.id, other.held.id, 500),
            (hold_row, {"key": "h2", "available": card.available.id, "held": other.held.id, "amount": 500}),
        )
    assert ledger.verify().ok


def test_with_the_python_checks_off_the_databases_refusals_become_the_same_domain_errors(app, monkeypatch):
    """The checks made before writing only word the errors: the database alone still refuses, and the
    service still answers with the domain error (an overdraft, a settled hold, a key used before)."""
    card = new_card(100_000)
    held = place_hold(card, 10_000)
    posted(ledger.release, "first-release", held.id, actor="s")
    monkeypatch.setattr(ledger, "_check_floors", lambda entries, locked: None)
    monkeypatch.setattr(ledger, "_check_pending", lambda hold: None)
    monkeypatch.setattr(ledger, "_earlier_transfer", lambda key: None)
    with pytest.raises(errors.InsufficientBalance):
        place_hold(card, 100_001)
    with pytest.raises(errors.HoldNotPending):
        posted(ledger.capture, "late-capture", held.id, payable().id, actor="s")
    assert posted(ledger.release, "first-release", held.id, actor="s").hold_id == held.id
    with pytest.raises(errors.DuplicateKeyConflict):
        posted(
            ledger.transfer,
            "first-release",
            TransferKind.PENALTY,
            [(card.available.id, programme_account(AccountKind.PENALTY).id, 1)],
            memo="x",
            actor="s",
        )
    assert ledger.balance(card.available.id) == 100_000 and ledger.verify().ok


# -- the whole API under random sequences (Hypothesis) -----------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    """Random sequences of card operations; after every step every invariant of the ledger holds.

    The model keeps, per card: issued, topped up, spent (captured − refunded), expired, penalties, and the
    pending holds; the ledger must agree with it to the won, and
        issued + topped up = available + held + spent + expired + penalties,  every term ≥ 0.
    """

    cards = Bundle("cards")
    holds = Bundle("holds")

    def __init__(self):
        super().__init__()
        self.source = budget()
        self.to = payable()
        self.penalty = programme_account(AccountKind.PENALTY)
        self.expired = programme_account(AccountKind.EXPIRED)
        self.model: dict[int, dict[str, int]] = {}
        self.card_of: dict[int, ledger.CardAccounts] = {}
        self.pending: dict[int, tuple[int, int, object]] = {}  # hold id -> (card id, amount, expires_at)
        self.now = utcnow()
        self.keys = itertools.count()

    def key(self, what: str) -> str:
        return f"{what}:{id(self)}:{next(self.keys)}"

    def available(self, card_id: int) -> int:
        m = self.model[card_id]
        return (
            m["issued"]
            + m["topped_up"]
            - m["spent"]
            - m["expired"]
            - m["penalties"]
            - sum(amount for c, amount, _ in self.pending.values() if c == card_id)
        )

    @rule(target=cards)
    def open_card(self):
        card = new_card()
        card_id = card.available.owner_id
        self.card_of[card_id] = card
        self.model[card_id] = dict(issued=LIMIT, topped_up=0, spent=0, expired=0, penalties=0)
        return card_id

    @rule(card_id=cards, amount=st.integers(1, 2_000_000))
    def top_up(self, card_id, amount):
        posted(
            ledger.transfer,
            self.key("top_up"),
            TransferKind.TOP_UP,
            [(self.source.id, self.card_of[card_id].available.id, amount)],
            memo="추가 지원",
            actor="admin",
        )
        self.model[card_id]["topped_up"] += amount

    @rule(target=holds, card_id=cards, amount=st.integers(1, 3_500_000), minutes=st.integers(1, 60))
    def hold(self, card_id, amount, minutes):
        card = self.card_of[card_id]
        expires_at = self.now + timedelta(minutes=minutes)
        if amount > self.available(card_id):
            with pytest.raises(errors.InsufficientBalance):
                posted(
                    ledger.hold,
                    self.key("hold"),
                    card.available.id,
                    card.held.id,
                    amount,
                    expires_at=expires_at,
                    memo="수강 신청",
                    actor="learner",
                )
            return multiple()
        placed = posted(
            ledger.hold,
            self.key("hold"),
            card.available.id,
            card.held.id,
            amount,
            expires_at=expires_at,
            memo="수강 신청",
            actor="learner",
        )
        self.pending[placed.id] = (card_id, amount, expires_at)
        return placed.id

    @rule(hold_id=consumes(holds), share=st.integers(1, 100))
    def capture(self, hold_id, share):
        if hold_id not in self.pending:
            with pytest.raises(errors.HoldNotPending):
                posted(ledger.capture, self.key("capture"), hold_id, self.to.id, actor="system")
            return
        card_id, amount, _ = self.pending.pop(hold_id)
        taken = max(1, amount * share // 100)
        posted(ledger.capture, self.key("capture"), hold_id, self.to.id, amount=taken, actor="system")
        self.model[card_id]["spent"] += taken

    @rule(hold_id=consumes(holds))
    def release(self, hold_id):
        if hold_id not in self.pending:
            with pytest.raises(errors.HoldNotPending):
                posted(ledger.release, self.key("release"), hold_id, actor="learner")
            return
        self.pending.pop(hold_id)
        posted(ledger.release, self.key("release"), hold_id, actor="learner")

    @rule(minutes=st.integers(1, 90))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)
        while posted(ledger.expire_holds, self.now):
            pass
        for hold_id, (_card, _amount, expires_at) in list(self.pending.items()):
            if expires_at <= self.now:
                del self.pending[hold_id]
                assert ledger.hold_state(hold_id) == "expired"

    @rule(card_id=cards, amount=st.sampled_from([200_000, 500_000, 1_000_000]))
    def penalty(self, card_id, amount):
        taken = min(amount, self.available(card_id))
        if taken:
            posted(
                ledger.transfer,
                self.key("penalty"),
                TransferKind.PENALTY,
                [(self.card_of[card_id].available.id, self.penalty.id, taken)],
                memo="중도탈락 제재",
                actor="system",
            )
            self.model[card_id]["penalties"] += taken

    @rule(card_id=cards, share=st.integers(1, 100))
    def refund(self, card_id, share):
        amount = self.model[card_id]["spent"] * share // 100
        if amount:
            posted(
                ledger.transfer,
                self.key("refund"),
                TransferKind.REFUND,
                [(self.to.id, self.card_of[card_id].available.id, amount)],
                memo="훈련비 환급",
                actor="system",
            )
            self.model[card_id]["spent"] -= amount

    @rule(card_id=cards)
    def expire_rest(self, card_id):
        rest = self.available(card_id)
        if rest:
            posted(
                ledger.transfer,
                self.key("expire"),
                TransferKind.EXPIRE,
                [(self.card_of[card_id].available.id, self.expired.id, rest)],
                memo="유효기간 만료",
                actor="system",
            )
            self.model[card_id]["expired"] += rest

    @rule()
    def retry_the_last_transfer(self):
        last = db.session.scalar(
            select(Transfer)
            .where(Transfer.kind.notin_(["hold", "capture", "release", "hold_expiry"]))
            .order_by(Transfer.id.desc())
            .limit(1)
        )
        if last is None:
            return
        legs = [
            (e.account_id, e2.account_id, e.amount) for e, e2 in zip(last.entries[::2], last.entries[1::2], strict=True)
        ]
        before = db.session.scalar(select(func.count()).select_from(Transfer))
        assert posted(ledger.transfer, last.key, last.kind, legs, memo=last.memo, actor="retry").id == last.id
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == before

    @invariant()
    def the_ledger_holds_together(self):
        report = ledger.verify()
        assert report.ok, report.problems
        assert audit.verify().ok
        for card_id, m in self.model.items():
            card = self.card_of[card_id]
            available, held = ledger.balance(card.available.id), ledger.balance(card.held.id)
            assert available == ledger.derived_balance(card.available.id) == self.available(card_id)
            assert held == sum(amount for c, amount, _ in self.pending.values() if c == card_id)
            terms = _terms_from_ledger(card)
            assert terms == {**m, "available": available, "held": held}
            assert all(value >= 0 for value in terms.values()), terms
            assert terms["issued"] + terms["topped_up"] == (
                available + held + terms["spent"] + terms["expired"] + terms["penalties"]
            )


def _terms_from_ledger(card: ledger.CardAccounts) -> dict[str, int]:
    """A card's issued, topped-up, spent, expired and penalty totals, read back from its entries by kind."""
    rows = db.session.execute(
        select(Transfer.kind, Entry.account_id, Entry.side, func.sum(Entry.amount))
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .where(Entry.account_id.in_([card.available.id, card.held.id]))
        .group_by(Transfer.kind, Entry.account_id, Entry.side)
    ).all()
    sums = {(kind, account, side): int(total) for kind, account, side, total in rows}

    def on(kind, account, side):
        return sums.get((kind, account.id, side), 0)

    captured = on("capture", card.held, "debit") - on("capture", card.available, "credit")
    return {
        "issued": on("issue", card.available, "credit"),
        "topped_up": on("top_up", card.available, "credit"),
        "spent": captured - on("refund", card.available, "credit"),
        "expired": on("expire", card.available, "debit"),
        "penalties": on("penalty", card.available, "debit"),
        "available": ledger.balance(card.available.id),
        "held": ledger.balance(card.held.id),
    }


@pytest.mark.long
def test_random_sequences_of_card_operations_keep_every_invariant(app):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

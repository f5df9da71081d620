"""The voucher ledger: every won that moves through a card, posted as a balanced, append-only transfer.

Plain values in, domain errors out (vouchers.errors), flush never commit: run each call inside
`unit_of_work(write_lock=True)`. The ledger knows accounts, transfers and holds, not the cards, programmes or
providers that own the accounts (vouchers.cards and vouchers.enrolments open the accounts they use).
The database is the authority (see the ledger migration and docs/ledger.md): it refuses an unbalanced
transfer, a non-positive entry, an edit of a posted row and a card below zero, whoever writes. The checks made here first only turn those refusals into clear Korean errors.

Concurrency. On SQLite the unit of work's BEGIN IMMEDIATE makes writers take turns. On PostgreSQL a
posting first takes the money lock (hrdnet.audit.lock_chain: exclusive, unless the unit of work took it
shared first, as the enrolment hot path does), then locks the rows of the accounts whose cache it moves, by
id (SELECT … FOR NO KEY UPDATE). Deferred shared accounts (DEFERRED_KINDS) are never locked: no cache moves,
no floor to check. docs/ledger.md, "Concurrency and retries", gives the whole lock order. A writer that skips
all of this (raw SQL) still cannot overdraw a card: the entries trigger updates the card's row, so it queues
on the row lock and the CHECK sees the other writer's result.

Idempotency. Every transfer carries a caller-chosen unique `key`. Posting a key again returns the
transfer already posted when the content (kind, entries, memo, hold) is the same, and raises
DuplicateKeyConflict when it differs; the UNIQUE constraint settles a race between the two.

Sign convention. Every shipped account kind is credit-normal (the ledger is kept from the voucher fund's
side: an account holds what is owed to someone: a learner's card, a provider; a source of money shows as
negative what it has put in). So a leg (debit=A, credit=B, amount) moves `amount` from A to B.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import BigInteger, case, cast, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import identity_key

from hrdnet import audit, readahead
from hrdnet.db import insert_or_nothing, insert_rows
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers import errors
from vouchers.ledger.models import (
    DEFERRED_KINDS,
    SETTLING_KINDS,
    Account,
    AccountKind,
    AccountKindDefinition,
    Entry,
    Hold,
    Side,
    Transfer,
    TransferKind,
    TransferKindDefinition,
)

MAX_KEY = 200
MAX_MEMO = 200
RESERVED_KEY_PREFIX = "ledger:"  # keys of the ledger's own transfers (hold expiry); refused from callers
HOLD_EXPIRY_BATCH = 500
PENDING = "pending"

# Kinds that only hold(), capture(), release() and expire_holds() post: they come with a hold's rules.
_HOLD_KINDS = {TransferKind.HOLD, *SETTLING_KINDS}
_CARD_KINDS = {AccountKind.CARD_AVAILABLE, AccountKind.CARD_HELD}


class Leg(NamedTuple):
    """`amount` won out of account `debit` into account `credit` (both credit-normal)."""

    debit: int
    credit: int
    amount: int


@dataclass(frozen=True)
class HistoryLine:
    """One line of an account's statement, newest first in history()."""

    entry_id: int
    transfer_id: int
    at: datetime
    kind: str
    label: str  # the kind in Korean, e.g. "훈련비 결제"
    memo: str  # the transfer's plain Korean description
    change: int  # + into the account, − out of it (in its normal terms)
    balance_after: int


@dataclass
class LedgerReport:
    accounts: int = 0
    transfers: int = 0
    entries: int = 0
    holds: int = 0
    pending_holds: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- accounts ----------------------------------------------------------------------------------------------


def open_account(kind: str, owner_type: str, owner_id: int) -> Account:
    """The account of this kind for this owner, opened with a zero balance if it does not exist yet.

    Its normal side and whether it may go negative come from the kind (table account_kinds); a composite
    foreign key keeps them equal in the database. Opening twice, even concurrently, gives one account.
    """
    definition = db.session.get(AccountKindDefinition, str(kind))
    if definition is None:
        raise errors.InvalidTransfer(f"알 수 없는 계정 종류입니다: {kind}")
    if owner_type != definition.owner_type:
        raise errors.InvalidTransfer(f"{definition.label} 계정의 소유자는 {definition.owner_type}이어야 합니다.")
    _check_int(owner_id, "소유자 번호")
    existing = find_account(kind, owner_type, owner_id)
    if existing is not None:
        return existing
    account = Account(
        kind=definition.code,
        owner_type=owner_type,
        owner_id=owner_id,
        normal_side=definition.normal_side,
        may_go_negative=definition.may_go_negative,
        balance=0,
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(account)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        found = find_account(kind, owner_type, owner_id)  # opened by a concurrent request: use it
        if found is None:
            raise
        return found
    savepoint.commit()
    return account


def find_account(kind: str, owner_type: str, owner_id: int) -> Account | None:
    return db.session.scalar(
        select(Account).where(Account.kind == str(kind), Account.owner_type == owner_type, Account.owner_id == owner_id)
    )


def balance(account_id: int) -> int:
    """The account's balance in its normal terms (read fresh, not from the session): the trigger-kept cache,
    plus, for a deferred shared account (DEFERRED_KINDS), its entries after the cache."""
    value = db.session.scalar(select(_balance_now(Account)).where(Account.id == account_id))
    if value is None:
        raise errors.AccountNotFound()
    return value


def balance_of(kind: str, owner_type: str, owner_id: int) -> int | None:
    """balance() of the owner's account of this kind, found and read in one statement (None: not opened)."""
    if (ahead := readahead.known("ledger.balance_of", (str(kind), owner_type, owner_id))) is not readahead.MISSING:
        return ahead
    return db.session.scalar(
        select(_balance_now(Account)).where(
            Account.kind == str(kind), Account.owner_type == owner_type, Account.owner_id == owner_id
        )
    )


def read_ahead_balances(kind: str, owner_type: str, owner_ids: Iterable[int]) -> None:
    """balance_of() for many owners in one statement, for a batch's plans (hrdnet.readahead)."""
    owners = sorted(set(owner_ids))
    found = {
        (str(kind), owner_type, owner_id): value
        for owner_id, value in db.session.execute(
            select(Account.owner_id, _balance_now(Account)).where(
                Account.kind == str(kind), Account.owner_type == owner_type, Account.owner_id.in_(owners)
            )
        )
    }
    readahead.fill("ledger.balance_of", [(str(kind), owner_type, owner) for owner in owners], found)


def _balance_now(account):
    """SQL for an account row's true balance: its cache plus the entries after last_entry_id (only deferred
    accounts have any: the trigger moves every other cache with each entry)."""
    later = aliased(Entry)
    change = case((later.side == account.normal_side, later.amount), else_=-later.amount)
    tail = (
        select(func.coalesce(func.sum(change), 0))
        .where(later.account_id == account.id, later.id > func.coalesce(account.last_entry_id, 0))
        .scalar_subquery()
    )
    # cast: PostgreSQL's sum() of bigint is numeric; money stays int won
    return case(
        (account.kind.in_(sorted(DEFERRED_KINDS)), account.balance + cast(tail, BigInteger)), else_=account.balance
    )


def derived_balance(account_id: int) -> int:
    """The account's balance recomputed from its entries (what verify() compares the cache with)."""
    normal = db.session.scalar(select(Account.normal_side).where(Account.id == account_id))
    if normal is None:
        raise errors.AccountNotFound()
    change = case((Entry.side == normal, Entry.amount), else_=-Entry.amount)
    return db.session.scalar(select(func.coalesce(func.sum(change), 0)).where(Entry.account_id == account_id))


def history(account_id: int, *, limit: int = 50, before_entry_id: int | None = None) -> list[HistoryLine]:
    """The account's statement, newest first, each line with its Korean description and the balance after it.

    Page with before_entry_id = the last line's entry_id. One statement reads the page, the current balance
    and what came after the page, so the running balances are consistent even while others post.
    """
    account = db.session.get(Account, account_id)
    if account is None:
        raise errors.AccountNotFound()
    change = case((Entry.side == account.normal_side, Entry.amount), else_=-Entry.amount)
    later = aliased(Entry)
    later_change = case((later.side == account.normal_side, later.amount), else_=-later.amount)
    current = select(_balance_now(Account)).where(Account.id == account_id).scalar_subquery()
    if before_entry_id is None:
        after_page = literal(0)
    else:
        after_page = (
            select(func.coalesce(func.sum(later_change), 0))
            .where(later.account_id == account_id, later.id >= before_entry_id)
            .scalar_subquery()
        )
    query = (
        select(
            Entry.id,
            Entry.transfer_id,
            Transfer.created_at,
            Transfer.kind,
            TransferKindDefinition.label,
            Transfer.memo,
            change.label("change"),
            current.label("current"),
            after_page.label("after_page"),
        )
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .join(TransferKindDefinition, TransferKindDefinition.code == Transfer.kind)
        .where(Entry.account_id == account_id)
        .order_by(Entry.id.desc())
        .limit(limit)
    )
    if before_entry_id is not None:
        query = query.where(Entry.id < before_entry_id)
    lines, running = [], None
    for row in db.session.execute(query):
        if running is None:
            running = row.current - row.after_page
        lines.append(
            HistoryLine(row.id, row.transfer_id, row.created_at, row.kind, row.label, row.memo, row.change, running)
        )
        running -= row.change
    return lines


# -- transfers ---------------------------------------------------------------------------------------------


def transfer(key: str, kind: str, legs: Sequence[Leg | tuple[int, int, int]], *, memo: str, actor: str) -> Transfer:
    """Post one balanced transfer: each leg moves amount won from its debit account to its credit account.

    Holds and their settlements have their own functions (hold, capture, release, expire_holds).
    Raises InsufficientBalance when an account that may not go negative would, InvalidTransfer for a
    malformed request, DuplicateKeyConflict when `key` was already used for something else.
    """
    _check_caller_key(key)
    kind = _transfer_kind(kind)
    if kind in _HOLD_KINDS:
        raise errors.InvalidTransfer("보류와 그 결제·해제는 hold·capture·release로만 기록합니다.")
    posted, _created = _post(key, kind, _entries_from_legs(legs), memo=memo, actor=actor)
    return posted


def hold(
    key: str,
    available_account_id: int,
    held_account_id: int,
    amount: int,
    *,
    expires_at: datetime,
    memo: str,
    actor: str,
) -> Hold:
    """Reserve `amount` on a card: move it from the card's available account to its held account.

    The hold stays pending until capture(), release() or expire_holds() settles it. A retry with the same
    key returns the same hold (its expires_at is the first request's).
    """
    _check_caller_key(key)
    _check_amount(amount)
    if expires_at.tzinfo is None:
        raise errors.InvalidTransfer("보류 만료 시각에는 시간대가 있어야 합니다.")
    accounts = {
        row.id: row
        for row in db.session.execute(
            select(Account.id, Account.kind, Account.owner_type, Account.owner_id).where(
                Account.id.in_([available_account_id, held_account_id])
            )
        )
    }
    available, held = accounts.get(available_account_id), accounts.get(held_account_id)
    if available is None or held is None:
        raise errors.AccountNotFound()
    if (available.kind, held.kind) != (AccountKind.CARD_AVAILABLE, AccountKind.CARD_HELD) or (
        available.owner_type,
        available.owner_id,
    ) != (held.owner_type, held.owner_id):
        raise errors.InvalidTransfer("보류는 한 카드의 사용 가능 잔액에서 같은 카드의 보류 계정으로만 옮깁니다.")
    entries = [(available_account_id, Side.DEBIT, amount), (held_account_id, Side.CREDIT, amount)]
    posted, created = _post(key, TransferKind.HOLD, entries, memo=memo, actor=actor, audit_later=True)
    if not created:
        return db.session.scalar(select(Hold).where(Hold.transfer_id == posted.id))
    placed = Hold(
        transfer_id=posted.id,
        available_account_id=available_account_id,
        held_account_id=held_account_id,
        amount=amount,
        expires_at=expires_at,
        created_at=posted.created_at,
    )
    db.session.add(placed)
    db.session.flush()
    _audit(posted, entries, actor, hold_id=placed.id)
    return placed


def capture(
    key: str, hold_id: int, to_account_id: int, *, amount: int | None = None, memo: str | None = None, actor: str
) -> Transfer:
    """Spend a pending hold: `amount` (default all of it) goes to `to_account_id` (a provider's payable);
    the rest of a partial capture goes back to the card's available balance, in the same transfer."""
    _check_caller_key(key)
    held = _get_hold(hold_id)
    amount = held.amount if amount is None else amount
    _check_amount(amount)
    if amount > held.amount:
        raise errors.InvalidTransfer(f"보류된 {held.amount:,}원보다 많이 결제할 수 없습니다.")
    target_kind = db.session.scalar(select(Account.kind).where(Account.id == to_account_id))
    if target_kind is None:
        raise errors.AccountNotFound()
    if target_kind in _CARD_KINDS:
        raise errors.InvalidTransfer("보류 금액은 카드 계정으로 결제할 수 없습니다.")
    rest = held.amount - amount
    entries = [(held.held_account_id, Side.DEBIT, amount), (to_account_id, Side.CREDIT, amount)]
    if rest:
        entries += [(held.held_account_id, Side.DEBIT, rest), (held.available_account_id, Side.CREDIT, rest)]
    default = f"훈련비 {amount:,}원 결제" + (f"(남은 {rest:,}원 보류 해제)" if rest else "")
    posted, _created = _post(key, TransferKind.CAPTURE, entries, memo=memo or default, actor=actor, hold=held)
    return posted


def release(key: str, hold_id: int, *, memo: str | None = None, actor: str) -> Transfer:
    """Void a pending hold: its whole amount goes back to the card's available balance."""
    _check_caller_key(key)
    held = _get_hold(hold_id)
    posted, _created = _post(
        key,
        TransferKind.RELEASE,
        _release_entries(held),
        memo=memo or f"보류 {held.amount:,}원 해제",
        actor=actor,
        hold=held,
    )
    return posted


def expire_holds(now: datetime, *, limit: int = HOLD_EXPIRY_BATCH, actor: str = audit.SYSTEM_ACTOR) -> int:
    """Release up to `limit` pending holds whose time ran out; returns how many this call released.

    The worker's one hold-expiry job (vouchers.enrolments.jobs.expire_holds) expires the enrolments first,
    which releases their holds with their seats; this then releases any hold left without one.

    Each expiry is a transfer with the key `ledger:hold-expiry:<hold id>`, so two workers expiring the same hold
    post it once, and a capture that got there first simply wins (the hold is skipped).
    Candidates are found from holds' expiry (index ix_holds_expires_at; no index depends on a balance, so
    balance updates stay HOT), skipping those whose held account is empty or that a transfer settled.
    """
    settled = aliased(Transfer)
    due = db.session.scalars(
        select(Hold)
        .join(Account, Account.id == Hold.held_account_id)
        .outerjoin(settled, settled.hold_id == Hold.id)
        .where(
            Hold.expires_at <= now,
            Account.balance > 0,
            settled.id.is_(None),
        )
        .order_by(Hold.expires_at, Hold.id)
        .limit(limit)
    ).all()
    released = 0
    for held in due:
        try:
            _posted, created = _post(
                f"{RESERVED_KEY_PREFIX}hold-expiry:{held.id}",
                TransferKind.HOLD_EXPIRY,
                _release_entries(held),
                memo=f"결제 기한이 지나 보류 {held.amount:,}원 해제",
                actor=actor,
                hold=held,
            )
        except errors.HoldNotPending:
            continue  # captured or released after we looked
        released += created
    return released


def hold_state(hold_id: int) -> str:
    """'pending', or how the transfer that settled it left it: 'captured', 'released' or 'expired'."""
    _get_hold(hold_id)
    kind = db.session.scalar(select(Transfer.kind).where(Transfer.hold_id == hold_id))
    return PENDING if kind is None else SETTLING_KINDS[TransferKind(kind)]


def _get_hold(hold_id: int) -> Hold:
    held = db.session.get(Hold, hold_id)
    if held is None:
        raise errors.HoldNotFound()
    return held


def _release_entries(held: Hold) -> list[tuple[int, str, int]]:
    return [(held.held_account_id, Side.DEBIT, held.amount), (held.available_account_id, Side.CREDIT, held.amount)]


# -- posting -----------------------------------------------------------------------------------------------


def _post(
    key: str,
    kind: str,
    entries: list[tuple[int, str, int]],
    *,
    memo: str,
    actor: str,
    hold: Hold | None = None,
    audit_later: bool = False,
) -> tuple[Transfer, bool]:
    """Write one transfer and its entries; returns (transfer, True), or (the earlier one, False) on a retry."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise errors.InvalidTransfer(f"요청 번호(key)는 1~{MAX_KEY}자의 문자열이어야 합니다.")
    if not isinstance(memo, str) or not memo.strip() or len(memo) > MAX_MEMO:
        raise errors.InvalidTransfer(f"거래 설명(memo)은 1~{MAX_MEMO}자여야 합니다.")
    hold_id = hold.id if hold is not None else None
    account_ids = sorted({account_id for account_id, _side, _amount in entries})
    locked = _lock_accounts(account_ids)

    existing = _earlier_transfer(key)
    if existing is not None:
        return _same_or_conflict(existing, kind, entries, memo, hold_id), False
    if len(locked) != len(account_ids):
        raise errors.AccountNotFound(details={"missing": sorted(set(account_ids) - set(locked))})
    if hold is not None:
        _check_pending(hold)
    _check_floors(entries, locked)

    total = sum(amount for _account, side, amount in entries if side == Side.DEBIT)
    posted = Transfer(
        key=key, kind=str(kind), hold_id=hold_id, entry_count=len(entries), total=total, memo=memo, created_at=utcnow()
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(posted)
        db.session.flush()
        db.session.execute(
            insert(Entry),
            [
                {"transfer_id": posted.id, "seq": seq, "account_id": account_id, "side": str(side), "amount": amount}
                for seq, (account_id, side, amount) in enumerate(entries, start=1)
            ],
        )
    except IntegrityError as exc:
        savepoint.rollback()
        return _after_refusal(exc, key, kind, entries, memo, hold), False
    savepoint.commit()
    _forget_cached_balances(account_ids)
    if not audit_later:
        _audit(posted, entries, actor, hold_id=hold_id)
    return posted, True


@dataclass(frozen=True)
class Checked:
    """A transfer the enrolment hot path has already checked under its own locks (the card's accounts locked
    and their balance read, the hold known pending): post_checked() only writes it."""

    key: str
    kind: str
    entries: list[tuple[int, str, int]]  # (account id, side, amount), in seq order
    memo: str
    hold_id: int | None = None  # the hold a capture settles


def per_item(actor: str | Sequence[str], count: int) -> list[str]:
    """One actor for every item of a batch, or one per item (the API's batches: each learner's own)."""
    if isinstance(actor, str):
        return [actor] * count
    if len(actor) != count:
        raise ValueError(f"{len(actor)} actors for {count} items")
    return list(actor)


def post_checked(transfers: Sequence[Checked], *, actor: str | Sequence[str]) -> list[int]:
    """Write already-checked transfers in two statements (their rows, then all their entries); returns their
    ids in order. The database's triggers and CHECKs still judge every entry (a card below zero, a hold settled
    twice, an unbalanced transfer fail the statement and the unit of work). A key or hold already used makes
    ON CONFLICT skip the row: that is a race the caller's checks should have excluded, so it raises
    DuplicateKeyConflict and the unit of work rolls back. `actor`: one for all, or one per transfer."""
    actors = per_item(actor, len(transfers))
    now = utcnow()
    rows = [
        {
            "key": t.key,
            "kind": str(t.kind),
            "hold_id": t.hold_id,
            "entry_count": len(t.entries),
            "total": sum(amount for _account, side, amount in t.entries if side == Side.DEBIT),
            "memo": t.memo,
            "created_at": now,
        }
        for t in transfers
    ]
    posted = dict(insert_rows(Transfer.__table__, rows, returning=("key", "id"), or_nothing=True))
    if len(posted) != len(rows):
        raise errors.DuplicateKeyConflict(details={"keys": [t.key for t in transfers if t.key not in posted]})
    insert_rows(  # one INSERT whatever the number of rows (hrdnet.db.insert_rows)
        Entry.__table__,
        [
            {"transfer_id": posted[t.key], "seq": seq, "account_id": account, "side": str(side), "amount": amount}
            for t in transfers
            for seq, (account, side, amount) in enumerate(t.entries, start=1)
        ],
    )
    _forget_cached_balances({account for t in transfers for account, _side, _amount in t.entries})
    for t, row, t_actor in zip(transfers, rows, actors, strict=True):
        _audit_transfer(posted[t.key], t.key, row["kind"], row["total"], t.entries, t_actor, hold_id=t.hold_id)
    return [posted[t.key] for t in transfers]


def hold_checked(
    key: str, available_id: int, held_id: int, amount: int, *, expires_at: datetime, memo: str, actor: str
) -> int:
    """The hot path's hold (the card's accounts locked, its balance re-checked): the transfer, its entries and
    the holds row in three statements; returns the hold's id. Same rows as hold()."""
    _check_amount(amount)
    entries = [(available_id, Side.DEBIT, amount), (held_id, Side.CREDIT, amount)]
    now = utcnow()
    transfer_id = db.session.scalar(
        insert_or_nothing(Transfer.__table__)
        .values(key=key, kind=TransferKind.HOLD.value, entry_count=2, total=amount, memo=memo, created_at=now)
        .returning(Transfer.id)
    )
    if transfer_id is None:
        raise errors.DuplicateKeyConflict(details={"key": key})
    db.session.execute(
        insert(Entry.__table__).values(
            [
                {"transfer_id": transfer_id, "seq": seq, "account_id": account, "side": str(side), "amount": value}
                for seq, (account, side, value) in enumerate(entries, start=1)
            ]
        )
    )
    hold_id = db.session.scalar(
        insert(Hold.__table__)
        .values(
            transfer_id=transfer_id,
            available_account_id=available_id,
            held_account_id=held_id,
            amount=amount,
            expires_at=expires_at,
            created_at=now,
        )
        .returning(Hold.id)
    )
    _forget_cached_balances([available_id, held_id])
    _audit_transfer(transfer_id, key, TransferKind.HOLD.value, amount, entries, actor, hold_id=hold_id)
    return hold_id


@dataclass(frozen=True)
class CheckedHold:
    """A hold the batching writer has already checked under the card's lock (see hold_checked)."""

    key: str
    available_id: int
    held_id: int
    amount: int
    expires_at: datetime
    memo: str


def holds_checked(holds: Sequence[CheckedHold], *, actor: str | Sequence[str]) -> dict[str, int]:
    """The batching writer's holds (every card's accounts locked, every balance re-checked): all their
    transfers, entries and holds rows in three multi-row statements, whatever their number; returns {key: hold
    id}. Each row equals hold_checked()'s, and each hold gets its own audit entry, in the order given; `actor`:
    one for all, or one per hold."""
    actors = per_item(actor, len(holds))
    for hold in holds:
        _check_amount(hold.amount)
    now = utcnow()
    posted = dict(
        insert_rows(
            Transfer.__table__,
            [
                {
                    "key": h.key,
                    "kind": TransferKind.HOLD.value,
                    "hold_id": None,
                    "entry_count": 2,
                    "total": h.amount,
                    "memo": h.memo,
                    "created_at": now,
                }
                for h in holds
            ],
            returning=("key", "id"),
            or_nothing=True,
        )
    )
    if len(posted) != len(holds):
        raise errors.DuplicateKeyConflict(details={"keys": [h.key for h in holds if h.key not in posted]})
    insert_rows(
        Entry.__table__,
        [
            row
            for h in holds
            for row in (
                {
                    "transfer_id": posted[h.key],
                    "seq": 1,
                    "account_id": h.available_id,
                    "side": str(Side.DEBIT),
                    "amount": h.amount,
                },
                {
                    "transfer_id": posted[h.key],
                    "seq": 2,
                    "account_id": h.held_id,
                    "side": str(Side.CREDIT),
                    "amount": h.amount,
                },
            )
        ],
    )
    hold_ids = dict(
        insert_rows(
            Hold.__table__,
            [
                {
                    "transfer_id": posted[h.key],
                    "available_account_id": h.available_id,
                    "held_account_id": h.held_id,
                    "amount": h.amount,
                    "expires_at": h.expires_at,
                    "created_at": now,
                }
                for h in holds
            ],
            returning=("transfer_id", "id"),
        )
    )
    _forget_cached_balances({account for h in holds for account in (h.available_id, h.held_id)})
    by_key = {}
    for h, h_actor in zip(holds, actors, strict=True):
        transfer_id = posted[h.key]
        by_key[h.key] = hold_ids[transfer_id]
        entries = [(h.available_id, Side.DEBIT, h.amount), (h.held_id, Side.CREDIT, h.amount)]
        _audit_transfer(transfer_id, h.key, TransferKind.HOLD.value, h.amount, entries, h_actor, hold_id=by_key[h.key])
    return by_key


def _lock_accounts(account_ids: list[int]) -> dict[int, tuple[int, bool, str, str]]:
    """{id: (balance, may_go_negative, normal_side, kind)}, read under the locks described in the module doc:
    the money lock, then the rows of the accounts whose cache moves, by id. Deferred shared accounts are read,
    never locked (no cache to move, no floor to check)."""
    audit.lock_chain()  # a no-op when the unit of work took it first (shared, on the enrolment hot path)
    columns = (Account.id, Account.balance, Account.may_go_negative, Account.normal_side, Account.kind)
    locked = {
        row.id: (row.balance, row.may_go_negative, row.normal_side, row.kind)
        for row in db.session.execute(_row_locked(select(*columns).where(Account.id.in_(account_ids))))
    }
    rest = [account_id for account_id in account_ids if account_id not in locked]
    if rest:
        query = select(*columns).where(Account.id.in_(rest), Account.kind.in_(sorted(DEFERRED_KINDS)))
        locked.update(
            {row.id: (row.balance, row.may_go_negative, row.normal_side, row.kind) for row in db.session.execute(query)}
        )
    return locked


def _row_locked(query):
    """The query's rows of non-deferred accounts, locked in id order (PostgreSQL; SQLite's write lock already
    covers them). FOR NO KEY UPDATE: enough to move a balance, and it leaves foreign-key checks unblocked."""
    query = query.where(Account.kind.not_in(sorted(DEFERRED_KINDS))).order_by(Account.id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return query


def lock_accounts(account_ids: Iterable[int]) -> None:
    """Lock these accounts' rows now, in id order (the enrolment hot path locks the learner's card accounts
    first, before any other row, so every unit of work that touches a card meets the others in one order)."""
    db.session.execute(_row_locked(select(Account.id).where(Account.id.in_(sorted(set(account_ids)))))).all()


def _earlier_transfer(key: str) -> Transfer | None:
    return db.session.scalar(select(Transfer).where(Transfer.key == key))


def _check_pending(held: Hold) -> None:
    _refuse_if_settled(held)


def _refuse_if_settled(held: Hold) -> None:
    settled_kind = db.session.scalar(select(Transfer.kind).where(Transfer.hold_id == held.id))
    if settled_kind is not None:
        state = SETTLING_KINDS[TransferKind(settled_kind)]
        raise errors.HoldNotPending(details={"hold_id": held.id, "state": state})


def _check_floors(entries, locked) -> None:
    for account_id, change in _changes(entries, locked).items():
        current, may_go_negative, _normal, kind = locked[account_id]
        if not may_go_negative and current + change < 0:
            raise errors.InsufficientBalance(
                details={"account_id": account_id, "kind": kind, "balance": current, "needed": -change}
            )


def _changes(entries, locked) -> dict[int, int]:
    """Each account's balance change in its own normal terms."""
    changes: dict[int, int] = defaultdict(int)
    for account_id, side, amount in entries:
        normal = locked[account_id][2]
        changes[account_id] += amount if side == normal else -amount
    return changes


def _after_refusal(exc: IntegrityError, key, kind, entries, memo, hold) -> Transfer:
    """Turn the database's refusal into the domain's answer.

    Under the locks taken above the checks made before writing are exact, so this is reached only when a
    writer that skipped them (raw SQL, a future code path) raced us; tests reach it by switching them off.
    """
    # Whichever constraint the database names first (a retry breaks both UNIQUE key and UNIQUE hold_id),
    # the answers come in this order: the same key posted before, a hold already settled, an overdraft.
    existing = db.session.scalar(select(Transfer).where(Transfer.key == key))
    if existing is not None:
        return _same_or_conflict(existing, kind, entries, memo, hold.id if hold else None)
    if hold is not None:
        _refuse_if_settled(hold)
    if "ck_accounts_floor" in str(exc.orig):
        raise errors.InsufficientBalance() from None
    raise exc


def _same_or_conflict(existing: Transfer, kind, entries, memo, hold_id) -> Transfer:
    posted = Counter(
        (row.account_id, row.side, row.amount)
        for row in db.session.execute(
            select(Entry.account_id, Entry.side, Entry.amount).where(Entry.transfer_id == existing.id)
        )
    )
    wanted = Counter((account_id, str(side), amount) for account_id, side, amount in entries)
    if existing.kind != str(kind) or existing.memo != memo or existing.hold_id != hold_id or posted != wanted:
        raise errors.DuplicateKeyConflict(details={"key": existing.key, "transfer_id": existing.id})
    return existing


def _forget_cached_balances(account_ids: Iterable[int]) -> None:
    """The trigger changed these rows behind the session's back: make loaded Account objects re-read them."""
    for account_id in account_ids:
        loaded = db.session.identity_map.get(identity_key(Account, account_id))
        if loaded is not None:
            db.session.expire(loaded, ["balance", "last_entry_id"])


def _audit(posted: Transfer, entries, actor: str, *, hold_id: int | None) -> None:
    _audit_transfer(posted.id, posted.key, posted.kind, posted.total, entries, actor, hold_id=hold_id)


def _audit_transfer(transfer_id: int, key: str, kind: str, total: int, entries, actor: str, *, hold_id) -> None:
    """One audit entry per transfer: its key, kind and amounts by account (credit +, debit −; they sum to 0)."""
    amounts: dict[str, int] = defaultdict(int)
    for account_id, side, amount in entries:
        amounts[str(account_id)] += amount if side == Side.CREDIT else -amount
    data = {"key": key, "kind": str(kind), "total": total, "amounts": dict(amounts)}
    if hold_id is not None:
        data["hold"] = hold_id
    audit.append("ledger.transfer", actor=actor, subject_type="transfer", subject_id=transfer_id, data=data)


def _entries_from_legs(legs: Sequence[Leg | tuple[int, int, int]]) -> list[tuple[int, str, int]]:
    if not legs:
        raise errors.InvalidTransfer("거래에는 한 건 이상의 이동이 있어야 합니다.")
    entries = []
    for leg in legs:
        if len(leg) != 3:
            raise errors.InvalidTransfer("각 이동은 (출금 계정, 입금 계정, 금액)입니다.")
        debit, credit, amount = leg
        _check_int(debit, "계정 번호")
        _check_int(credit, "계정 번호")
        _check_amount(amount)
        if debit == credit:
            raise errors.InvalidTransfer("같은 계정 사이에서는 돈을 옮길 수 없습니다.")
        entries += [(debit, Side.DEBIT, amount), (credit, Side.CREDIT, amount)]
    if len(entries) > 32_000:
        raise errors.InvalidTransfer("한 거래의 이동이 너무 많습니다.")
    return entries


def _check_caller_key(key) -> None:
    if isinstance(key, str) and key.startswith(RESERVED_KEY_PREFIX):
        raise errors.InvalidTransfer(f"'{RESERVED_KEY_PREFIX}'로 시작하는 요청 번호는 원장이 씁니다.")


def _transfer_kind(kind: str) -> TransferKind:
    try:
        return TransferKind(kind)
    except ValueError:
        raise errors.InvalidTransfer(f"알 수 없는 거래 종류입니다: {kind}") from None


def _check_int(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.InvalidTransfer(f"{what}는 정수여야 합니다.")


def _check_amount(amount) -> None:
    """Money is int won: a float, a bool or a non-positive amount is a caller's bug."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise errors.InvalidTransfer("금액은 1원 이상의 정수여야 합니다.")


# -- verification ------------------------------------------------------------------------------------------

# The guard triggers the ledger migration installs; verify() reports any that is missing or disabled.
GUARD_TRIGGERS = {
    "sqlite": {
        "entries_check",
        "entries_apply",
        "accounts_open",
        "accounts_guard",
        "accounts_no_delete",
        "holds_check",
        "transfers_no_update",
        "transfers_no_delete",
        "entries_no_update",
        "entries_no_delete",
        "holds_no_update",
        "holds_no_delete",
    },
    "postgresql": {
        "entries_check",
        "entries_apply",
        "accounts_guard",
        "accounts_no_truncate",
        "holds_check",
        "transfers_complete",
        "transfers_append_only",
        "transfers_no_truncate",
        "entries_append_only",
        "entries_no_truncate",
        "holds_append_only",
        "holds_no_truncate",
    },
}
_SHOWN = 20  # problems listed per check; the count says how many more


def verify() -> LedgerReport:
    """Recompute the ledger from its entries and report every way it disagrees with itself.

    Checks: each cached balance equals its entries; no floored account is below zero; every transfer has
    all its entries and balances; the whole ledger sums to zero; entries point at existing rows; hold
    transfers have their hold, settlements their hold; each held account holds exactly its pending holds;
    the guard triggers are installed and enabled.
    """
    session = db.session
    report = LedgerReport(
        accounts=session.scalar(select(func.count()).select_from(Account)),
        transfers=session.scalar(select(func.count()).select_from(Transfer)),
        entries=session.scalar(select(func.count()).select_from(Entry)),
        holds=session.scalar(select(func.count()).select_from(Hold)),
    )
    problems = report.problems

    def add(rows, describe):
        rows = list(rows)
        problems.extend(describe(row) for row in rows[:_SHOWN])
        if len(rows) > _SHOWN:
            problems.append(f"… and {len(rows) - _SHOWN} more like the above")

    change = case((Entry.side == Account.normal_side, Entry.amount), else_=-Entry.amount)
    after_cache = Entry.id > func.coalesce(Account.last_entry_id, 0)
    per_account = (
        select(
            Account.id,
            Account.kind,
            Account.owner_type,
            Account.owner_id,
            Account.balance,
            Account.may_go_negative,
            Account.normal_side,
            func.coalesce(func.sum(change), 0).label("derived"),
            func.coalesce(func.sum(case((after_cache, change))), 0).label("tail"),
        )
        .outerjoin(Entry, Entry.account_id == Account.id)
        .group_by(
            Account.id,
            Account.kind,
            Account.owner_type,
            Account.owner_id,
            Account.balance,
            Account.may_go_negative,
            Account.normal_side,
        )
        .subquery()
    )
    # A card account's cache moves with every entry; a deferred shared account's cache froze at the migration
    # e14000000001 (its entries up to last_entry_id) and its entries after that are the rest of its balance.
    deferred = per_account.c.kind.in_(sorted(DEFERRED_KINDS))
    cached = per_account.c.balance + case((deferred, per_account.c.tail), else_=0)
    add(
        session.execute(select(per_account).where(cached != per_account.c.derived)),
        lambda r: (
            f"account {r.id} ({r.kind} of {r.owner_type} {r.owner_id}): cached balance {r.balance} "
            f"{f'(+ {r.tail} after it) ' if r.kind in DEFERRED_KINDS else ''}but its entries sum to {r.derived}"
        ),
    )
    add(
        session.execute(select(per_account).where(per_account.c.derived < 0, per_account.c.may_go_negative.is_(False))),
        lambda r: (
            f"account {r.id} ({r.kind} of {r.owner_type} {r.owner_id}) may not go negative but its "
            f"entries sum to {r.derived}"
        ),
    )

    debits = func.coalesce(func.sum(case((Entry.side == Side.DEBIT.value, Entry.amount))), 0)
    credits = func.coalesce(func.sum(case((Entry.side == Side.CREDIT.value, Entry.amount))), 0)
    add(
        session.execute(
            select(
                Transfer.id,
                Transfer.key,
                Transfer.entry_count,
                Transfer.total,
                func.count(Entry.id).label("written"),
                debits.label("debits"),
                credits.label("credits"),
            )
            .outerjoin(Entry, Entry.transfer_id == Transfer.id)
            .group_by(Transfer.id, Transfer.key, Transfer.entry_count, Transfer.total)
            .having(
                (func.count(Entry.id) != Transfer.entry_count)
                | (debits != Transfer.total)
                | (credits != Transfer.total)
            )
        ),
        lambda r: (
            f"transfer {r.id} ({r.key}) does not balance: {r.written} of {r.entry_count} entries, "
            f"debits {r.debits}, credits {r.credits}, declared total {r.total}"
        ),
    )

    signed = case((per_account.c.normal_side == Side.CREDIT.value, cached), else_=-cached)  # as balance() reads
    whole = session.scalar(select(func.coalesce(func.sum(signed), 0)))
    if whole != 0:
        problems.append(f"the balances of all accounts sum to {whole}, not 0: money appeared or vanished")
    orphans = session.scalar(
        select(func.count())
        .select_from(Entry)
        .outerjoin(Account, Account.id == Entry.account_id)
        .outerjoin(Transfer, Transfer.id == Entry.transfer_id)
        .where(Account.id.is_(None) | Transfer.id.is_(None))
    )
    if orphans:
        problems.append(f"{orphans} entries point at an account or transfer that does not exist")

    add(
        session.execute(
            select(Transfer.id, Transfer.key)
            .outerjoin(Hold, Hold.transfer_id == Transfer.id)
            .where(Transfer.kind == TransferKind.HOLD.value, Hold.id.is_(None))
        ),
        lambda r: f"hold transfer {r.id} ({r.key}) has no hold",
    )
    add(
        session.execute(
            select(Transfer.id, Transfer.key, Transfer.kind).where(
                Transfer.kind.in_([k.value for k in SETTLING_KINDS]), Transfer.hold_id.is_(None)
            )
        ),
        lambda r: f"{r.kind} transfer {r.id} ({r.key}) settles no hold",
    )

    settled = aliased(Transfer)
    pending = (
        select(Hold.held_account_id, func.sum(Hold.amount).label("amount"), func.count().label("n"))
        .outerjoin(settled, settled.hold_id == Hold.id)
        .where(settled.id.is_(None))
        .group_by(Hold.held_account_id)
        .subquery()
    )
    report.pending_holds = int(session.scalar(select(func.coalesce(func.sum(pending.c.n), 0))))
    add(
        session.execute(
            select(Account.id, Account.owner_id, Account.balance, func.coalesce(pending.c.amount, 0).label("pending"))
            .outerjoin(pending, pending.c.held_account_id == Account.id)
            .where(Account.kind == AccountKind.CARD_HELD.value, Account.balance != func.coalesce(pending.c.amount, 0))
        ),
        lambda r: f"held account {r.id} (card {r.owner_id}) holds {r.balance} but its pending holds total {r.pending}",
    )

    problems.extend(
        f"guard trigger {name} is missing or disabled: the database no longer enforces the ledger's rules"
        for name in sorted(_missing_triggers())
    )
    return report


def _missing_triggers() -> set[str]:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        present = db.session.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"))
    else:
        present = db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    return GUARD_TRIGGERS[dialect] - set(present)

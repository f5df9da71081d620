"""The voucher ledger's tables: double-entry, append-only, integer won.

- `accounts`: one per (kind, owner). Its flags (normal side, whether it may go negative) come from its kind
  and a composite foreign key to `account_kinds` keeps them equal, so no row can claim to be a card account
  that may go negative. `balance` is a cache written only by the AFTER INSERT trigger on `entries`, and
  `CHECK (balance >= 0 OR may_go_negative)` is what refuses an overdraft, on both databases, however
  many spenders race.
- `transfers`: one money movement, named by a caller-chosen unique `key` (a retry cannot apply twice).
  It declares its `entry_count` and `total` up front; its entries follow, numbered 1..entry_count, and the
  last one ("the closing entry") is refused unless the transfer balances. A deferred foreign key from the
  transfer to its closing entry fails the commit of a transfer whose entries were never all written.
- `entries`: one line per account touched: side debit or credit, amount > 0.
- `holds`: money reserved on a card (moved from its available to its held account by a `hold` transfer).
  A hold's state is derived, never stored: it is pending until exactly one transfer settles it
  (`transfers.hold_id` is unique) by capture, release or expiry.

The triggers that enforce all of this live in the migration that creates these tables; docs/ledger.md
explains each one. Models here are read and inserted through vouchers.ledger only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

CURRENCY = "KRW"

__all__ = [
    "CURRENCY",
    "DEFERRED_KINDS",
    "SETTLING_KINDS",
    "Account",
    "AccountKind",
    "AccountKindDefinition",
    "Entry",
    "Hold",
    "Side",
    "Transfer",
    "TransferKind",
    "TransferKindDefinition",
]


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountKind(StrEnum):
    """Kinds of account. Their flags are rows of `account_kinds` (seeded by the migration)."""

    CARD_AVAILABLE = "card_available"  # what the learner can still spend (floored at 0)
    CARD_HELD = "card_held"  # reserved by pending holds (floored at 0)
    PROGRAMME_BUDGET = "programme_budget"  # source of card money: negative = issued from it
    LEARNER_COPAY = "learner_copay"  # source of co-payments learners paid: negative = paid in
    PROVIDER_PAYABLE = "provider_payable"  # owed to a provider (negative after a clawback = owed back)
    PROVIDER_SETTLED = "provider_settled"  # paid out to a provider
    PENALTY = "penalty"  # forfeited by dropout penalties
    EXPIRED = "expired"  # lapsed when cards expired
    OWED_CARD = "owed_card"  # a person's sanctions the card could not pay yet: negative = still owed
    OWED_KDIGITAL = "owed_kdigital"  # the same on the K-Digital Credit schedule


class TransferKind(StrEnum):
    """Kinds of transfer. Their Korean labels are rows of `transfer_kinds` (seeded by the migration)."""

    ISSUE = "issue"
    TOP_UP = "top_up"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    HOLD_EXPIRY = "hold_expiry"
    REFUND = "refund"
    PENALTY = "penalty"
    EXPIRE = "expire"
    COPAY = "copay"
    SETTLE = "settle"
    FUND = "fund"  # a programme budget pays a provider directly (programmes that do not draw the card)
    DEDUCTION = "deduction"  # a KDT dropout: the training the attendance earned, drawn from the card
    COLLECT = "collect"  # money a person owed (a sanction the card could not pay), collected later


# Shared accounts every enrolment of a programme or provider posts to. They may go negative, so there is no
# floor to enforce, and the entries trigger leaves their balance cache alone (it was the hottest row lock):
# their balance is derived (vouchers.ledger.balance). Named in the migration e14000000001's trigger too.
DEFERRED_KINDS = frozenset({"programme_budget", "learner_copay", "provider_payable"})

# A hold is settled by exactly one transfer of one of these kinds; the state it leaves the hold in.
SETTLING_KINDS = {
    TransferKind.CAPTURE: "captured",
    TransferKind.RELEASE: "released",
    TransferKind.HOLD_EXPIRY: "expired",
}


class AccountKindDefinition(db.Model):
    """What an account of a kind is: who owns it, its normal side, whether it may go negative."""

    __tablename__ = "account_kinds"
    __table_args__ = (
        UniqueConstraint("code", "owner_type", "normal_side", "may_go_negative", name="uq_account_kinds_flags"),
        CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side_known"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(16))
    normal_side: Mapped[str] = mapped_column(String(6))
    may_go_negative: Mapped[bool] = mapped_column(Boolean)
    label: Mapped[str] = mapped_column(String(100))  # Korean, for statements and the audit console


class TransferKindDefinition(db.Model):
    """A kind of transfer and its Korean label, shown in a learner's card history."""

    __tablename__ = "transfer_kinds"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("kind", "owner_type", "owner_id", name="uq_accounts_owner"),
        ForeignKeyConstraint(
            ["kind", "owner_type", "normal_side", "may_go_negative"],
            [
                "account_kinds.code",
                "account_kinds.owner_type",
                "account_kinds.normal_side",
                "account_kinds.may_go_negative",
            ],
            name="fk_accounts_kind_account_kinds",
        ),
        CheckConstraint("balance >= 0 OR may_go_negative", name="floor"),
        CheckConstraint(f"currency = '{CURRENCY}'", name="currency_krw"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)
    normal_side: Mapped[str] = mapped_column(String(6))
    may_go_negative: Mapped[bool] = mapped_column(Boolean)
    # Written only by the entries trigger (a guard trigger refuses any other change): never set it here.
    # For DEFERRED_KINDS it is frozen: their balance is this plus their entries after last_entry_id.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    last_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Transfer(db.Model):
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("entry_count >= 2", name="two_entries_at_least"),
        CheckConstraint("total > 0", name="total_positive"),
        CheckConstraint("memo <> ''", name="memo_given"),
        # The closing entry must exist by COMMIT: a transfer whose entries were not all written fails then.
        ForeignKeyConstraint(
            ["id", "entry_count"],
            ["entries.transfer_id", "entries.seq"],
            name="fk_transfers_closing_entry",
            use_alter=True,
            deferrable=True,
            initially="DEFERRED",
        ),
    )

    # autoincrement stated: SQLAlchemy would not assume it for a key column that is also part of a foreign key.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(ForeignKey("transfer_kinds.code"))
    # The hold this transfer settles (capture, release, expiry). Unique: a hold is settled once.
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id", use_alter=True), unique=True)
    entry_count: Mapped[int] = mapped_column(SmallInteger)
    total: Mapped[int] = mapped_column(BigInteger)  # the sum of the debits, and of the credits
    memo: Mapped[str] = mapped_column(String(200))  # Korean, plain: a line of the learner's card history
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[Entry]] = relationship(
        back_populates="transfer", order_by="Entry.seq", foreign_keys="Entry.transfer_id", viewonly=True
    )


class Entry(db.Model):
    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("transfer_id", "seq", name="uq_entries_transfer_seq"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("side IN ('debit', 'credit')", name="side_known"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index("ix_entries_account", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    seq: Mapped[int] = mapped_column(SmallInteger)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    side: Mapped[str] = mapped_column(String(6))
    amount: Mapped[int] = mapped_column(BigInteger)

    transfer: Mapped[Transfer] = relationship(back_populates="entries", foreign_keys=[transfer_id], viewonly=True)


class Hold(db.Model):
    """Money reserved on a card until a transfer settles it. The state is derived: see vouchers.ledger."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # Where the hold-expiry job starts (no index depends on a balance, so balance updates stay HOT).
        Index("ix_holds_expires_at", "expires_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), unique=True)  # the hold transfer
    available_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    held_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

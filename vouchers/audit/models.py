"""Tables of the audit console.

- `audit_spend`: the ledger's money attributed to a run and a KST month, one row per (run, month), with one
  column per measure. It is a cache of the ledger, never a source: `spend.refresh()` adds every transfer after
  the watermark (`audit_spend_mark`), and readers add the transfers after the watermark live, so what they show
  is always exactly the ledger (tests/vouchers/audit/test_spend.py proves the totals equal the entries).
  The ledger is append-only, so an aggregate only ever grows by new transfers.
- `audit_flags`: one row per finding of a risk rule about one subject (a provider, a run, a person, an
  enrolment); re-running the rules updates its numbers and evidence, and keeps a reviewer's status and note.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

MEASURES = ("card_draw", "self_pay", "funded", "refunds", "penalties", "deducted", "settled", "held", "entries")


class SpendRow(db.Model):
    __tablename__ = "audit_spend"
    __table_args__ = (UniqueConstraint("run_id", "month", name="uq_audit_spend_run_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in KST, of the transfers' time
    # Denormalised from the run so a dashboard reads one table (a run's programme and provider never change
    # once money moved on it; a merge of courses would be the exception and calls spend.rebuild()).
    ministry_id: Mapped[int | None] = mapped_column(Integer, index=True)
    programme_id: Mapped[int | None] = mapped_column(Integer)
    provider_id: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(2))  # 시·도 code
    card_draw: Mapped[int] = mapped_column(BigInteger, default=0)
    self_pay: Mapped[int] = mapped_column(BigInteger, default=0)
    funded: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    penalties: Mapped[int] = mapped_column(BigInteger, default=0)
    deducted: Mapped[int] = mapped_column(BigInteger, default=0)
    settled: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)


class SpendMark(db.Model):
    """The last transfer id `audit_spend` includes (one row, id 1)."""

    __tablename__ = "audit_spend_mark"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_transfer_id: Mapped[int] = mapped_column(BigInteger, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlagStatus:
    OPEN = "open"
    REVIEWED = "reviewed"


class Flag(db.Model):
    __tablename__ = "audit_flags"
    __table_args__ = (
        UniqueConstraint("rule", "subject_type", "subject_id", name="uq_audit_flags_subject"),
        CheckConstraint("status IN ('open', 'reviewed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # provider | run | person | enrolment
    subject_id: Mapped[int] = mapped_column(BigInteger)
    subject_label: Mapped[str] = mapped_column(String(300))  # never personal data (person: a pseudonymous no.)
    ministry_ids: Mapped[str] = mapped_column(String(200), default="")  # " 1 3 ": ministries whose money it touches
    numbers: Mapped[str] = mapped_column(Text)  # canonical JSON: the figures the rule compared
    evidence: Mapped[str] = mapped_column(Text)  # canonical JSON: {"enrolments": [...], "transfers": [...]}
    explanation: Mapped[str] = mapped_column(Text)  # Korean: why it fired, with the numbers
    status: Mapped[str] = mapped_column(String(10), default=FlagStatus.OPEN)
    note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))  # pseudonym
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

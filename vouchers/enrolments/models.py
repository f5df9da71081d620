"""Enrolments and what hangs off them: their history, attendance and provider settlements.

Their payments are vouchers.payments.models.Payment.

An enrolment keeps the price it was sold at (fee, self-pay, government share, which account pays): a later
rule change never re-prices it. Its status changes only through vouchers.enrolments.states.apply_event (one
transition table), and each change appends a row to `enrolment_events`, the history learners, providers and
auditors see.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

__all__ = [
    "ACTIVE_STATUSES",
    "Attendance",
    "AttendanceMark",
    "CompletionKind",
    "Enrolment",
    "EnrolmentEvent",
    "EnrolmentStatus",
    "Settlement",
]


class EnrolmentStatus(StrEnum):
    APPLIED = "applied"
    HELD = "held"
    CONFIRMED = "confirmed"
    IN_TRAINING = "in_training"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # 미수료: the run ended below the completion rate
    DROPPED = "dropped"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    REJECTED = "rejected"


ACTIVE_STATUSES = (
    EnrolmentStatus.APPLIED,
    EnrolmentStatus.HELD,
    EnrolmentStatus.CONFIRMED,
    EnrolmentStatus.IN_TRAINING,
)
_ACTIVE_SQL = "status IN ('applied', 'held', 'confirmed', 'in_training')"


class CompletionKind(StrEnum):
    """How a completed enrolment completed (HRD-Net's 수료 구분)."""

    NORMAL = "normal"  # 정상수료: the run ended at or above the completion rate
    OVER_80 = "over_80"  # 80%이상수료: left after attending the completion rate of all training days
    EARLY_EMPLOYMENT = "early_employment"  # 조기취업: left for a job (evidence confirmed)


class AttendanceMark(StrEnum):
    PRESENT = "present"
    LATE = "late"
    EARLY_LEAVE = "early_leave"
    ABSENT = "absent"
    OUTING = "outing"  # 외출: counts with lates and early leaves toward an absence


class Enrolment(db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        CheckConstraint(
            "fee >= 0 AND self_pay >= 0 AND government_share >= 0 AND card_draw >= 0", name="amounts_not_negative"
        ),
        CheckConstraint("self_pay + government_share = fee", name="split_adds_up"),
        CheckConstraint("card_draw <= government_share", name="draw_within_share"),
        CheckConstraint("account IN ('card', 'kdigital', 'none')", name="account_known"),
        # One live enrolment per person per run, however many requests race.
        Index(
            "uq_enrolments_live_per_person_run",
            "person_id",
            "run_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        # A retried request (double click, API retry) finds the enrolment it already made.
        UniqueConstraint("user_id", "request_key", name="uq_enrolments_request"),
        Index("ix_enrolments_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), index=True)  # the account drawn (if any)
    request_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), default=EnrolmentStatus.APPLIED.value)
    fee: Mapped[int] = mapped_column(BigInteger)
    self_pay: Mapped[int] = mapped_column(BigInteger)
    government_share: Mapped[int] = mapped_column(BigInteger)
    card_draw: Mapped[int] = mapped_column(BigInteger)  # the part of the government share drawn from a card
    account: Mapped[str] = mapped_column(String(10))  # card | kdigital | none (the programme budget pays)
    explanation: Mapped[str] = mapped_column(String(300))
    training_days: Mapped[int] = mapped_column(Integer)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # an unpaid hold's deadline
    self_pay_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    card_returned: Mapped[int] = mapped_column(BigInteger, default=0)  # government share given back
    penalty: Mapped[int] = mapped_column(BigInteger, default=0)  # the sanction taken (and owed), alone
    deducted: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # training cost (KDT)
    exempt_reason: Mapped[str | None] = mapped_column(String(32))  # as the learner claimed it
    completion_kind: Mapped[str | None] = mapped_column(String(20))  # CompletionKind, for completed ones
    left_on: Mapped[date | None] = mapped_column(Date)  # the day a learner left (not trained)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    events: Mapped[list[EnrolmentEvent]] = relationship(order_by="EnrolmentEvent.id", viewonly=True)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class EnrolmentEvent(db.Model):
    __tablename__ = "enrolment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    event: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(300))  # Korean, shown in the history
    actor: Mapped[str] = mapped_column(String(64))  # pseudonym or "system"


class Attendance(db.Model):
    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "day", name="uq_attendance_day"),
        CheckConstraint("mark IN ('present', 'late', 'early_leave', 'absent', 'outing')", name="mark_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    mark: Mapped[str] = mapped_column(String(12))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttendanceCorrection(db.Model):
    """A change to a mark in a settled (locked) unit period: asked for by the provider, applied only when an
    auditor of the run's ministry approves it; the payment difference is then posted to the ledger."""

    __tablename__ = "attendance_corrections"
    __table_args__ = (
        CheckConstraint("mark IN ('present', 'late', 'early_leave', 'absent', 'outing')", name="mark_known"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        # One waiting request per learner and day, however many requests race past request()'s own check.
        Index(
            "uq_attendance_corrections_pending",
            "enrolment_id",
            "day",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    period: Mapped[int] = mapped_column(Integer)
    previous_mark: Mapped[str | None] = mapped_column(String(12))  # None: the day was never marked (absent)
    mark: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    amount_change: Mapped[int] = mapped_column(BigInteger, default=0)  # what the provider was paid more (or less)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))


class Settlement(db.Model):
    """What a provider was paid for one unit period of one enrolment, from the attendance recorded then."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("enrolment_id", "period", name="uq_settlements_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    period: Mapped[int] = mapped_column(Integer)  # 1-based unit period
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    training_days: Mapped[int] = mapped_column(Integer)  # days with an attendance record
    absences: Mapped[int] = mapped_column(Integer)  # absent days + (lates and early leaves) // 3
    amount: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

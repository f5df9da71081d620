"""Payments of the self-pay share, what the payment processor told us, and what we found when we checked it.

- `payments`: one row per attempt to collect an enrolment's self-pay, with its own idempotency key.
- `payment_events`: every processor notification (webhook event) we acted on, once per event id, written in
  the same transaction as what it changed — a redelivered event finds its row and changes nothing.
- `payment_flags`: a payment that needs a person's eye (paid after its hold expired and refunded
  automatically; paid twice; an amount that differs). One row per payment and kind.
- `reconciliation_reports`: the result of `hrdnet payments reconcile` for one period, mismatches as JSON.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

__all__ = ["Payment", "PaymentEvent", "PaymentFlag", "PaymentFlagKind", "PaymentStatus", "ReconciliationReport"]


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class Payment(db.Model):
    """One attempt to collect an enrolment's self-pay through a payment backend.

    The row (with its idempotency key) is committed before the processor is called, so a retry after a
    crash or timeout reuses the key and can never charge twice.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded >= 0 AND refunded <= amount", name="refund_within_amount"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'canceled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    backend: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=PaymentStatus.PENDING.value)
    processor_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    client_secret: Mapped[str | None] = mapped_column(String(200))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PaymentEvent(db.Model):
    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("backend", "event_id", name="uq_payment_events_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    backend: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))  # the processor's event type, e.g. payment_intent.succeeded
    payment_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(200), default="")  # what we did, for people reading the table
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaymentFlagKind:
    LATE_SUCCESS_REFUNDED = "late_success_refunded"  # paid after the hold expired: refunded in full
    DUPLICATE_REFUNDED = "duplicate_refunded"  # a second payment for an enrolment already paid: refunded
    AMOUNT_MISMATCH = "amount_mismatch"  # the processor collected another amount than we asked
    CARD_UNUSABLE_REFUNDED = "card_unusable_refunded"  # the card was suspended (or expired) since the hold: refunded


FLAG_LABELS = {
    PaymentFlagKind.LATE_SUCCESS_REFUNDED: "결제 기한이 지난 뒤 결제되어 자동 환불함",
    PaymentFlagKind.DUPLICATE_REFUNDED: "이미 결제된 신청에 대한 중복 결제라 자동 환불함",
    PaymentFlagKind.AMOUNT_MISMATCH: "결제된 금액이 요청 금액과 다름(수강 확정 보류)",
    PaymentFlagKind.CARD_UNUSABLE_REFUNDED: "신청 뒤 카드 사용이 정지되어 수강을 확정하지 않고 자동 환불함",
}


class PaymentFlag(db.Model):
    __tablename__ = "payment_flags"
    __table_args__ = (
        UniqueConstraint("payment_id", "kind", name="uq_payment_flags_payment_kind"),
        CheckConstraint(
            "kind IN ('late_success_refunded', 'duplicate_refunded', 'amount_mismatch', 'card_unusable_refunded')",
            name="kind_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def label(self) -> str:
        return FLAG_LABELS.get(self.kind, self.kind)


class ReconciliationReport(db.Model):
    __tablename__ = "reconciliation_reports"
    __table_args__ = (CheckConstraint("period_start <= period_end", name="period_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    backend: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)  # KST dates, both included
    period_end: Mapped[date] = mapped_column(Date)
    processor_payments: Mapped[int] = mapped_column(Integer, default=0)
    processor_refunds: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    mismatch_count: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of mismatches
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def mismatches(self) -> list[dict]:
        return json.loads(self.body or "[]")

"""Cards belong to people, not logins.

- `people`: one row per verified person, named by a pseudonymous `person_key` (a keyed hash of the identity
  provider's connecting information, never the CI itself). The birth date is kept because eligibility
  (age 15–74) depends on it; nothing else about the person is stored here.
- `identity_links`: which login verified as which person (a login is one person; a person may have
  several logins over the years, but holds one card). A second login of a person who already has an active
  link waits in `pending` until an admin approves it (unless the verification service gave strong proof):
  otherwise anyone who knows a person's details could reach their card.
- `card_applications`: a learner's application, reviewed by an admin.
- `learner_statuses`: employment status and exemption groups with the date each takes effect; the price
  of a run is computed with the status on that date.
- `sanctions`: what a person's enrolment that ended without completing costs them (penalty, suspension,
  deduction), on the person rather than a card: it lands on their current card or the next one.
- `cards`: one voucher account of a person, kind `card` (the 내일배움카드) or `kdigital` (K-Digital
  Credit). A partial unique index keeps one open card of each kind per person. Balances are in the ledger.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

__all__ = [
    "ApplicationStatus",
    "Card",
    "CardApplication",
    "CardKind",
    "IdentityLink",
    "LinkStatus",
    "LearnerStatus",
    "Person",
    "Sanction",
    "SanctionStatus",
]


class CardKind(StrEnum):
    CARD = "card"
    KDIGITAL = "kdigital"


class LinkStatus(StrEnum):
    ACTIVE = "active"  # the login acts for the person (sees and spends the card)
    PENDING = "pending"  # a further login of an already linked person, waiting for an admin's review
    REJECTED = "rejected"


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class Person(db.Model):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), unique=True)  # pseudonymous; safe for the audit log
    # From the verification service; None only for a card an admin issued from the command line before the
    # person verified (`hrdnet cards issue`), which skips the age check the application makes.
    birth_date: Mapped[date | None] = mapped_column(Date)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdentityLink(db.Model):
    __tablename__ = "identity_links"
    __table_args__ = (CheckConstraint("status IN ('active', 'pending', 'rejected')", name="status_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(
        String(10), default=LinkStatus.ACTIVE.value, server_default=LinkStatus.ACTIVE.value
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))  # the admin's pseudonym
    reason: Mapped[str | None] = mapped_column(String(500))

    @property
    def active(self) -> bool:
        return self.status == LinkStatus.ACTIVE


class CardApplication(db.Model):
    __tablename__ = "card_applications"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'approved', 'rejected')", name="status_known"),
        # One application under review per person at a time.
        Index(
            "uq_card_applications_open",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'submitted'"),
            postgresql_where=text("status = 'submitted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    employment_status: Mapped[str] = mapped_column(String(32))
    groups: Mapped[str] = mapped_column(String(200), default="")  # space-separated exemption/top-up groups
    status: Mapped[str] = mapped_column(String(10), default=ApplicationStatus.SUBMITTED.value)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))  # the admin's pseudonym
    reason: Mapped[str | None] = mapped_column(Text)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))


class LearnerStatus(db.Model):
    __tablename__ = "learner_statuses"
    __table_args__ = (Index("ix_learner_statuses_person_from", "person_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    employment_status: Mapped[str] = mapped_column(String(32))
    groups: Mapped[str] = mapped_column(String(200), default="")  # space-separated
    effective_from: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))

    @property
    def group_set(self) -> frozenset[str]:
        return frozenset(self.groups.split())


class Card(db.Model):
    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint("kind IN ('card', 'kdigital')", name="kind_known"),
        CheckConstraint("limit_amount > 0", name="limit_positive"),
        CheckConstraint("expires_on > issued_on", name="expires_after_issue"),
        # A person holds at most one open card of each kind, however many approvals race.
        Index(
            "uq_cards_open_per_person",
            "person_id",
            "kind",
            unique=True,
            sqlite_where=text("closed_on IS NULL"),
            postgresql_where=text("closed_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    limit_amount: Mapped[int] = mapped_column(BigInteger)
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)  # the last day it can be used
    suspended_until: Mapped[date | None] = mapped_column(Date)  # cannot enrol up to and including this day
    suspension_reason: Mapped[str | None] = mapped_column(String(200))
    closed_on: Mapped[date | None] = mapped_column(Date)  # expired and its rest lapsed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def status_on(self, day: date) -> str:
        """'active', 'suspended', 'expired' or 'closed' on that day (KST)."""
        return card_status(self.closed_on, self.expires_on, self.suspended_until, day)


def card_status(closed_on: date | None, expires_on: date, suspended_until: date | None, day: date) -> str:
    """A card's status on a day from its three dates (Card.status_on, and the hot path's locked read)."""
    if closed_on is not None:
        return "closed"
    if day > expires_on:
        return "expired"
    if suspended_until is not None and day <= suspended_until:
        return "suspended"
    return "active"


class SanctionStatus(StrEnum):
    CLAIMED = "claimed"  # the learner gave an exempt reason: waits for the provider's or an admin's decision
    APPLIED = "applied"  # the penalty (and suspension, deduction) took effect; counts toward the next one
    WAIVED = "waived"  # an exempt reason was confirmed, or a rule spares it: nothing taken, not counted


class Sanction(db.Model):
    """A sanction for an enrolment that ended without completing (vouchers.cards.sanctions)."""

    __tablename__ = "sanctions"
    __table_args__ = (
        CheckConstraint("track IN ('card', 'kdigital')", name="track_known"),
        CheckConstraint("outcome IN ('dropped', 'incomplete')", name="outcome_known"),
        CheckConstraint("status IN ('claimed', 'applied', 'waived')", name="status_known"),
        CheckConstraint("penalty >= 0 AND deduction >= 0 AND suspend_days >= 0", name="amounts_not_negative"),
        Index("ix_sanctions_person_track_status", "person_id", "track", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), unique=True)
    programme_code: Mapped[str] = mapped_column(String(16))  # the run's programme (KDT rules look at it)
    track: Mapped[str] = mapped_column(String(10))  # whose schedule: card | kdigital
    outcome: Mapped[str] = mapped_column(String(12))  # dropped | incomplete
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(32))  # an exempt reason claimed, or the rule that spared it
    number: Mapped[int | None] = mapped_column(Integer)  # the n-th counted ending of this track (applied ones)
    penalty: Mapped[int] = mapped_column(BigInteger, default=0)  # the whole penalty, taken or owed
    deduction: Mapped[int] = mapped_column(BigInteger, default=0)  # training cost drawn (KDT dropouts)
    suspend_days: Mapped[int] = mapped_column(Integer, default=0)
    suspended_until: Mapped[date | None] = mapped_column(Date)
    occurred_on: Mapped[date] = mapped_column(Date)  # the day the enrolment ended
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))  # pseudonym of who confirmed or refused a reason
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

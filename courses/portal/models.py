"""Run submissions: a provider's proposal of one run, its numbered revisions, and notices to providers.

A submission moves through courses.portal.workflow. Each edit after a decision makes a new revision, so what
an auditor approved is never rewritten: `approved` names the revision the public sees (through the run it
was published to, `run_id`), `head` the one being edited or reviewed.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Programme, Provider
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

STATES = ("draft", "submitted", "approved", "rejected", "withdrawn")


class Submission(db.Model):
    __tablename__ = "run_submissions"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES}", name="state_known"),
        # Set while the submission is live (submitted or approved): the database refuses a duplicate run.
        UniqueConstraint("provider_id", "dedupe_key"),
        UniqueConstraint("run_id"),
        Index("ix_run_submissions_queue", "state", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))  # set when first approved
    state: Mapped[str] = mapped_column(String(10), default="draft")
    title: Mapped[str] = mapped_column(String(300), default="")  # the head revision's, for lists
    head: Mapped[int] = mapped_column(Integer, default=1)
    approved: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str | None] = mapped_column(String(340))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the queue's age
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(1000))  # the last rejection's reason
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    provider: Mapped[Provider] = relationship(lazy="joined")
    programme: Mapped[Programme | None] = relationship(lazy="joined")


class Revision(db.Model):
    __tablename__ = "run_revisions"
    __table_args__ = (
        UniqueConstraint("submission_id", "number"),
        CheckConstraint("decision IS NULL OR decision IN ('approved', 'rejected')", name="decision_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("run_submissions.id"))
    number: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)  # JSON of courses.portal.fields.FIELDS
    author: Mapped[str] = mapped_column(String(32))  # pseudonym
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(1000))
    decided_by: Mapped[str | None] = mapped_column(String(32))  # pseudonym
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def values(self) -> dict:
        return json.loads(self.data)


class ProviderNotice(db.Model):
    """A message to a provider's staff in the portal (the same goes out by e-mail)."""

    __tablename__ = "provider_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("run_submissions.id"))
    message: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)  # a notice that must go out only once


class ProviderStaff(db.Model):
    """A provider account's duties at its provider (no row: plain staff, names masked, no attendance)."""

    __tablename__ = "provider_staff"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    is_admin: Mapped[bool] = mapped_column(default=False)  # invites and removes the provider's staff
    takes_attendance: Mapped[bool] = mapped_column(default=False)  # records attendance, sees names unmasked


DOCUMENT_KINDS = {"business_registration": "사업자등록증", "training_facility": "훈련시설 증빙", "other": "기타"}


class ProviderDocument(db.Model):
    """A document a registering provider uploaded for its vetting (the file is kept by hash, see registration)."""

    __tablename__ = "provider_documents"
    __table_args__ = (CheckConstraint(f"kind IN {tuple(DOCUMENT_KINDS)}", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProviderClaim(db.Model):
    """A registered provider's claim of a feed's provider id (its runs come with it once an admin confirms)."""

    __tablename__ = "provider_claims"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'refused')", name="status_known"),
        UniqueConstraint("provider_id", "source", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    claimed_by: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Favourite runs, the learner's reminders (notifications) and which kinds they turned off."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

__all__ = ["Favourite", "Notification", "ReminderSetting"]


class Favourite(db.Model):
    """A run the learner keeps an eye on (관심 과정): listed at /me/favourites, reminded before it closes."""

    __tablename__ = "favourites"
    __table_args__ = (UniqueConstraint("user_id", "run_id", name="uq_favourites_user_run"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(db.Model):
    """One reminder to one learner. `key` names what it is about (kind, subject, threshold), so the worker
    can run as often as it likes and a reminder is still made once."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(String(300))  # Korean, plain; no personal data beyond the learner's own
    path: Mapped[str] = mapped_column(String(200))  # where to act on it (a site path)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReminderSetting(db.Model):
    """A kind of reminder the learner turned off (or back on). No row: on."""

    __tablename__ = "reminder_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

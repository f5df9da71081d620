"""The transactional outbox: side effects recorded with the change they follow, delivered after commit.

enqueue() adds a row inside the caller's transaction, so the side effect exists exactly when the change
does. The worker (hrdnet worker) delivers pending rows to the handler registered for their topic, each in
a transaction of its own. A row is claimed with a lease: if the process dies mid-delivery the lease runs
out and the row is delivered again, so delivery is at-least-once and handlers must be idempotent. A row
that keeps failing is retried with exponential backoff and, after OUTBOX_MAX_ATTEMPTS, parked as dead for
an admin to look at.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import CheckConstraint, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF_BASE_SECONDS = 5

PENDING, DONE, DEAD = "pending", "done", "dead"

Handler = Callable[[dict], None]
_handlers: dict[str, Handler] = {}


class OutboxItem(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'dead')", name="status_known"),
        Index("ix_outbox_due", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Not delivered before this moment: the retry backoff, or the lease of a worker holding the row.
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


def handler(topic: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers items of a topic (one handler per topic)."""

    def register(fn: Handler) -> Handler:
        if topic in _handlers and _handlers[topic] is not fn:
            raise ValueError(f"outbox topic {topic!r} already has a handler")
        _handlers[topic] = fn
        return fn

    return register


def enqueue(topic: str, payload: dict) -> OutboxItem:
    """Record a side effect in the current transaction (flushes, never commits)."""
    item = OutboxItem(topic=topic, payload=json.dumps(payload, ensure_ascii=False))
    db.session.add(item)
    db.session.flush()
    return item


def _claim(item_id: int, now: datetime) -> bool:
    """Take the lease on one due item; False when another worker got it first."""
    with unit_of_work(write_lock=True) as session:
        claimed = session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.status == PENDING, OutboxItem.available_at <= now)
            .values(available_at=now + LEASE, attempts=OutboxItem.attempts + 1)
        ).rowcount
    return claimed == 1


def _finish(item_id: int, error: Exception | None) -> None:
    with unit_of_work(write_lock=True) as session:
        item = session.get(OutboxItem, item_id)
        now = utcnow()
        if error is None:
            item.status, item.done_at, item.last_error = DONE, now, None
        elif item.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            item.status, item.last_error = DEAD, _describe(error)
        else:
            item.available_at = now + timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (item.attempts - 1))
            item.last_error = _describe(error)


def _describe(error: Exception) -> str:
    # The type and message of our own handlers' errors; handlers must not put personal data in them.
    return f"{type(error).__name__}: {error}"[:500]


def deliver_pending(limit: int = 100) -> int:
    """Deliver up to `limit` due items, each in its own transaction. Returns how many were attempted."""
    now = utcnow()
    due = db.session.scalars(
        select(OutboxItem.id)
        .where(OutboxItem.status == PENDING, OutboxItem.available_at <= now)
        .order_by(OutboxItem.id)
        .limit(limit)
    ).all()
    db.session.commit()
    attempted = 0
    for item_id in due:
        if not _claim(item_id, now):
            continue
        attempted += 1
        item = db.session.get(OutboxItem, item_id)
        topic, payload = item.topic, json.loads(item.payload)
        db.session.rollback()  # hold no transaction open while the handler talks to the outside world
        try:
            deliver = _handlers[topic]
        except KeyError:
            _finish(item_id, LookupError(f"no handler for topic {topic!r}"))
            continue
        try:
            deliver(payload)
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then parked
            db.session.rollback()
            log.warning("outbox item %s (%s) failed: %s", item_id, topic, type(exc).__name__)
            _finish(item_id, exc)
        else:
            _finish(item_id, None)
    return attempted


def counts() -> dict[str, int]:
    """Items per status, for /healthz and the admin page."""
    rows = db.session.execute(select(OutboxItem.status, db.func.count()).group_by(OutboxItem.status)).all()
    return {PENDING: 0, DONE: 0, DEAD: 0} | {status: n for status, n in rows}


def retry_dead(item_id: int) -> bool:
    """Put a dead item back in the queue (admin action)."""
    return (
        db.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.status == DEAD)
            .values(status=PENDING, attempts=0, available_at=utcnow())
        ).rowcount
        == 1
    )

"""The append-only, hash-chained audit log that every domain writes to.

Each entry's hash covers its own canonical content and the previous entry's hash, so editing, deleting,
inserting or reordering any entry breaks the chain from that point on, and `hrdnet audit verify` names
the first entry that no longer fits. The database refuses UPDATE and DELETE on the table (triggers made
by the migration), and a UNIQUE previous-hash stops two writers from forking the chain.

Entries hold pseudonymous keys (User.pseudonym, record ids) and never personal data, so erasing a person
later never requires touching the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, select, text
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    # Set by append() (previous id + 1), not by the database, because the hash covers it.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    entry_id: int, at: datetime, action: str, actor: str, subject_type: str, subject_id: str, data: str, prev_hash: str
) -> str:
    # The timestamp is hashed at microsecond precision in UTC, exactly as both databases store it.
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%f")
    content = "\x1f".join([str(entry_id), stamp, action, actor, subject_type, subject_id, data, prev_hash])
    return hashlib.sha256(content.encode()).hexdigest()


def lock_chain() -> None:
    """Serialise appends so each new entry sees the true head (PostgreSQL; SQLite's write lock does it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7412001)"))


def append(
    action: str,
    *,
    actor: str,
    subject_type: str,
    subject_id: str | int,
    data: dict | None = None,
) -> AuditEntry:
    """Add an entry to the chain inside the caller's transaction (flushes, never commits).

    On SQLite the caller's unit of work must hold the write lock (unit_of_work(write_lock=True)).
    """
    lock_chain()
    head = db.session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    entry_id, prev_hash = (head.id + 1, head.hash) if head else (1, GENESIS_HASH)
    at = utcnow()
    body = canonical_json(data or {})
    entry = AuditEntry(
        id=entry_id,
        at=at,
        action=action,
        actor=actor,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=body,
        prev_hash=prev_hash,
        hash=entry_hash(entry_id, at, action, actor, subject_type, str(subject_id), body, prev_hash),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int
    head_hash: str
    bad_id: int | None = None
    reason: str = ""


def _entries(batch: int = 10_000) -> Iterator[AuditEntry]:
    """All entries in id order, read in batches so memory stays flat for millions of rows."""
    last_id = 0
    while True:
        rows = db.session.execute(
            select(
                AuditEntry.id,
                AuditEntry.at,
                AuditEntry.action,
                AuditEntry.actor,
                AuditEntry.subject_type,
                AuditEntry.subject_id,
                AuditEntry.data,
                AuditEntry.prev_hash,
                AuditEntry.hash,
            )
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify() -> Verdict:
    """Walk the chain from the start and report the first entry that does not fit."""
    expected_id, prev_hash, count = 1, GENESIS_HASH, 0
    for row in _entries():
        if row.id != expected_id:
            return Verdict(
                False,
                count,
                prev_hash,
                row.id,
                f"entry {row.id} follows entry {expected_id - 1}: entries were deleted or renumbered",
            )
        if row.prev_hash != prev_hash:
            return Verdict(
                False,
                count,
                prev_hash,
                row.id,
                f"entry {row.id} does not link to the entry before it: an entry was inserted, deleted or reordered",
            )
        recomputed = entry_hash(
            row.id, row.at, row.action, row.actor, row.subject_type, row.subject_id, row.data, row.prev_hash
        )
        if recomputed != row.hash:
            return Verdict(False, count, prev_hash, row.id, f"entry {row.id} was edited: its hash does not match")
        prev_hash, expected_id, count = row.hash, expected_id + 1, count + 1
    return Verdict(True, count, prev_hash)

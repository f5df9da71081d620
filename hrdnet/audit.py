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

from sqlalchemy import String, Text, event, insert, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

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


# Two advisory locks (PostgreSQL; SQLite's BEGIN IMMEDIATE already makes writers take turns):
# - MONEY_LOCK orders the units of work that move money. The enrolment hot path (vouchers.checkout: enrol's
#   intent and apply_state) holds it *shared*, so enrolments run side by side, each ordered by its card's
#   account rows (locked first); every other money unit (cancel, expiry, attendance, sanctions, issuing)
#   holds it *exclusive*, as all of them did before, so its own lock order never meets the hot path's.
# - CHAIN_LOCK serialises appends to the chain: the last lock any transaction takes. A unit holding
#   MONEY_LOCK shared appends its entries at COMMIT (held only for one INSERT); others append at once.
MONEY_LOCK = 7412001
CHAIN_LOCK = 7412002
_money_mode_key = "hrdnet_money_lock"  # session.info: "shared" or "exclusive" once taken in this transaction
_pending_key = "hrdnet_audit_pending"  # session.info: entries to chain at COMMIT, each with its savepoint


def lock_chain(*, shared: bool = False) -> None:
    """Take the money lock for this transaction (see MONEY_LOCK); a second call in the same transaction does
    nothing, so services called from a shared-mode unit of work never try to upgrade it (two shared holders
    upgrading would deadlock)."""
    session = db.session()
    if session.info.get(_money_mode_key) or session.get_bind().dialect.name != "postgresql":
        session.info.setdefault(_money_mode_key, "shared" if shared else "exclusive")
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {function}({MONEY_LOCK})"))
    session.info[_money_mode_key] = "shared" if shared else "exclusive"


def _lock_appends(session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})"))


def append(
    action: str,
    *,
    actor: str,
    subject_type: str,
    subject_id: str | int,
    data: dict | None = None,
) -> None:
    """Add an entry to the chain inside the caller's transaction (never commits).

    In a unit of work that holds the money lock shared (the enrolment hot path on PostgreSQL) the entry is
    chained at COMMIT, so the chain's lock is held for one INSERT instead of the whole transaction; it is
    dropped if its savepoint or transaction rolls back. Otherwise it is written (flushed) at once.
    On SQLite the caller's unit of work must hold the write lock (unit_of_work(write_lock=True)).
    """
    session = db.session()
    content = (utcnow(), action, actor, subject_type, str(subject_id), canonical_json(data or {}))
    if session.info.get(_money_mode_key) == "shared" and session.get_bind().dialect.name == "postgresql":
        session.info.setdefault(_pending_key, []).append((session.get_nested_transaction(), content))
        return
    _write(session, [content])


def _write(session, contents: list[tuple]) -> None:
    """Chain and insert entries (one statement) under the chain lock, after the current head."""
    _lock_appends(session)
    head = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    entry_id, prev_hash = (head.id + 1, head.hash) if head else (1, GENESIS_HASH)
    rows = []
    for at, action, actor, subject_type, subject_id, body in contents:
        digest = entry_hash(entry_id, at, action, actor, subject_type, subject_id, body, prev_hash)
        rows.append(
            {
                "id": entry_id,
                "at": at,
                "action": action,
                "actor": actor,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "data": body,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        entry_id, prev_hash = entry_id + 1, digest
    session.execute(insert(AuditEntry), rows)


def _chain_pending(session) -> None:
    """before_commit: chain the entries this transaction deferred (last lock taken, held to COMMIT only).
    SQLAlchemy fires before_commit for a savepoint's release too: those wait for the real COMMIT."""
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_pending_key, None)
    if pending:
        _write(session, [content for _savepoint, content in pending])


def _drop_rolled_back(session, previous_transaction) -> None:
    """after_soft_rollback: entries appended inside a savepoint that rolled back never happened."""
    pending = session.info.get(_pending_key)
    if not pending:
        return
    if not previous_transaction.nested:
        session.info.pop(_pending_key, None)
        return
    session.info[_pending_key] = [
        (savepoint, content) for savepoint, content in pending if not _within(savepoint, previous_transaction)
    ]


def _within(savepoint, ancestor) -> bool:
    while savepoint is not None:
        if savepoint is ancestor:
            return True
        savepoint = savepoint.parent
    return False


def _forget_transaction(session, transaction) -> None:
    """after_transaction_end: the money lock and any deferred entries belong to one transaction."""
    if transaction.parent is None:
        session.info.pop(_money_mode_key, None)
        session.info.pop(_pending_key, None)


def install_session_hooks() -> None:
    """Called once by the app factory: the deferred appends' COMMIT and rollback hooks."""
    if not event.contains(Session, "before_commit", _chain_pending):
        event.listen(Session, "before_commit", _chain_pending)
        event.listen(Session, "after_soft_rollback", _drop_rolled_back)
        event.listen(Session, "after_transaction_end", _forget_transaction)


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

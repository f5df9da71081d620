"""The append-only, hash-chained audit log that every domain writes to.

Each entry's hash covers its own canonical content and the previous entry's hash, so editing, deleting,
inserting or reordering any entry breaks the chain from that point on, and `hrdnet audit verify` names
the first entry that no longer fits. The database refuses UPDATE and DELETE on the table (triggers made
by the migration), and a UNIQUE previous-hash stops two writers from forking the chain.

The hash is an HMAC-SHA256 keyed by AUDIT_KEYS (configuration, never the database; the entry names its key
id), so someone with write access to the table alone cannot recompute a chain that verifies: they would
need the key too. Rotation: put a new "id:secret" first in AUDIT_KEYS and keep the old ones after it for as
long as their entries must verify (docs/ledger.md).

Entries hold pseudonymous keys (User.pseudonym, record ids) and never personal data, so erasing a person
later never requires touching the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import String, Text, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from hrdnet.db import insert_rows
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
    # The AUDIT_KEYS id whose HMAC made `hash`; NULL only for entries written before the chain was keyed.
    key_id: Mapped[str | None] = mapped_column(String(16))


def canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    entry_id: int,
    at: datetime,
    action: str,
    actor: str,
    subject_type: str,
    subject_id: str,
    data: str,
    prev_hash: str,
    key_id: str | None = None,
    secret: bytes | None = None,
) -> str:
    """HMAC-SHA256 of the entry under the AUDIT_KEYS key `key_id` (which it covers too), so write access to
    the table is not enough to recompute the chain; key_id None is the unkeyed SHA-256 of entries written
    before the chain was keyed. Raises UnknownAuditKey for a key id the configuration does not hold.
    `secret`: the key's secret when the caller already read it (a write chaining many entries)."""
    # The timestamp is hashed at microsecond precision in UTC, exactly as both databases store it.
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%f")
    parts = [str(entry_id), stamp, action, actor, subject_type, subject_id, data, prev_hash]
    if key_id is None:
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    content = "\x1f".join([*parts, key_id]).encode()
    return hmac.new(secret or _keys().get(key_id) or _unknown(key_id), content, hashlib.sha256).hexdigest()


class UnknownAuditKey(LookupError):
    pass


def _unknown(key_id: str) -> bytes:
    raise UnknownAuditKey(key_id)


def _keys() -> dict[str, bytes]:
    """{key id: secret} from AUDIT_KEYS, in configuration order (the first signs new entries)."""
    pairs = (pair.partition(":") for pair in current_app.config.get("AUDIT_KEYS") or [])
    return {key_id: secret.encode() for key_id, _colon, secret in pairs if key_id and secret}


def signing_key_id() -> str:
    """The key id new entries are signed with: the first of AUDIT_KEYS."""
    keys = _keys()
    if not keys:
        raise RuntimeError("AUDIT_KEYS is empty: the audit chain cannot be signed (see docs/ledger.md)")
    return next(iter(keys))


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

    In a unit of work that holds the money lock shared (the enrolment hot path) the entry is chained at
    COMMIT, so the chain's lock is held for one INSERT instead of the whole transaction (on SQLite, where the
    write lock already orders writers, it saves the head's read per entry); it is dropped if its savepoint or
    transaction rolls back. Otherwise it is written (flushed) at once.
    On SQLite the caller's unit of work must hold the write lock (unit_of_work(write_lock=True)).
    """
    session = db.session()
    content = (utcnow(), action, actor, subject_type, str(subject_id), canonical_json(data or {}))
    if session.info.get(_money_mode_key) == "shared":
        session.info.setdefault(_pending_key, []).append((session.get_nested_transaction(), content))
        return
    _write(session, [content])


def _write(session, contents: list[tuple]) -> None:
    """Chain and insert entries (one statement) under the chain lock, after the current head."""
    _lock_appends(session)
    head = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    entry_id, prev_hash = (head.id + 1, head.hash) if head else (1, GENESIS_HASH)
    key_id, rows = signing_key_id(), []
    secret = _keys()[key_id]  # read from the configuration once per write, not once per entry
    for at, action, actor, subject_type, subject_id, body in contents:
        digest = entry_hash(entry_id, at, action, actor, subject_type, subject_id, body, prev_hash, key_id, secret)
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
                "key_id": key_id,
            }
        )
        entry_id, prev_hash = entry_id + 1, digest
    insert_rows(AuditEntry.__table__, rows, session=session)  # one INSERT, the same text whatever the number of entries


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
                AuditEntry.key_id,
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
    expected_id, prev_hash, count, keyed = 1, GENESIS_HASH, 0, False
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
        if row.key_id is None and keyed:
            return Verdict(
                False, count, prev_hash, row.id, f"entry {row.id} is unkeyed after keyed entries: it was forged"
            )
        try:
            recomputed = entry_hash(
                row.id,
                row.at,
                row.action,
                row.actor,
                row.subject_type,
                row.subject_id,
                row.data,
                row.prev_hash,
                row.key_id,
            )
        except UnknownAuditKey:
            return Verdict(
                False, count, prev_hash, row.id, f"entry {row.id} is signed with key '{row.key_id}', not in AUDIT_KEYS"
            )
        if not hmac.compare_digest(recomputed, row.hash):
            return Verdict(False, count, prev_hash, row.id, f"entry {row.id} was edited: its hash does not match")
        prev_hash, expected_id, count = row.hash, expected_id + 1, count + 1
        keyed = keyed or row.key_id is not None
    return Verdict(True, count, prev_hash)

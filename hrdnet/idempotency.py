"""Idempotency-Key for JSON POSTs: the same key and body return the first response; a different body is refused.

`respond_once` is the one way every endpoint uses it: replay the stored answer for the key, or do the work and
store its answer. The answer is stored in the work's last transaction when the work hands it over there
(`keep`), else in a unit of work of its own right after the work committed (enrolling can end outside any
transaction: when the payment processor does not answer, the response carries the pending payment). Work behind a key is therefore keyed or guarded itself, so that a retry whose first answer
was lost (a crash between the two commits) never does it twice: an enrolment's request key is the
Idempotency-Key, and a second cancellation is refused. Refusals (4xx) are not stored: a retry is evaluated
again. Two concurrent requests with the same key serialise on the unique (user, key) index; the loser
returns the winner's response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.db import after_commit, insert_or_nothing, unit_of_work
from hrdnet.errors import DomainError
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

MAX_KEY = 100


class IdempotencyKeyReused(DomainError):
    status, code = 422, "idempotency_key_reused"
    message = "같은 Idempotency-Key로 내용이 다른 요청이 이미 처리되었습니다. 새 키로 요청해 주세요."


class IdempotencyKeyInvalid(DomainError):
    status, code = 400, "idempotency_key_invalid"
    message = f"Idempotency-Key는 1~{MAX_KEY}자의 문자열이어야 합니다."


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "endpoint", "key", name="uq_idempotency_records_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(MAX_KEY))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def request_hash(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY:
        raise IdempotencyKeyInvalid()
    return key


def replay(user_id: int, endpoint: str, key: str, body: object) -> tuple[int, dict] | None:
    """The stored (status, body) for this key, None if unseen; IdempotencyKeyReused if the body differs."""
    record = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.endpoint == endpoint, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != request_hash(body):
        raise IdempotencyKeyReused()
    return record.status_code, json.loads(record.body)


def remember(user_id: int, endpoint: str, key: str, body: object, status: int, response: dict) -> bool:
    """Store the answer in the current transaction; False when a concurrent request with the same key stored
    first (ON CONFLICT DO NOTHING: the caller's transaction goes on, and replays that one)."""
    stored = db.session.execute(
        insert_or_nothing(IdempotencyRecord.__table__)
        .values(
            user_id=user_id,
            endpoint=endpoint,
            key=key,
            request_hash=request_hash(body),
            status_code=status,
            body=json.dumps(response, ensure_ascii=False),
            created_at=utcnow(),
        )
        .returning(IdempotencyRecord.id)
    ).first()
    return stored is not None


Keep = Callable[[int, dict], None]


def respond_once(
    user_id: int, endpoint: str, key: str | None, body: object, work: Callable[[Keep], tuple[int, dict]]
) -> tuple[int, dict]:
    """(status, response) for a POST: the first answer again for a key seen before, else `work(keep)`'s.

    The look-up shares the request's first read transaction (no unit of work of its own). `work` owns its
    units of work and should call `keep(status, response)` inside its last one, so that the answer is stored
    in the same transaction as the work it answers (issue 14: the enrolment's own transaction); when it did
    not (the processor did not answer, a retried request), the answer is stored after it, in a unit of work of
    its own. Without a key the work simply runs (no retry protection). A concurrent request with the same key
    that stored first wins.
    """
    if key is None:
        return work(lambda _status, _response: None)
    replayed = replay(user_id, endpoint, key, body)
    if replayed is not None:
        return replayed
    kept: list[bool] = []

    def keep(status: int, response: dict) -> None:
        stored = remember(user_id, endpoint, key, body, status, response)
        after_commit(lambda: kept.append(stored))  # a transaction that rolls back stored nothing

    status, response = work(keep)
    if not kept:
        with unit_of_work(write_lock=True):
            kept.append(remember(user_id, endpoint, key, body, status, response))
    if not kept[-1]:  # the same key, answered by a concurrent request a moment earlier
        with unit_of_work():
            return replay(user_id, endpoint, key, body)
    return status, response

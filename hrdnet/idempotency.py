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
from collections.abc import Callable, Sequence
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


class Keep:
    """Stores one key's answer in the caller's transaction: `keep(status, response)` inside the work's last unit
    of work, or `keep_many` for a batch of requests written by one transaction (the batching writer). `kept`
    holds, once that transaction committed, whether the answer was stored (False: a concurrent request with the
    same key stored first) and `answer` what was stored. Without a key it stores nothing."""

    def __init__(self, user_id: int, endpoint: str, key: str | None, body: object):
        self.user_id, self.endpoint, self.key, self.body = user_id, endpoint, key, body
        self.kept: list[bool] = []  # appended after commit: a transaction that rolls back stored nothing
        self.answer: tuple[int, dict] | None = None

    def __call__(self, status: int, response: dict) -> None:
        if self.key is None:
            return
        stored = remember(self.user_id, self.endpoint, self.key, self.body, status, response)
        after_commit(lambda: self._note(stored, status, response))

    def _note(self, stored: bool, status: int, response: dict) -> None:
        self.kept.append(stored)
        self.answer = (status, response)


def keep_many(answers: Sequence[tuple[Keep, int, dict]]) -> None:
    """Keep.__call__ for a batch, set-based: every (keep, status, response) stored in one INSERT … ON CONFLICT
    DO NOTHING RETURNING (executemany), in the current transaction; each keep learns after the commit whether
    its row was stored (not when a concurrent request with the same key stored first)."""
    answers = [answer for answer in answers if answer[0].key is not None]
    if not answers:
        return
    now = utcnow()
    table = IdempotencyRecord.__table__
    stored = {
        (row.user_id, row.endpoint, row.key)
        for row in db.session.execute(
            insert_or_nothing(table).returning(table.c.user_id, table.c.endpoint, table.c.key),
            [
                {
                    "user_id": keep.user_id,
                    "endpoint": keep.endpoint,
                    "key": keep.key,
                    "request_hash": request_hash(keep.body),
                    "status_code": status,
                    "body": json.dumps(response, ensure_ascii=False),
                    "created_at": now,
                }
                for keep, status, response in answers
            ],
        )
    }
    for keep, status, response in answers:
        was_stored = (keep.user_id, keep.endpoint, keep.key) in stored
        after_commit(lambda keep=keep, was=was_stored, s=status, r=response: keep._note(was, s, r))


def respond_once(
    user_id: int, endpoint: str, key: str | None, body: object, work: Callable[[Keep], tuple[int, dict]]
) -> tuple[int, dict]:
    """(status, response) for a POST: the first answer again for a key seen before, else `work(keep)`'s.

    The look-up shares the request's first read transaction (no unit of work of its own). `work` owns its
    units of work and should call `keep(status, response)` (or have `keep_many` store it) inside its last one,
    so that the answer is stored in the same transaction as the work it answers (issue 14: the enrolment's own
    transaction); when it did not (the processor did not answer, a retried request, a refusal), the answer is
    stored after it, in a unit of work of its own. Without a key the work simply runs (no retry protection). A
    concurrent request with the same key that stored first wins.
    """
    keep = Keep(user_id, endpoint, key, body)
    if key is None:
        return work(keep)
    replayed = replay(user_id, endpoint, key, body)
    if replayed is not None:
        return replayed
    status, response = work(keep)
    if not keep.kept:
        with unit_of_work(write_lock=True):
            keep.kept.append(remember(user_id, endpoint, key, body, status, response))
    if not keep.kept[-1]:  # the same key, answered by a concurrent request a moment earlier
        with unit_of_work():
            return replay(user_id, endpoint, key, body)
    return status, response

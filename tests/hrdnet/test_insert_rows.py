"""hrdnet.db.insert_rows and json_recordset (the batching writer's multi-row writes): on PostgreSQL the rows go
as one JSON parameter, so these check that nothing is lost or bent on the way — every value back exactly
(timestamps to the microsecond, NULLs, non-ASCII text), the order kept, a conflict skipped, and a value too
long for its column refused as a plain INSERT refuses it, never cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import BigInteger, Text, select, update
from sqlalchemy.exc import DataError

from hrdnet.db import insert_rows, json_recordset, unit_of_work
from hrdnet.extensions import db
from hrdnet.outbox import OutboxItem

pytestmark = pytest.mark.both_dbs

AT = datetime(2026, 12, 8, 2, 5, 17, 123456, tzinfo=UTC)


def row(n: int, **changes) -> dict:
    values = {
        "topic": f"test.{n}",
        "payload": f'{{"n": {n}, "memo": "수강 신청 보류 \\"{n}\\""}}',
        "status": "pending",
        "attempts": n,
        "created_at": AT + timedelta(microseconds=n),
        "available_at": AT,
        "done_at": None,
        "last_error": None,
    }
    return {**values, **changes}


def test_rows_come_back_exactly_and_in_order(app):
    rows = [row(n) for n in range(30)]
    with unit_of_work(write_lock=True):
        returned = insert_rows(OutboxItem.__table__, rows, returning=("id", "topic"))
    assert sorted(topic for _id, topic in returned) == sorted(r["topic"] for r in rows)
    stored = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
    assert [item.topic for item in stored] == [r["topic"] for r in rows]  # ids given in the order of the rows
    for item, expected in zip(stored, rows, strict=True):
        assert (item.payload, item.attempts, item.created_at, item.available_at, item.done_at, item.last_error) == (
            expected["payload"],
            expected["attempts"],
            expected["created_at"],
            expected["available_at"],
            None,
            None,
        )


def test_a_value_too_long_for_its_column_is_refused_not_cut(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(DataError), unit_of_work(write_lock=True):
        insert_rows(OutboxItem.__table__, [row(1), row(2, last_error="가" * 501)])
    assert db.session.scalar(select(OutboxItem.id)) is None


def test_json_recordset_gives_each_row_its_own_value(app):
    with unit_of_work(write_lock=True):
        ids = [
            item_id for (item_id,) in insert_rows(OutboxItem.__table__, [row(n) for n in range(5)], returning=("id",))
        ]
    if db.engine.dialect.name != "postgresql":
        pytest.skip("json_recordset is PostgreSQL's (SQLite callers keep their CASE)")
    errors = {item_id: f"오류 {item_id}" for item_id in ids[:3]}
    with unit_of_work(write_lock=True):
        given = json_recordset(
            "given",
            [{"id": item_id, "error": error} for item_id, error in errors.items()],
            {"id": BigInteger(), "error": Text()},
        )
        db.session.execute(
            update(OutboxItem.__table__).where(OutboxItem.id == given.c.id).values(last_error=given.c.error)
        )
    stored = dict(db.session.execute(select(OutboxItem.id, OutboxItem.last_error)).all())
    assert stored == {item_id: errors.get(item_id) for item_id in ids}

"""Database session helpers: one commit per unit of work, and SQLite tuned for a web site.

SQLite runs in WAL mode with foreign keys on and a busy timeout. pysqlite's own transaction handling is
switched off so that we emit BEGIN ourselves: that is the only way to take the write lock up front with
BEGIN IMMEDIATE, which money-moving work needs (a deferred transaction that reads first and writes later
fails with SQLITE_BUSY when another writer committed in between, instead of waiting its turn).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache

from flask import Flask
from sqlalchemy import JSON, String, Table, Text, cast, column, event, func, insert, literal
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hrdnet.errors import DomainError
from hrdnet.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a unit of work queues for SQLite's write lock in all. SQLite does not grant the lock in arrival
# order, so under a burst one writer can lose several busy-timeout rounds; BEGIN IMMEDIATE does no work before
# it holds the lock, so trying it again is always safe.
WRITE_LOCK_WAIT_SECONDS = 120.0


class DatabaseBusy(DomainError):
    status, code = 503, "database_busy"
    message = "요청이 몰려 처리하지 못했습니다. 잠시 후 다시 시도해 주세요."


_write_lock: ContextVar[bool] = ContextVar("hrdnet_write_lock", default=False)
_after_commit_key = "hrdnet_after_commit"
_wrote_key = "hrdnet_wrote"  # session.info: this transaction has written (flushed or executed a DML statement)


def configure_engine(app: Flask) -> None:
    """Install the SQLite connection and transaction hooks (the write tracking for every database)."""
    _track_writes()
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _install_sqlite_hooks(engine)


def _track_writes() -> None:
    """Remember, per transaction, whether the session wrote anything: unit_of_work() then refuses to commit
    writes a read path made outside any unit of work (they would be committed by accident otherwise)."""
    if not event.contains(Session, "after_flush", _note_flush):
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "do_orm_execute", _note_statement)
        event.listen(Session, "after_transaction_end", _forget_writes)


def _note_flush(session: Session, _flush_context) -> None:
    session.info[_wrote_key] = True


def _note_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_wrote_key] = True


def _forget_writes(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (committed or rolled back)
        session.info.pop(_wrote_key, None)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_lock.get() else "BEGIN")


@contextmanager
def unit_of_work(*, write_lock: bool = False) -> Iterator[Session]:
    """Run a block as one transaction: commit once at the end, or roll back and re-raise.

    The transaction a view may already have open (reads, e.g. loading the user) is ended first; if anything
    was written in it, flushed or not, the unit of work refuses to start (RuntimeError) and rolls it back:
    writes belong inside a unit of work, and a GET writes nothing.

    write_lock takes SQLite's write lock when the transaction begins (BEGIN IMMEDIATE), so concurrent
    writers queue on the busy timeout instead of failing; PostgreSQL code takes row locks instead.
    Callbacks registered with after_commit() run only once the commit succeeded.
    """
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("unit_of_work() started with unflushed changes in the session")
        if session.info.get(_wrote_key):
            session.rollback()  # never commit what a read path wrote
            raise RuntimeError(
                "unit_of_work() started after writes outside a unit of work (a read path wrote); they were rolled back"
            )
        session.commit()  # end the read-only transaction a view may have opened (e.g. loading the user)
    token = _write_lock.set(write_lock)
    try:
        _begin(session)
    finally:
        _write_lock.reset(token)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(_after_commit_key, None)
        raise
    for callback in session.info.pop(_after_commit_key, []):
        callback()


def _begin(session: Session) -> None:
    """Begin now, under the lock mode chosen; on SQLite, keep queueing for the write lock up to the limit."""
    deadline = time.monotonic() + WRITE_LOCK_WAIT_SECONDS
    while True:
        try:
            session.connection()
            return
        except OperationalError as error:
            session.rollback()
            if "database is locked" not in str(error.orig):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy() from error


def insert_or_nothing(table):
    """INSERT … ON CONFLICT DO NOTHING for this database (PostgreSQL and SQLite ≥ 3.35 spell it alike): with
    RETURNING, a row that a unique constraint refused returns nothing instead of failing the transaction, so
    idempotent writers need no savepoint and no look-up first."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def insert_rows(
    table: Table,
    rows: Sequence[dict],
    *,
    returning: Sequence[str] = (),
    or_nothing: bool = False,
    session: Session | None = None,
) -> list:
    """Many rows (dicts with the same keys) in one INSERT, optionally ON CONFLICT DO NOTHING, returning the
    named columns of the rows written (in no promised order: callers match them by a key they returned).

    On PostgreSQL it is `INSERT … SELECT … FROM json_to_recordset(one JSON parameter)`: a text that does not
    depend on the number of rows, so it is built once, psycopg converts its one placeholder once and
    PostgreSQL plans it once (a prepared statement after a few uses). A multi-row VALUES list (SQLAlchemy's
    insertmanyvalues) is a new text for every batch size, with a placeholder per value, which SQLAlchemy
    renders and psycopg re-parses with a regular expression and adapts value by value on every execution (the
    batching writer's largest Python cost in bench/enrolments_profile.py). Rows go in in the order given (the ledger's triggers see entries in seq
    order), and every trigger, CHECK and unique constraint judges each row as before. On SQLite: executemany."""
    if not rows:
        return []
    session = session if session is not None else db.session()
    dialect = session.get_bind().dialect
    columns = tuple(rows[0])
    if dialect.name != "postgresql":
        statement = insert_or_nothing(table) if or_nothing else insert(table)
        if returning:
            return session.execute(statement.returning(*(table.c[name] for name in returning)), list(rows)).all()
        session.execute(statement, list(rows))
        return []
    sql, processors = _recordset_insert(table, columns, tuple(returning), or_nothing, dialect)
    if any(processors):
        rows = [
            {
                name: process(row[name]) if process else row[name]
                for name, process in zip(columns, processors, strict=True)
            }
            for row in rows
        ]
    session.info[_wrote_key] = True
    payload = json.dumps(rows, default=_json_value, ensure_ascii=False, separators=(",", ":"))
    result = session.connection().exec_driver_sql(sql, {"rows": payload})
    return result.all() if returning else []


@lru_cache(maxsize=64)
def _recordset_insert(table: Table, columns: tuple, returning: tuple, or_nothing: bool, dialect) -> tuple[str, list]:
    """The INSERT's SQL (psycopg placeholder, sent as is) and, per column, the bind processor of its type
    (e.g. UTCDateTime's). The rows go as one JSON document, written by the json module in C: no per-value
    adaptation in Python. Strings are read as text, not varchar(n): the INSERT's own assignment to the column
    then refuses a value that is too long, as a plain INSERT does (a cast would cut it)."""
    types = [table.c[name].type for name in columns]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(map(quote, columns))
    record = ", ".join(f"{quote(name)} {_sql_type(kind, dialect)}" for name, kind in zip(columns, types, strict=True))
    sql = f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM json_to_recordset(%(rows)s::json) AS r({record})"
    if or_nothing:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(map(quote, returning))}"
    return sql, [kind.dialect_impl(dialect).bind_processor(dialect) for kind in types]


def _sql_type(kind, dialect) -> str:
    impl = kind.dialect_impl(dialect)
    impl = getattr(impl, "impl_instance", impl)  # a TypeDecorator's underlying type
    return "text" if isinstance(impl, String) else impl.compile(dialect=dialect)


def json_recordset(name: str, rows: Sequence[dict], columns: dict):
    """PostgreSQL: the rows as a table to join in a statement (`json_to_recordset` of one JSON parameter, typed
    by `columns` {name: SQLAlchemy type}), e.g. an UPDATE … FROM that gives each row its own values. Unlike a
    CASE per value, the statement is the same whatever the rows, so it is built and cached once."""
    payload = json.dumps(list(rows), default=_json_value, ensure_ascii=False, separators=(",", ":"))
    return (
        func.json_to_recordset(cast(literal(payload, Text), JSON))
        .table_valued(*(column(key, kind) for key, kind in columns.items()))
        .render_derived(name=name, with_types=True)
    )


def _json_value(value):
    """Timestamps and dates as ISO 8601 (microseconds kept), which PostgreSQL reads back exactly."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot insert {type(value).__name__} through insert_rows")


def after_commit(callback: Callable[[], None]) -> None:
    """Run callback after the current unit of work commits (never if it rolls back)."""
    db.session.info.setdefault(_after_commit_key, []).append(callback)

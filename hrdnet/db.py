"""Database session helpers: one commit per unit of work, and SQLite tuned for a web site.

SQLite runs in WAL mode with foreign keys on and a busy timeout. pysqlite's own transaction handling is
switched off so that we emit BEGIN ourselves: that is the only way to take the write lock up front with
BEGIN IMMEDIATE, which money-moving work needs (a deferred transaction that reads first and writes later
fails with SQLITE_BUSY when another writer committed in between, instead of waiting its turn).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask
from sqlalchemy import event
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


def after_commit(callback: Callable[[], None]) -> None:
    """Run callback after the current unit of work commits (never if it rolls back)."""
    db.session.info.setdefault(_after_commit_key, []).append(callback)

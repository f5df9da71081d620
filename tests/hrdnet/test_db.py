"""unit_of_work, SQLite pragmas and the up-front write lock."""

import threading
import time

import pytest
from sqlalchemy import text

from courses.models import Ministry
from hrdnet import create_app
from hrdnet.db import after_commit, unit_of_work
from hrdnet.extensions import db


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(app):
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 10_000


@pytest.mark.both_dbs
def test_unit_of_work_commits_once_and_runs_after_commit_callbacks(app):
    ran = []
    with unit_of_work() as session:
        session.add(Ministry(code="TEST1", name="시험부"))
        after_commit(lambda: ran.append("after"))
        assert ran == []
    assert ran == ["after"]
    db.session.remove()
    assert db.session.scalar(db.select(Ministry.name).where(Ministry.code == "TEST1")) == "시험부"


@pytest.mark.both_dbs
def test_unit_of_work_rolls_back_everything_and_skips_callbacks_on_error(app):
    ran = []
    with pytest.raises(ZeroDivisionError):
        with unit_of_work() as session:
            session.add(Ministry(code="TEST2", name="시험부2"))
            session.flush()
            after_commit(lambda: ran.append("after"))
            raise ZeroDivisionError("the change failed halfway")
    assert ran == []
    assert db.session.scalar(db.select(Ministry).where(Ministry.code == "TEST2")) is None


def test_unit_of_work_refuses_to_swallow_unflushed_changes(app):
    db.session.add(Ministry(code="TEST3", name="시험부3"))
    with pytest.raises(RuntimeError, match="unflushed"):
        with unit_of_work():
            pass
    db.session.rollback()


@pytest.mark.both_dbs
@pytest.mark.parametrize("write", ["flushed", "executed"])
def test_unit_of_work_refuses_writes_a_read_path_flushed_and_rolls_them_back(app, write):
    """A read path (a GET, the start of a view) that wrote outside any unit of work must not have its writes
    committed by the next unit of work: they are refused and rolled back."""
    if write == "flushed":
        db.session.add(Ministry(code="TEST4", name="시험부4"))
        db.session.flush()
    else:
        db.session.execute(db.insert(Ministry).values(code="TEST4", name="시험부4"))
    with pytest.raises(RuntimeError, match="outside a unit of work"):
        with unit_of_work():
            pass
    db.session.remove()
    assert db.session.scalar(db.select(Ministry).where(Ministry.code == "TEST4")) is None
    with unit_of_work() as session:  # the session works normally again
        session.add(Ministry(code="TEST5", name="시험부5"))
    assert db.session.scalar(db.select(Ministry.name).where(Ministry.code == "TEST5")) == "시험부5"


def test_write_lock_makes_a_second_writer_wait_instead_of_failing(app_config):
    """Two read-then-write transactions: with BEGIN IMMEDIATE the second queues behind the first.

    Without the up-front lock, SQLite's WAL mode fails the second writer with SQLITE_BUSY as soon as it
    tries to write after reading a snapshot the first writer has since changed.
    """
    app = create_app(app_config)
    events, errors = [], []
    first_has_lock = threading.Event()

    def writer(name: str, hold: float):
        with app.app_context():
            try:
                with unit_of_work(write_lock=True) as session:
                    events.append(f"{name} locked")
                    if name == "first":
                        first_has_lock.set()
                    ministry = session.scalar(db.select(Ministry).where(Ministry.code == "MOEL"))
                    time.sleep(hold)
                    ministry.name += "+"
                events.append(f"{name} committed")
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    first = threading.Thread(target=writer, args=("first", 0.5))
    first.start()
    first_has_lock.wait(5)
    second = threading.Thread(target=writer, args=("second", 0))
    second.start()
    first.join(10)
    second.join(10)
    assert errors == []
    assert events == ["first locked", "first committed", "second locked", "second committed"]
    with app.app_context():
        assert db.session.scalar(db.select(Ministry.name).where(Ministry.code == "MOEL")) == "고용노동부++"
        db.engine.dispose()


def _hold_the_write_lock(path: str, seconds: float, locked: threading.Event) -> threading.Thread:
    """Another process's writer, as SQLite sees it: a raw connection holding BEGIN IMMEDIATE for a while."""
    import sqlite3

    def hold():
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


@pytest.mark.parametrize("limit", [30.0, 0.5])
def test_a_writer_outwaiting_the_busy_timeout_keeps_queueing_then_answers_busy(app_config, monkeypatch, limit):
    """SQLite gives up after busy_timeout (here 200 ms) with "database is locked"; unit_of_work begins again
    until WRITE_LOCK_WAIT_SECONDS, so a burst of writers queues instead of failing — and past the limit the
    caller gets a clear 503 error, not an OperationalError."""
    import hrdnet.db

    monkeypatch.setattr(hrdnet.db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(hrdnet.db, "WRITE_LOCK_WAIT_SECONDS", limit)
    app = create_app(app_config)
    locked = threading.Event()
    holder = _hold_the_write_lock(app_config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), 1.5, locked)
    assert locked.wait(5)
    try:
        with app.app_context():
            if limit > 1.5:
                with unit_of_work(write_lock=True) as session:
                    session.scalar(db.select(Ministry).where(Ministry.code == "MOEL")).name += "+"
                assert db.session.scalar(db.select(Ministry.name).where(Ministry.code == "MOEL")) == "고용노동부+"
            else:
                with pytest.raises(hrdnet.db.DatabaseBusy) as refused, unit_of_work(write_lock=True):
                    pass
                assert refused.value.status == 503
            db.engine.dispose()
    finally:
        holder.join(10)

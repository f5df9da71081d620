"""The outbox: written with the change, delivered after commit, retried, parked, and never lost."""

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hrdnet import outbox, worker
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow

pytestmark = pytest.mark.both_dbs

delivered: list[dict] = []


@outbox.handler("test.record")
def _record(payload: dict) -> None:
    delivered.append(payload)


@outbox.handler("test.fail")
def _fail(payload: dict) -> None:
    raise ConnectionError("the far side is down")


@pytest.fixture(autouse=True)
def _clear():
    delivered.clear()


def _item(item_id: int) -> outbox.OutboxItem:
    db.session.rollback()
    return db.session.get(outbox.OutboxItem, item_id)


def test_an_item_exists_exactly_when_its_transaction_commits(app):
    with unit_of_work():
        outbox.enqueue("test.record", {"n": 1})
    with pytest.raises(RuntimeError):
        with unit_of_work():
            outbox.enqueue("test.record", {"n": 2})
            raise RuntimeError("the change failed")
    assert outbox.deliver_pending() == 1
    assert delivered == [{"n": 1}]


def test_delivery_happens_once(app):
    with unit_of_work():
        item_id = outbox.enqueue("test.record", {"n": 1}).id
    assert outbox.deliver_pending() == 1
    assert outbox.deliver_pending() == 0
    assert delivered == [{"n": 1}]
    assert _item(item_id).status == outbox.DONE


def test_failures_back_off_then_park_the_item_as_dead(app):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    with unit_of_work():
        item_id = outbox.enqueue("test.fail", {}).id
    assert outbox.deliver_pending() == 1
    first = _item(item_id)
    assert (first.status, first.attempts) == (outbox.PENDING, 1)
    assert "ConnectionError" in first.last_error
    assert first.available_at > utcnow()  # backing off: not due again yet
    assert outbox.deliver_pending() == 0
    for _ in range(2):
        with unit_of_work():
            db.session.execute(update(outbox.OutboxItem).values(available_at=utcnow() - timedelta(seconds=1)))
        outbox.deliver_pending()
    dead = _item(item_id)
    assert (dead.status, dead.attempts) == (outbox.DEAD, 3)
    assert outbox.counts()[outbox.DEAD] == 1
    with unit_of_work():
        assert outbox.retry_dead(item_id)
    assert _item(item_id).status == outbox.PENDING


def test_an_item_claimed_by_a_worker_that_died_is_delivered_after_its_lease(app):
    with unit_of_work():
        item_id = outbox.enqueue("test.record", {"n": 7}).id
    assert outbox._claim(item_id, utcnow())  # a worker took it ... and died before delivering
    assert outbox.deliver_pending() == 0  # leased: nobody else touches it yet
    with unit_of_work():
        db.session.execute(update(outbox.OutboxItem).values(available_at=utcnow() - timedelta(seconds=1)))
    assert outbox.deliver_pending() == 1
    assert delivered == [{"n": 7}]


def test_an_item_without_a_handler_is_retried_not_dropped(app):
    with unit_of_work():
        item_id = outbox.enqueue("test.nobody_handles_this", {}).id
    outbox.deliver_pending()
    item = _item(item_id)
    assert item.status == outbox.PENDING and "no handler" in item.last_error


CRASHING_SIGNUP = textwrap.dedent("""
    import os, sys
    from hrdnet import create_app
    from hrdnet.auth import services
    from hrdnet.db import after_commit, unit_of_work

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "MAIL_DIR": sys.argv[2],
                      "PASSWORD_HASH_PROFILE": "CHEAPEST"})
    with app.app_context(), app.test_request_context():
        with unit_of_work(write_lock=True):
            services.register_learner(email="crash@example.com", name="홍길동", phone="010-1234-5678",
                                      birth_date=__import__("datetime").date(1990, 1, 1),
                                      password="a-long-password-1")
            # The process dies the moment the commit is done, before anything could deliver the e-mail.
            after_commit(lambda: os._exit(137))
""")


@pytest.mark.long
def test_a_crash_between_commit_and_delivery_loses_nothing(app, database_url, tmp_path, mailbox):
    mail_dir = app.config["MAIL_DIR"]
    env = {**os.environ, "HRDNET_ENV": "test"}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_SIGNUP, database_url, mail_dir],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 137, crashed.stderr
    assert not os.path.exists(mail_dir) or not os.listdir(mail_dir)  # nothing was sent before the crash
    db.session.rollback()
    pending = db.session.scalars(select(outbox.OutboxItem).where(outbox.OutboxItem.status == outbox.PENDING)).all()
    assert [item.topic for item in pending] == ["mail.send"]
    assert json.loads(pending[0].payload)["to"] == "crash@example.com"

    # A new worker process starts and delivers what the dead one left.
    restarted = subprocess.run(
        [sys.executable, "-m", "hrdnet.cli", "worker", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "DATABASE_URL": database_url, "MAIL_DIR": mail_dir},
    )
    assert restarted.returncode == 0, restarted.stderr
    assert "delivered 1 outbox item(s)" in restarted.stdout
    messages = mailbox()
    assert [m["To"] for m in messages] == ["crash@example.com"]


def test_scheduled_jobs_run_once_per_period_however_many_workers_ask(app):
    calls = []
    worker.scheduled("test.job", every=timedelta(hours=1))(lambda: calls.append(1))
    try:
        assert "test.job" in worker.run_due_jobs()
        assert "test.job" not in worker.run_due_jobs()  # a second worker in the same period
        assert calls == [1]
        with unit_of_work():
            db.session.execute(
                update(worker.JobRun)
                .where(worker.JobRun.name == "test.job")
                .values(last_started_at=utcnow() - timedelta(hours=2))
            )
        assert "test.job" in worker.run_due_jobs()
        assert calls == [1, 1]
        assert db.session.get(worker.JobRun, "test.job").last_status == "ok"
    finally:
        worker._jobs.pop("test.job")


def test_delivered_items_are_purged_after_a_week(app):
    with unit_of_work():
        old = outbox.enqueue("test.record", {"to": "someone@example.com"}).id
        fresh = outbox.enqueue("test.record", {}).id
    outbox.deliver_pending()
    with unit_of_work():
        db.session.execute(
            update(outbox.OutboxItem).where(outbox.OutboxItem.id == old).values(done_at=utcnow() - timedelta(days=8))
        )
    assert worker.purge_delivered_outbox() == 1
    assert _item(old) is None and _item(fresh) is not None

"""The background worker: delivers the outbox and runs scheduled jobs.

Scheduled jobs are registered with @scheduled(name, every=...). Their last run is kept in the database
and claimed with a guarded UPDATE, so several workers never run the same job twice in one period. Later
issues add hold expiry, reconciliation, risk flags and reminders here.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet import outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

log = logging.getLogger(__name__)


class JobRun(db.Model):
    """When each scheduled job last started, shared by all workers."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_status: Mapped[str] = mapped_column(String(200), default="")


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[], object]


_jobs: dict[str, Job] = {}


def scheduled(name: str, *, every: timedelta) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        _jobs[name] = Job(name, every, fn)
        return fn

    return register


def _claim_job(job: Job, now: datetime) -> bool:
    """True when this worker may run the job now (nobody ran it within its period)."""
    try:
        with unit_of_work(write_lock=True) as session:
            claimed = session.execute(
                update(JobRun)
                .where(JobRun.name == job.name, JobRun.last_started_at <= now - job.every)
                .values(last_started_at=now)
            ).rowcount
            if claimed == 0 and session.get(JobRun, job.name) is None:
                session.execute(insert(JobRun).values(name=job.name, last_started_at=now, last_status=""))
                claimed = 1
    except IntegrityError:  # another worker inserted the first row at the same moment
        return False
    return claimed == 1


def run_due_jobs() -> list[str]:
    """Run every job whose period has passed; returns the names that ran."""
    ran = []
    for job in list(_jobs.values()):
        if not _claim_job(job, utcnow()):
            continue
        try:
            result = job.run()
            status = f"ok: {result}" if result is not None else "ok"
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            db.session.rollback()
            log.exception("scheduled job %s failed", job.name)
            status = f"failed: {type(exc).__name__}"
        with unit_of_work(write_lock=True) as session:
            session.execute(update(JobRun).where(JobRun.name == job.name).values(last_status=status[:200]))
        ran.append(job.name)
    return ran


def run_once() -> int:
    """One pass: deliver due outbox items and run due jobs. Returns outbox items attempted."""
    attempted = outbox.deliver_pending()
    run_due_jobs()
    return attempted


def run_forever(interval: float, stop: threading.Event | None = None) -> None:
    """Loop until SIGINT/SIGTERM (or `stop` is set); finishes the current pass before exiting."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    log.info("worker started")
    while not stop.is_set():
        try:
            busy = run_once()
        except Exception:  # noqa: BLE001 - e.g. the database restarting; try again next pass
            db.session.rollback()
            log.exception("worker pass failed")
            busy = 0
        finally:
            db.session.remove()
        if not busy:
            stop.wait(interval)
    log.info("worker stopped")


@scheduled("outbox.purge_delivered", every=timedelta(hours=1))
def purge_delivered_outbox(keep: timedelta = timedelta(days=7)) -> int:
    """Delete delivered items after a week: their payloads may hold e-mail addresses."""
    with unit_of_work(write_lock=True) as session:
        return session.execute(
            delete(outbox.OutboxItem).where(
                outbox.OutboxItem.status == outbox.DONE, outbox.OutboxItem.done_at < utcnow() - keep
            )
        ).rowcount

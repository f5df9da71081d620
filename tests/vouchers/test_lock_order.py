"""The lock order of money units (docs/ledger.md, "Lock order"): no deadlock, nothing lost, the chain intact.

On PostgreSQL the enrolment hot path (checkout.enrol's intent and apply_state: hold, capture, co-payment)
holds the money lock shared and runs side by side with other enrolments, locking the learner's card
accounts first; cancellations (release or refund, co-payment refund, penalties) hold it exclusive. Here they
all race at once over the same cards, the same provider payable and the same programme's co-pay account,
and every unit must finish without the database reporting a deadlock, with the books exact afterwards.
SQLite makes writers take turns (BEGIN IMMEDIATE), so there is no lock order to test there.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hrdnet import audit
from hrdnet.audit import AuditEntry
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.support.races import race
from tests.support.vouchers import ACTOR
from vouchers import checkout
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ledger import operations as ledger

pytestmark = [pytest.mark.both_dbs, pytest.mark.many_connections]

LEARNERS = 6
FEE = 100_000  # card draw 85,000: nine enrolments per learner fit the default limit
ROUNDS = 2  # per learner and round: enrol in a new run (hot path), cancel an older one with its refund


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 30, "max_overflow": 0, "pool_timeout": 120}}


def test_enrolments_and_cancellations_with_refunds_race_without_deadlock(app, world, db_backend):
    if db_backend != "postgresql":
        pytest.skip("SQLite serialises writers: there is no lock order to race")
    learners = [world.learner() for _ in range(LEARNERS)]
    user_ids = [learner.id for learner in learners]
    # Each learner starts confirmed in one run (to be cancelled, with its co-payment refunded), one held and
    # unpaid (to be cancelled, its hold released), and enrols in ROUNDS new runs while those cancellations run.
    paid_runs = [world.run(fee=FEE) for _ in range(ROUNDS)]
    held_runs = [world.run(fee=FEE) for _ in range(ROUNDS)]
    new_runs = [world.run(fee=FEE, capacity=LEARNERS).id for _ in range(ROUNDS)]
    to_cancel = []
    for learner in learners:
        for paid, held in zip(paid_runs, held_runs, strict=True):
            to_cancel.append(world.enrol(learner, paid).id)
            to_cancel.append(world.enrol(learner, held, pay=False).id)
    owner = dict(db.session.execute(select(Enrolment.id, Enrolment.user_id).where(Enrolment.id.in_(to_cancel))).all())
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))

    # Interleaved so that every learner's enrolments and cancellations are released together.
    enrol_jobs = [("enrol", (user_id, run_id)) for run_id in new_runs for user_id in user_ids]
    cancel_jobs = [("cancel", enrolment_id) for enrolment_id in to_cancel]
    jobs = [
        job
        for pair in zip(cancel_jobs, enrol_jobs + [None] * (len(cancel_jobs) - len(enrol_jobs)), strict=True)
        for job in pair
        if job
    ]

    def run_job(i: int):
        kind, job = jobs[i]
        if kind == "enrol":
            user_id, run_id = job
            enrolment = checkout.enrol(
                user_id, run_id, request_key=f"race-{i}", now=utcnow(), today=world.today, actor=ACTOR
            )
            assert enrolment.status == EnrolmentStatus.CONFIRMED, enrolment.status
            return True
        with unit_of_work(write_lock=True):
            checkout.cancel_own(job, owner[job], today=world.today, actor=ACTOR)
        return True

    result = race(app, run_job, n=len(jobs))
    errors = [o for o in result.outcomes if o != "ok"]
    assert errors == [], errors[:5]  # a deadlock would show here as "error:… deadlock detected"

    db.session.rollback()
    statuses = dict(db.session.execute(select(Enrolment.id, Enrolment.status).where(Enrolment.id.in_(to_cancel))).all())
    assert set(statuses.values()) == {EnrolmentStatus.WITHDRAWN.value}
    assert db.session.scalar(
        select(func.count()).select_from(Enrolment).where(Enrolment.status == EnrolmentStatus.CONFIRMED.value)
    ) == len(enrol_jobs)
    for learner in learners:
        figures = world.figures(learner)
        assert figures.balanced and figures.held == 0, figures
    report = ledger.verify()
    assert report.ok and report.pending_holds == 0, report.problems
    verdict = audit.verify()
    assert verdict.ok, verdict.reason
    assert verdict.count > audit_before

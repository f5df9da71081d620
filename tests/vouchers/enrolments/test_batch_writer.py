"""The batching writer (vouchers.checkout.enrol_batch, vouchers.enrol_writer; issue 14 point 4): a batch of
requests is written in a few set-based statements with the same rows, transfers and audit entries as the
single path, and each request stands alone: a refusal, a conflict or a price that moved under the lock never
undoes the others."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hrdnet import audit
from hrdnet.audit import AuditEntry
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.support.races import race
from tests.support.vouchers import ACTOR
from vouchers import checkout, errors
from vouchers.enrol_writer import BatchingWriter
from vouchers.enrolments import hot_path
from vouchers.enrolments.models import Enrolment, EnrolmentEvent, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Account, Entry, Hold, Transfer
from vouchers.payments.models import Payment

pytestmark = pytest.mark.both_dbs

Request = checkout.EnrolRequest


def batch(world, *requests):
    db.session.commit()
    return checkout.enrol_batch(list(requests), now=utcnow(), today=world.today, actor=ACTOR)


def snapshot(enrolment_id: int) -> dict:
    """Everything enrolling wrote for one enrolment, with ids replaced by what they stand for."""
    db.session.expire_all()
    enrolment = db.session.get(Enrolment, enrolment_id)
    kinds = dict(db.session.execute(select(Account.id, Account.kind)).all())
    transfers = db.session.scalars(
        select(Transfer).where(Transfer.key.like(f"enrolment:{enrolment_id}:%")).order_by(Transfer.key)
    ).all()
    transfer_ids = {t.id: t.key.split(":")[-1] for t in transfers}

    def entries(transfer_id):
        rows = db.session.scalars(select(Entry).where(Entry.transfer_id == transfer_id).order_by(Entry.seq))
        return [(e.seq, kinds[e.account_id], e.side, e.amount) for e in rows]

    def audited(subject_type, subject_id):
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
        )
        out = []
        for row in rows:
            data = json.loads(row.data)
            if "amounts" in data:
                data["amounts"] = sorted((kinds[int(a)], v) for a, v in data["amounts"].items())
                data["key"] = data["key"].split(":")[-1]
                data["hold"] = "hold" in data
            out.append((row.action, row.actor, json.dumps(data, sort_keys=True)))
        return sorted(out)

    hold = db.session.get(Hold, enrolment.hold_id) if enrolment.hold_id else None
    payments = db.session.scalars(select(Payment).where(Payment.enrolment_id == enrolment_id)).all()
    return {
        "enrolment": {
            column: getattr(enrolment, column)
            for column in (
                "status fee self_pay government_share card_draw account explanation training_days expires_at "
                "self_pay_refunded card_returned penalty deducted"
            ).split()
        },
        "transfers": [
            (transfer_ids[t.id], t.kind, t.total, t.entry_count, t.memo, t.hold_id is not None, entries(t.id))
            for t in transfers
        ],
        "hold": hold and (hold.amount, kinds[hold.available_account_id], kinds[hold.held_account_id]),
        "events": [
            (e.from_status, e.to_status, e.event, e.reason, e.actor)
            for e in db.session.scalars(
                select(EnrolmentEvent).where(EnrolmentEvent.enrolment_id == enrolment_id).order_by(EnrolmentEvent.id)
            )
        ],
        "payments": [(p.status, p.amount, p.backend, p.refunded, bool(p.processor_ref)) for p in payments],
        "audit": audited("enrolment", enrolment_id) + [audited("transfer", t.id) for t in transfers],
    }


def test_a_batch_writes_what_the_single_path_writes(world):
    alone, batched, hot = world.learner(), world.learner(), world.learner()
    run, other = world.run(fee=1_000_000), world.run(fee=1_000_000)
    single = world.enrol(alone, run)

    ids = batch(
        world,
        Request(batched.id, run.id, "b-1"),
        Request(hot.id, run.id, "h-1"),
        Request(hot.id, other.id, "h-2"),  # a second enrolment on the same card in the same batch
    )

    assert all(isinstance(enrolment_id, int) for enrolment_id in ids)
    expected = snapshot(single.id)
    assert expected["enrolment"]["status"] == EnrolmentStatus.CONFIRMED and len(expected["transfers"]) == 3
    for enrolment_id in ids:
        assert snapshot(enrolment_id) == expected
    assert world.figures(hot).available == 3_000_000 - 2 * 850_000 and world.figures(hot).held == 0
    assert db.session.get(type(run), run.id, populate_existing=True).local_enrolled == 3
    assert ledger.verify().ok and audit.verify().ok


def test_one_refusal_does_not_undo_the_others(world):
    learners = [world.learner() for _ in range(4)]
    poor = world.learner(limit=500_000)
    small, roomy = world.run(fee=1_000_000, capacity=1), world.run(fee=1_000_000)
    earlier = world.enrol(learners[3], roomy, key="earlier")

    results = batch(
        world,
        Request(learners[0].id, small.id, "a"),  # takes the one seat
        Request(learners[1].id, small.id, "b"),  # full
        Request(poor.id, roomy.id, "c"),  # the card cannot pay 850,000
        Request(learners[3].id, roomy.id, "again"),  # already enrolled in the run
        Request(learners[3].id, roomy.id, "earlier"),  # the same request again: its enrolment
        Request(learners[2].id, roomy.id, "d"),
        Request(learners[2].id, roomy.id, "d"),  # a double click inside the batch
    )

    first, full, poor_result, already, same, fine, double = results
    assert isinstance(full, errors.RunFull)
    assert isinstance(poor_result, errors.InsufficientBalance)
    assert isinstance(already, errors.AlreadyEnrolled)
    assert same == earlier.id and double == fine
    for enrolment_id in (first, fine):
        assert db.session.get(Enrolment, enrolment_id, populate_existing=True).status == EnrolmentStatus.CONFIRMED
    assert db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.run_id == roomy.id)) == 2
    assert db.session.get(type(small), small.id, populate_existing=True).local_enrolled == 1
    assert ledger.verify().ok and audit.verify().ok


def test_a_price_the_batch_can_no_longer_pay_under_the_lock_is_priced_alone(world, monkeypatch):
    """Two enrolments on one card that each fit the balance quoted before the transaction, but not both: under
    the card's lock the second no longer fits what the first left, so it goes alone, is priced again and is
    refused, while the first is written by the batch."""
    learner, other = world.learner(), world.learner()  # 3,000,000 available each
    big, bigger, run = world.run(fee=3_000_000), world.run(fee=3_000_000), world.run(fee=1_000_000)
    planned: list[str] = []
    real = hot_path.plan

    def plan(*args, **kwargs):
        planned.append(kwargs["request_key"])
        return real(*args, **kwargs)

    monkeypatch.setattr(hot_path, "plan", plan)

    first, second, third = batch(
        world,
        Request(learner.id, big.id, "big"),
        Request(learner.id, bigger.id, "bigger"),
        Request(other.id, run.id, "other"),
    )

    assert isinstance(second, errors.InsufficientBalance)
    assert planned == ["big", "bigger", "other", "bigger"]  # the batch's plans, then "bigger" alone
    for enrolment_id in (first, third):
        assert db.session.get(Enrolment, enrolment_id, populate_existing=True).status == EnrolmentStatus.CONFIRMED
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (450_000, 0, 2_550_000) and figures.balanced
    assert ledger.verify().ok


def test_the_writer_answers_each_request_after_its_batch_commits(world, app):
    learners = [world.learner() for _ in range(4)]
    run = world.run(fee=1_000_000, capacity=3)
    db.session.commit()

    with BatchingWriter(app, batch_size=3, linger=0.2) as writer:
        answers = [
            writer.submit(learner.id, run.id, request_key=f"w-{n}", today=world.today, actor=ACTOR)
            for n, learner in enumerate(learners)
        ]
        outcomes = [answer.exception() or answer.result() for answer in answers]

    assert writer.requests == 4 and writer.batches < 4  # several requests per transaction
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], errors.RunFull)
    db.session.commit()  # end the read transaction the test began before the writer wrote (SQLite's snapshot)
    confirmed = db.session.scalars(select(Enrolment.status).where(Enrolment.run_id == run.id)).all()
    assert confirmed == [EnrolmentStatus.CONFIRMED] * 3
    assert ledger.verify().ok and audit.verify().ok


def test_a_conflict_with_another_writer_is_answered_alone_and_takes_no_seat(world, monkeypatch):
    """Another tab enrols the learner in the run after the batch planned: the batch's INSERT … ON CONFLICT DO
    NOTHING skips that row, which goes alone and is refused, while the rest of the batch is written."""
    learner, other = world.learner(), world.learner()
    run = world.run(fee=1_000_000)
    real = hot_path.plan_many

    def plan_many(*args, **kwargs):
        planned = real(*args, **kwargs)
        db.session.rollback()
        world.enrol(learner, run, key="first-tab")
        return planned

    monkeypatch.setattr(hot_path, "plan_many", plan_many)

    conflicting, fine = batch(world, Request(learner.id, run.id, "second-tab"), Request(other.id, run.id, "o"))

    assert isinstance(conflicting, errors.AlreadyEnrolled)
    assert db.session.get(Enrolment, fine, populate_existing=True).status == EnrolmentStatus.CONFIRMED
    assert db.session.get(type(run), run.id, populate_existing=True).local_enrolled == 2
    assert ledger.verify().ok and audit.verify().ok


@pytest.mark.many_connections
def test_batches_and_single_enrolments_race_over_the_same_cards_without_deadlock(app, world, db_backend, caplog):
    """Four batches (each every learner, in opposite orders) and four single enrolments on the same cards, all
    released at once: each batch takes its cards in id order, then its run, so none waits in a cycle; every
    batch is written as a batch (none rolled back into single requests), and the books are exact."""
    if db_backend != "postgresql":
        pytest.skip("SQLite serialises writers: there is no lock order to race")
    learners = [world.learner() for _ in range(4)]
    batch_runs = [world.run(fee=100_000, capacity=4).id for _ in range(4)]
    single_run = world.run(fee=100_000, capacity=4).id
    order = [learner.id for learner in learners]

    def job(i: int):
        if i < 4:
            users = order if i % 2 else order[::-1]
            requests = [Request(user_id, batch_runs[i], f"batch-{i}-{user_id}") for user_id in users]
            results = checkout.enrol_batch(requests, now=utcnow(), today=world.today, actor=ACTOR)
            assert all(isinstance(result, int) for result in results), results
            return True
        return checkout.enrol(
            order[i - 4], single_run, request_key=f"single-{i}", now=utcnow(), today=world.today, actor=ACTOR
        )

    with caplog.at_level("WARNING", logger="vouchers.checkout"):
        result = race(app, job, n=8)
    assert [outcome for outcome in result.outcomes if outcome != "ok"] == []
    assert not [record for record in caplog.records if "rolled back" in record.getMessage()]
    db.session.rollback()
    confirmed = db.session.scalar(
        select(func.count()).select_from(Enrolment).where(Enrolment.status == EnrolmentStatus.CONFIRMED.value)
    )
    assert confirmed == 4 * 4 + 4
    for learner in learners:
        figures = world.figures(learner)
        assert figures.balanced and figures.held == 0 and figures.spent == 5 * 85_000, figures
    report = ledger.verify()
    assert report.ok and report.pending_holds == 0, report.problems
    assert audit.verify().ok

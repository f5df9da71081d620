"""POST /api/v1/enrolments through the batching writer (PostgreSQL; docs/ledger.md "The API through the
batching writer"): requests sent together are written by one batch, each answered as it would be alone, and
each Idempotency-Key answer is stored in the transaction that confirms its enrolment. Real Flask client,
real database; the writer waits (a long linger) until the batch is full, so which requests share a batch is
decided by the test, not by timing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from hrdnet import audit, idempotency
from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.idempotency import IdempotencyRecord
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.payments.models import Payment
from vouchers.web import api

pytestmark = pytest.mark.both_dbs
BATCH = 3


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ENROL_BATCHING": True, "ENROL_BATCH_SIZE": BATCH, "ENROL_BATCH_LINGER_SECONDS": 30.0}


@pytest.fixture(autouse=True)
def _postgresql_only(db_backend):
    if db_backend != "postgresql":
        pytest.skip("SQLite writes each request alone (checkout.enrol): tests/vouchers/web/test_api.py")


def bearer(user) -> dict:
    with unit_of_work(write_lock=True):
        return {"Authorization": f"Bearer {auth_services.issue_api_token(user, 'test').token}"}


def together(app, client, posts: list[tuple[dict, int, str]]) -> list:
    """Send every (headers, run id, key) at once, each from its own thread: one batch of them. Returns each
    one's response, or the exception the request raised."""
    answers: list = [None] * len(posts)

    def send(index: int, headers: dict, run_id: int, key: str) -> None:
        with app.app_context():
            try:
                answers[index] = client.post(
                    "/api/v1/enrolments", json={"run_id": run_id}, headers={**headers, "Idempotency-Key": key}
                )
            except Exception as exc:  # noqa: BLE001 - judged by the test
                answers[index] = exc
            finally:
                db.session.remove()

    db.session.commit()
    threads = [threading.Thread(target=send, args=(n, *post)) for n, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def writer(app):
    return app.extensions[api._WRITER]


def records(key: str) -> list[IdempotencyRecord]:
    db.session.commit()
    return db.session.scalars(select(IdempotencyRecord).where(IdempotencyRecord.key == key)).all()


def test_a_repeated_key_in_and_after_a_batch_answers_the_same_body_and_enrols_once(app, client, world):
    """A double click (the same key twice in one batch) and a later retry: one enrolment, one payment, one
    stored answer, and every response is that answer."""
    learner, other = world.learner(), world.learner()
    run = world.run(fee=1_000_000)
    mine, theirs = bearer(learner), bearer(other)

    first, double, neighbour = together(
        app, client, [(mine, run.id, "click"), (mine, run.id, "click"), (theirs, run.id, "n")]
    )
    retry = client.post("/api/v1/enrolments", json={"run_id": run.id}, headers={**mine, "Idempotency-Key": "click"})

    assert writer(app).batches == 1 and writer(app).requests == BATCH  # the retry was answered from the record
    assert first.status_code == double.status_code == retry.status_code == neighbour.status_code == 201
    assert first.get_json() == double.get_json() == retry.get_json()
    assert first.get_json()["status"] == "confirmed"
    (stored,) = records("click")
    assert idempotency.replay(learner.id, api.ENROL_ENDPOINT, "click", {"run_id": run.id})[1] == first.get_json()
    mine_only = select(func.count()).select_from(Enrolment).where(Enrolment.user_id == learner.id)
    assert db.session.scalar(mine_only) == 1
    paid = select(func.count()).select_from(Payment).join(Enrolment).where(Enrolment.user_id == learner.id)
    assert db.session.scalar(paid) == 1
    assert stored.request_hash == idempotency.request_hash({"run_id": run.id})
    another_body = client.post(
        "/api/v1/enrolments", json={"run_id": world.run().id}, headers={**mine, "Idempotency-Key": "click"}
    )
    assert another_body.status_code == 422 and another_body.get_json()["error"]["code"] == "idempotency_key_reused"
    assert ledger.verify().ok and audit.verify().ok


def test_a_refusal_in_a_batch_leaves_the_others_answers(app, client, world):
    poor = world.learner(limit=100_000)
    rich = [world.learner(), world.learner()]
    run = world.run(fee=1_000_000)

    refused, *fine = together(
        app,
        client,
        [(bearer(poor), run.id, "poor"), (bearer(rich[0]), run.id, "rich-0"), (bearer(rich[1]), run.id, "rich-1")],
    )

    assert writer(app).batches == 1
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "insufficient_balance"
    assert records("poor") == []  # a refusal is not remembered: a retry is judged again
    for n, response in enumerate(fine):
        assert response.status_code == 201 and response.get_json()["status"] == "confirmed"
        (stored,) = records(f"rich-{n}")
        assert stored.status_code == 201
        assert idempotency.replay(rich[n].id, api.ENROL_ENDPOINT, f"rich-{n}", {"run_id": run.id})[1] == (
            response.get_json()
        )
    assert world.figures(poor).available == 100_000
    assert ledger.verify().ok and audit.verify().ok


def test_each_answer_is_stored_by_the_transaction_that_confirms_its_enrolment(app, client, world):
    """PostgreSQL's xmin names the transaction that last wrote a row: each answer's record and its enrolment's
    confirmed row were written by the same one (the batch's outcome)."""
    learners = [world.learner() for _ in range(BATCH)]
    run = world.run(fee=1_000_000)

    responses = together(app, client, [(bearer(learner), run.id, f"x-{n}") for n, learner in enumerate(learners)])

    assert writer(app).batches == 1
    written_by = set()
    for n, response in enumerate(responses):
        assert response.status_code == 201 and response.get_json()["status"] == "confirmed"
        enrolment_id = response.get_json()["enrolment_id"]
        enrolment_xmin = db.session.scalar(
            text("SELECT xmin::text FROM enrolments WHERE id = :id"), {"id": enrolment_id}
        )
        record_xmin = db.session.scalar(
            text("SELECT xmin::text FROM idempotency_records WHERE key = :key"), {"key": f"x-{n}"}
        )
        assert enrolment_xmin == record_xmin
        written_by.add(record_xmin)
    assert len(written_by) == 1  # one transaction answered the whole batch


def test_a_batch_whose_outcome_fails_stores_no_answer_and_confirms_nothing(app, client, world, monkeypatch):
    """The outcome transaction fails after the answers were written (an unexpected error): neither the answers
    nor the confirmations are kept; a retry with the same key then confirms the same enrolment once."""
    learners = [world.learner() for _ in range(BATCH)]
    run = world.run(fee=1_000_000)
    headers = [bearer(learner) for learner in learners]
    real = idempotency.keep_many

    def keep_then_fail(answers):
        real(answers)
        raise RuntimeError("the outcome transaction fails after the answers were written")

    monkeypatch.setattr(idempotency, "keep_many", keep_then_fail)
    client.allow_server_errors = True

    failed = together(app, client, [(headers[n], run.id, f"f-{n}") for n in range(BATCH)])

    assert [response.status_code for response in failed] == [500] * BATCH
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    statuses = db.session.scalars(select(Enrolment.status).where(Enrolment.run_id == run.id)).all()
    assert statuses == [EnrolmentStatus.HELD] * BATCH  # the intent committed; the outcome did not

    monkeypatch.setattr(idempotency, "keep_many", real)
    retried = together(app, client, [(headers[n], run.id, f"f-{n}") for n in range(BATCH)])

    for n, response in enumerate(retried):
        assert response.status_code == 201 and response.get_json()["status"] == "confirmed"
        assert len(records(f"f-{n}")) == 1
    assert db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.run_id == run.id)) == BATCH
    assert ledger.verify().ok and audit.verify().ok

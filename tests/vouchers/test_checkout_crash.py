"""A process that dies in the middle of an enrolment leaves nothing that the expiry path or a retry cannot finish.

The crashing process is a real separate Python process (a small script that builds the app on the test's
database, as `hrdnet` would) which ends with os._exit(1): no rollback, no clean-up, no atexit, exactly a
killed worker or web process. Afterwards the test looks at what was committed and runs the recovery path,
in this process or in a fresh `hrdnet worker --once` process.

1. Crash after the enrolment committed (seat taken, hold placed, payment row opened) and before the payment:
   the expiry path releases the hold and the seat and the card is whole again.
2. Crash after the processor collected the co-payment and before we recorded it: running checkout.process
   again sends the same idempotency key (so the processor recognises the retry and collects nothing more),
   and the enrolment is confirmed exactly once, with one capture of the hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from courses.models import Run
from hrdnet import audit
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers import checkout
from vouchers.cards import operations as cards
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentEvent, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Transfer, TransferKind
from vouchers.payments import gateway
from vouchers.payments.models import Payment, PaymentStatus

pytestmark = pytest.mark.both_dbs

LIMIT = 3_000_000
DRAW, SELF_PAY = 850_000, 150_000  # a 1,000,000 general card course at a 75 % employment rate

CRASHING_ENROLMENT = textwrap.dedent("""
    import json, os, sys
    from datetime import timedelta

    from hrdnet import create_app
    from hrdnet.db import unit_of_work
    from hrdnet.timeutil import kst_today, utcnow

    database_url, workdir, user_id, run_id, crash_at, minutes_ago = sys.argv[1:7]
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "MAIL_DIR": workdir + "/mail",
                      "SEARCH_INDEX_DIR": workdir + "/index"})
    with app.app_context():
        from vouchers import checkout
        from vouchers.enrolments import operations as enrolments
        from vouchers.payments import gateway

        # The learner's enrol request, phase 1 of vouchers.checkout.enrol: seat, hold and the payment row, committed
        # together (phase 2, the processor, follows).
        with unit_of_work(write_lock=True):
            enrolment = enrolments.enrol(int(user_id), int(run_id), request_key="crash-1", actor="learner",
                                         now=utcnow() - timedelta(minutes=int(minutes_ago)), today=kst_today())
            payment = checkout.begin(enrolment, actor="learner")
            ids = {"enrolment": enrolment.id, "payment": payment.id}
        print(json.dumps(ids), flush=True)
        if crash_at == "before-payment":
            os._exit(1)  # killed before the learner ever paid

        # The processor collects the co-payment, then the process dies before recording the answer.
        collect = gateway.LocalGateway.create_payment

        def collect_then_die(self, **request):
            answer = collect(self, **request)
            with open(workdir + "/processor.log", "a") as log:
                log.write(json.dumps({"key": request["idempotency_key"], "amount": request["amount"],
                                      "status": answer.status}) + "\\n")
            os._exit(1)

        gateway.LocalGateway.create_payment = collect_then_die
        checkout.process(payment.id, actor="learner")
        os._exit(3)  # not reached
""")


def crash(database_url: str, workdir: Path, user_id: int, run_id: int, *, at: str, minutes_ago: int = 0) -> dict:
    db.session.rollback()  # the test holds nothing while the other process writes
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_ENROLMENT,
            database_url,
            str(workdir),
            str(user_id),
            str(run_id),
            at,
            str(minutes_ago),
        ],
        env={**os.environ, "HRDNET_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def transfers_of(enrolment: Enrolment) -> list[tuple[str, str]]:
    """(kind, key) of every transfer the enrolment made, in order."""
    return [
        tuple(row)
        for row in db.session.execute(
            select(Transfer.kind, Transfer.key)
            .where(Transfer.key.like(f"enrolment:{enrolment.id}:%") | (Transfer.hold_id == enrolment.hold_id))
            .order_by(Transfer.id)
        )
    ]


def assert_stranded(enrolment_id: int, payment_id: int, run_id: int, card_id: int) -> Enrolment:
    """What a crash before payment leaves: the enrolment held, its hold pending, the seat taken."""
    db.session.rollback()
    enrolment = db.session.get(Enrolment, enrolment_id)
    assert enrolment.status == EnrolmentStatus.HELD
    assert (enrolment.card_draw, enrolment.self_pay) == (DRAW, SELF_PAY)
    assert ledger.hold_state(enrolment.hold_id) == ledger.PENDING
    assert db.session.get(Run, run_id).local_enrolled == 1
    payment = db.session.get(Payment, payment_id)
    assert payment.status == PaymentStatus.PENDING and payment.processor_ref is None
    accounts = cards.open_accounts(card_id)
    assert (ledger.balance(accounts.available.id), ledger.balance(accounts.held.id)) == (LIMIT - DRAW, DRAW)
    assert ledger.verify().ok and audit.verify().ok
    return enrolment


def assert_expired_and_whole(enrolment_id: int, run_id: int, card_id: int, world, learner) -> None:
    db.session.rollback()
    enrolment = db.session.get(Enrolment, enrolment_id)
    assert enrolment.status == EnrolmentStatus.EXPIRED
    assert ledger.hold_state(enrolment.hold_id) in ("released", "expired")
    settlements = db.session.scalar(
        select(func.count()).select_from(Transfer).where(Transfer.hold_id == enrolment.hold_id)
    )
    assert settlements == 1  # released once, whichever job got there
    assert [kind for kind, _key in transfers_of(enrolment)][0] == TransferKind.HOLD.value
    assert TransferKind.CAPTURE.value not in {kind for kind, _key in transfers_of(enrolment)}
    assert db.session.get(Run, run_id).local_enrolled == 0
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (LIMIT, 0, 0) and figures.balanced
    assert card_id == world.card(learner).id
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.enrolment_id == enrolment_id, Payment.status == PaymentStatus.SUCCEEDED.value)
        )
        == 0
    )
    report = ledger.verify()
    assert report.ok and report.pending_holds == 0, report.problems
    assert audit.verify().ok


def test_a_crash_before_payment_is_undone_by_the_expiry_path(app, world, database_url, tmp_path):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    user_id, run_id, card_id = learner.id, run.id, world.card(learner).id
    ids = crash(database_url, tmp_path, user_id, run_id, at="before-payment")
    assert_stranded(ids["enrolment"], ids["payment"], run_id, card_id)

    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(utcnow() + timedelta(minutes=20)) == 0  # not due yet: nothing happens
    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(utcnow() + timedelta(minutes=31)) == 1
    assert_expired_and_whole(ids["enrolment"], run_id, card_id, world, learner)

    # Running the expiry again, or the ledger's own hold expiry, changes nothing: nothing is released twice.
    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(utcnow() + timedelta(hours=2)) == 0
        assert ledger.expire_holds(utcnow() + timedelta(hours=2)) == 0
    assert_expired_and_whole(ids["enrolment"], run_id, card_id, world, learner)


@pytest.mark.long
def test_a_crash_before_payment_is_undone_by_a_fresh_worker_process(app, world, database_url, tmp_path):
    """The worker's own path, in a new process: the crash happened 31 minutes ago, so the deadline passed."""
    learner = world.learner()
    run = world.run(fee=1_000_000)
    user_id, run_id, card_id = learner.id, run.id, world.card(learner).id
    ids = crash(database_url, tmp_path, user_id, run_id, at="before-payment", minutes_ago=31)
    assert_stranded(ids["enrolment"], ids["payment"], run_id, card_id)

    env = {
        **os.environ,
        "HRDNET_ENV": "test",
        "DATABASE_URL": database_url,
        "MAIL_DIR": str(tmp_path / "mail"),
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
    }
    for _ in range(2):  # a second worker pass finds nothing left to do
        worker = subprocess.run(
            [sys.executable, "-m", "hrdnet.cli", "worker", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 0, worker.stderr[-3000:]
        assert "failed" not in worker.stderr, worker.stderr[-3000:]
        assert_expired_and_whole(ids["enrolment"], run_id, card_id, world, learner)
    enrolment = db.session.get(Enrolment, ids["enrolment"])
    assert [
        e.event
        for e in db.session.scalars(
            select(EnrolmentEvent).where(EnrolmentEvent.enrolment_id == enrolment.id).order_by(EnrolmentEvent.id)
        )
    ] == ["hold", "expire"]


def test_a_crash_after_the_processor_collected_is_confirmed_once_by_retrying(
    app, world, database_url, tmp_path, monkeypatch
):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    user_id, run_id, card_id = learner.id, run.id, world.card(learner).id
    ids = crash(database_url, tmp_path, user_id, run_id, at="after-processor")
    processor_log = tmp_path / "processor.log"

    def requests_seen() -> list[dict]:
        return [json.loads(line) for line in processor_log.read_text().splitlines()]

    # The processor collected; we recorded nothing: the enrolment is still held and its payment pending.
    enrolment = assert_stranded(ids["enrolment"], ids["payment"], run_id, card_id)
    stored_key = db.session.get(Payment, ids["payment"]).idempotency_key
    assert requests_seen() == [{"key": stored_key, "amount": SELF_PAY, "status": "succeeded"}]
    hold_id = enrolment.hold_id

    # The retry (the return page, or a person re-running it) goes through the same processor, recording.
    collect = gateway.LocalGateway.create_payment

    def recording(self, **request):
        answer = collect(self, **request)
        with processor_log.open("a") as log:
            log.write(
                json.dumps({"key": request["idempotency_key"], "amount": request["amount"], "status": answer.status})
                + "\n"
            )
        return answer

    monkeypatch.setattr(gateway.LocalGateway, "create_payment", recording)
    for _ in range(3):  # retried again and again: one confirmation
        paid = checkout.process(ids["payment"], actor="learner")
        assert paid.status == PaymentStatus.SUCCEEDED
    seen = requests_seen()
    assert len(seen) == 2 and seen[0] == seen[1]  # one retry, with the stored key: the processor collects once
    assert seen[1]["key"] == stored_key

    db.session.rollback()
    enrolment = db.session.get(Enrolment, ids["enrolment"])
    assert enrolment.status == EnrolmentStatus.CONFIRMED
    assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.hold_id == hold_id)) == 1
    assert ledger.hold_state(hold_id) == "captured"
    assert sorted(kind for kind, _key in transfers_of(enrolment)) == sorted(
        [TransferKind.HOLD.value, TransferKind.CAPTURE.value, TransferKind.COPAY.value]
    )
    assert [
        e.event
        for e in db.session.scalars(
            select(EnrolmentEvent).where(EnrolmentEvent.enrolment_id == enrolment.id).order_by(EnrolmentEvent.id)
        )
    ] == ["hold", "pay"]
    assert db.session.scalar(select(func.count()).select_from(Payment).where(Payment.enrolment_id == enrolment.id)) == 1
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (LIMIT - DRAW, 0, DRAW) and figures.balanced
    assert db.session.get(Run, run_id).local_enrolled == 1

    # The expiry path running late finds nothing to undo.
    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(utcnow() + timedelta(hours=2)) == 0
        assert ledger.expire_holds(utcnow() + timedelta(hours=2)) == 0
    assert ledger.verify().ok and audit.verify().ok

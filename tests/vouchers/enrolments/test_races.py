"""Enrolment races on SQLite and PostgreSQL: many learners for the last seats, one card for many runs.

Each racer is a thread with its own app context (so its own session and database connection, as separate
requests under a real server), released together by a barrier: the harness of tests/support/races.py. Every
racer goes through production's path: vouchers.checkout.enrol (every other racer; the local payment confirms
the enrolment and captures the hold) or, for a learner who never pays, enrolments.enrol alone.

The harness is first shown to catch a deliberately naive read-then-write enrolment (naive_enrolment.py)
overselling a run and overspending a card; only then does its verdict on the real services mean something.

PostgreSQL allows 100 connections, so there the 200 racers share a pool of 40: 40 are in the database at
once and the rest queue for a connection, each still in its own session. On SQLite every racer has its own
connection, and the writers queue on BEGIN IMMEDIATE's busy timeout: no racer may see "database is locked".
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from courses.models import Run
from hrdnet import audit
from hrdnet.access import Role
from hrdnet.audit import AuditEntry
from hrdnet.auth import services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.support.races import RaceResult, race
from tests.support.vouchers import ACTOR
from tests.vouchers.enrolments.naive_enrolment import NaiveEnrolment
from vouchers import checkout
from vouchers.cards import operations as cards
from vouchers.cards.models import CardKind
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Transfer, TransferKind
from vouchers.payments.models import Payment, PaymentStatus

pytestmark = [pytest.mark.both_dbs, pytest.mark.many_connections]

LEARNERS = 200  # racing for the last seats of one run
SEATS = 7
LIMIT = 3_000_000  # each of those learners' cards (the default limit)
SEAT_FEE = 1_000_000  # general card course, employment rate 75 % → self-pay 15 %: the card draws 850,000

RUNS = 60  # one learner's card racing across this many runs
CARD_LIMIT = 1_000_000
FEE = 50_000  # → self-pay 7,500, card draw 42,500
DRAW = 42_500  # 60 × 42,500 = 2,550,000 > 1,000,000: exactly ⌊1,000,000 / 42,500⌋ = 23 can be paid
AFFORDABLE = CARD_LIMIT // DRAW

POSTGRES_CONNECTIONS = 40  # leaves 57 of the server's 97 for the other test worker meanwhile


@pytest.fixture
def app_config(app_config):
    """A connection per racer on SQLite; on PostgreSQL (100 connections at most) a pool of 40."""
    postgres = app_config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    size = POSTGRES_CONNECTIONS if postgres else LEARNERS + 5
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": size, "max_overflow": 0, "pool_timeout": 120}}


# -- the judges: what must be true after a race, whoever raced ------------------------------------------------


def judge_seats(result: RaceResult, *, seats: int, enrolled: int, local_enrolled: int) -> list[str]:
    """Everything wrong after len(outcomes) learners raced for `seats` seats (empty: all is well)."""
    problems = []
    winners = min(seats, len(result.outcomes))
    if result.succeeded > winners:
        problems.append(f"oversold: {result.succeeded} enrolments succeeded for {seats} seats")
    if result.succeeded < winners:
        problems.append(f"refused a free seat: {result.succeeded} enrolments succeeded for {seats} seats")
    if enrolled != result.succeeded:
        problems.append(f"{enrolled} enrolments recorded for {result.succeeded} successes")
    if local_enrolled != enrolled:
        problems.append(
            f"seat count drifted: local_enrolled is {local_enrolled} with {enrolled} enrolments "
            "recorded (a lost update)"
        )
    others = sorted({o for o in result.outcomes if o not in ("ok", "refused:run_full")})
    if others:
        problems.append(f"losers refused with something other than run_full: {others[:5]}")
    return problems


def judge_card(result: RaceResult, *, limit: int, draw: int, available: int, drawn: int) -> list[str]:
    """Everything wrong after racers each tried to draw `draw` from one card of `limit` (empty: all is well).

    `available` is the card's available balance afterwards; `drawn` what its enrolments hold or spent.
    """
    problems = []
    affordable = min(len(result.outcomes), limit // draw)
    if result.succeeded > affordable:
        problems.append(
            f"overspent: {result.succeeded} enrolments drew {draw:,} each from {limit:,}; "
            f"the card could pay {affordable}"
        )
    if result.succeeded < affordable:
        problems.append(f"refused money it could pay: {result.succeeded} of {affordable} affordable")
    if available < 0:
        problems.append(f"balance below zero: {available}")
    if available != limit - result.succeeded * draw:
        problems.append(
            f"balance not exact: {available:,}, expected {limit - result.succeeded * draw:,} "
            f"after {result.succeeded} draws"
        )
    if drawn != result.succeeded * draw:
        problems.append(f"drawn {drawn:,}, expected {result.succeeded * draw:,}")
    refusals = [o for o in result.outcomes if o != "ok"]
    others = sorted({o for o in refusals if o != "refused:insufficient_balance"})
    if others:
        problems.append(f"refused with something other than insufficient_balance: {others[:5]}")
    if refusals and available >= draw:
        problems.append(f"{len(refusals)} refused while {available:,} was still available (≥ one draw)")
    return problems


# -- set-up -----------------------------------------------------------------------------------------------


def card_holders(n: int, *, today: date, limit: int | None = None) -> list[tuple[int, int]]:
    """n learner logins, each verified as a new person holding a card issued `today`: [(user id, card id)].

    All through the services (accounts, identity, status, card issue with its ledger transfer and audit
    entries), in one unit of work so that making 200 takes seconds.
    """
    made = []
    with unit_of_work(write_lock=True):
        for k in range(1, n + 1):
            user = services.create_user(
                email=f"racer-{k}@example.com", role=Role.LEARNER, name="홍길동", password=PASSWORD
            )
            cards.verify_identity(
                user.id, name=f"경쟁자{k}", birth_date=date(1990, 5, 17), phone=f"010-5555-{k:04d}", actor=ACTOR
            )
            person = cards.require_person(user.id)
            cards.record_status(
                person.id, employment_status="unemployed", groups=set(), effective_from=today, actor=ACTOR
            )
            card = cards.issue_card(person.id, kind=CardKind.CARD, today=today, actor=ACTOR, limit=limit)
            made.append((user.id, card.id))
    return made


def enrol_and_maybe_pay(user_id: int, run_id: int, *, key: str, pay: bool, today: date) -> bool:
    """What a learner's enrol request does, through production's path (vouchers.checkout.enrol: seat, hold and
    payment attempt, then the local processor confirming); pay=False: a learner who never pays (the hold only)."""
    if pay:
        enrolment = checkout.enrol(user_id, run_id, request_key=key, now=utcnow(), today=today, actor=ACTOR)
        assert enrolment.status == EnrolmentStatus.CONFIRMED, enrolment.status
    else:
        with unit_of_work(write_lock=True):
            enrolments.enrol(user_id, run_id, request_key=key, now=utcnow(), today=today, actor=ACTOR)
    return True


def card_draws(card_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """{card id: (available, held, spent)} from the ledger, each card's identity checked on the way."""
    out = {}
    for card_id in card_ids:
        figures = cards.figures(card_id)
        assert figures.balanced, (card_id, figures)
        out[card_id] = (figures.available, figures.held, figures.spent)
    return out


def enrolment_audit_counts(event: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == event))


# -- the harness catches a naive enrolment -----------------------------------------------------------------


def test_the_harness_catches_a_naive_seat_check_overselling(app, world):
    run = world.run(capacity=SEATS + 20, source_enrolled=20, local_enrolled=0)
    run_id = run.id
    naive = NaiveEnrolment()
    naive.install()
    result = race(app, lambda i: naive.enrol(i + 1, run_id), n=LEARNERS)
    db.session.rollback()
    problems = judge_seats(
        result, seats=SEATS, enrolled=naive.enrolled(run_id), local_enrolled=db.session.get(Run, run_id).local_enrolled
    )
    print(f"\nnaive seat check ({db.engine.dialect.name}): {result.summary()}; {problems}")
    assert any(p.startswith("oversold") for p in problems), f"the harness missed the naive seat check: {problems}"


def test_the_harness_catches_a_naive_balance_check_overspending(app, world):
    run_ids = [world.run(fee=FEE, capacity=30).id for _ in range(RUNS)]
    naive = NaiveEnrolment()
    naive.install()
    naive.open_card(1, CARD_LIMIT)
    result = race(app, lambda i: naive.enrol(1, run_ids[i], card_id=1, card_draw=DRAW), n=RUNS)
    problems = judge_card(result, limit=CARD_LIMIT, draw=DRAW, available=naive.balance(1), drawn=naive.drawn(1))
    print(f"\nnaive balance check ({db.engine.dialect.name}): {result.summary()}; {problems}")
    assert any(p.startswith("overspent") for p in problems), f"the harness missed the naive balance check: {problems}"


# -- the real services --------------------------------------------------------------------------------------


def test_two_hundred_learners_racing_for_seven_seats_take_exactly_seven(app, world):
    run = world.run(fee=SEAT_FEE, capacity=SEATS + 20, source_enrolled=20, local_enrolled=0)
    run_id = run.id
    assert run.seats_left == SEATS
    racers = card_holders(LEARNERS, today=world.today)
    user_ids, card_ids = [u for u, _c in racers], [c for _u, c in racers]

    result = race(
        app,
        lambda i: enrol_and_maybe_pay(user_ids[i], run_id, key=f"race-{i}", pay=i % 2 == 0, today=world.today),
        n=LEARNERS,
    )
    db.session.rollback()
    run = db.session.get(Run, run_id)
    rows = db.session.scalars(select(Enrolment).where(Enrolment.run_id == run_id)).all()
    problems = judge_seats(result, seats=SEATS, enrolled=len(rows), local_enrolled=run.local_enrolled)
    print(f"\nreal enrolment, seats ({db.engine.dialect.name}): {result.summary()}; {problems}")
    assert problems == [], result.outcomes
    assert result.succeeded == SEATS and result.count("refused:run_full") == LEARNERS - SEATS
    assert not [o for o in result.outcomes if o.startswith("error")]  # no "database is locked", no deadlock
    assert run.local_enrolled == SEATS and run.seats_left == 0

    # The winners are exactly the racers who were told "ok", each enrolled once, paid or held as they chose.
    winners = {i for i, outcome in enumerate(result.outcomes) if outcome == "ok"}
    assert sorted(e.user_id for e in rows) == sorted(user_ids[i] for i in winners)
    draw = rows[0].card_draw
    assert draw == 850_000 and all(e.card_draw == draw for e in rows)
    paid = {user_ids[i] for i in winners if i % 2 == 0}
    for enrolment in rows:
        expected = EnrolmentStatus.CONFIRMED if enrolment.user_id in paid else EnrolmentStatus.HELD
        assert enrolment.status == expected
        assert ledger.hold_state(enrolment.hold_id) == ("captured" if enrolment.user_id in paid else ledger.PENDING)
    assert db.session.scalar(
        select(func.count()).select_from(Payment).where(Payment.status == PaymentStatus.SUCCEEDED.value)
    ) == len(paid)

    # Every card exact to the won: a winner's draw held or spent, a loser's card untouched.
    figures = card_draws(card_ids)
    for i, card_id in enumerate(card_ids):
        if i not in winners:
            assert figures[card_id] == (LIMIT, 0, 0), (i, figures[card_id])
        elif user_ids[i] in paid:
            assert figures[card_id] == (LIMIT - draw, 0, draw), (i, figures[card_id])
        else:
            assert figures[card_id] == (LIMIT - draw, draw, 0), (i, figures[card_id])

    report = ledger.verify()
    assert report.ok, report.problems
    assert report.pending_holds == SEATS - len(paid)
    assert audit.verify().ok
    assert enrolment_audit_counts("enrolment.hold") == SEATS  # the losers' rolled-back work left no trace
    assert enrolment_audit_counts("enrolment.pay") == len(paid)


def test_one_card_racing_across_sixty_runs_pays_exactly_what_it_can(app, world):
    learner = world.learner(limit=CARD_LIMIT)
    user_id, card_id = learner.id, world.card(learner).id  # plain values: the racers share no ORM object
    run_ids = [world.run(fee=FEE, capacity=30).id for _ in range(RUNS)]

    result = race(
        app,
        lambda i: enrol_and_maybe_pay(user_id, run_ids[i], key=f"card-race-{i}", pay=i % 2 == 0, today=world.today),
        n=RUNS,
    )
    db.session.rollback()
    rows = db.session.scalars(select(Enrolment).where(Enrolment.card_id == card_id)).all()
    assert {e.card_draw for e in rows} <= {DRAW}
    figures = cards.figures(card_id)
    problems = judge_card(
        result, limit=CARD_LIMIT, draw=DRAW, available=figures.available, drawn=figures.held + figures.spent
    )
    print(f"\nreal enrolment, one card ({db.engine.dialect.name}): {result.summary()}; {problems}")
    assert problems == [], result.outcomes
    assert result.succeeded == len(rows) == AFFORDABLE == 23
    assert result.count("refused:insufficient_balance") == RUNS - AFFORDABLE
    assert figures.balanced
    assert figures.available == CARD_LIMIT - AFFORDABLE * DRAW == 22_500 < DRAW  # nothing refused it could pay

    # Seats moved with the enrolments and nowhere else: each won run has one seat taken, the others none.
    won = {e.run_id for e in rows}
    taken = dict(db.session.execute(select(Run.id, Run.local_enrolled).where(Run.id.in_(run_ids))).tuples().all())
    assert taken == {run_id: int(run_id in won) for run_id in run_ids}
    paid = sum(e.status == EnrolmentStatus.CONFIRMED for e in rows)
    assert (figures.spent, figures.held) == (paid * DRAW, (AFFORDABLE - paid) * DRAW)
    assert (
        db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.kind == TransferKind.CAPTURE.value))
        == paid
    )
    report = ledger.verify()
    assert report.ok, report.problems
    assert audit.verify().ok

#!/usr/bin/env python
"""Enrolment benchmark: enrolments per second (hold → payment → confirm, local backend) against the old path.

    .venv/bin/python bench/enrolments.py --quick     # PostgreSQL, distinct cards, 1/2/4 threads (< 3 minutes)
    .venv/bin/python bench/enrolments.py             # SQLite and PostgreSQL: distinct cards, hot card, hot run
    .venv/bin/python bench/enrolments.py --no-postgres --threads 1,4 --audit-rows 0

Figures, not pass/fail (bench/README.md). Each backend gets a fresh database built by the migrations.

  enrol + pay       the production path, vouchers.checkout.enrol(): quote, seat, hold, enrolment, payment
                    attempt, then the local backend (answers at once) and the confirmation (capture, co-pay)
  naive reference   bench/naive_enrolment.py: the same services with the pre-issue-14 lock order (the audit
                    chain's global lock taken first in every transaction), measured in the same run
  distinct cards    each enrolment of a row on a different card, over runs of 30 seats
  hot card          every enrolment on one learner's card, each in a run of its own
  hot run           distinct cards racing for the seats of one run: exactly its seats confirmed, 0 oversold
  checks            after every backend: ledger verify, audit verify, every card exact, no pending hold
  audit verify      bench/ledger.py's bench_audit() on the chain extended to --audit-rows rows

--quick ends with `enrolments/s postgresql distinct cards: <best> (baseline <old>)`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ledger import _app, _in_threads, bench_audit, on_sqlite_then_postgres  # noqa: E402

FUNDED = 10**12  # every card is funded with this much, so no enrolment is ever refused for money
FEE = 1_000_000  # a general card course at a 75 % employment rate: self-pay 150,000, card draw 850,000
SEATS = 30


class World:
    """Set-up that is not measured: learners with cards, and runs, written in bulk."""

    def __init__(self, app, cards: int):
        self.app = app
        self.cards = cards
        self.users: list[int] = []  # learner i (0 is the hot card's learner)
        self.accounts: list[tuple[int, int]] = []  # (available, held) of learner i's card
        self.payable = 0
        self.today = date.today()
        self._run_numbers = iter(range(1, 10**9))

    def build(self) -> None:
        from argon2 import PasswordHasher
        from sqlalchemy import insert, select

        from courses.models import Course, CourseListing, Programme, Provider
        from hrdnet.auth.models import User
        from hrdnet.db import unit_of_work
        from hrdnet.timeutil import utcnow
        from vouchers.cards.models import Card, IdentityLink, LearnerStatus, Person
        from vouchers.ledger import operations as ledger
        from vouchers.ledger.models import Account, AccountKind, TransferKind

        count = self.cards + 1
        password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("bench-password")
        with self.app.app_context(), unit_of_work(write_lock=True) as session:
            programme = session.scalar(select(Programme).where(Programme.code == "C0061"))
            provider = Provider(name="벤치 훈련기관", business_number="9999999999", region_code="11680")
            session.add(provider)
            session.flush()
            course = Course(title="벤치마크 과정", provider_id=provider.id, match_key="bench", ncs_code="20010202")
            session.add(course)
            session.flush()
            listing = CourseListing(
                course_id=course.id, source="hrdnet", external_id="BENCH0000000001", title=course.title
            )
            session.add(listing)
            session.flush()
            self.programme_id, self.course_id, self.listing_id = programme.id, course.id, listing.id
            users = [
                User(
                    email=f"bench-{i}@example.com",
                    name="홍길동",
                    role="learner",
                    password_hash=password_hash,
                    email_verified_at=utcnow(),
                )
                for i in range(count)
            ]
            session.add_all(users)
            session.flush()
            people = [Person(person_key=f"{i:064x}", birth_date=date(1990, 5, 17)) for i in range(count)]
            session.add_all(people)
            session.flush()
            session.add_all([IdentityLink(user_id=u.id, person_id=p.id) for u, p in zip(users, people, strict=True)])
            session.add_all(
                [
                    LearnerStatus(
                        person_id=p.id,
                        employment_status="unemployed",
                        groups="",
                        effective_from=self.today,
                        recorded_by="bench",
                    )
                    for p in people
                ]
            )
            cards = [
                Card(
                    person_id=p.id,
                    kind="card",
                    limit_amount=FUNDED,
                    issued_on=self.today,
                    expires_on=self.today + timedelta(days=5 * 365),
                )
                for p in people
            ]
            session.add_all(cards)
            session.flush()
            # Card accounts open at zero (as the database demands); every card is funded by one issue transfer.
            session.execute(
                insert(Account),
                [
                    {
                        "kind": kind,
                        "owner_type": "card",
                        "owner_id": card.id,
                        "normal_side": "credit",
                        "may_go_negative": False,
                        "balance": 0,
                        "created_at": utcnow(),
                    }
                    for card in cards
                    for kind in (AccountKind.CARD_AVAILABLE, AccountKind.CARD_HELD)
                ],
            )
            ids = {
                (row.owner_id, row.kind): row.id
                for row in session.execute(
                    select(Account.id, Account.owner_id, Account.kind).where(Account.owner_type == "card")
                )
            }
            self.accounts = [(ids[card.id, "card_available"], ids[card.id, "card_held"]) for card in cards]
            budget = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", programme.id)
            ledger.transfer(
                "bench:issue",
                TransferKind.ISSUE,
                [(budget.id, available, FUNDED) for available, _held in self.accounts],
                memo="벤치마크 카드 발급",
                actor="bench",
            )
            self.payable = ledger.open_account(AccountKind.PROVIDER_PAYABLE, "provider", provider.id).id
            self.users = [u.id for u in users]

    def runs(self, n: int, capacity: int = SEATS) -> list[int]:
        """n open runs of the benchmark course, priced like a general card course, starting in two weeks."""
        from courses.models import Run
        from hrdnet.db import unit_of_work

        start = self.today + timedelta(days=14)
        with self.app.app_context(), unit_of_work(write_lock=True) as session:
            runs = [
                Run(
                    course_id=self.course_id,
                    listing_id=self.listing_id,
                    programme_id=self.programme_id,
                    run_number=next(self._run_numbers),
                    start_date=start,
                    end_date=start + timedelta(days=60),
                    weekend="weekday",
                    mode="classroom",
                    hours=640,
                    days=60,
                    fee=FEE,
                    capacity=capacity,
                    source_enrolled=0,
                    local_enrolled=0,
                    status="open",
                    employment_rate_3m=75.0,
                    region_code="11680",
                    ncs_code="20010202",
                )
                for _ in range(n)
            ]
            session.add_all(runs)
            session.flush()
            return [run.id for run in runs]


def enrol_and_pay(user_id: int, run_id: int, key: str, today: date) -> None:
    """The production path: vouchers.checkout.enrol (hold, then the local payment and its confirmation)."""
    from hrdnet.timeutil import utcnow
    from vouchers import checkout
    from vouchers.enrolments.models import EnrolmentStatus

    enrolment = checkout.enrol(user_id, run_id, request_key=key, now=utcnow(), today=today, actor="bench")
    if enrolment.status != EnrolmentStatus.CONFIRMED:
        raise RuntimeError(f"enrolment {enrolment.id} was not confirmed")


def naive_enrol_and_pay(user_id: int, run_id: int, key: str, today: date) -> None:
    """The naive reference (bench/naive_enrolment.py): the same services with the old, global lock order."""
    from bench import naive_enrolment
    from vouchers.enrolments.models import EnrolmentStatus

    enrolment = naive_enrolment.enrol_and_pay(user_id, run_id, key, today)
    if enrolment.status != EnrolmentStatus.CONFIRMED:
        raise RuntimeError(f"enrolment {enrolment.id} was not confirmed")


def enrol_batch_and_pay(requests: list[tuple]) -> list[int]:
    """One batch through vouchers.checkout.enrol_batch (what each writer thread of the batching writer does):
    requests are (user id, run id, key, today); every one must come back confirmed."""
    from hrdnet.timeutil import utcnow
    from vouchers import checkout

    today = requests[0][3]
    batch = [checkout.EnrolRequest(user_id, run_id, key) for user_id, run_id, key, _today in requests]
    ids = checkout.enrol_batch(batch, now=utcnow(), today=today, actor="bench")
    failed = [result for result in ids if not isinstance(result, int)]
    if failed:
        raise RuntimeError(f"{len(failed)} of the batch refused, e.g. {failed[0]!r}")
    return ids


BATCHED = "batching writer"  # not a function: bench_row submits every request to a vouchers.enrol_writer
BATCH_SIZE = 25

PATHS = (
    ("naive reference (old ORM path)", naive_enrol_and_pay),
    ("enrol + pay (single path)", enrol_and_pay),
    (f"{BATCHED} ({BATCH_SIZE} per batch)", BATCHED),
)
SCENARIOS = ("distinct cards", "hot card", "hot run")


class Tally:
    """What a row did: confirmed enrolments, and the runs-full refusals of a hot run (thread-safe enough:
    list.append is atomic)."""

    def __init__(self):
        self.confirmed: list[int] = []
        self.full: list[int] = []
        self.batches = 0  # the batching writer's transactions (intent + outcome pairs)


def bench_row(world: World, scenario: str, threads: int, count: int, enrol, tag: str) -> tuple[float, Tally, int]:
    """Run one row; returns (seconds, tally, seats offered when the scenario is a hot run, else 0)."""
    from vouchers import errors

    today, tally, seats = world.today, Tally(), 0
    if scenario == "distinct cards":  # a different card for every enrolment, over runs of 30 seats
        run_ids = world.runs(-(-count // SEATS))

        def card(i):
            return 1 + i % world.cards

        def run_of(i):
            return run_ids[i % len(run_ids)]
    elif scenario == "hot card":  # one learner's card, each enrolment in a run of its own
        run_ids = world.runs(count)

        def card(i):
            return 0

        def run_of(i):
            return run_ids[i]
    else:  # hot run: distinct cards racing for the seats of one run that has half as many as attempts
        seats = max(1, count // 2)
        run_ids = world.runs(1, capacity=seats)

        def card(i):
            return 1 + i % world.cards

        def run_of(i):
            return run_ids[0]

    if enrol == BATCHED:
        return _batched(world, threads, count, lambda i: (world.users[card(i)], run_of(i)), tag, tally), tally, seats

    def work(i):
        try:
            enrol(world.users[card(i)], run_of(i), f"{tag}:{i}", today)
        except errors.RunFull:
            tally.full.append(i)
            return
        tally.confirmed.append(i)

    seconds = _in_threads(world.app, threads, count, work)
    return seconds, tally, seats


def _batched(world: World, threads: int, count: int, target, tag: str, tally: Tally) -> float:
    """Every request submitted at once (a course opening) to a batching writer with `threads` writer threads;
    seconds from the first submission to the last answer. Each answer is checked as bench_row's are: confirmed,
    or refused as full (and then counted). Then, whatever the scenario, every enrolment written is confirmed."""
    from sqlalchemy import func, select

    from hrdnet.extensions import db
    from vouchers import errors
    from vouchers.enrol_writer import BatchingWriter
    from vouchers.enrolments.models import Enrolment, EnrolmentStatus

    with BatchingWriter(world.app, batch_size=BATCH_SIZE, writers=threads) as writer:
        started = time.perf_counter()
        answers = [
            writer.submit(*target(i), request_key=f"{tag}:{i}", today=world.today, actor="bench") for i in range(count)
        ]
        for i, answer in enumerate(answers):
            failure = answer.exception()
            if isinstance(failure, errors.RunFull):
                tally.full.append(i)
            elif failure is not None:
                raise failure
            else:
                tally.confirmed.append(answer.result())
        seconds = time.perf_counter() - started
        batches = writer.batches
    with world.app.app_context():
        statuses = db.session.execute(
            select(Enrolment.status, func.count()).where(Enrolment.id.in_(tally.confirmed)).group_by(Enrolment.status)
        ).all()
        db.session.remove()
    assert dict(statuses) == {EnrolmentStatus.CONFIRMED.value: len(tally.confirmed)} or not tally.confirmed, statuses
    tally.batches = batches
    return seconds


def bench_enrolments(world: World, *, scenarios, counts: dict, threads: list[int], paths=PATHS) -> list[tuple]:
    """Rows of (label, threads, count, per second, seconds, naive per second or None, note)."""
    tag = uuid.uuid4().hex[:6]
    rows = []
    for n in threads:
        for scenario in scenarios:
            naive_rate = single_rate = None
            for label, enrol in paths:
                count = counts[scenario]
                seconds, tally, seats = bench_row(world, scenario, n, count, enrol, f"{tag}:{n}:{scenario}:{label}")
                rate = len(tally.confirmed) / seconds
                note = ""
                if scenario == "hot run":
                    oversold = max(0, len(tally.confirmed) - seats)
                    note = f"{len(tally.confirmed)} of {seats} seats, {len(tally.full)} refused, {oversold} oversold"
                    assert oversold == 0 and len(tally.confirmed) == seats, note
                else:
                    assert len(tally.confirmed) == count, (scenario, len(tally.confirmed), count)
                if enrol == BATCHED:
                    note = (note + "; " if note else "") + f"{count / tally.batches:.1f} requests per batch"
                    if single_rate:
                        note += f"; {rate / single_rate:.2f}× single path"
                rows.append((f"{label}, {scenario}", n, count, rate, seconds, naive_rate, note))
                print_row(rows[-1])
                if enrol is naive_enrol_and_pay:
                    naive_rate = rate
                if enrol is enrol_and_pay:
                    single_rate = rate
    return rows


def print_row(row) -> None:
    label, threads, count, rate, seconds, naive, note = row
    result = "baseline" if naive is None else f"{rate / naive:.2f}× baseline"
    print(f"  {label:<48} {threads:>7} {count:>7,} {rate:>8,.0f} {seconds:>8.1f}   {result} {note}", flush=True)


class StatementCount:
    """SQL statements and transactions one thread sends, counted by engine events (load-independent figures):
    statements = every cursor execute (savepoints and SQLite's BEGIN included), transactions = BEGINs."""

    def __init__(self, engine):
        import threading

        from sqlalchemy import event

        self.engine, self.thread = engine, threading.get_ident()
        self.statements = self.begins = self.commits = self.rollbacks = 0
        self._listeners = [
            ("before_cursor_execute", self._statement),
            ("begin", self._begin),
            ("commit", self._commit),
            ("rollback", self._rollback),
        ]
        for name, fn in self._listeners:
            event.listen(engine, name, fn)

    def _mine(self) -> bool:
        import threading

        return threading.get_ident() == self.thread

    def _statement(self, *_args) -> None:
        self.statements += self._mine()

    def _begin(self, _conn) -> None:
        self.begins += self._mine()

    def _commit(self, _conn) -> None:
        self.commits += self._mine()

    def _rollback(self, _conn) -> None:
        self.rollbacks += self._mine()

    def close(self) -> None:
        from sqlalchemy import event

        for name, fn in self._listeners:
            event.remove(self.engine, name, fn)


def count_statements(world: World, count: int = 20) -> None:
    """Per enrolment, on one thread: statements and transactions of each path (distinct cards)."""
    from hrdnet.extensions import db

    tag = uuid.uuid4().hex[:6]
    for label, enrol in PATHS:
        run_ids = world.runs(-(-count // SEATS))
        if enrol == BATCHED:  # one batch of `count` through enrol_batch, as a writer thread sends it

            def enrol(user, run, key, today, _batch=[]):  # noqa: B006 - collects the batch, sent below
                _batch.append((user, run, key, today))
                if len(_batch) == count or key.endswith(":warm"):
                    enrol_batch_and_pay(list(_batch))
                    _batch.clear()

        with world.app.app_context():
            enrol(world.users[1], world.runs(1)[0], f"{tag}:{label}:warm", world.today)  # first-use reads
            db.session.remove()
            counter = StatementCount(db.engine)
            try:
                for i in range(count):
                    user = world.users[1 + (i + 7) % world.cards]
                    enrol(user, run_ids[i % len(run_ids)], f"{tag}:{label}:{i}", world.today)
                    db.session.remove()
            finally:
                counter.close()
        print(
            f"  {label + ', per enrolment':<48} {counter.statements / count:>6.1f} statements, "
            f"{counter.begins / count:.1f} transactions ({counter.commits / count:.1f} commits, "
            f"{counter.rollbacks / count:.1f} rollbacks)",
            flush=True,
        )


def check(app, funded: int) -> None:
    """Everything the benchmark did adds up: the ledger and the audit chain verify, every card is exact to
    the won (what it was funded with, less the card draw of its confirmed enrolments) and no hold is left
    pending."""
    from sqlalchemy import func, select

    from hrdnet import audit
    from hrdnet.extensions import db
    from vouchers.enrolments.models import Enrolment, EnrolmentStatus
    from vouchers.ledger import operations as ledger
    from vouchers.ledger.models import Account, AccountKind

    with app.app_context():
        report = ledger.verify()
        assert report.ok and report.pending_holds == 0, (report.problems, report.pending_holds)
        verdict = audit.verify()
        assert verdict.ok, verdict
        drawn = dict(
            db.session.execute(
                select(Enrolment.card_id, func.sum(Enrolment.card_draw))
                .where(Enrolment.status == EnrolmentStatus.CONFIRMED.value)
                .group_by(Enrolment.card_id)
            ).all()
        )
        balances: dict[int, dict[str, int]] = {}
        for owner_id, kind, value in db.session.execute(
            select(Account.owner_id, Account.kind, Account.balance).where(Account.owner_type == "card")
        ):
            balances.setdefault(owner_id, {})[kind] = value
        wrong = [
            card_id
            for card_id, kinds in balances.items()
            if kinds[AccountKind.CARD_HELD] != 0 or kinds[AccountKind.CARD_AVAILABLE] + drawn.get(card_id, 0) != funded
        ]
        assert not wrong, f"{len(wrong)} cards are not exact to the won, e.g. card {wrong[0]}"
        db.session.remove()
    print(
        f"  checks: ledger verify ok, audit verify ok ({verdict.count:,} entries), {len(balances):,} cards exact "
        "to the won, 0 pending holds",
        flush=True,
    )


def run_backend(name: str, database_url: str, workdir: Path, args, best: dict) -> None:
    from flask_migrate import upgrade

    from hrdnet.extensions import db

    app = _app(database_url, workdir, max(args.threads))
    app.config["PASSWORD_HASH_PROFILE"] = "CHEAPEST"
    with app.app_context():
        upgrade()
        version = (
            db.session.connection()
            .exec_driver_sql("SELECT sqlite_version()" if name == "sqlite" else "SHOW server_version")
            .scalar()
        )
        db.session.remove()
    world = World(app, args.cards)
    started = time.perf_counter()
    world.build()
    setup = time.perf_counter() - started
    label = "sqlite (file, WAL)" if name == "sqlite" else "postgresql"
    counts = {"distinct cards": args.spread, "hot card": args.hot, "hot run": args.hot_run}
    print(
        f"\n{label} {version}: {args.cards:,} learners with a card (set-up {setup:.1f} s); per row: "
        + ", ".join(f"{scenario} {counts[scenario]:,}" for scenario in args.scenarios)
        + f"; load average {_load()}",
        flush=True,
    )
    print(f"  {'step':<48} {'threads':>7} {'count':>7} {'per s':>8} {'seconds':>8}   result")
    count_statements(world)
    rows = bench_enrolments(world, scenarios=args.scenarios, counts=counts, threads=args.threads)
    check(app, FUNDED)
    for label, _threads, _count, rate, _seconds, naive, _note in rows:
        if label.endswith("distinct cards"):
            which = "baseline" if naive is None else "single" if label.startswith("enrol + pay") else "best"
            best[name, which] = max(best.get((name, which), 0.0), rate)
    if args.audit_rows:
        for label, value in bench_audit(app, database_url, args.audit_rows):
            print(f"  {label:<60} {value:>8.1f}", flush=True)
    print(f"  load average after: {_load()}", flush=True)
    with app.app_context():
        db.engine.dispose()


def _load() -> str:
    """The 1/5/15-minute load average, printed beside the figures (the machine may be shared)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=10_000, help="learners with a card")
    parser.add_argument("--spread", type=int, default=1_000, help="enrolments per distinct-cards row")
    parser.add_argument("--hot", type=int, default=300, help="enrolments per hot-card row")
    parser.add_argument("--hot-run", type=int, default=200, help="attempts per hot-run row (half as many seats)")
    parser.add_argument("--threads", default="1,2,4", help="comma-separated thread counts")
    parser.add_argument("--audit-rows", type=int, default=1_000_000, help="0 skips the audit verify step")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="PostgreSQL, distinct cards only, 300 enrolments per row, 2,000 cards, no audit step (< 3 minutes)",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    args.scenarios = list(SCENARIOS)
    if args.quick:
        args.cards, args.spread, args.audit_rows, args.no_sqlite = min(args.cards, 2_000), 300, 0, True
        args.scenarios = ["distinct cards"]
    args.threads = [int(n) for n in args.threads.split(",")]
    logging.disable(logging.INFO)
    best: dict = {}
    on_sqlite_then_postgres(
        "hrdnet-bench-enrolments-",
        lambda backend, url, workdir: run_backend(backend, url, workdir, args, best),
        postgres=not args.no_postgres,
        sqlite=not args.no_sqlite,
    )
    print()
    for backend in ("sqlite", "postgresql"):
        if (backend, "best") in best:
            print(f"enrolments/s {backend} distinct cards, single path: {best[backend, 'single']:.0f}", flush=True)
            print(
                f"enrolments/s {backend} distinct cards: {best[backend, 'best']:.0f} "
                f"(baseline {best[backend, 'baseline']:.0f})",
                flush=True,
            )


if __name__ == "__main__":
    main()

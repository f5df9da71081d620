#!/usr/bin/env python
"""Enrolment benchmark: enrolments per second (enrol + local payment, through the services) on one hot card and
on 10,000 cards, with 1 and 4 threads, against the bare ledger; and `hrdnet audit verify` on 1,000,000 rows.

    .venv/bin/python bench/enrolments.py                 # SQLite (file, WAL), and PostgreSQL when one answers
    .venv/bin/python bench/enrolments.py --quick         # a quick look: 200/400 enrolments per row, 100,000 audit rows
    .venv/bin/python bench/enrolments.py --cards 2000 --hot 500 --threads 1,4,8 --audit-rows 0 --no-postgres

Figures, not pass/fail (bench/README.md). Each backend gets a fresh database built by the migrations.

  enrol + pay    what a learner's request does: vouchers.checkout.enrol(), the production path: its intent in
                 one unit_of_work(write_lock=True) (seat and its outbox item, quote, hold, payment attempt,
                 enrolment row and history, audit), then the local backend (the processor answers at once;
                 apply_state confirms: capture of the hold, the co-payment transfer, history, audit) in a second one
  baseline       measured in the same run: the bare ledger doing the same money movement in the same two
                 transactions, vouchers.ledger.hold() then vouchers.ledger.capture(), with no seat, quote,
                 enrolment, payment row or history; "× baseline" is the figure to compare across machines
  hot card       every enrolment on one learner's card, each in a run of its own (one live enrolment per run)
  10,000 cards   10,000 learners with a card; each enrolment of a row on a different one of them (--spread
                 of them, 2,000 by default; --spread 10000 enrols every card once), over runs of 30 seats
  audit verify   bench/ledger.py's bench_audit(): the chain the enrolments wrote, extended to N rows by a bulk
                 insert, then hrdnet.audit.verify() and the `hrdnet audit verify` command
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ledger import _app, _in_threads, bench_audit, on_sqlite_then_postgres  # noqa: E402

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
                    limit_amount=10**12,
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
                [(budget.id, available, 10**12) for available, _held in self.accounts],
                memo="벤치마크 카드 발급",
                actor="bench",
            )
            self.payable = ledger.open_account(AccountKind.PROVIDER_PAYABLE, "provider", provider.id).id
            self.users = [u.id for u in users]

    def runs(self, n: int) -> list[int]:
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
                    capacity=SEATS,
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
    from hrdnet.timeutil import utcnow
    from vouchers import checkout
    from vouchers.enrolments.models import EnrolmentStatus

    enrolment = checkout.enrol(user_id, run_id, request_key=key, now=utcnow(), today=today, actor="bench")
    if enrolment.status != EnrolmentStatus.CONFIRMED:
        raise RuntimeError(f"enrolment {enrolment.id} was not confirmed")


def hold_and_capture(available: int, held: int, payable: int, key: str, expires_at) -> None:
    from hrdnet.db import unit_of_work
    from vouchers.ledger import operations as ledger

    with unit_of_work(write_lock=True):
        hold_id = ledger.hold(
            f"{key}:hold", available, held, 850_000, expires_at=expires_at, memo="보류", actor="bench"
        ).id
    with unit_of_work(write_lock=True):
        ledger.capture(f"{key}:capture", hold_id, payable, actor="bench")


def bench_enrolments(world: World, *, hot: int, spread: int, threads: list[int]) -> list[tuple]:
    """Rows of (label, threads, count, per second, seconds, baseline per second or None)."""
    from hrdnet.timeutil import utcnow

    app, today, tag = world.app, world.today, uuid.uuid4().hex[:6]
    expires_at = utcnow() + timedelta(days=1)
    rows = []
    for n in threads:
        for scenario, count in (("hot card", hot), (f"{world.cards:,} cards", spread)):
            if scenario == "hot card":

                def card(i):
                    return 0

                run_ids = world.runs(count)

                def run_of(i, run_ids=run_ids):
                    return run_ids[i]
            else:

                def card(i, count=count):
                    return 1 + i * world.cards // count  # a different card for every enrolment of the row

                run_ids = world.runs(-(-count // SEATS))

                def run_of(i, run_ids=run_ids):
                    return run_ids[i % len(run_ids)]

            def baseline(i, card=card, scenario=scenario, n=n):
                available, held = world.accounts[card(i)]
                hold_and_capture(available, held, world.payable, f"bench:{tag}:{n}:{scenario}:{i}", expires_at)

            def real(i, card=card, run_of=run_of, scenario=scenario, n=n):
                enrol_and_pay(world.users[card(i)], run_of(i), f"{tag}:{n}:{scenario}:{i}", today)

            base_seconds = _in_threads(app, n, count, baseline)
            rows.append(
                (f"baseline: ledger hold, then capture, {scenario}", n, count, count / base_seconds, base_seconds, None)
            )
            seconds = _in_threads(app, n, count, real)
            rows.append((f"enrol + pay, {scenario}", n, count, count / seconds, seconds, count / base_seconds))
    return rows


def check(app, expected_enrolments: int) -> None:
    """Everything the benchmark did adds up: every enrolment confirmed, the ledger intact."""
    from sqlalchemy import func, select

    from hrdnet.extensions import db
    from vouchers.enrolments.models import Enrolment, EnrolmentStatus
    from vouchers.ledger import operations as ledger

    with app.app_context():
        confirmed = db.session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.status == EnrolmentStatus.CONFIRMED.value)
        )
        assert confirmed == expected_enrolments, (confirmed, expected_enrolments)
        report = ledger.verify()
        assert report.ok and report.pending_holds == 0, report.problems


def run_backend(name: str, database_url: str, workdir: Path, args) -> None:
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
    print(
        f"\n{label} {version}: {args.cards:,} learners with cards (set-up {setup:.1f} s); hot card {args.hot:,} "
        f"and {args.cards:,} cards {args.spread:,} enrolments per row",
        flush=True,
    )
    print(f"  {'step':<50} {'threads':>7} {'count':>7} {'per s':>8} {'seconds':>8}   result")
    rows = bench_enrolments(world, hot=args.hot, spread=args.spread, threads=args.threads)
    for label, threads, count, rate, seconds, base in rows:
        result = "baseline" if base is None else f"{rate / base:.2f}× baseline"
        print(f"  {label:<50} {threads:>7} {count:>7,} {rate:>8,.0f} {seconds:>8.1f}   {result}", flush=True)
    check(app, len(args.threads) * (args.hot + args.spread))
    scaling = {label: rate for label, threads, _c, rate, _s, _b in rows if threads == args.threads[0]}
    for label, threads, _c, rate, _s, base in rows:
        if base is not None and threads != args.threads[0]:
            print(f"  {label}: {threads} threads give {rate / scaling[label]:.2f}× the {args.threads[0]}-thread rate")
    if args.audit_rows:
        for label, value in bench_audit(app, database_url, args.audit_rows):
            print(f"  {label:<60} {value:>8.1f}", flush=True)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=10_000, help="learners with a card, for the spread rows")
    parser.add_argument("--hot", type=int, default=1_000, help="enrolments per hot-card row")
    parser.add_argument(
        "--spread",
        type=int,
        default=2_000,
        help="enrolments per spread row, each on a different card (at most --cards)",
    )
    parser.add_argument("--threads", default="1,4", help="comma-separated thread counts")
    parser.add_argument("--audit-rows", type=int, default=1_000_000, help="0 skips the audit verify step")
    parser.add_argument(
        "--quick", action="store_true", help="200 hot-card and 400 spread enrolments per row, 100,000 audit rows"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.hot, args.spread, args.audit_rows = 200, 400, min(args.audit_rows, 100_000)
    if args.spread > args.cards:
        parser.error("--spread cannot exceed --cards: each spread enrolment is on a card of its own")
    args.threads = [int(n) for n in args.threads.split(",")]
    logging.disable(logging.INFO)
    on_sqlite_then_postgres(
        "hrdnet-bench-enrolments-",
        lambda backend, url, workdir: run_backend(backend, url, workdir, args),
        postgres=not args.no_postgres,
    )


if __name__ == "__main__":
    main()

"""Voucher rows for tests: learners who verified and hold cards, runs with known prices, enrolments.

Everything goes through the real services and a real migrated database (SQLite file, and PostgreSQL for
tests marked both_dbs); nothing about money is mocked. Tests get one `VoucherWorld` per test from the
`world` fixture (tests/conftest.py), or its parts as `make_learner`, `make_card` and `make_enrolment`.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from courses import calendar
from hrdnet import audit
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.support.catalog import Catalog
from vouchers import checkout
from vouchers.cards import operations as cards
from vouchers.cards.models import Card, CardKind
from vouchers.enrolments import attendance
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind

ACTOR = "test"


def books_balance(*card_ids: int) -> None:
    """Each card's figures balance, the ledger verifies and the audit log verifies."""
    for card_id in card_ids:
        assert cards.figures(card_id).balanced, cards.figures(card_id)
    report = ledger.verify()
    assert report.ok, report.problems
    assert audit.verify().ok


class VoucherWorld:
    """Learners, priced runs and enrolments for one test; dates default to the catalog's `today`."""

    def __init__(self, make_user, catalog: Catalog):
        self.make_user = make_user
        self.catalog = catalog
        self.today = catalog.today
        self._numbers = itertools.count(1)

    def learner(
        self,
        *,
        limit: int | None = None,
        groups: tuple[str, ...] = (),
        status: str = "unemployed",
        birth_date: date = date(1990, 5, 17),
        card: bool = True,
        kdigital: bool = False,
        on: date | None = None,
    ):
        """A learner login, verified as a new person, with a card issued (unless card=False)."""
        n, on = next(self._numbers), on or self.today
        user = self.make_user("learner", email=f"learner-{n}-{id(self)}@example.com")
        with unit_of_work(write_lock=True):
            cards.verify_identity(
                user.id,
                name=f"학습자{n}",
                birth_date=birth_date,
                phone=f"010-{n:04d}-{id(self) % 10000:04d}",
                actor=ACTOR,
            )
            person = cards.require_person(user.id)
            cards.record_status(person.id, employment_status=status, groups=set(groups), effective_from=on, actor=ACTOR)
            if card:
                cards.issue_card(person.id, kind=CardKind.CARD, today=on, actor=ACTOR, limit=limit)
            if kdigital:
                cards.issue_card(person.id, kind=CardKind.KDIGITAL, today=on, actor=ACTOR)
        user.person_id = person.id
        return user

    def issue_card(self, user, *, kind: str = CardKind.CARD, limit: int | None = None, on: date | None = None):
        """Issue a card (or K-Digital Credit account) to a learner who verified, as an admin approving would."""
        with unit_of_work(write_lock=True):
            card_id = cards.issue_card(user.person_id, kind=kind, today=on or self.today, actor=ACTOR, limit=limit).id
        return db.session.get(Card, card_id, populate_existing=True)

    def run(
        self,
        *,
        programme: str = "C0061",
        fee: int = 1_000_000,
        capacity: int = 30,
        source_enrolled: int = 0,
        local_enrolled: int = 0,
        start: date | None = None,
        days: int = 60,
        **values,
    ):
        """A run whose price is known: general card course by default (self-pay by the employment band)."""
        return self.catalog.run(
            programme=programme,
            fee=fee,
            capacity=capacity,
            source_enrolled=source_enrolled,
            local_enrolled=local_enrolled,
            start=start or self.today + timedelta(days=14),
            days=days,
            **{"employment_rate_3m": 75.0, "general_self_pay": None, "support_amount": None, **values},
        )

    def enrol(
        self,
        user,
        run,
        *,
        key: str | None = None,
        today: date | None = None,
        now: datetime | None = None,
        pay: bool = True,
    ) -> Enrolment:
        """Enrol as the site does (vouchers.checkout.enrol: the hold, then the co-payment through the configured
        backend); pay=False stops after the hold (enrolments.enrol alone, no payment attempt)."""
        key, now, today = key or f"k-{next(self._numbers)}", now or utcnow(), today or self.today
        if pay:
            enrolment_id = checkout.enrol(user.id, run.id, request_key=key, now=now, today=today, actor=ACTOR).id
        else:
            with unit_of_work(write_lock=True):
                enrolment_id = enrolments.enrol(user.id, run.id, request_key=key, now=now, today=today, actor=ACTOR).id
        return db.session.get(Enrolment, enrolment_id, populate_existing=True)

    def figures(self, user, kind: str = CardKind.CARD):
        card = cards.open_card(user.person_id, kind)
        return cards.figures(card.id)

    def card(self, user, kind: str = CardKind.CARD):
        return cards.open_card(user.person_id, kind)

    def schedule(self, run, days):
        """Give the run a provider calendar of exactly these training days."""
        calendar.set_provider_schedule(run, days)
        db.session.commit()
        return run

    def mark(self, enrolment: Enrolment, days, mark: str = "present") -> None:
        """Record a mark on each day, each on its own day (as a provider taking attendance would)."""
        with unit_of_work(write_lock=True):
            for day in days:
                attendance.record(enrolment.id, day, mark, actor=ACTOR, today=day)

    def provider_money(self, run) -> tuple[int, int]:
        """(payable, settled) balances of the run's provider."""
        provider_id = run.course.provider_id
        payable = ledger.find_account(AccountKind.PROVIDER_PAYABLE, "provider", provider_id)
        settled = ledger.find_account(AccountKind.PROVIDER_SETTLED, "provider", provider_id)
        return (ledger.balance(payable.id) if payable else 0, ledger.balance(settled.id) if settled else 0)

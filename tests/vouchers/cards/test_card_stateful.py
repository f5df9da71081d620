"""Random sequences of everything a card goes through, through the real services (Hypothesis).

Issue, top-up, enrol in runs of four programmes (general C0061 classroom and remote, KDT C0104, K-Digital
Credit C0105) with real calendars (weekdays without public holidays, or the feed's day count), pay, attendance
marks with days left unmarked, unit periods ending and settled by the worker, cancel on a chosen day (before the
start, in the free window, after it, with or without an exempt reason), the provider's decision on a reason,
completion decided by the worker after the run, hold expiry, card expiry and new cards, with the clock moving
forward. A small model predicts every outcome (which refusal, which status, which sanction); after every step:

- the ledger verifies (every transfer balances, cached balances equal their entries) and so does the audit log;
  no card account is below zero, and for every card
  limit + top-ups = available + held + spent (captured − refunded + deducted + penalties) + expired;
- every settled unit period paid the provider exactly what its attendance earned, recomputed here from the
  marks, the run's calendar and the day the learner left (unmarked days and days after leaving are absences);
  every finished enrolment gave back the whole government share it did not pay for a period, and each
  provider's payable account holds exactly what it is still owed for paid, unfinished enrolments;
- every applied sanction was charged in full (taken from the card, or owed), nothing is charged for a claimed or
  waived one, no one owes money while their current card has some, and each run's seats, each enrolment's
  status and hold agree with the model.

One app and database per test; each example makes its own learners and runs (global jobs such as expire_due or
expire_cards also touch earlier examples' rows, which the invariants do not look at).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from courses import calendar
from courses.models import Run
from hrdnet import audit
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.vouchers import ACTOR, VoucherWorld
from vouchers import checkout, errors
from vouchers.cards import operations as cards
from vouchers.cards import sanctions
from vouchers.cards.models import Card, CardKind, Sanction
from vouchers.cards.rules import add_months, card_rules
from vouchers.enrolments import attendance, endings
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus, Settlement
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Account, AccountKind, Transfer

S = EnrolmentStatus
BASE = date(2027, 3, 2)
RULES = card_rules()
RATE = Fraction(str(RULES.completion_rate))
LIVE = (S.APPLIED, S.HELD, S.CONFIRMED, S.IN_TRAINING)


@dataclass(frozen=True)
class RunSpec:
    programme: str
    fee: int
    capacity: int
    start_offset: int
    days: int  # calendar days after the start to the end date
    feed_days: int | None  # the feed's training-day count (None: weekdays without public holidays)
    employment: float | None = None
    mode: str = "classroom"

    def price(self, exempt: bool) -> tuple[int, int, str]:
        """(self_pay, card_draw, account) for an unemployed learner, exempt or not (pricing_rules.toml)."""
        if self.programme == "C0104":
            return self.fee // 10, 0, "none"  # 2026 tiers: 10 %, the programme budget pays
        if self.programme == "C0105":
            self_pay = 0 if exempt else self.fee // 10
            return self_pay, self.fee - self_pay, "kdigital"
        percent = {75.0: 15, 45.0: 45}[self.employment]
        self_pay = 0 if exempt else self.fee * percent // 100
        return self_pay, self.fee - self_pay, "card"

    @property
    def track(self) -> str:
        return "kdigital" if self.programme == "C0105" else "card"


RUNS = (
    RunSpec("C0061", 1_000_000, 3, 10, 59, None, employment=75.0),  # 150,000 / 850,000, weekdays only
    RunSpec("C0061", 400_000, 2, 16, 29, 20, employment=45.0, mode="remote"),  # 180,000 / 220,000
    RunSpec("C0104", 2_000_000, 4, 12, 59, None),  # KDT: 200,000 / programme budget 1,800,000
    RunSpec("C0105", 450_000, 3, 7, 29, 20),  # K-Digital Credit: 45,000 / 405,000
)
LEGAL = st.sampled_from([True, True, True, False])  # pick an enrolment the operation applies to, mostly
EXEMPT_GROUPS = {"kua_type1", "basic_livelihood"}
GROUPS = [(), ("basic_livelihood",), ("disabled",), ("kua_type1", "disabled")]
MARKS = {
    "present": lambda n: ["present"] * n,
    "lates": lambda n: (["late"] * 6 + ["present"] * n)[:n],
    "low": lambda n: (["absent", "present"] * n)[:n],
    "early": lambda n: (["early_leave", "early_leave", "present", "absent"] * n)[:n],
}


@dataclass
class Learner:
    user_id: int
    person_id: int
    groups: frozenset[str]
    card_id: int
    kdigital_id: int | None
    topped: bool = False
    counted: dict[str, int] = field(default_factory=lambda: {"card": 0, "kdigital": 0})
    kdt_dropout: bool = False  # a counted KDT dropout since the current card was issued


@dataclass
class Taken:
    id: int
    learner: Learner
    run: int  # index into the machine's runs
    status: EnrolmentStatus
    self_pay: int
    draw: int
    account: str
    card_id: int
    seat: bool = True
    paid: bool = False
    marks: dict[date, str] = field(default_factory=dict)
    left_on: date | None = None
    sanction: str | None = None  # applied | claimed | waived
    reason: str | None = None


def truncate(amount: int) -> int:
    return amount // RULES.settlement_rounding * RULES.settlement_rounding


def posted(fn, *args, **kwargs):
    with unit_of_work(write_lock=True):
        return fn(*args, **kwargs)


def available(card_id: int) -> int:
    return ledger.balance(cards.open_accounts(card_id).available.id)


def held(card_id: int) -> int:
    return ledger.balance(cards.open_accounts(card_id).held.id)


class CardMachine(RuleBasedStateMachine):
    world: VoucherWorld  # set by the test

    def __init__(self):
        super().__init__()
        self.today = BASE
        self.now = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
        self.learners: list[Learner] = []
        self.taken: list[Taken] = []
        self.keys = itertools.count()
        runs = [
            self.world.run(
                programme=spec.programme,
                fee=spec.fee,
                capacity=spec.capacity,
                start=BASE + timedelta(days=spec.start_offset),
                days=spec.days,
                feed_days=spec.feed_days,
                employment_rate_3m=spec.employment,
                mode=spec.mode,
            )
            for spec in RUNS
        ]
        self.run_ids = [r.id for r in runs]
        self.starts = [r.start_date for r in runs]
        self.ends = [r.end_date for r in runs]
        self.providers = [r.course.provider_id for r in runs]
        self.calendars = [calendar.training_days(r) for r in runs]
        self.periods = [self.unit_periods(r.start_date, r.end_date) for r in runs]
        self.deadlines = [
            RULES.free_withdrawal_deadline(r.start_date, r.end_date, len(days), remote=spec.mode == "remote")
            for r, days, spec in zip(runs, self.calendars, RUNS, strict=True)
        ]
        self.issue(groups=(), limit=3_000_000, valid_for=1500, kdigital=True)
        self.issue(groups=("basic_livelihood",), limit=900_000, valid_for=40, kdigital=False)

    # -- the model's own arithmetic (never the code under test) --

    @staticmethod
    def unit_periods(start: date, end: date) -> list[tuple[int, date, date]]:
        result, number, first = [], 1, start
        while first <= end:
            last = min(add_months(start, number * RULES.settlement_period_months) - timedelta(days=1), end)
            result.append((number, first, last))
            number, first = number + 1, last + timedelta(days=1)
        return result

    def attendance_of(self, taken: Taken, first: date, last: date, left_on: date | None) -> tuple[int, int]:
        """(scheduled days, attended days) from first to last: unmarked days and days after leaving absent."""
        days = [day for day in self.calendars[taken.run] if first <= day <= last]
        absences = lates = 0
        for day in days:
            mark = None if left_on is not None and day >= left_on else taken.marks.get(day)
            if mark in (None, "absent"):
                absences += 1
            elif mark in ("late", "early_leave"):
                lates += 1
        return len(days), len(days) - absences - lates // RULES.lates_per_absence

    def earned(self, taken: Taken, number: int, left_on: date | None) -> int:
        """What unit period `number` is worth to the provider from its attendance."""
        _n, first, last = self.periods[taken.run][number - 1]
        scheduled, attended = self.attendance_of(taken, first, last, left_on)
        gov = RUNS[taken.run].fee - taken.self_pay
        share = truncate(gov * scheduled // len(self.calendars[taken.run]))
        if not scheduled or Fraction(attended, scheduled) >= RATE:
            return share
        return truncate(share * attended // scheduled)

    def reaches(self, taken: Taken, left_on: date | None) -> bool:
        scheduled, attended = self.attendance_of(taken, date.min, date.max, left_on)
        return Fraction(attended, scheduled) >= RATE

    # -- helpers --

    def card(self, card_id: int) -> Card:
        return db.session.get(Card, card_id, populate_existing=True)

    def move_to(self, day: date) -> None:
        if day > self.today:
            self.now += timedelta(days=(day - self.today).days)
            self.today = day

    def pick(self, items, i):
        return items[i % len(items)]

    def choose(self, i: int, legal: bool, statuses: tuple[EnrolmentStatus, ...]) -> Taken:
        """Mostly an enrolment the operation applies to (when there is one), sometimes any enrolment."""
        candidates = [t for t in self.taken if t.status in statuses] if legal else []
        return self.pick(candidates or self.taken, i)

    def live(self, learner: Learner, index: int) -> bool:
        return any(t.learner is learner and t.run == index and t.status in LIVE for t in self.taken)

    def periods_settled(self, taken: Taken) -> dict[int, int]:
        rows = db.session.scalars(
            select(Settlement).where(Settlement.enrolment_id == taken.id, Settlement.period >= 1)
        ).all()
        return {row.period: row.amount for row in rows}

    def sanction_applies(self, taken: Taken, outcome: EnrolmentStatus, on: date, exempt: str | None) -> str | None:
        """The sanction the model expects for an ending, counting it when applied."""
        spec = RUNS[taken.run]
        if outcome.value not in RULES.sanctions[spec.track].outcomes:
            return None
        if outcome == S.DROPPED and spec.programme == "C0104" and (on - self.starts[taken.run]).days < 3:
            return "waived"  # KDT: leaving by day 3 of the first week
        if outcome == S.DROPPED and exempt:
            return "claimed"
        return "applied"

    def apply_sanction(self, taken: Taken, on: date, outcome: EnrolmentStatus) -> None:
        spec, learner = RUNS[taken.run], taken.learner
        learner.counted[spec.track] += 1
        penalty = RULES.sanctions[spec.track].penalty_for(learner.counted[spec.track])
        enrolment = enrolments.get(taken.id)
        assert enrolment.penalty == penalty.amount
        deduction = sum(self.periods_settled(taken).values()) if spec.programme == "C0104" else 0
        assert enrolment.deducted == (deduction if outcome == S.DROPPED else 0)
        if spec.programme == "C0104" and outcome == S.DROPPED:
            # no new KDT course until a card issued after the day the learner left
            learner.kdt_dropout |= taken.left_on >= self.card(learner.card_id).issued_on
        main = self.card(learner.card_id)
        if penalty.suspend_days and main.closed_on is None:
            assert main.suspended_until >= on + timedelta(days=penalty.suspend_days)
        taken.sanction = "applied"

    # -- cards --

    @rule(
        groups=st.sampled_from(GROUPS),
        limit=st.sampled_from([50_000, 900_000, 3_000_000]),
        valid_for=st.sampled_from([20, 90, 1500]),
        kdigital=st.booleans(),
    )
    def issue(self, groups, limit, valid_for, kdigital):
        """A new learner whose card (issued five years minus `valid_for` days ago) lapses `valid_for` days on."""
        issued = self.today - timedelta(days=5 * 365 + 1) + timedelta(days=valid_for)
        user = self.world.learner(limit=limit, groups=groups, on=issued)
        card = cards.open_card(user.person_id)
        kd = None
        if kdigital:
            kd = posted(cards.issue_card, user.person_id, kind=CardKind.KDIGITAL, today=self.today, actor=ACTOR).id
        self.learners.append(Learner(user.id, user.person_id, frozenset(groups), card.id, kd))
        assert cards.figures(card.id).issued == limit

    @precondition(lambda self: any(self.card(learner.card_id).closed_on for learner in self.learners))
    @rule(i=st.integers(0, 99))
    def renew(self, i):
        """A learner whose card lapsed is issued a new one: it pays what they owe and inherits a suspension."""
        learner = self.pick([x for x in self.learners if self.card(x.card_id).closed_on], i)
        owed = sanctions.owed(learner.person_id, "card")
        card = posted(cards.issue_card, learner.person_id, kind=CardKind.CARD, today=self.today, actor=ACTOR)
        learner.card_id, learner.topped, learner.kdt_dropout = card.id, False, False
        assert cards.figures(card.id).available == RULES.card_limit - min(owed, RULES.card_limit)

    @precondition(lambda self: self.learners)
    @rule(i=st.integers(0, 99), group=st.sampled_from(["basic_livelihood", "disabled", "kua_type1", "near_poor"]))
    def top_up(self, i, group):
        learner = self.pick(self.learners, i)
        card = self.card(learner.card_id)
        allowed = (
            card.status_on(self.today) == "active"
            and group in learner.groups
            and not learner.topped
            and card.limit_amount - cards.figures(card.id).used < RULES.top_up_when_below
        )
        if not allowed:
            with pytest.raises(errors.TopUpNotAllowed):
                posted(cards.top_up, card.id, group=group, today=self.today, actor=ACTOR)
            return
        assert posted(cards.top_up, card.id, group=group, today=self.today, actor=ACTOR) == RULES.top_ups[group]
        learner.topped = True

    @rule()
    def expire_cards(self):
        due = []
        for learner in self.learners:
            for card_id in filter(None, (learner.card_id, learner.kdigital_id)):
                card = self.card(card_id)
                if card.closed_on is None and card.expires_on < self.today and held(card_id) == 0:
                    due.append((card_id, available(card_id), cards.figures(card_id).expired))
        posted(cards.expire_cards, self.today)
        for card_id, rest, expired_before in due:
            assert self.card(card_id).closed_on == self.today
            f = cards.figures(card_id)
            assert (f.available, f.expired) == (0, expired_before + rest)

    # -- time --

    @rule(days=st.sampled_from([1, 2, 4, 8, 20]))
    def advance(self, days):
        self.move_to(self.today + timedelta(days=days))

    @rule(minutes=st.integers(1, 45))
    def expire_holds(self, minutes):
        """The worker's expiry job: held enrolments past their deadline expire, releasing hold and seat."""
        self.now += timedelta(minutes=minutes)
        while posted(enrolments.expire_due, self.now) == 200:
            pass
        for taken in self.taken:
            if taken.status == S.HELD and enrolments.get(taken.id).expires_at <= self.now:
                taken.status, taken.seat = S.EXPIRED, False

    @rule()
    def start(self):
        posted(enrolments.start_due, self.today)
        for taken in self.taken:
            if taken.status == S.CONFIRMED and self.starts[taken.run] <= self.today:
                taken.status = S.IN_TRAINING

    # -- enrolling and paying --

    def expected_refusal(self, learner: Learner, index: int, draw: int, account: str):
        if self.live(learner, index):  # "you already applied" comes first: it says more than any other refusal
            return errors.AlreadyEnrolled
        if self.today >= self.starts[index]:  # the default application window closes the day before the start
            return errors.EnrolmentClosed
        if sum(t.seat for t in self.taken if t.run == index) >= RUNS[index].capacity:
            return errors.RunFull  # a full run is reported before anything about the learner's cards
        main = self.card(learner.card_id)
        if main.closed_on is not None:
            return errors.NoCard
        paying = self.card(learner.kdigital_id) if account == "kdigital" and learner.kdigital_id else None
        if paying is not None and paying.closed_on is not None:
            paying = None
        for card in filter(None, (main, paying)):
            state = card.status_on(self.today)
            if state == "suspended":
                return errors.CardSuspended
            if state != "active":
                return errors.CardExpired
        if account == "kdigital" and paying is None:
            return errors.NoKDigitalAccount
        if RUNS[index].programme == "C0104" and learner.kdt_dropout:
            return errors.KdtAfterDropout
        if draw > available((paying or main).id):
            return errors.InsufficientBalance
        return None

    @precondition(lambda self: self.learners)
    @rule(i=st.integers(0, 99), index=st.integers(0, len(RUNS) - 1), pay=st.sampled_from([True, True, False]))
    def enrol(self, i, index, pay):
        learner = self.pick(self.learners, i)
        spec = RUNS[index]
        self_pay, draw, account = spec.price(exempt=bool(learner.groups & EXEMPT_GROUPS))
        refusal = self.expected_refusal(learner, index, draw, account)
        key = f"m-{next(self.keys)}"
        arguments = dict(request_key=key, now=self.now, today=self.today, actor=ACTOR)
        if refusal is not None:
            with pytest.raises(refusal):
                posted(enrolments.enrol, learner.user_id, self.run_ids[index], **arguments)
            return
        paying_id = learner.kdigital_id if account == "kdigital" else learner.card_id
        before = available(paying_id)
        enrolment = posted(enrolments.enrol, learner.user_id, self.run_ids[index], **arguments)
        assert (enrolment.status, enrolment.self_pay, enrolment.card_draw, enrolment.account) == (
            S.HELD,
            self_pay,
            draw,
            account,
        )
        assert enrolment.fee == self_pay + enrolment.government_share == spec.fee
        assert enrolment.training_days == len(self.calendars[index])
        assert available(paying_id) == before - draw
        again = posted(enrolments.enrol, learner.user_id, self.run_ids[index], **arguments)
        assert again.id == enrolment.id  # a retry makes nothing new
        self.taken.append(Taken(enrolment.id, learner, index, S.HELD, self_pay, draw, account, paying_id))
        if pay:
            self._pay(self.taken[-1])

    def _pay(self, taken: Taken) -> None:
        """Pay the co-payment; a card suspended or expired since the hold is never drawn: the payment is
        refunded and the enrolment rejected (with nothing to pay, confirming is refused outright)."""
        usable = not taken.draw or self.card(taken.card_id).status_on(self.today) == "active"
        if not usable and not taken.self_pay:
            with pytest.raises((errors.CardSuspended, errors.CardExpired)):
                posted(checkout.begin, enrolments.get(taken.id), actor=ACTOR, today=self.today)
            return
        with unit_of_work(write_lock=True):
            payment = checkout.begin(enrolments.get(taken.id), actor=ACTOR, today=self.today)
            payment_id = payment.id if payment else None
        if payment_id is not None:
            checkout.process(payment_id, actor=ACTOR, today=self.today)
        taken.status = S.CONFIRMED if usable else S.REJECTED
        taken.seat = taken.paid = usable

    @precondition(lambda self: self.taken)
    @rule(i=st.integers(0, 99), legal=LEGAL)
    def pay(self, i, legal):
        taken = self.choose(i, legal, (S.HELD,))
        if taken.status == S.HELD:
            self._pay(taken)
        elif taken.status in (S.CONFIRMED, S.IN_TRAINING, S.COMPLETED):
            posted(enrolments.confirm, taken.id, actor=ACTOR, on=self.today)  # a retry: nothing happens
        else:
            with pytest.raises(errors.IllegalTransition):
                posted(enrolments.confirm, taken.id, actor=ACTOR, on=self.today)

    # -- attendance and the worker's settlements --

    @precondition(lambda self: self.taken)
    @rule(
        i=st.integers(0, 99),
        legal=LEGAL,
        period=st.integers(1, 2),
        pattern=st.sampled_from(sorted(MARKS)),
        gaps=st.sampled_from([0, 0, 3, 7]),
    )
    def attend(self, i, legal, period, pattern, gaps):
        """The provider marks the scheduled days of a unit period that have come, leaving every `gaps`-th
        unmarked (0: none)."""
        taken = self.choose(i, legal, (S.CONFIRMED, S.IN_TRAINING))
        number, first, last = self.pick(self.periods[taken.run], period - 1)
        days = [day for day in self.calendars[taken.run] if first <= day <= min(last, self.today)]
        if gaps:
            days = [day for n, day in enumerate(days) if n % gaps]
        if not days:
            return
        marks = MARKS[pattern](len(days))
        if taken.status not in (S.CONFIRMED, S.IN_TRAINING) or number in self.periods_settled(taken):
            with pytest.raises(errors.AttendanceInvalid):
                posted(attendance.record, taken.id, days[0], marks[0], actor=ACTOR, today=self.today)
            return
        with unit_of_work(write_lock=True):
            for day, mark in zip(days, marks, strict=True):
                attendance.record(taken.id, day, mark, actor=ACTOR, today=self.today)
        taken.marks.update(zip(days, marks, strict=True))

    @rule()
    def settle_due(self):
        """The worker settles every ended unit period of enrolments in training (the invariant checks the sums)."""
        due = {
            (t.id, n)
            for t in self.taken
            if t.status == S.IN_TRAINING
            for n, _first, last in self.periods[t.run]
            if last < self.today and n not in self.periods_settled(t)
        }
        assert posted(attendance.settle_due, self.today) >= len(due)

    @rule()
    def complete_due(self):
        """The worker decides completion of every paid enrolment whose run ended: 수료 or 미수료."""
        due = [t for t in self.taken if t.status in (S.CONFIRMED, S.IN_TRAINING) and self.ends[t.run] < self.today]
        while posted(endings.complete_due, self.today) == 200:
            pass
        for taken in due:
            outcome = S.COMPLETED if self.reaches(taken, None) else S.INCOMPLETE
            taken.status = outcome
            if self.sanction_applies(taken, outcome, self.today, None) == "applied":
                self.apply_sanction(taken, self.today, outcome)

    # -- leaving -------------------------------------------------------------------------------------------------

    @precondition(lambda self: self.taken)
    @rule(
        i=st.integers(0, 99),
        legal=LEGAL,
        when=st.sampled_from(["before", "window", "after"]),
        late=st.integers(1, 30),
        exempt=st.sampled_from([None, None, "early_employment", "illness"]),
    )
    def cancel(self, i, legal, when, late, exempt):
        taken = self.choose(i, legal, (S.HELD, S.CONFIRMED, S.IN_TRAINING))
        start, deadline = self.starts[taken.run], self.deadlines[taken.run]
        self.move_to(
            {"before": start - timedelta(days=1), "window": deadline, "after": deadline + timedelta(days=late)}[when]
        )
        on = self.today
        if taken.status not in LIVE:
            with pytest.raises(errors.IllegalTransition):
                posted(checkout.cancel, taken.id, on=on, actor=ACTOR, exempt_reason=exempt)
            return
        paid = taken.status != S.HELD
        if paid and on > self.ends[taken.run]:
            with pytest.raises(errors.CourseEnded):
                posted(checkout.cancel, taken.id, on=on, actor=ACTOR, exempt_reason=exempt)
            return
        gov = RUNS[taken.run].fee - taken.self_pay
        settled_before = self.periods_settled(taken)
        preview = posted(checkout.cancel, taken.id, on=on, actor=ACTOR, exempt_reason=exempt)
        enrolment = enrolments.get(taken.id)
        if not paid:
            assert (preview.outcome, enrolment.card_returned, enrolment.self_pay_refunded) == (S.WITHDRAWN, 0, 0)
        elif on <= deadline:
            settled = sum(settled_before.values())
            assert (preview.outcome, preview.free) == (S.WITHDRAWN, True)
            assert (enrolment.card_returned, enrolment.self_pay_refunded) == (gov - settled, taken.self_pay)
        else:
            earned = sum(
                settled_before.get(n) if n in settled_before else self.earned(taken, n, on)
                for n, _first, _last in self.periods[taken.run]
            )
            total = len(self.calendars[taken.run])
            trained = sum(day < on for day in self.calendars[taken.run])
            completed = self.reaches(taken, on)
            refund = 0 if completed else truncate(taken.self_pay * (total - trained) // total)
            assert preview.outcome == (S.COMPLETED if completed else S.DROPPED)
            assert (preview.trained_days, preview.self_pay_refund, preview.card_return) == (
                trained,
                refund,
                gov - earned,
            )
            assert (enrolment.card_returned, enrolment.self_pay_refunded) == (gov - earned, refund)
            taken.left_on = on
            if not completed:
                taken.sanction = self.sanction_applies(taken, S.DROPPED, on, exempt)
                taken.reason = exempt if taken.sanction == "claimed" else None
                assert preview.sanction == taken.sanction
                if taken.sanction == "applied":
                    self.apply_sanction(taken, on, S.DROPPED)
        assert enrolment.status == preview.outcome
        taken.status = preview.outcome
        if not paid or on < start:
            taken.seat = False

    @precondition(lambda self: self.taken)
    @rule(i=st.integers(0, 99), legal=LEGAL, accept=st.booleans())
    def decide_reason(self, i, legal, accept):
        """The provider confirms or refuses the evidence of the reason a learner gave when leaving."""
        claimed = [t for t in self.taken if t.sanction == "claimed"] if legal else []
        taken = self.pick(claimed or self.taken, i)
        if taken.sanction != "claimed":
            with pytest.raises(errors.ReasonNotPending):
                posted(endings.decide_reason, taken.id, accept=accept, on=self.today, actor=ACTOR)
            return
        posted(endings.decide_reason, taken.id, accept=accept, on=self.today, actor=ACTOR, note="증빙 확인")
        if accept:
            taken.sanction = "waived"
            if taken.reason in RULES.completion_reasons:
                taken.status = S.COMPLETED
        else:
            self.apply_sanction(taken, self.today, S.DROPPED)

    # -- after every step --

    @invariant()
    def the_books_hold_together(self):
        report = ledger.verify()
        assert report.ok, report.problems
        verdict = audit.verify()
        assert verdict.ok, verdict.reason
        lowest = db.session.scalar(
            select(func.min(Account.balance)).where(
                Account.kind.in_([AccountKind.CARD_AVAILABLE.value, AccountKind.CARD_HELD.value])
            )
        )
        assert lowest is None or lowest >= 0
        for learner in self.learners:
            for card_id in filter(None, (learner.card_id, learner.kdigital_id)):
                f = cards.figures(card_id)
                assert f.balanced, f

    @invariant()
    def providers_are_paid_exactly_what_attendance_earned(self):
        db.session.expire_all()
        for taken in self.taken:
            settled = self.periods_settled(taken)
            for number, amount in settled.items():
                assert amount == self.earned(taken, number, taken.left_on), (taken, number)
            if taken.paid and taken.status in (S.WITHDRAWN, S.DROPPED, S.COMPLETED, S.INCOMPLETE):
                enrolment = enrolments.get(taken.id)
                final = db.session.scalar(
                    select(func.coalesce(func.sum(Settlement.amount), 0)).where(
                        Settlement.enrolment_id == taken.id, Settlement.period == 0
                    )
                )
                assert enrolment.card_returned + sum(settled.values()) == enrolment.government_share, taken
                assert enrolment.self_pay_refunded + final == enrolment.self_pay, taken
        for index in range(len(self.run_ids)):
            owed = sum(
                RUNS[index].fee - sum(self.periods_settled(t).values())
                for t in self.taken
                if t.run == index and t.status in (S.CONFIRMED, S.IN_TRAINING)
            )
            payable = ledger.find_account(AccountKind.PROVIDER_PAYABLE, "provider", self.providers[index])
            assert (ledger.balance(payable.id) if payable else 0) == owed
            paid_out = ledger.find_account(AccountKind.PROVIDER_SETTLED, "provider", self.providers[index])
            settled = db.session.scalar(
                select(func.coalesce(func.sum(Settlement.amount), 0)).where(
                    Settlement.enrolment_id.in_([t.id for t in self.taken if t.run == index])
                )
            )
            assert (ledger.balance(paid_out.id) if paid_out else 0) == settled

    @invariant()
    def sanctions_are_charged_in_full_and_debts_collected(self):
        for taken in self.taken:
            row = sanctions.of_enrolment(taken.id)
            assert (row.status if row else None) == taken.sanction, taken
            charged = db.session.scalar(
                select(func.coalesce(func.sum(Transfer.total), 0)).where(
                    Transfer.key.in_([f"enrolment:{taken.id}:penalty", f"enrolment:{taken.id}:deduction"])
                )
            )
            expected = row.penalty + row.deduction if row is not None and row.status == "applied" else 0
            assert charged == expected, (taken, row)
        for learner in self.learners:
            for track in ("card", "kdigital"):
                if sanctions.owed(learner.person_id, track):
                    card = cards.current_card(learner.person_id, track, self.today)
                    assert card is None or available(card.id) == 0, (learner, track)

    @invariant()
    def seats_statuses_and_holds_agree_with_the_model(self):
        rows = {
            e.id: e for e in db.session.scalars(select(Enrolment).where(Enrolment.id.in_([t.id for t in self.taken])))
        }
        for index, run_id in enumerate(self.run_ids):
            run = db.session.get(Run, run_id)
            assert run.local_enrolled == sum(t.seat for t in self.taken if t.run == index)
        for taken in self.taken:
            enrolment = rows[taken.id]
            assert enrolment.status == taken.status, (taken, enrolment.status)
            if enrolment.hold_id is not None:
                pending = ledger.hold_state(enrolment.hold_id) == ledger.PENDING
                assert pending == (taken.status == S.HELD)
        assert db.session.scalar(select(func.count()).select_from(Sanction)) >= sum(
            t.sanction is not None for t in self.taken
        )


def _run(world, **limits):
    CardMachine.world = world
    run_state_machine_as_test(
        CardMachine,
        settings=settings(
            deadline=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.function_scoped_fixture,
            ],
            **limits,
        ),
    )


@pytest.mark.long
def test_random_card_lives_keep_every_invariant(world):
    _run(world, max_examples=20, stateful_step_count=30)


@pytest.mark.long
@pytest.mark.both_dbs
def test_random_card_lives_keep_every_invariant_on_both_databases(request, db_backend):
    if db_backend == "sqlite":
        pytest.skip("the SQLite run is the test above, with more examples")
    _run(request.getfixturevalue("world"), max_examples=6, stateful_step_count=30)

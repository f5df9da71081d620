"""The enrolment lifecycle and the card's money through the services, to the won.

First the transition table itself (every status × every event), then each service: the learner's quote,
enrolling, holds and their expiry, cancellation windows, dropout penalties, attendance and settlement,
completion, top-ups, card expiry, one card / one application per person, eligibility.

Dates are fixed (the services take `today`/`on`/`now`), so the amounts do not depend on the day the suite
runs. A run made with `days=79` spans 80 calendar days and has 80 training days (the catalog factory's
`Run.days`), so one calendar day after the start is one trained day. Every money test ends with
`books_balance()`: each card's figures balance, the ledger verifies and the audit log verifies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from courses import pricing
from hrdnet import audit
from hrdnet.audit import AuditEntry
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.rules import copy_card_rules
from tests.support.vouchers import ACTOR, books_balance
from vouchers import checkout, errors
from vouchers.cards import operations as cards
from vouchers.cards import sanctions
from vouchers.cards.models import ApplicationStatus, CardKind
from vouchers.cards.quote import quote
from vouchers.enrolments import attendance, endings, states
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentEvent, EnrolmentStatus, Settlement
from vouchers.enrolments.states import EVENTS, TRANSITIONS
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, Transfer, TransferKind
from vouchers.payments.models import Payment

pytestmark = pytest.mark.both_dbs

S = EnrolmentStatus
D = date(2027, 3, 2)  # "today" when the learners enrol
START = date(2027, 4, 1)  # the runs' start date
NOW = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 KST on D


# -- helpers ------------------------------------------------------------------------------------------------


def card_of(user, kind: str = CardKind.CARD):
    return cards.open_card(user.person_id, kind)


def figures(user, kind: str = CardKind.CARD):
    return cards.figures(card_of(user, kind).id)


def provider_accounts(run) -> tuple[int, int]:
    """(payable, settled) balances of the run's provider."""
    provider_id = run.course.provider_id
    payable = ledger.find_account(AccountKind.PROVIDER_PAYABLE, "provider", provider_id)
    settled = ledger.find_account(AccountKind.PROVIDER_SETTLED, "provider", provider_id)
    return (ledger.balance(payable.id) if payable else 0, ledger.balance(settled.id) if settled else 0)


def transfer(key: str) -> Transfer | None:
    return db.session.scalar(select(Transfer).where(Transfer.key == key))


def local_enrolled(run) -> int:
    db.session.refresh(run)
    return run.local_enrolled


def cancel(enrolment, on: date, **kwargs):
    with unit_of_work(write_lock=True):
        return checkout.cancel(enrolment.id, on=on, actor=ACTOR, **kwargs)


def enrol_raw(user, run, *, today: date = D, key: str = "raw"):
    with unit_of_work(write_lock=True):
        return enrolments.enrol(user.id, run.id, request_key=key, now=NOW, today=today, actor=ACTOR)


def learner(world, **kwargs):
    return world.learner(on=kwargs.pop("on", D), **kwargs)


def run(world, **kwargs):
    return world.run(start=kwargs.pop("start", START), days=kwargs.pop("days", 79), **kwargs)


def enrol(world, user, a_run, **kwargs):
    return world.enrol(user, a_run, today=kwargs.pop("today", D), now=kwargs.pop("now", NOW), **kwargs)


def start_training(on: date = START) -> None:
    with unit_of_work(write_lock=True):
        enrolments.start_due(on)


def mark(enrolment, days, marks: dict[str, int]) -> None:
    """Record marks in order over `days` (each on its own day); days past the marks stay unmarked."""
    sequence = [m for m, n in marks.items() for _ in range(n)]
    assert len(sequence) <= len(days)
    with unit_of_work(write_lock=True):
        for day, m in zip(days, sequence, strict=False):
            attendance.record(enrolment.id, day, m, actor=ACTOR, today=day)


# -- the transition table ------------------------------------------------------------------------------------


def test_the_table_names_only_known_statuses_and_events():
    assert {status for status, _ in TRANSITIONS} | set(TRANSITIONS.values()) <= set(S)
    assert EVENTS == sorted(
        {"hold", "reject", "pay", "expire", "withdraw", "start", "drop", "complete", "fail", "employ"}
    )
    terminal = {S.COMPLETED, S.INCOMPLETE, S.WITHDRAWN, S.EXPIRED, S.REJECTED}
    assert not {status for status, _ in TRANSITIONS} & terminal  # nothing leaves a final status
    # a dropout leaves only to be counted completed once its 조기취업 evidence is confirmed
    assert [(status, event) for status, event in TRANSITIONS if status == S.DROPPED] == [(S.DROPPED, "employ")]


@pytest.mark.parametrize("event", [*EVENTS, "teleport"])
@pytest.mark.parametrize("status", list(S))
def test_every_status_and_event(world, status, event):
    user, a_run = learner(world, card=False), run(world)
    enrolment = Enrolment(
        run_id=a_run.id,
        user_id=user.id,
        person_id=user.person_id,
        request_key="table",
        status=status.value,
        fee=1_000_000,
        self_pay=150_000,
        government_share=850_000,
        card_draw=850_000,
        account="card",
        explanation="표",
        training_days=80,
    )
    db.session.add(enrolment)
    db.session.commit()
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    allowed = TRANSITIONS.get((status, event))
    if allowed is None:
        with pytest.raises(errors.IllegalTransition), unit_of_work(write_lock=True):
            states.apply_event(enrolment, event, reason="시험", actor=ACTOR)
        db.session.expire_all()
        assert db.session.get(Enrolment, enrolment.id).status == status.value
        assert db.session.scalar(select(func.count()).select_from(EnrolmentEvent)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
        return
    with unit_of_work(write_lock=True):
        assert states.apply_event(enrolment, event, reason="시험", actor=ACTOR) == allowed
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).status == allowed.value
    history = db.session.scalars(select(EnrolmentEvent)).all()
    assert [(h.enrolment_id, h.from_status, h.to_status, h.event, h.reason, h.actor) for h in history] == [
        (enrolment.id, status.value, allowed.value, event, "시험", ACTOR)
    ]
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        f"enrolment.{event}",
        "enrolment",
        str(enrolment.id),
    )
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before + 1
    assert audit.verify().ok


# -- the quote --------------------------------------------------------------------------------------------------


def test_the_quote_uses_the_exemption_in_effect_on_the_day(world):
    user, a_run = learner(world), run(world)
    with unit_of_work(write_lock=True):
        cards.record_status(
            user.person_id,
            employment_status="unemployed",
            groups={"kua_type1"},
            effective_from=D + timedelta(days=10),
            actor=ACTOR,
        )
    before = quote(a_run, user.person_id, D + timedelta(days=9))
    after = quote(a_run, user.person_id, D + timedelta(days=10))
    assert (before.self_pay, before.card_draw, before.balance_after) == (150_000, 850_000, 2_150_000)
    assert (after.self_pay, after.card_draw, after.balance_after) == (0, 1_000_000, 2_000_000)
    assert before.enrollable and after.enrollable
    enrolment = enrol(world, user, a_run, today=D + timedelta(days=10))  # priced on the day it is made
    assert (enrolment.status, enrolment.self_pay, enrolment.card_draw) == (S.CONFIRMED, 0, 1_000_000)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0  # nothing to collect
    f = figures(user)
    assert (f.available, f.held, f.spent) == (2_000_000, 0, 1_000_000)
    books_balance(card_of(user).id)


@pytest.mark.parametrize("group", ["kua_type1", "basic_livelihood"])
def test_exempt_groups_pay_no_self_pay(world, group):
    user, a_run = learner(world, groups=(group,)), run(world, fee=1_000_000)
    price = quote(a_run, user.person_id, D)
    assert (price.fee, price.self_pay, price.government_share, price.card_draw, price.account) == (
        1_000_000,
        0,
        1_000_000,
        1_000_000,
        "card",
    )
    assert "면제" in price.explanation
    enrol(world, user, a_run)
    assert provider_accounts(a_run) == (1_000_000, 0)
    books_balance(card_of(user).id)


def test_k_digital_credit_draws_its_own_account(world):
    user, a_run = learner(world, kdigital=True), run(world, programme="C0105", fee=450_000)
    price = quote(a_run, user.person_id, D)
    assert (price.self_pay, price.card_draw, price.account, price.available, price.balance_after) == (
        45_000,
        405_000,
        "kdigital",
        500_000,
        95_000,
    )
    assert price.card_id == card_of(user, CardKind.KDIGITAL).id
    enrolment = enrol(world, user, a_run)
    assert (enrolment.status, enrolment.card_id) == (S.CONFIRMED, card_of(user, CardKind.KDIGITAL).id)
    k = figures(user, CardKind.KDIGITAL)
    assert (k.issued, k.available, k.spent) == (500_000, 95_000, 405_000)
    assert figures(user).available == 3_000_000  # the card's base balance is not touched
    books_balance(card_of(user).id, card_of(user, CardKind.KDIGITAL).id)


def test_k_digital_course_without_the_account_is_refused(world):
    user, a_run = learner(world), run(world, programme="C0105", fee=450_000)
    price = quote(a_run, user.person_id, D)
    assert price.refusal.code == "no_kdigital_account" and price.available is None
    with pytest.raises(errors.NoKDigitalAccount):
        enrol_raw(user, a_run)
    assert local_enrolled(a_run) == 0


@pytest.mark.parametrize(
    ("fee", "self_pay"), [(2_000_000, 200_000), (3_000_000, 300_000), (3_500_000, 300_000), (7_000_000, 400_000)]
)
def test_kdt_is_paid_by_the_programme_budget_with_the_capped_self_pay(world, fee, self_pay):
    user, a_run = learner(world), run(world, programme="C0104", fee=fee)
    price = quote(a_run, user.person_id, D)
    assert (price.self_pay, price.government_share, price.card_draw, price.account, price.balance_after) == (
        self_pay,
        fee - self_pay,
        0,
        "none",
        3_000_000,
    )
    enrolment = enrol(world, user, a_run)
    assert enrolment.status == S.CONFIRMED and enrolment.hold_id is None
    fund = transfer(f"enrolment:{enrolment.id}:fund")
    assert (fund.kind, fund.total) == ("fund", fee - self_pay)
    assert transfer(f"enrolment:{enrolment.id}:copay").total == self_pay
    assert provider_accounts(a_run) == (fee, 0)
    budget = ledger.find_account(AccountKind.PROGRAMME_BUDGET, "programme", a_run.programme_id)
    assert ledger.balance(budget.id) == -(fee - self_pay)
    f = figures(user)
    assert (f.available, f.spent) == (3_000_000, 0)
    books_balance(card_of(user).id)


def test_a_balance_short_of_the_share_is_refused(world):
    user, a_run = learner(world, limit=500_000), run(world)
    price = quote(a_run, user.person_id, D)
    assert price.refusal.code == "insufficient_balance" and price.card_draw == 850_000
    with pytest.raises(errors.InsufficientBalance):
        enrol_raw(user, a_run)
    assert local_enrolled(a_run) == 0
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0
    assert figures(user).available == 500_000


def test_a_programme_may_move_the_shortfall_to_self_pay(world, tmp_path, monkeypatch):
    source = pricing.DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    old = 'shortfall = "refuse"      # card balance below the government share'
    assert source.count(old) == 1
    path = tmp_path / "pricing_rules.toml"
    path.write_text(source.replace(old, 'shortfall = "self_pay"  #'), encoding="utf-8")
    monkeypatch.setenv("PRICING_RULES_FILE", str(path))
    user, a_run = learner(world, limit=500_000), run(world)
    price = quote(a_run, user.person_id, D)
    assert price.enrollable
    assert (
        price.self_pay,
        price.government_share,
        price.card_draw,
        price.shortfall_to_self_pay,
        price.balance_after,
    ) == (500_000, 500_000, 500_000, 350_000, 0)
    assert "잔액 부족분 350,000원 본인 부담" in price.explanation
    enrolment = enrol(world, user, a_run)
    assert (enrolment.status, enrolment.self_pay, enrolment.card_draw) == (S.CONFIRMED, 500_000, 500_000)
    f = figures(user)
    assert (f.available, f.spent) == (0, 500_000)
    assert provider_accounts(a_run) == (1_000_000, 0)
    books_balance(card_of(user).id)


@pytest.mark.parametrize(
    ("setup", "code", "error"),
    [
        ("suspended", "card_suspended", errors.CardSuspended),
        ("expired", "card_expired", errors.CardExpired),
        ("started", "enrolment_closed", errors.EnrolmentClosed),
        ("cancelled_run", "enrolment_closed", errors.EnrolmentClosed),
        ("no_card", "no_card", errors.NoCard),
    ],
)
def test_refusals_are_quoted_and_enforced(world, setup, code, error):
    if setup == "expired":  # issued five years ago: its last day was yesterday
        user = learner(world, on=date(2022, 3, 2))
        assert card_of(user).expires_on == D - timedelta(days=1)
    else:
        user = learner(world, card=(setup != "no_card"))
    a_run = run(world, status="cancelled") if setup == "cancelled_run" else run(world)
    today = START + timedelta(days=1) if setup == "started" else D
    if setup == "suspended":
        with unit_of_work(write_lock=True):
            cards.suspend(card_of(user).id, until=D + timedelta(days=5), reason="시험", actor=ACTOR)
    price = quote(a_run, user.person_id, today)
    assert price.refusal is not None and price.refusal.code == code
    with pytest.raises(error):
        enrol_raw(user, a_run, today=today)
    assert local_enrolled(a_run) == 0
    if setup == "started":  # the default application window's last day is the day before the start
        assert quote(a_run, user.person_id, START - timedelta(days=1)).enrollable
        assert quote(a_run, user.person_id, START).refusal.code == "enrolment_closed"


def test_a_run_without_a_known_price_cannot_be_enrolled(world):
    user, a_run = learner(world), run(world, programme=None)
    assert quote(a_run, user.person_id, D) is None
    with pytest.raises(errors.PriceUnknown):
        enrol_raw(user, a_run)


def test_one_live_enrolment_per_person_and_run(world):
    user, a_run = learner(world), run(world)
    first = enrol_raw(user, a_run, key="a")
    again = enrol_raw(user, a_run, key="a")  # a retried request: the same enrolment, nothing more
    assert again.id == first.id
    with pytest.raises(errors.AlreadyEnrolled):
        enrol_raw(user, a_run, key="b")
    other = run(world)
    with pytest.raises(errors.DuplicateKeyConflict):
        enrol_raw(user, other, key="a")  # the same request key for another run
    assert local_enrolled(a_run) == 1
    f = figures(user)
    assert (f.available, f.held) == (2_150_000, 850_000)
    books_balance(card_of(user).id)


# -- holds ----------------------------------------------------------------------------------------------------


def test_an_unpaid_hold_expires_after_30_minutes_releasing_the_hold_and_the_seat(world):
    user, a_run = learner(world), run(world, capacity=1)
    enrolment = enrol(world, user, a_run, pay=False)
    assert enrolment.status == S.HELD and enrolment.expires_at == NOW + timedelta(minutes=30)
    assert local_enrolled(a_run) == 1 and figures(user).held == 850_000
    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(NOW + timedelta(minutes=29, seconds=59)) == 0
    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(NOW + timedelta(minutes=30)) == 1
    enrolment = enrolments.get(enrolment.id)
    assert enrolment.status == S.EXPIRED
    assert ledger.hold_state(enrolment.hold_id) == "released"
    assert transfer(f"enrolment:{enrolment.id}:release").total == 850_000
    assert local_enrolled(a_run) == 0
    f = figures(user)
    assert (f.available, f.held, f.spent) == (3_000_000, 0, 0)
    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(NOW + timedelta(hours=1)) == 0  # once
    with pytest.raises(errors.IllegalTransition), unit_of_work(write_lock=True):
        enrolments.confirm(enrolment.id, actor=ACTOR, on=D)
    second = learner(world)  # the seat is free again
    assert enrol(world, second, a_run).status == S.CONFIRMED
    books_balance(card_of(user).id, card_of(second).id)


def test_the_hold_time_is_configurable(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CARD_RULES_FILE", str(copy_card_rules(tmp_path, {"hold_minutes = 30": "hold_minutes = 5"})))
    enrolment = enrol(world, learner(world), run(world), pay=False)
    assert enrolment.expires_at == NOW + timedelta(minutes=5)


# -- cancellation --------------------------------------------------------------------------------------------


def test_cancelling_an_unpaid_enrolment_releases_the_hold_and_the_seat(world):
    user, a_run = learner(world), run(world)
    enrolment = enrol(world, user, a_run, pay=False)
    preview = cancel(enrolment, D)
    assert (preview.outcome, preview.free, preview.self_pay_refund, preview.card_return) == (S.WITHDRAWN, True, 0, 0)
    enrolment = enrolments.get(enrolment.id)
    assert enrolment.status == S.WITHDRAWN and ledger.hold_state(enrolment.hold_id) == "released"
    assert local_enrolled(a_run) == 0
    f = figures(user)
    assert (f.available, f.held, f.spent) == (3_000_000, 0, 0)
    books_balance(card_of(user).id)


@pytest.mark.parametrize(
    ("on", "seat_returned"),
    [
        (D, True),
        (START - timedelta(days=1), True),  # before the start date: the seat comes back
        (START, False),
        (START + timedelta(days=7), False),  # training began: the place stays used
    ],
)
def test_within_the_free_window_everything_comes_back(world, on, seat_returned):
    user, a_run = learner(world), run(world)  # 80 training days: free until 7 days after the start
    enrolment = enrol(world, user, a_run)
    preview = cancel(enrolment, on)
    assert (preview.outcome, preview.free, preview.deadline) == (S.WITHDRAWN, True, START + timedelta(days=7))
    assert (preview.self_pay_refund, preview.card_return, preview.provider_keeps, preview.penalty) == (
        150_000,
        850_000,
        0,
        0,
    )
    enrolment = enrolments.get(enrolment.id)
    assert (enrolment.status, enrolment.self_pay_refunded, enrolment.card_returned, enrolment.penalty) == (
        S.WITHDRAWN,
        150_000,
        850_000,
        0,
    )
    assert [e.event for e in enrolment.events][-1] == "withdraw"
    assert db.session.scalar(select(Payment.refunded).where(Payment.enrolment_id == enrolment.id)) == 150_000
    f = figures(user)
    assert (f.available, f.held, f.spent, f.penalties) == (3_000_000, 0, 0, 0)
    assert provider_accounts(a_run) == (0, 0)
    assert local_enrolled(a_run) == (0 if seat_returned else 1)
    books_balance(card_of(user).id)


def test_a_remote_course_is_free_to_leave_only_until_its_start_date(world):
    user, a_run = learner(world), run(world, mode="remote")
    first = enrol(world, user, a_run)
    assert cancel(first, START).free
    other, second_run = learner(world), run(world, mode="remote")
    second = enrol(world, other, second_run)
    preview = cancel(second, START + timedelta(days=1), exempt_reason="illness")
    assert (preview.free, preview.outcome, preview.trained_days) == (False, S.DROPPED, 1)


def test_after_the_window_the_provider_keeps_what_attendance_earned_and_self_pay_comes_back_pro_rata(world):
    user, a_run = learner(world), run(world)  # 80 training days, one a calendar day; unit period 1 has 30
    enrolment = enrol(world, user, a_run)
    start_training()
    mark(enrolment, [START + timedelta(days=n) for n in range(13)], {"present": 13})
    preview = cancel(enrolment, START + timedelta(days=13), exempt_reason="illness")
    # period 1's share: 850,000 × 30/80 = 318,750; 13 of its 30 days attended (the rest are absences once the
    # learner left): 318,750 × 13/30 = 138,125 → 138,120. Self-pay 150,000 × 67 days not reached/80 →
    # 125,620. 711,880 goes back to the card.
    assert (preview.outcome, preview.free, preview.trained_days, preview.training_days) == (S.DROPPED, False, 13, 80)
    assert (preview.attended_days, preview.sanction) == (13, "claimed")
    assert (preview.self_pay_refund, preview.card_return, preview.provider_keeps) == (125_620, 711_880, 162_500)
    enrolment = enrolments.get(enrolment.id)
    assert (enrolment.status, enrolment.exempt_reason, enrolment.self_pay_refunded, enrolment.card_returned) == (
        S.DROPPED,
        "illness",
        125_620,
        711_880,
    )
    assert (enrolment.left_on, enrolment.penalty) == (START + timedelta(days=13), 0)  # the penalty waits
    f = figures(user)
    assert (f.available, f.spent, f.penalties) == (3_000_000 - 138_120, 138_120, 0)
    assert provider_accounts(a_run) == (0, 162_500)
    rows = db.session.scalars(select(Settlement).where(Settlement.enrolment_id == enrolment.id)).all()
    assert sorted((row.period, row.amount) for row in rows) == [(0, 24_380), (1, 138_120)]
    assert transfer(f"enrolment:{enrolment.id}:settle:1").total == 138_120
    assert transfer(f"enrolment:{enrolment.id}:settle-final").total == 24_380
    assert local_enrolled(a_run) == 1
    assert card_of(user).suspended_until is None
    books_balance(card_of(user).id)


@pytest.mark.parametrize(
    ("trained", "refund"), [(13, 99_000), (26, 99_000), (27, 49_500), (52, 49_500), (53, 0), (63, 0)]
)
def test_a_step_refund_schedule_from_the_rule_file(world, tmp_path, monkeypatch, trained, refund):
    path = copy_card_rules(
        tmp_path,
        {
            "steps = []": "steps = [{ up_to_trained = 33, refund_percent = 66 }, "
            "{ up_to_trained = 66, refund_percent = 33 }]"
        },
    )
    monkeypatch.setenv("CARD_RULES_FILE", str(path))
    user, a_run = learner(world), run(world)
    enrolment = enrol(world, user, a_run)
    start_training()
    mark(enrolment, [START + timedelta(days=n) for n in range(trained)], {"present": trained})
    preview = cancel(enrolment, START + timedelta(days=trained), exempt_reason="illness")
    assert (preview.outcome, preview.trained_days, preview.self_pay_refund) == (S.DROPPED, trained, refund)
    assert provider_accounts(a_run) == (0, 850_000 - preview.card_return + 150_000 - refund)
    books_balance(card_of(user).id)


# -- dropout -------------------------------------------------------------------------------------------------


def test_dropouts_cost_200_000_then_500_000_and_1_000_000_with_60_day_suspensions(world):
    user = learner(world)
    runs = [run(world) for _ in range(3)]
    taken = [enrol(world, user, r) for r in runs]
    assert figures(user).available == 450_000
    start_training()
    on = START + timedelta(days=13)
    expected = [(200_000, 0, None), (500_000, 60, on + timedelta(days=60)), (1_000_000, 60, on + timedelta(days=60))]
    available = 450_000
    for enrolment, (penalty, suspend_days, until) in zip(taken, expected, strict=True):
        preview = cancel(enrolment, on)  # nothing attended: the whole share comes back
        assert (preview.outcome, preview.penalty, preview.suspend_days) == (S.DROPPED, penalty, suspend_days)
        assert enrolments.get(enrolment.id).penalty == penalty
        available += 850_000 - penalty
        assert figures(user).available == available
        card = card_of(user)
        db.session.refresh(card)
        assert card.suspended_until == until
    assert available == 1_300_000
    assert sanctions.counted(user.person_id, "card") == 3
    f = figures(user)
    assert (f.penalties, f.spent) == (1_700_000, 1_700_000)
    card = card_of(user)
    assert card.status_on(on + timedelta(days=60)) == "suspended"
    assert card.status_on(on + timedelta(days=61)) == "active"
    later = run(world, start=on + timedelta(days=100))
    assert quote(later, user.person_id, on + timedelta(days=60)).refusal.code == "card_suspended"
    assert quote(later, user.person_id, on + timedelta(days=61)).enrollable
    books_balance(card.id)


def test_an_exempt_reason_waits_for_its_evidence_and_does_not_count_meanwhile(world):
    user = learner(world)
    first, second = run(world), run(world)
    exempt, counted = enrol(world, user, first), enrol(world, user, second)
    start_training()
    on = START + timedelta(days=13)
    preview = cancel(exempt, on, exempt_reason="illness")
    assert (preview.outcome, preview.sanction, preview.penalty) == (S.DROPPED, "claimed", 200_000)
    assert (enrolments.get(exempt.id).exempt_reason, enrolments.get(exempt.id).penalty) == ("illness", 0)
    assert sanctions.counted(user.person_id, "card") == 0
    assert cancel(counted, on).penalty == 200_000  # the next one is the first that counts
    with unit_of_work(write_lock=True):  # then the evidence of the first is refused: it is the second now
        endings.decide_reason(exempt.id, accept=False, on=on + timedelta(days=3), actor=ACTOR, note="증빙 없음")
    assert enrolments.get(exempt.id).penalty == 500_000
    card = card_of(user)
    db.session.refresh(card)
    assert card.suspended_until == on + timedelta(days=63)  # from the day the sanction took effect
    f = figures(user)
    assert (f.available, f.penalties) == (3_000_000 - 700_000, 700_000)
    books_balance(card_of(user).id)


def test_an_unknown_exempt_reason_is_refused(world):
    user, a_run = learner(world), run(world)
    enrolment = enrol(world, user, a_run)
    with pytest.raises(errors.UnknownExemptReason):
        cancel(enrolment, START + timedelta(days=13), exempt_reason="bored")
    assert enrolments.get(enrolment.id).status == S.CONFIRMED


def test_a_penalty_larger_than_the_balance_takes_what_is_there_and_the_rest_is_owed(world):
    user, a_run = learner(world, limit=120_000), run(world, programme="C0054", fee=2_000_000)  # the budget pays
    enrolment = enrol(world, user, a_run)
    start_training()
    preview = cancel(enrolment, START + timedelta(days=13))
    assert preview.penalty == 200_000
    assert enrolments.get(enrolment.id).penalty == 200_000  # the whole sanction, taken and owed
    f = figures(user)
    assert (f.available, f.penalties) == (0, 120_000)
    assert sanctions.owed(user.person_id, "card") == 80_000
    penalty = transfer(f"enrolment:{enrolment.id}:penalty")
    assert penalty.total == 200_000 and "미회수 80,000원" in penalty.memo
    books_balance(card_of(user).id)


def test_a_kdt_dropout_deducts_the_days_attendance_earned_from_the_card(world):
    user, a_run = learner(world), run(world, programme="C0104", fee=2_000_000)
    enrolment = enrol(world, user, a_run)
    start_training()
    mark(enrolment, [START + timedelta(days=n) for n in range(13)], {"present": 13})
    preview = cancel(enrolment, START + timedelta(days=13))
    # government share 1,800,000: period 1 (30 of 80 days) is worth 675,000, 13 of its 30 days attended:
    # 292,500 earned, deducted from the card; self-pay 200,000 × 67/80 back
    assert (preview.deduction, preview.penalty, preview.card_return, preview.self_pay_refund) == (
        292_500,
        200_000,
        1_507_500,
        167_500,
    )
    deduction = transfer(f"enrolment:{enrolment.id}:deduction")
    assert (deduction.kind, deduction.total) == (TransferKind.DEDUCTION, 292_500)
    assert transfer(f"enrolment:{enrolment.id}:penalty").total == 200_000
    enrolment = enrolments.get(enrolment.id)
    assert (enrolment.penalty, enrolment.deducted) == (200_000, 292_500)
    f = figures(user)
    assert (f.available, f.penalties, f.deducted, f.spent) == (2_507_500, 200_000, 292_500, 492_500)
    budget = ledger.find_account(AccountKind.PROGRAMME_BUDGET, "programme", a_run.programme_id)
    assert ledger.balance(budget.id) == 0  # the budget paid the days trained; the card paid it back
    assert provider_accounts(a_run) == (0, 292_500 + 32_500)
    books_balance(card_of(user).id)


def test_a_zero_penalty_row_still_suspends(world, tmp_path, monkeypatch):
    path = copy_card_rules(
        tmp_path,
        {
            "[[dropout.card.penalties]]\namount = 200_000\nsuspend_days = 0": (
                "[[dropout.card.penalties]]\namount = 0\nsuspend_days = 30"
            )
        },
    )
    monkeypatch.setenv("CARD_RULES_FILE", str(path))
    user, a_run = learner(world), run(world)
    enrolment = enrol(world, user, a_run)
    on = START + timedelta(days=13)
    assert cancel(enrolment, on).suspend_days == 30
    card = card_of(user)
    db.session.refresh(card)
    assert card.suspended_until == on + timedelta(days=30)


def test_a_free_academy_dropout_deducts_nothing_from_the_card(world):
    user, a_run = learner(world), run(world, programme="MSIT-SWA", fee=1_000_000)
    enrolment = enrol(world, user, a_run)
    start_training()
    mark(enrolment, [START + timedelta(days=n) for n in range(13)], {"present": 13})
    preview = cancel(enrolment, START + timedelta(days=13), exempt_reason="illness")
    assert preview.deduction == 0
    assert figures(user).available == 3_000_000


# -- attendance, settlement, completion ------------------------------------------------------------------------
# A run of 60 calendar days from 1 April, each a training day (the feed's 80 days cannot fit: every day is
# scheduled): unit periods 1–30 April and 1–30 May (30 days each). Fee 1,200,000 at a 65 % employment rate:
# self-pay 25 % = 300,000, government share 900,000, 450,000 per period.

P1 = [START + timedelta(days=n) for n in range(30)]
P2 = [START + timedelta(days=30 + n) for n in range(30)]
END = START + timedelta(days=59)


def trained_enrolment(world, **kwargs):
    user = learner(world)
    a_run = run(world, days=59, fee=1_200_000, employment_rate_3m=65.0, **kwargs)
    enrolment = enrol(world, user, a_run)
    assert (enrolment.self_pay, enrolment.government_share) == (300_000, 900_000)
    start_training()
    return user, a_run, enrolment


def settle(enrolment, period: int):
    with unit_of_work(write_lock=True):
        return attendance.settle_period(enrolment.id, period, actor=ACTOR)


def complete(enrolment, on: date):
    with unit_of_work(write_lock=True):
        return endings.decide_completion(enrolment.id, on=on, actor=ACTOR)


def test_the_unit_periods_are_months_from_the_start(world):
    _user, a_run, _enrolment = trained_enrolment(world)
    assert [(p.number, p.first, p.last) for p in attendance.periods(a_run)] == [(1, P1[0], P1[-1]), (2, P2[0], P2[-1])]


def test_three_lates_or_early_leaves_make_one_absence(world):
    _user, a_run, enrolment = trained_enrolment(world)
    mark(enrolment, P1, {"present": 20, "late": 4, "early_leave": 2, "absent": 4})
    seen = attendance.attendance_between(enrolment, a_run, P1[0], P1[-1])
    assert (seen.scheduled, seen.present, seen.late, seen.early_leave, seen.absent, seen.absences) == (
        30,
        20,
        4,
        2,
        4,
        6,
    )
    assert seen.rate == Fraction(4, 5)


@pytest.mark.parametrize(
    ("marks", "amount"),
    [
        ({"present": 30}, 450_000),
        ({"present": 27, "late": 3}, 450_000),  # 1 absence
        ({"present": 20, "late": 4, "early_leave": 2, "absent": 4}, 450_000),  # exactly 80 %: the full share
        ({"present": 21, "absent": 9}, 315_000),  # 70 %: pro rata
        ({"present": 20, "absent": 9}, 300_000),  # the 30th day has no mark: an absence, 20/30
        ({"present": 18, "late": 2, "absent": 10}, 300_000),  # 2 lates are not an absence yet: 20/30
        ({"present": 1}, 15_000),  # one day marked, 29 unmarked: one day's worth, not the whole period
    ],
)
def test_a_unit_period_pays_its_share_in_full_at_80_percent_else_pro_rata(world, marks, amount):
    user, a_run, enrolment = trained_enrolment(world)
    mark(enrolment, P1, marks)
    row = settle(enrolment, 1)
    assert (row.period, row.period_start, row.period_end, row.amount) == (1, P1[0], P1[-1], amount)
    assert transfer(f"enrolment:{enrolment.id}:settle:1").total == amount
    assert provider_accounts(a_run) == (1_200_000 - amount, amount)
    books_balance(card_of(user).id)


def test_a_pro_rata_settlement_is_exact_integer_arithmetic(world):
    _user, _run, enrolment = trained_enrolment(world)
    mark(enrolment, P1, {"present": 13, "absent": 11})  # and 6 days without a mark
    assert settle(enrolment, 1).amount == 195_000  # 450,000 × 13/30, no floating point


def test_settling_a_period_twice_pays_once(world):
    user, a_run, enrolment = trained_enrolment(world)
    mark(enrolment, P1, {"present": 30})
    first, again = settle(enrolment, 1), settle(enrolment, 1)
    assert first.id == again.id
    assert db.session.scalar(select(func.count()).select_from(Settlement)) == 1
    assert provider_accounts(a_run) == (750_000, 450_000)
    with pytest.raises(errors.AttendanceInvalid), unit_of_work(write_lock=True):
        attendance.record(enrolment.id, P1[3], "absent", actor=ACTOR, today=P2[0])  # a settled period is closed
    with pytest.raises(errors.AttendanceInvalid):
        settle(enrolment, 3)  # no such period
    books_balance(card_of(user).id)


def test_settle_due_pays_only_periods_that_ended(world):
    user, a_run, enrolment = trained_enrolment(world)
    mark(enrolment, P1 + P2, {"present": 60})
    with unit_of_work(write_lock=True):
        assert attendance.settle_due(P1[-1]) == 0  # the period's last day is not over yet
    with unit_of_work(write_lock=True):
        assert attendance.settle_due(P2[0]) == 1
    with unit_of_work(write_lock=True):
        assert attendance.settle_due(P2[0]) == 0  # idempotent
    assert provider_accounts(a_run) == (750_000, 450_000)
    books_balance(card_of(user).id)


def test_completion_settles_the_rest_and_returns_the_unpaid_share_to_the_card(world):
    user, a_run, enrolment = trained_enrolment(world)
    mark(enrolment, P1, {"present": 30})
    mark(enrolment, P2, {"present": 21, "absent": 9})  # overall 51/60 = 85 %
    with pytest.raises(errors.IllegalTransition):
        complete(enrolment, END)  # not before the run ended
    complete(enrolment, END + timedelta(days=1))
    enrolment = enrolments.get(enrolment.id)
    assert (enrolment.status, enrolment.completion_kind) == (S.COMPLETED, "normal")
    # periods: 450,000 + 315,000; the 135,000 not earned goes back to the card; the self-pay to the provider
    assert enrolment.card_returned == 135_000
    assert transfer(f"enrolment:{enrolment.id}:return").total == 135_000
    assert provider_accounts(a_run) == (0, 450_000 + 315_000 + 300_000)
    f = figures(user)
    assert (f.available, f.spent) == (3_000_000 - 765_000, 765_000)
    with pytest.raises(errors.IllegalTransition):
        complete(enrolment, END + timedelta(days=2))
    books_balance(card_of(user).id)


@pytest.mark.parametrize(("marks", "earned"), [({"present": 47, "absent": 13}, 450_000 + 255_000), ({}, 0)])
def test_below_80_percent_the_run_ends_incomplete_and_pays_only_what_was_earned(world, marks, earned):
    user, a_run, enrolment = trained_enrolment(world)
    mark(enrolment, P1 + P2, marks)  # 47/60 = 78 %; or nothing recorded
    complete(enrolment, END + timedelta(days=1))
    enrolment = enrolments.get(enrolment.id)
    # 미수료 counts like a dropout on the card's schedule (card_rules.toml, dropout.card.outcomes)
    assert (enrolment.status, enrolment.completion_kind, enrolment.penalty) == (S.INCOMPLETE, None, 200_000)
    assert enrolment.card_returned == 900_000 - earned
    assert provider_accounts(a_run) == (0, earned + 300_000)
    books_balance(card_of(user).id)


def test_attendance_is_refused_outside_the_run_or_for_unpaid_enrolments(world):
    user, a_run = learner(world), run(world, days=59)
    held = enrol(world, user, a_run, pay=False)
    with pytest.raises(errors.AttendanceInvalid), unit_of_work(write_lock=True):
        attendance.record(held.id, START, "present", actor=ACTOR, today=START)
    _user, _run, enrolment = trained_enrolment(world)
    for day, m in ((START - timedelta(days=1), "present"), (END + timedelta(days=1), "present"), (START, "asleep")):
        with pytest.raises(errors.AttendanceInvalid), unit_of_work(write_lock=True):
            attendance.record(enrolment.id, day, m, actor=ACTOR, today=END + timedelta(days=1))


# -- top-ups -----------------------------------------------------------------------------------------------------


def top_up(user, group: str, today: date = D):
    with unit_of_work(write_lock=True):
        return cards.top_up(card_of(user).id, group=group, today=today, actor=ACTOR)


def test_a_vulnerable_learner_is_topped_up_once_when_the_base_is_used(world):
    user = learner(world, limit=1_000_000, groups=("disabled",))
    with pytest.raises(errors.TopUpNotAllowed):
        top_up(user, "disabled")  # 1,000,000 left: not used yet
    enrol(world, user, run(world, fee=1_100_000))  # draws 935,000 → 65,000 left
    assert figures(user).available == 65_000
    assert top_up(user, "disabled") == 2_000_000  # 장애인: the +200만원 group (card_rules.toml [top_up])
    assert transfer(f"card:{card_of(user).id}:top-up").total == 2_000_000
    enrol(world, user, run(world, fee=1_200_000))  # draws 1,020,000 → 1,045,000 left
    assert figures(user).available == 1_045_000
    with pytest.raises(errors.TopUpNotAllowed):
        top_up(user, "disabled")  # once per card
    f = figures(user)
    assert (f.issued, f.top_ups, f.available, f.spent) == (1_000_000, 2_000_000, 1_045_000, 1_955_000)
    books_balance(card_of(user).id)


@pytest.mark.parametrize(
    ("groups", "asked"),
    [((), "disabled"), (("disabled",), "near_poor"), (("kua_type1",), "nobody"), (("kua_type1",), "kua_type1")],
)
def test_a_top_up_for_a_group_the_learner_is_not_in_is_refused(world, groups, asked):
    user = learner(world, limit=50_000, groups=groups)
    if asked == "kua_type1":  # in the group, but the card is suspended
        with unit_of_work(write_lock=True):
            cards.suspend(card_of(user).id, until=D, reason="시험", actor=ACTOR)
    with pytest.raises(errors.TopUpNotAllowed):
        top_up(user, asked)
    assert figures(user).top_ups == 0


def test_the_top_up_amount_follows_the_group(world):
    user = learner(world, limit=50_000, groups=("basic_livelihood",))
    assert top_up(user, "basic_livelihood") == 2_000_000
    assert figures(user).available == 2_050_000
    books_balance(card_of(user).id)


# -- expiry ----------------------------------------------------------------------------------------------------


def test_expired_cards_lapse_their_rest_but_wait_for_pending_holds(world):
    issued = date(2022, 4, 1)  # valid through 2027-03-31
    spent, holding = learner(world, on=issued), learner(world, on=issued)
    assert card_of(spent).expires_on == date(2027, 3, 31)
    enrol(world, spent, run(world))  # 850,000 spent
    held = enrol(world, holding, run(world), pay=False)  # 850,000 held
    with unit_of_work(write_lock=True):
        assert cards.expire_cards(date(2027, 3, 31)) == 0  # its last day
    spent_card, holding_card = card_of(spent), card_of(holding)
    with unit_of_work(write_lock=True):
        assert cards.expire_cards(date(2027, 4, 1)) == 1
    f = cards.figures(spent_card.id)
    assert (f.available, f.expired, f.spent) == (0, 2_150_000, 850_000)
    db.session.refresh(spent_card)
    assert spent_card.closed_on == date(2027, 4, 1) and card_of(spent) is None
    assert card_of(holding).id == holding_card.id  # still open: money held for an enrolment
    with unit_of_work(write_lock=True):
        enrolments.expire_due(NOW + timedelta(minutes=30))
    with unit_of_work(write_lock=True):
        assert cards.expire_cards(date(2027, 4, 1)) == 1
    g = cards.figures(holding_card.id)
    assert (g.available, g.held, g.expired) == (0, 0, 3_000_000)
    assert enrolments.get(held.id).status == S.EXPIRED
    with unit_of_work(write_lock=True):  # a person whose card lapsed may be issued a new one
        renewed = cards.issue_card(spent.person_id, kind=CardKind.CARD, today=date(2027, 4, 2), actor=ACTOR)
    assert cards.figures(renewed.id).available == 3_000_000
    books_balance(spent_card.id, holding_card.id, renewed.id)


def test_a_refund_to_an_expired_card_lapses_too(world):
    user = learner(world, on=date(2022, 4, 1))  # valid through 2027-03-31
    enrolment = enrol(world, user, run(world))
    card = card_of(user)
    with unit_of_work(write_lock=True):
        cards.expire_cards(date(2027, 4, 1))
    cancel(enrolment, START + timedelta(days=3))  # free window: 850,000 back
    f = cards.figures(card.id)
    assert f.available == 0 and f.expired == 3_000_000


# -- one card, one application, eligibility ------------------------------------------------------------------------


def apply(user, today: date = D, excluded: set[str] | None = None):
    with unit_of_work(write_lock=True):
        return cards.apply_for_card(
            user.id, employment_status="unemployed", groups=set(), excluded=excluded or set(), today=today, actor=ACTOR
        )


def test_one_open_card_of_each_kind_per_person(world):
    user = learner(world)
    with pytest.raises(errors.CardExists), unit_of_work(write_lock=True):
        cards.issue_card(user.person_id, kind=CardKind.CARD, today=D, actor=ACTOR)
    with unit_of_work(write_lock=True):  # the other kind is a separate account
        cards.issue_card(user.person_id, kind=CardKind.KDIGITAL, today=D, actor=ACTOR)
    with pytest.raises(errors.CardExists), unit_of_work(write_lock=True):
        cards.issue_card(user.person_id, kind=CardKind.KDIGITAL, today=D, actor=ACTOR)
    with pytest.raises(errors.CardExists):
        apply(user)
    assert figures(user, CardKind.KDIGITAL).available == 500_000
    books_balance(card_of(user).id, card_of(user, CardKind.KDIGITAL).id)


def test_one_pending_application_per_person_then_approval_issues_the_card(world):
    user = learner(world, card=False)
    application = apply(user)
    with pytest.raises(errors.ApplicationPending):
        apply(user)
    with unit_of_work(write_lock=True):
        decided = cards.decide_application(application.id, approve=True, actor="admin", today=D)
    assert decided.status == ApplicationStatus.APPROVED and decided.card_id == card_of(user).id
    with pytest.raises(errors.CardExists):
        apply(user)
    with pytest.raises(errors.ApplicationDecided), unit_of_work(write_lock=True):
        cards.decide_application(application.id, approve=False, actor="admin", today=D)
    f = figures(user)
    assert (f.issued, f.available) == (3_000_000, 3_000_000)
    books_balance(card_of(user).id)


@pytest.mark.parametrize(
    ("birth", "excluded", "eligible"),
    [
        (date(2012, 3, 3), set(), False),  # 14 on D
        (date(2012, 3, 2), set(), True),  # 15 on D, the birthday
        (date(1952, 3, 2), set(), False),  # 75 on D
        (date(1952, 3, 3), set(), True),  # 74 until tomorrow
        (date(1990, 5, 17), {"public_servant"}, False),
        (date(1990, 5, 17), {"private_school_staff", "something_else"}, False),
        (date(1990, 5, 17), {"something_else"}, True),  # an unknown declaration excludes nobody
    ],
)
def test_eligibility_by_age_and_excluded_groups(world, birth, excluded, eligible):
    user = learner(world, card=False, birth_date=birth)
    if eligible:
        assert apply(user, excluded=excluded).status == ApplicationStatus.SUBMITTED
    else:
        with pytest.raises(errors.NotEligible):
            apply(user, excluded=excluded)
        assert cards.open_card(user.person_id) is None

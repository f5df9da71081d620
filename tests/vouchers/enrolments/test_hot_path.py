"""The enrolment hot path (vouchers.enrolments.hot_path, issue 14 point 2): the price computed before the
transaction is re-checked under the card's lock, a repeated request is answered by ON CONFLICT DO NOTHING,
and it writes the same rows as the services."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hrdnet.audit import AuditEntry
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.support.vouchers import ACTOR
from vouchers import checkout, errors
from vouchers.enrolments import hot_path
from vouchers.enrolments.models import Enrolment, EnrolmentEvent, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Transfer

pytestmark = pytest.mark.both_dbs


def spend_after_planning(monkeypatch, spend):
    """Make the test's first plan() run `spend()` right after it priced the enrolment: a write that lands
    between the quote (made without locks) and the card's lock, as a concurrent request's would. Returns the
    request keys plan() was called with, in order."""
    real, keys = hot_path.plan, []

    def plan(*args, **kwargs):
        keys.append(kwargs["request_key"])
        planned = real(*args, **kwargs)
        if len(keys) == 1:
            db.session.rollback()
            spend()
        return planned

    monkeypatch.setattr(hot_path, "plan", plan)
    return keys


def test_a_price_the_card_can_no_longer_pay_under_the_lock_is_refused(world, monkeypatch):
    learner = world.learner()  # 3,000,000 available
    big, wanted = world.run(fee=3_000_000), world.run(fee=1_000_000)  # card draws 2,550,000 and 850,000
    keys = spend_after_planning(monkeypatch, lambda: world.enrol(learner, big, key="big"))

    with pytest.raises(errors.InsufficientBalance):
        checkout.enrol(learner.id, wanted.id, request_key="wanted-1", now=utcnow(), today=world.today, actor=ACTOR)

    # planned at 3,000,000 available, re-checked under the lock (450,000 left), planned again: refused
    assert keys == ["wanted-1", "big", "wanted-1"]
    assert db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.run_id == wanted.id)) == 0
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (450_000, 0, 2_550_000) and figures.balanced
    assert db.session.get(type(wanted), wanted.id, populate_existing=True).local_enrolled == 0  # no seat kept
    assert ledger.verify().ok


def test_a_price_that_still_holds_under_the_lock_is_written_once(world, monkeypatch):
    learner = world.learner()
    other, wanted = world.run(fee=1_000_000), world.run(fee=1_000_000)
    keys = spend_after_planning(monkeypatch, lambda: world.enrol(learner, other, key="other"))

    enrolment = checkout.enrol(learner.id, wanted.id, request_key="w-1", now=utcnow(), today=world.today, actor=ACTOR)

    assert keys == ["w-1", "other"]  # 2,150,000 left still pays 850,000: the plan stood
    assert enrolment.status == EnrolmentStatus.CONFIRMED and enrolment.card_draw == 850_000
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (1_300_000, 0, 1_700_000) and figures.balanced


def test_the_same_request_arriving_after_the_plan_is_answered_by_the_first(world, monkeypatch):
    """A double click: the second request planned before the first wrote, so its INSERT … ON CONFLICT DO
    NOTHING returns nothing, its seat is given back, and it answers with the first enrolment."""
    learner = world.learner()
    run = world.run(fee=1_000_000)
    first: list[Enrolment] = []
    spend_after_planning(monkeypatch, lambda: first.append(world.enrol(learner, run, key="double-click")))

    again = checkout.enrol(learner.id, run.id, request_key="double-click", now=utcnow(), today=world.today, actor=ACTOR)

    assert again.id == first[0].id and again.status == EnrolmentStatus.CONFIRMED
    assert db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.run_id == run.id)) == 1
    assert db.session.get(type(run), run.id, populate_existing=True).local_enrolled == 1
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (2_150_000, 0, 850_000) and figures.balanced


def test_another_live_enrolment_arriving_after_the_plan_is_refused(world, monkeypatch):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    spend_after_planning(monkeypatch, lambda: world.enrol(learner, run, key="first-tab"))

    with pytest.raises(errors.AlreadyEnrolled):
        checkout.enrol(learner.id, run.id, request_key="second-tab", now=utcnow(), today=world.today, actor=ACTOR)
    assert db.session.get(type(run), run.id, populate_existing=True).local_enrolled == 1
    assert ledger.verify().ok


def test_it_writes_what_the_services_write(world):
    """Hold, capture and co-payment transfers keyed by the enrolment, the two history lines, and one audit
    entry per transfer and per step, as enrolments.enrol and enrolments.confirm write them."""
    learner = world.learner()
    run = world.run(fee=1_000_000)
    before = db.session.scalar(select(func.max(AuditEntry.id)))
    enrolment = world.enrol(learner, run)

    keys = dict(
        db.session.execute(
            select(Transfer.key, Transfer.kind).where(Transfer.key.like(f"enrolment:{enrolment.id}:%"))
        ).all()
    )
    assert keys == {
        f"enrolment:{enrolment.id}:hold": "hold",
        f"enrolment:{enrolment.id}:capture": "capture",
        f"enrolment:{enrolment.id}:copay": "copay",
    }
    steps = db.session.execute(
        select(EnrolmentEvent.from_status, EnrolmentEvent.to_status, EnrolmentEvent.event, EnrolmentEvent.reason)
        .where(EnrolmentEvent.enrolment_id == enrolment.id)
        .order_by(EnrolmentEvent.id)
    ).all()
    assert [tuple(step) for step in steps] == [
        ("applied", "held", "hold", "자비부담 150,000원, 카드 사용 850,000원"),
        ("held", "confirmed", "pay", "자비부담금 결제 완료"),
    ]
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.id > before).order_by(AuditEntry.id))
    assert sorted(actions) == sorted(
        ["ledger.transfer", "enrolment.hold", "ledger.transfer", "ledger.transfer", "enrolment.pay"]
    )
    assert enrolment.hold_id is not None and enrolment.expires_at is None

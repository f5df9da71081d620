"""`hrdnet cards issue`, `hrdnet attendance …`, `hrdnet enrolments complete`: the commands in interfaces.md."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hrdnet.auth import services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today
from tests.conftest import PASSWORD
from tests.support.vouchers import ACTOR
from vouchers.cards import operations as cards
from vouchers.cards.models import ApplicationStatus, CardApplication
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import EnrolmentStatus

pytestmark = pytest.mark.both_dbs


def create_learner(runner, email="cli-learner@example.com"):
    result = runner.invoke(
        args=["users", "create", email, "--role", "learner", "--password-stdin"], input=f"{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    return services.find_user_by_email(email)


def test_cards_issue_prints_the_card_id_of_a_funded_card(runner):
    learner = create_learner(runner)
    result = runner.invoke(args=["cards", "issue", learner.email])
    assert result.exit_code == 0, result.output
    card = cards.get_card(int(result.output.strip()))
    assert card.kind == "card" and card.expires_on == kst_today().replace(year=kst_today().year + 5) - timedelta(1)
    assert cards.figures(card.id).available == 3_000_000


def test_cards_issue_with_limit_validity_and_the_k_digital_account(runner):
    learner = create_learner(runner)
    card_id = int(
        runner.invoke(args=["cards", "issue", learner.email, "--limit", "1200000", "--valid-years", "2"]).output.strip()
    )
    credit_id = int(runner.invoke(args=["cards", "issue", learner.email, "--account", "kdigital"]).output.strip())
    assert cards.figures(card_id).available == 1_200_000
    credit = cards.get_card(credit_id)
    assert credit.kind == "kdigital" and cards.figures(credit_id).available == 500_000
    assert credit.person_id == cards.get_card(card_id).person_id  # one person, two accounts


def test_a_second_card_for_the_same_person_is_refused(runner):
    learner = create_learner(runner)
    assert runner.invoke(args=["cards", "issue", learner.email]).exit_code == 0
    again = runner.invoke(args=["cards", "issue", learner.email])
    assert again.exit_code != 0 and "한 사람은 한 장의 카드만" in again.output


def test_an_unknown_or_non_learner_account_is_refused(runner, make_user):
    assert "no learner account" in runner.invoke(args=["cards", "issue", "nobody@example.com"]).output
    provider = make_user("provider")
    assert runner.invoke(args=["cards", "issue", provider.email]).exit_code != 0


def test_issuing_approves_the_learners_pending_application(runner, world, today):
    learner = world.learner(card=False)
    with unit_of_work(write_lock=True):
        application = cards.apply_for_card(
            learner.id, employment_status="unemployed", groups=set(), excluded=set(), today=today, actor=ACTOR
        )
    result = runner.invoke(args=["cards", "issue", learner.email])
    assert result.exit_code == 0, result.output
    decided = db.session.get(CardApplication, application.id, populate_existing=True)
    assert decided.status == ApplicationStatus.APPROVED and decided.card_id == int(result.output)


def test_attendance_and_completion_commands(runner, world, today):
    learner = world.learner()
    start = today - timedelta(days=12)
    run = world.run(start=start, days=9, fee=500_000)
    enrolment = world.enrol(learner, run, today=start - timedelta(days=1))
    with unit_of_work(write_lock=True):
        enrolments.start_due(today)
    for offset in range(10):
        day = (start + timedelta(days=offset)).isoformat()
        result = runner.invoke(args=["attendance", "record", str(enrolment.id), day, "present"])
        assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["attendance", "record", str(enrolment.id), today.isoformat(), "present"])
    assert bad.exit_code != 0 and "훈련일이 아닙니다" in bad.output
    assert runner.invoke(args=["attendance", "settle"]).exit_code == 0
    done = runner.invoke(args=["enrolments", "complete", str(enrolment.id)])
    assert done.exit_code == 0, done.output
    assert enrolments.get(enrolment.id).status == EnrolmentStatus.COMPLETED
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0

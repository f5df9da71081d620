"""Enrolment outside the run's application window is refused with enrolment_closed, and nothing moves: the card
balance, the holds and the seats stay as they were. Inside it, on its first and last day, the enrolment goes
through (on the start date itself only when the provider's window includes it). Through the site's own path
(world.enrol: checkout) and the JSON API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from vouchers import errors
from vouchers.enrolments.models import Enrolment

pytestmark = pytest.mark.both_dbs

DAY = timedelta(days=1)


def bearer(user) -> dict:
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "test").token
    return {"Authorization": f"Bearer {token}"}


def untouched(world, learner, run) -> None:
    """No enrolment, no seat taken, the whole card available and nothing held."""
    db.session.refresh(run)
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (3_000_000, 0, 0)
    assert run.local_enrolled == 0
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_before_the_window_opens_enrolment_is_refused_and_says_from_when(world, today):
    learner = world.learner()
    later = world.run(start=today + 100 * DAY)  # a general card course: the window opens 60 days before
    with pytest.raises(errors.EnrolmentClosed) as refused:
        world.enrol(learner, later)
    opens = (today + 40 * DAY).isoformat()
    assert refused.value.code == "enrolment_closed"
    assert refused.value.message.startswith(f"모집 예정: {opens}(")
    assert "부터 신청할 수 있습니다" in refused.value.message
    untouched(world, learner, later)
    opening_today = world.run(start=today + 60 * DAY)  # the window's first day takes enrolments
    assert world.enrol(learner, opening_today).status == "confirmed"


def test_after_the_providers_window_closed_enrolment_is_refused(world, today):
    learner = world.learner()
    closed = world.run(start=today + 10 * DAY, apply_from=today - 20 * DAY, apply_until=today - DAY)
    with pytest.raises(errors.EnrolmentClosed) as refused:
        world.enrol(learner, closed)
    assert refused.value.message.startswith("모집이 마감되었습니다(모집 기간 ")
    untouched(world, learner, closed)
    closing_today = world.run(start=today + 10 * DAY, apply_until=today)  # the window's last day still takes them
    assert world.enrol(learner, closing_today).status == "confirmed"


def test_a_started_run_is_refused_even_on_its_first_day(world, today):
    learner = world.learner()
    starts_today = world.run(start=today)
    with pytest.raises(errors.EnrolmentClosed) as refused:
        world.enrol(learner, starts_today)
    assert "이 아닙니다. 훈련이" in refused.value.message
    untouched(world, learner, starts_today)
    provider_kept_open = world.run(start=today, apply_until=today)  # unless its provider takes learners on day one
    assert world.enrol(learner, provider_kept_open).status == "confirmed"


def test_the_api_answers_409_enrolment_closed_outside_the_window(client, world, today):
    learner = world.learner()
    headers = bearer(learner)
    for run, message in (
        (world.run(start=today + 100 * DAY), "모집 예정: "),
        (world.run(start=today + 10 * DAY, apply_until=today - DAY), "모집이 마감되었습니다"),
    ):
        response = client.post("/api/v1/enrolments", json={"run_id": run.id}, headers=headers)
        error = response.get_json()["error"]
        assert (response.status_code, error["code"]) == (409, "enrolment_closed")
        assert error["message"].startswith(message)
        untouched(world, learner, run)

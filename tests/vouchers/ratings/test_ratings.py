"""Rating rules: only completers rate (page and API), once, within the window; below the minimum count no
score is shown; the provider replies; an admin hides abusive text, logged in the audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from courses import calendar
from hrdnet import audit
from hrdnet.access import Role
from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import csrf_token
from tests.support.pages import page, text_of
from tests.support.vouchers import ACTOR, VoucherWorld
from vouchers.enrolments import endings
from vouchers.ratings import operations as ratings
from vouchers.ratings.models import Rating
from vouchers.web import views


def completed(world: VoucherWorld, run, learner):
    """Enrol, attend every scheduled day, and let the run end: 수료."""
    enrolment = world.enrol(learner, run)
    world.mark(enrolment, calendar.days_between(run, run.start_date, run.end_date))
    with unit_of_work(write_lock=True):
        endings.complete_due(run.end_date + timedelta(days=1))
    db.session.refresh(enrolment)
    assert enrolment.status == "completed"
    return enrolment


def rate(enrolment, user, score=5, comment="", *, on):
    with unit_of_work(write_lock=True):
        return ratings.rate(enrolment.id, user.id, score=score, comment=comment, today=on, actor=ACTOR)


@pytest.fixture
def short_run(world: VoucherWorld, today):
    return world.run(start=today + timedelta(days=14), days=6)


def test_a_non_completer_cannot_rate_on_the_page_or_through_the_api(client, login, world, short_run, monkeypatch):
    learner = world.learner()
    enrolment = world.enrol(learner, short_run)  # paid, never completed
    after = short_run.end_date + timedelta(days=1)
    monkeypatch.setattr(views, "kst_today", lambda: after)
    login(learner)

    form_page = client.get(f"/me/enrolments/{enrolment.id}/rating")
    assert 'data-refusal="rating_not_allowed"' in page(form_page) and 'name="score"' not in page(form_page)
    token = csrf_token(client, "/me")
    refused = client.post(f"/me/enrolments/{enrolment.id}/rating", data={"csrf_token": token, "score": "5"})
    assert refused.status_code == 403

    with unit_of_work(write_lock=True):
        api_token = auth_services.issue_api_token(learner, "test").token
    answer = client.post(
        f"/api/v1/enrolments/{enrolment.id}/rating",
        json={"score": 5},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "rating_not_allowed"
    assert db.session.scalar(select(Rating.id)) is None


def test_a_completer_rates_once_within_the_window(client, login, world, short_run, monkeypatch):
    learner = world.learner()
    enrolment = completed(world, short_run, learner)
    after = short_run.end_date + timedelta(days=3)
    monkeypatch.setattr(views, "kst_today", lambda: after)
    login(learner)
    token = csrf_token(client, f"/me/enrolments/{enrolment.id}/rating")
    response = client.post(
        f"/me/enrolments/{enrolment.id}/rating", data={"csrf_token": token, "score": "4", "comment": "실습이 많았어요"}
    )
    assert response.status_code == 302
    again = page(client.get(f"/me/enrolments/{enrolment.id}/rating"))  # once: the page shows the rating given
    assert 'data-refusal="already_rated"' in again and "4점으로 평가했습니다" in again and 'name="score"' not in again
    with pytest.raises(ratings.AlreadyRated):
        rate(enrolment, learner, on=after)

    late = world.learner()
    other = completed(world, short_run, late)
    with pytest.raises(ratings.RatingNotAllowed):
        rate(other, late, on=short_run.end_date + timedelta(days=ratings.RATING_WINDOW_DAYS + 1))


def test_below_the_minimum_count_no_score_is_shown(client, world, short_run):
    after = short_run.end_date + timedelta(days=1)
    for score in (5, 1):
        learner = world.learner()
        rate(completed(world, short_run, learner), learner, score, on=after)
    body = text_of(client.get(f"/runs/{short_run.id}"))
    assert "이 회차 평가가 2건이라 점수를 보여 주지 않습니다" in body and "점 / 5점" not in body

    learner = world.learner()
    rate(completed(world, short_run, learner), learner, 3, on=after)
    assert "3.0점 / 5점 (이 회차 수료생 3명)" in text_of(client.get(f"/runs/{short_run.id}"))


def test_the_provider_replies_and_an_admin_hides_abusive_text(client, world, short_run, login, login_as, make_user):
    learner = world.learner()
    rating = rate(completed(world, short_run, learner), learner, 1, "욕설 가득한 글", on=short_run.end_date)
    staff = make_user("provider", email="staff@example.com")
    with unit_of_work(write_lock=True):
        staff.provider_id = short_run.course.provider_id  # staff of this run's provider
    stranger = make_user("provider", email="other@example.com")  # staff of another provider

    login(stranger)
    token = csrf_token(client, f"/runs/{short_run.id}")
    assert client.post(f"/ratings/{rating.id}/reply", data={"csrf_token": token, "text": "남의 답"}).status_code == 404
    client.post("/logout", data={"csrf_token": token})
    login(staff)
    token = csrf_token(client, f"/runs/{short_run.id}")
    assert (
        client.post(
            f"/ratings/{rating.id}/reply", data={"csrf_token": token, "text": "불편을 드려 죄송합니다"}
        ).status_code
        == 303
    )
    assert "훈련기관 답글: 불편을 드려 죄송합니다" in text_of(client.get(f"/runs/{short_run.id}"))
    client.post("/logout", data={"csrf_token": token})

    login_as(Role.ADMIN)
    token = csrf_token(client, f"/runs/{short_run.id}")
    assert (
        client.post(f"/admin/ratings/{rating.id}/hide", data={"csrf_token": token, "text": "욕설"}).status_code == 303
    )
    body = text_of(client.get(f"/runs/{short_run.id}"))
    assert "욕설 가득한 글" not in body and "관리자가 가린 내용입니다" in body
    assert audit.verify().ok
    assert db.session.scalar(select(audit.AuditEntry.id).where(audit.AuditEntry.action == "rating.hidden")) is not None


def test_completers_are_reminded_that_they_can_rate(world, short_run):
    from vouchers.reminders import operations as reminders

    learner = world.learner()
    enrolment = completed(world, short_run, learner)
    after = short_run.end_date + timedelta(days=1)
    with unit_of_work(write_lock=True):
        assert reminders.send_due(after, utcnow()) >= 1
    (note,) = [n for n in reminders.recent(learner.id) if n.kind == "rating_open"]
    assert note.path == f"/me/enrolments/{enrolment.id}/rating"
    rate(enrolment, learner, on=after)
    with unit_of_work(write_lock=True):
        assert reminders.send_due(after + timedelta(days=1), utcnow()) == 0  # rated: nothing more

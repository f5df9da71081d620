"""`make run`'s demo learner has something on /me: a confirmed enrolment, a favourite and its reminder."""

from __future__ import annotations

from datetime import timedelta

from hrdnet.db import unit_of_work
from tests.support.pages import text_of
from vouchers import demo
from vouchers.reminders import operations as reminders


def test_the_demo_learner_gets_an_enrolment_a_favourite_and_a_reminder(client, login, world, today):
    learner = world.learner()
    for weeks in (3, 4, 5):
        world.run(start=today + timedelta(weeks=weeks))
    closing = world.run(apply_until=today + timedelta(days=2))
    with unit_of_work(write_lock=True):
        demo._ensure_demo_learning(learner, today)
    with unit_of_work(write_lock=True):
        demo._ensure_demo_learning(learner, today)  # idempotent: loading the demo again changes nothing

    assert [row.run.id for row in reminders.favourites(learner.id, today)] == [closing.id]
    assert [note.kind for note in reminders.recent(learner.id)] == ["favourite_closing"]
    login(learner)
    body = text_of(client.get("/me"))
    assert "수강 확정" in body and "무료 취소 기한" in body and "관심 과정" in body


def test_the_loaded_demo_gives_the_demo_learner_each_part_of_their_pages(client, login, reindex):
    """`make run`'s demo (`hrdnet demo load`): enrolments, their own rating of a completed run and a run with
    enough completers' ratings to show a score, a favourite, a saved search and reminders, on their pages."""
    from sqlalchemy import func, select

    from courses.models import Run
    from hrdnet.auth import services as auth_services
    from hrdnet.extensions import db
    from hrdnet.timeutil import kst_today
    from search import saved
    from vouchers.enrolments.models import Enrolment
    from vouchers.ratings import operations as ratings
    from vouchers.ratings.models import Rating

    lines = list(demo.load(runs=120, seed=1))
    made = [line for line in lines if line.startswith(("수료생 평가:", "저장한 검색:"))]
    assert len(made) == 2
    again = list(demo.load(runs=120, seed=1))  # loading again adds nothing
    assert not [line for line in again if line.startswith(("수료생 평가:", "저장한 검색:"))]
    reindex()
    learner = auth_services.find_user_by_email("learner@demo.hrdnet.kr")
    today = kst_today()

    mine = db.session.scalars(select(Enrolment).where(Enrolment.user_id == learner.id)).all()
    assert {e.status for e in mine} >= {"confirmed", "completed"}
    completed = next(e for e in mine if e.status == "completed")
    own = ratings.rating_of(completed.id)
    assert own is not None and own.reply
    rated_run = db.session.get(Run, completed.run_id)
    assert ratings.run_summary(rated_run.id).shown and ratings.run_summary(rated_run.id).count >= ratings.MIN_RATINGS
    assert db.session.scalar(select(func.count()).select_from(Rating)) == len(demo.DEMO_RATINGS)
    (favourite,) = reminders.favourites(learner.id, today)
    (search,) = saved.of_user(learner.id)
    assert reminders.recent(learner.id)
    upcoming = next(e for e in mine if e.status == "confirmed")
    upcoming_title = db.session.get(Run, upcoming.run_id).course.title
    favourite_title, search_name = favourite.run.course.title, search.name
    kinds = {note.kind for note in reminders.recent(learner.id)}

    login(learner, demo.DEMO_PASSWORD)
    me = text_of(client.get("/me"))
    assert upcoming_title in me and "관심 과정" in me
    enrolments_page = text_of(client.get("/me/enrolments"))
    assert demo.DEMO_RATED_TITLE in enrolments_page and f"내 평가: {own.score}점" in enrolments_page
    assert f"{own.score}점으로 평가했습니다" in text_of(client.get(f"/me/enrolments/{completed.id}/rating"))
    run_page = text_of(client.get(f"/runs/{rated_run.id}"))
    assert "/ 5점 (이 회차 수료생 4명)" in run_page and "훈련기관 답글" in run_page
    assert favourite_title in text_of(client.get("/me/favourites"))
    assert search_name in text_of(client.get("/me/saved-searches"))
    notifications = text_of(client.get("/me/notifications"))
    assert kinds and all(note.text[:20] in notifications for note in reminders.recent(learner.id))

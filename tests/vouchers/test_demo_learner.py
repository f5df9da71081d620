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

"""Saved searches with alerts (issue 17, point 12) through the Flask client and the real index: saving (CSRF,
sign-in, only one's own), and the alerts job: a new run the saved search finds makes exactly one in-app
notification and one e-mail, a run it does not find none, and none once the learner turns the kind off."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from hrdnet import outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from search import saved
from search.saved import SavedSearch
from tests.conftest import csrf_token
from tests.support.pages import text_of
from vouchers.reminders import operations as reminders
from vouchers.reminders.models import Notification

SEARCH = {"q": "파이썬", "region": "26"}  # the Busan Python course of small_catalog


def save(client, name="부산 파이썬", **fields):
    token = csrf_token(client, "/courses?q=파이썬&region=26")
    return client.post("/me/saved-searches", data={**SEARCH, "name": name, "csrf_token": token, **fields})


def alerts(new_run_time) -> int:
    """The worker's pass just after the new runs were made, then the outbox delivered."""
    db.session.commit()  # the test's own writes (catalog rows, the rebuilt index's state)
    with unit_of_work(write_lock=True):
        made = saved.match_all(new_run_time + timedelta(minutes=1))
    outbox.deliver_pending()
    return made


def notes_of(user_id: int) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)))


def mails_to(email: str) -> list[dict]:
    items = db.session.scalars(select(outbox.OutboxItem).where(outbox.OutboxItem.topic == "mail.send"))
    return [payload for payload in (json.loads(item.payload) for item in items) if payload["to"] == email]


@pytest.mark.both_search_backends
def test_saving_needs_a_learner_and_a_token_and_lists_only_ones_own(client, login, world, small_catalog):
    assert client.post("/me/saved-searches", data={**SEARCH, "name": "x"}).status_code in (302, 401, 403)
    learner = world.learner()
    login(learner)
    assert "이 검색 저장하고 새 회차 알림 받기" in text_of(client.get("/courses?q=파이썬&region=26"))
    client.post("/me/saved-searches", data={**SEARCH, "name": "토큰 없음"})  # no CSRF token: nothing saved
    assert db.session.scalar(select(SavedSearch.id)) is None

    assert save(client).status_code == 303
    (mine,) = saved.of_user(learner.id)
    assert mine.name == "부산 파이썬" and mine.args == SEARCH
    page = client.get("/me/saved-searches").get_data(as_text=True)
    assert "부산 파이썬" in page and "/courses?q=" in page and "region=26" in page

    token = csrf_token(client, "/me/saved-searches")
    client.post(f"/me/saved-searches/{mine.id}/rename", data={"name": "부산 코딩", "csrf_token": token})
    db.session.expire_all()
    assert saved.of_user(learner.id)[0].name == "부산 코딩"

    other = world.learner()
    client.get("/logout")
    login(other)
    token = csrf_token(client, "/me/saved-searches")
    assert "부산 코딩" not in text_of(client.get("/me/saved-searches"))
    assert (
        client.post(f"/me/saved-searches/{mine.id}/rename", data={"name": "남의 것", "csrf_token": token}).status_code
        == 404
    )
    assert client.post(f"/me/saved-searches/{mine.id}/delete", data={"csrf_token": token}).status_code == 404
    client.get("/logout")
    login(learner)
    token = csrf_token(client, "/me/saved-searches")
    assert client.post(f"/me/saved-searches/{mine.id}/delete", data={"csrf_token": token}).status_code == 303
    assert saved.of_user(learner.id) == []


@pytest.mark.both_search_backends
def test_a_new_matching_run_alerts_once_a_non_matching_one_never_and_the_kind_can_be_turned_off(
    client, login, world, catalog, reindex, small_catalog, today
):
    learner = world.learner()
    learner_id, email = learner.id, learner.email  # the outbox's delivery ends the session's objects
    login(learner)
    save(client)
    (mine,) = saved.of_user(learner.id)
    busan = small_catalog["busan"].course.provider
    later = mine.checked_at + timedelta(seconds=1)
    old = catalog.run(small_catalog["busan"].course, start=today + timedelta(days=33), region_code="26110")
    old_time = mine.checked_at - timedelta(seconds=1)  # made before the search was saved: not new
    old.created_at = old_time
    db.session.commit()
    new = catalog.run(
        catalog.course("파이썬 머신러닝 실무", provider=busan, ncs_code="20010202"),
        start=today + timedelta(days=35),
        region_code="26110",
        created_at=later,
    )
    catalog.run(
        catalog.course("파이썬 자동화", ncs_code="20010202"), start=today + timedelta(days=35), created_at=later
    )  # Seoul
    reindex()

    assert alerts(later) == 1
    (note,) = notes_of(learner_id)
    assert note.kind == "saved_search" and note.path == f"/runs/{new.id}" and "부산 파이썬" in note.text
    (mail,) = [m for m in mails_to(email) if "부산 파이썬" in m["body"]]
    assert f"/runs/{new.id}" in mail["body"]
    assert alerts(later) == 0  # the next pass: nothing twice
    assert len(notes_of(learner_id)) == 1

    with unit_of_work(write_lock=True):
        reminders.set_enabled(learner_id, set(reminders.KINDS) - {"saved_search"})
    latest = later + timedelta(minutes=5)
    catalog.run(
        catalog.course("파이썬 데이터 시각화", provider=busan, ncs_code="20010202"),
        start=today + timedelta(days=36),
        region_code="26110",
        created_at=latest,
    )
    reindex()
    assert alerts(latest) == 1  # found, but the learner turned the kind off: no reminder, no e-mail
    assert len(notes_of(learner_id)) == 1
    assert len([m for m in mails_to(email) if "부산 파이썬" in m["body"]]) == 1
